import { VMLINUX, type CompareReport, type DifferenceJson, type DifferenceSideJson, type FunctionChangeJson, type InspectReport, type ReplaceReport, type StackOnlyEntryJson, type TreeReport } from '../report/types.js';
import type { Renderer } from './renderer.js';

/** Differences shown under each function in the text report; the JSON report has more. */
const SHOWN_DIFFERENCES = 3;

function where(side: DifferenceSideJson): string {
  return side.offset === 0 ? side.symbol : `${side.symbol}+0x${side.offset.toString(16)}`;
}

function value(side: DifferenceSideJson, kind: DifferenceJson['kind']): string {
  if (side.instruction) return side.instruction;
  if (typeof side.value === 'number') return String(side.value);
  // Literals in C's quotes, so that newlines and spaces show.
  return kind === 'string' ? JSON.stringify(side.value) : side.value;
}

/** One difference on one line: `ctl_read.cold+0x1c: mov $0x3f,%edx -> mov $0x40,%edx`. */
function differenceLine(d: DifferenceJson): string {
  const o = d.original;
  const p = d.patched;
  const evidence = d.evidence ? ` (line number: ${d.evidence.replace('_', ' ')})` : '';
  if (o && p) {
    const place = o.symbol === p.symbol && o.offset === p.offset ? where(o) : `${where(o)} -> ${where(p)}`;
    return `${place}: ${value(o, d.kind)} -> ${value(p, d.kind)}${evidence}`;
  }
  if (o) return `${where(o)}: ${value(o, d.kind)} -> (none)`;
  return `${where(p!)}: (none) -> ${value(p!, d.kind)}`;
}

function differenceLines(differences: DifferenceJson[], indent: string): string[] {
  const lines = differences.slice(0, SHOWN_DIFFERENCES).map((d) => `${indent}${differenceLine(d)}`);
  if (differences.length > SHOWN_DIFFERENCES) lines.push(`${indent}... (${differences.length - SHOWN_DIFFERENCES} more in the JSON report)`);
  return lines;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text + ' ' : text + ' '.repeat(width - text.length);
}

function entryLine(e: StackOnlyEntryJson): string {
  const name = e.sympos ? `${e.name} (sympos ${e.sympos})` : e.name;
  const why =
    e.reason === 'tail-call' ? `tail-called from ${e.owner}'s family` : e.part_of ? `part of ${e.part_of}, tail-called from ${e.owner}'s family` : `part, runs in the frame of ${e.owner}`;
  return `  ${pad(name, 32)}${why}`;
}

function setLines(title: string, entries: StackOnlyEntryJson[]): string[] {
  return [title, ...(entries.length ? entries.map(entryLine) : ['  (none)'])];
}

/** How the text names a klp_object: `module ext4`, or `vmlinux`. */
function objectLabel(name: string): string {
  return name === VMLINUX ? name : `module ${name}`;
}

/** The compare report for people: what changed, how the cold parts map, the two sets. */
function renderCompareText(report: CompareReport): string {
  const object = report.object_name ? `, ${objectLabel(report.object_name)}` : '';
  const lines: string[] = [`${report.original} -> ${report.patched} (${report.arch}${object})`, ''];
  const real = report.functions.filter((f) => f.status !== 'build_noise');
  const noise = report.functions.filter((f) => f.status === 'build_noise');
  if (real.length === 0) lines.push('No function changed.');
  // A name that repeats in the running kernel shows its position (`.old_sympos`), as stack-only entries do.
  const label = (f: FunctionChangeJson) => (f.original?.sympos ? `${f.name} (sympos ${f.original.sympos})` : f.name);
  const width = Math.max(12, ...real.map((f) => label(f).length + 2));
  for (const f of real) {
    if (f.status === 'changed') {
      const parts = (f.part_mapping ?? []).map((m) => `${m.original ?? '-'} -> ${m.patched ?? '-'}${m.other_family ? ` (${m.original ? 'to' : 'from'} ${m.other_family})` : ''}`);
      lines.push(`changed  ${pad(label(f), width)}${(f.reasons ?? []).join(', ')}`);
      lines.push(`         ${pad('', width)}cold mapping: ${f.cold_mapping}${parts.length ? `: ${parts.join('; ')}` : ''}`);
      lines.push(...differenceLines(f.differences ?? [], `         ${pad('', width)}`));
    } else {
      const sideInfo = f.status === 'added' ? f.patched : f.original;
      const parts = sideInfo?.parts.length ? `parts: ${sideInfo.parts.join(', ')}` : '';
      lines.push(`${pad(f.status, 9)}${pad(f.name, width)}${parts}`);
    }
  }
  lines.push('');
  lines.push(...setLines('stack_only when enabling (names in the original object):', report.stack_only.enable));
  lines.push(...setLines('stack_only when disabling (names in the patched object):', report.stack_only.disable));
  if (report.renames.length) {
    lines.push('', 'renamed by the compiler:');
    for (const r of report.renames) lines.push(`  ${r.original} -> ${r.patched} (paired by ${r.by})`);
  }
  if (noise.length) {
    const stamps = (report.build_stamps ?? []).map((s) => `${s.original} -> ${s.patched}`).join(', ');
    lines.push('', `build noise: ${noise.length} function(s) differ only in build stamps${stamps ? ` (${stamps})` : ''}; not patched:`);
    for (const f of noise) {
      lines.push(`  ${f.name}`);
      lines.push(...differenceLines(f.differences ?? [], '    '));
    }
  }
  if (report.line_shifts.length) {
    lines.push('', `not reported: ${report.line_shifts.length} function(s) differ only in line numbers moved by the patch:`);
    for (const l of report.line_shifts) {
      lines.push(`  ${l.name} (${l.shift > 0 ? '+' : ''}${l.shift}; evidence: ${(l.evidence ?? []).join(', ').replace(/_/g, ' ')})`);
      lines.push(...differenceLines(l.differences ?? [], '    '));
    }
  }
  if (report.warnings.length) {
    lines.push('', 'warnings:');
    for (const w of report.warnings) lines.push(`  ${w}`);
  }
  return lines.join('\n') + '\n';
}

