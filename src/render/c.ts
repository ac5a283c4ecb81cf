import { VMLINUX, type CompareReport, type ReplaceReport, type StackOnlyEntryJson, type TreeReport } from '../report/types.js';
import { asKlpModule } from './klp-module.js';
import type { Renderer } from './renderer.js';

interface COptions {
  /** Prefix of the livepatch module's names (`livepatch_`); none: the patched object's own names. */
  newPrefix?: string;
  /** Name of the klp_func array. */
  arrayName?: string;
}

/** A C identifier for a symbol name: clone names such as `foo.constprop.0` have dots. */
function cIdentifier(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(id) ? `_${id}` : id;
}

function cString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** One stack_only entry: enable and disable names of the same part in both builds share it. */
interface StackOnlyRow {
  oldEntry?: StackOnlyEntryJson;
  newEntry?: StackOnlyEntryJson;
}

/** Pairs enable and disable entries that are the same part of the same changed family. */
function pairRows(report: CompareReport): StackOnlyRow[] {
  const samePart = new Set<string>();
  for (const f of report.functions) {
    for (const m of f.part_mapping ?? []) if (m.original && m.patched) samePart.add(`${f.name}\0${m.original}\0${m.patched}`);
  }
  const ownerOriginal = new Map(report.functions.filter((f) => f.status === 'changed').map((f) => [f.patched!.symbol, f.name]));
  const rows: StackOnlyRow[] = [];
  const used = new Set<StackOnlyEntryJson>();
  for (const e of report.stack_only.enable) {
    const partner =
      e.reason === 'part' && !e.part_of
        ? report.stack_only.disable.find((d) => !used.has(d) && d.reason === 'part' && !d.part_of && ownerOriginal.get(d.owner) === e.owner && samePart.has(`${e.owner}\0${e.name}\0${d.name}`))
        : undefined;
    if (partner) used.add(partner);
    rows.push({ oldEntry: e, newEntry: partner });
  }
  for (const d of report.stack_only.disable) if (!used.has(d)) rows.push({ newEntry: d });
  return rows;
}

function why(entry: StackOnlyEntryJson, side: 'running kernel' | 'livepatch'): string {
  if (entry.reason === 'tail-call') return `${entry.name} is tail-called from ${entry.owner} and exists only in the ${side} code`;
  if (entry.part_of) return `${entry.name} is a part of ${entry.part_of}, tail-called from ${entry.owner}, and exists only in the ${side} code`;
  return `${entry.name} runs in the frame of ${entry.owner} (${side})`;
}

function declarations(report: CompareReport, prefix: string): string[] {
  return report.functions
    .filter((f) => f.status === 'changed')
    .map((f) => {
      const symbol = prefix + f.patched!.symbol;
      const id = cIdentifier(symbol);
      return id === symbol ? `extern void ${id}(void);` : `extern void ${id}(void) __asm__(${cString(symbol)});`;
    });
}

function funcEntries(report: CompareReport, prefix: string): string[] {
  const lines: string[] = [];
  for (const f of report.functions) {
    if (f.status !== 'changed') continue;
    lines.push('\t{');
    lines.push(`\t\t.old_name = ${cString(f.name)},`);
    lines.push(`\t\t.new_func = ${cIdentifier(prefix + f.patched!.symbol)},`);
    if (f.original!.sympos) lines.push(`\t\t.old_sympos = ${f.original!.sympos},`);
    lines.push('\t},');
  }
  for (const row of pairRows(report)) {
    lines.push('\t{');
    const comments: string[] = [];
    if (row.oldEntry) comments.push(why(row.oldEntry, 'running kernel'));
    if (row.newEntry && !row.oldEntry) comments.push(why(row.newEntry, 'livepatch'));
    lines.push(`\t\t/* stack only: ${comments.join('; ')} */`);
    if (row.oldEntry) lines.push(`\t\t.old_name = ${cString(row.oldEntry.name)},`);
    if (row.newEntry) lines.push(`\t\t.new_name = ${cString(prefix + row.newEntry.name)},`);
    if (row.oldEntry?.sympos) lines.push(`\t\t.old_sympos = ${row.oldEntry.sympos},`);
    lines.push('\t\t.stack_only = true,');
    lines.push('\t},');
  }
  lines.push('\t{ }');
  return lines;
}