/** One object's functions, their parts and edges, as a table. */
function renderInspectText(report: InspectReport): string {
  const lines: string[] = [`${report.path} (${report.arch}): ${report.functions.length} functions`, ''];
  const width = Math.max(16, ...report.functions.map((f) => f.name.length + 2));
  for (const f of report.functions) {
    const role = f.part_of ? `part of ${f.part_of} (${(f.evidence ?? []).join(', ')})` : f.parts?.length ? `parts: ${f.parts.join(', ')}` : '';
    lines.push(`${pad(f.name, width)}${pad(f.section, 28)}${pad(String(f.size), 7)}${role}`);
    for (const e of f.edges) lines.push(`${' '.repeat(width)}  ${pad(e.kind, 10)}${e.target}`);
    if (f.thunks) {
      const t = f.thunks;
      const parts = [t.fentry ? 'ftrace hook' : '', t.returns ? `${t.returns} return thunk(s)` : '', t.indirect_calls ? `${t.indirect_calls} indirect call(s)` : '', t.indirect_jumps ? `${t.indirect_jumps} indirect jump(s)` : ''].filter(Boolean);
      lines.push(`${' '.repeat(width)}  ${pad('thunks', 10)}${parts.join(', ')}`);
    }
  }
  if (report.warnings.length) {
    lines.push('', 'warnings:');
    for (const w of report.warnings) lines.push(`  ${w}`);
  }
  return lines.join('\n') + '\n';
}

function renderReplaceText(report: ReplaceReport): string {
  const lines = [`atomic replace of ${report.replaced} by ${report.replacing}`, '', 'stack_only while replacing:'];
  if (report.stack_only.replace.length === 0) lines.push('  (none)');
  for (const e of report.stack_only.replace) {
    const where = e.from === 'replaced' ? 'in the replaced livepatch' : 'in the running kernel';
    lines.push(`${entryLine(e)}; ${where}${e.object ? ` (${e.object})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** Tree mode for people: the counts, then each changed object as in single-object mode. */
function renderTreeText(report: TreeReport): string {
  const s = report.summary;
  const lines = [
    `${report.original} -> ${report.patched}`,
    '',
    `objects compared: ${s.compared} (identical: ${s.identical}, unchanged: ${s.unchanged}, changed: ${s.changed}${s.build_noise ? `, build noise only: ${s.build_noise}` : ''}${s.errors ? `, unreadable: ${s.errors}` : ''})`,
    `only in the original: ${s.only_in_original.length}${s.only_in_original.length ? ` (${s.only_in_original.join(', ')})` : ''}`,
    `only in the patched: ${s.only_in_patched.length}${s.only_in_patched.length ? ` (${s.only_in_patched.join(', ')})` : ''}`,
    ...(s.linked_from_members?.length ? [`linked from the objects compared, not compared themselves: ${s.linked_from_members.length} (${s.linked_from_members.join(', ')})`] : []),
    ...(s.host_objects?.length ? [`objects of the build's own programs (modpost, objtool), not compared: ${s.host_objects.length}`] : []),
  ];
  for (const object of report.objects) {
    if (object.status !== 'changed' && object.status !== 'build_noise') continue;
    lines.push('', `== ${object.path}${object.object_name ? ` (${objectLabel(object.object_name)})` : ''}`);
    lines.push(...renderCompareText(object).split('\n').slice(2, -1));
  }
  const errors = report.objects.flatMap((o) => (o.status === 'error' && o.error ? [o.error] : []));
  if (errors.length) lines.push('', 'errors:', ...errors.map((e) => `  ${e}`));
  // Warnings about the tree as a whole (a source tree's units, its linked objects): each
  // object's own are in its section above.
  const own = new Set([...errors, ...report.objects.flatMap((o) => o.warnings.flatMap((w) => [w, `${o.path}: ${w}`]))]);
  const general = report.warnings.filter((w) => !own.has(w));
  if (general.length) lines.push('', 'warnings:', ...general.map((w) => `  ${w}`));
  return lines.join('\n') + '\n';
}

/** Reports for people to read. */
export const textRenderer: Renderer = {
  compare: renderCompareText,
  tree: renderTreeText,
  inspect: renderInspectText,
  replace: renderReplaceText,
};