/** The name tree mode and older reports leave out: a module's by its file name, else `fallback`. */
function objectNameOf(object: CompareReport & { path?: string }, fallback: string | undefined): string {
  if (object.object_name) return object.object_name;
  const file = object.path ?? object.original;
  // A module's name is its file's base name with - and , as _ (kbuild's KBUILD_MODNAME).
  if (/\.ko(?:\.(?:xz|zst|gz))?$/.test(file)) return file.replace(/^.*\//, '').replace(/\.ko(?:\..*)?$/, '').replace(/[-,]/g, '_');
  return fallback ?? VMLINUX;
}

/**
 * The `struct klp_object` array (one per object, each with its `klp_func` array) and the
 * `struct klp_patch` a livepatch module registers with klp_enable_patch(), in the style of
 * the kernel's samples/livepatch and selftests.
 */
function objectsAndPatch(objects: { name: string; funcs: string }[], arrayName: string): string[] {
  const lines = [`static struct klp_object ${arrayName}[] = {`];
  for (const { name, funcs } of objects) {
    lines.push('\t{');
    if (name !== VMLINUX) lines.push(`\t\t.name = ${cString(name)},`);
    else lines.push('\t\t/* name NULL: vmlinux */');
    lines.push(`\t\t.funcs = ${funcs},`);
    lines.push('\t},');
  }
  lines.push('\t{ }', '};', '', 'static struct klp_patch patch = {', '\t.mod = THIS_MODULE,', `\t.objs = ${arrayName},`, '};');
  return lines;
}

/**
 * The `struct klp_func` array of design.md §7, in the kernel's own style, with the
 * declarations its `.new_func` members need (asm labels where a name is no C identifier),
 * then the object it patches (the module, or vmlinux) and the patch.
 */
function renderKlpFuncs(report: CompareReport, options: COptions & { objectName?: string } = {}): string {
  const prefix = options.newPrefix ?? '';
  const lines = [`/* Generated by stackonly from ${report.original} -> ${report.patched}. */`];
  const decls = declarations(report, prefix);
  if (decls.length) lines.push(...decls, '');
  const funcs = options.arrayName ?? 'funcs';
  lines.push(`static struct klp_func ${funcs}[] = {`, ...funcEntries(report, prefix), '};', '');
  lines.push(...objectsAndPatch([{ name: objectNameOf(report, options.objectName), funcs }], 'objs'));
  return lines.join('\n') + '\n';
}

/**
 * Tree mode (and a source tree): one klp_func array per patched klp_object (a kernel
 * module by its name, however many of its objects changed; everything else vmlinux, or
 * --object-name), the klp_object array that lists them, and the patch.
 */
function renderKlpObjects(report: TreeReport, options: COptions & { objectName?: string } = {}): string {
  const prefix = options.newPrefix ?? '';
  const groups = new Map<string, CompareReport[]>();
  for (const object of report.objects) {
    if (object.status !== 'changed') continue;
    const name = objectNameOf(object, options.objectName);
    const list = groups.get(name) ?? [];
    list.push(object);
    groups.set(name, list);
  }
  const lines = [`/* Generated by stackonly from ${report.original} -> ${report.patched}. */`];
  const decls = report.objects.filter((o) => o.status === 'changed').flatMap((o) => declarations(o, prefix));
  if (decls.length) lines.push(...[...new Set(decls)], '');
  if (groups.size === 0) lines.push('/* No function changed: no klp_object. */', '');
  for (const [name, objects] of groups) {
    lines.push(`static struct klp_func ${cIdentifier(name)}_funcs[] = {`);
    for (const object of objects) lines.push(...funcEntries(object, prefix).slice(0, -1));
    lines.push('\t{ }', '};', '');
  }
  lines.push(...objectsAndPatch([...groups.keys()].map((name) => ({ name, funcs: `${cIdentifier(name)}_funcs` })), options.arrayName ?? 'objs'));
  return lines.join('\n') + '\n';
}

/** The stack-only entries an atomic replace needs, as klp_func entries. */
function renderReplaceKlpFuncs(report: ReplaceReport, options: COptions = {}): string {
  const prefix = options.newPrefix ?? '';
  const lines = [`/* Generated by stackonly: atomic replace of ${report.replaced} by ${report.replacing}. */`];
  // What a kernel with kernel/6.1/ does by itself (see README, "The kernel patch").
  lines.push("/* A kernel with the project's stack_only patch checks the replaced livepatch's own .new_name entries when a .replace patch is enabled. */");
  lines.push(`static struct klp_func ${options.arrayName ?? 'replace_funcs'}[] = {`);
  for (const e of report.stack_only.replace) {
    const reason = e.reason === 'part' ? `runs in the frame of ${e.owner}` : `is tail-called from ${e.owner}`;
    lines.push('\t{');
    if (e.from === 'replaced') {
      lines.push(`\t\t/* stack only, replaced livepatch's code: ${e.name} ${reason} */`);
      lines.push(`\t\t.new_name = ${cString(prefix + e.name)},`);
    } else {
      lines.push(`\t\t/* stack only, running kernel's code: ${e.name} ${reason} */`);
      lines.push(`\t\t.old_name = ${cString(e.name)},`);
      if (e.sympos) lines.push(`\t\t.old_sympos = ${e.sympos},`);
    }
    lines.push('\t\t.stack_only = true,');
    lines.push('\t},');
  }
  lines.push('\t{ }', '};');
  return lines.join('\n') + '\n';
}

/** `struct klp_func` and `struct klp_object` arrays for a livepatch module's source (design.md §7). */
export const cRenderer: Renderer = {
  compare: (report, options) => asKlpModule(renderKlpFuncs(report, { newPrefix: options.newPrefix, objectName: options.objectName }), options),
  tree: (report, options) => asKlpModule(renderKlpObjects(report, { newPrefix: options.newPrefix, objectName: options.objectName }), options),
  replace: (report, options) => renderReplaceKlpFuncs(report, { newPrefix: options.newPrefix }),
};
