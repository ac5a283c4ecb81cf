import { join } from 'node:path';
import { placeInLinked, type UnitSymbol } from '../../derive/linked-positions.js';
import type { LinkedObject } from '../../elf/linked-symbols.js';
import { openObject } from '../../elf/open.js';
import { SHN_UNDEF, STB_LOCAL, STT_FILE, STT_FUNC, STT_SECTION, type ElfObject } from '../../elf/types.js';
import { InputError } from '../../errors.js';
import type { CompareReport, TreeObjectReport, TreeReport } from '../../report/types.js';
import { moduleOfCommand, compilerLength } from './command-words.js';
import type { CompileDbEntry } from './database.js';
import { findLinkedObject, readGivenLinkedObjects, type KlpObjectUnits } from './linked-object.js';

/*
 * `.old_sympos` of a source tree's report, counted where the kernel counts it (issue 12,
 * item 2). Each unit is compared as an object of its own, so the positions the comparison
 * gives count the unit's symbols only; a `static inline` of a header out of line in two
 * units of ext4 would get two identical klp_func entries the kernel refuses as ambiguous.
 * Here every position the report carries for the running kernel's code (a changed or
 * removed function's `original.sympos`, a `stack_only.enable` entry's `sympos`) is taken
 * from the linked module or vmlinux instead (found in the build tree, or given), and
 * dropped (with one warning naming --linked-object) when there is no linked object to
 * count in: a per-unit position would be a guess. The disable set's positions are names
 * in the livepatch module, not this.
 */

export interface LinkedPositionsRequest {
  /** The original side's unit objects (compiledb's originalDir), by the report's object paths. */
  originalDir: string;
  /** Each object path's database entry. */
  entries: ReadonlyMap<string, CompileDbEntry>;
  /** Each object path's klp_object (compiledb's objectNames). */
  objectNames: ReadonlyMap<string, string>;
  /** Linked objects given by the user (`--linked-object`): a `.ko`, a module's `ld -r` `.o`, vmlinux. */
  linkedObjects?: readonly string[];
}

/** The report with positions from the linked objects, and warnings where they cannot be had. */
export function placeInLinkedObjects(report: TreeReport, request: LinkedPositionsRequest): TreeReport {
  const given = readGivenLinkedObjects(request.linkedObjects ?? []);
  const warnings: string[] = [];
  const groups = new Map<string, { units: KlpObjectUnits; objects: TreeObjectReport[] }>();
  for (const object of report.objects) {
    const entry = request.entries.get(object.path);
    const name = request.objectNames.get(object.path);
    if (!entry || !name || positioned(object).length === 0) continue;
    let group = groups.get(name);
    if (!group) groups.set(name, (group = { units: { name, kind: 'vmlinux', entries: [] }, objects: [] }));
    if (moduleOfCommand(entry.argv.slice(compilerLength(entry.argv))).module) group.units.kind = 'module';
    group.units.entries.push(entry);
    group.objects.push(object);
  }
  for (const name of given.keys()) {
    if (!groups.has(name) && !report.objects.some((o) => request.objectNames.get(o.path) === name)) {
      warnings.push(`--linked-object ${given.get(name)!.path} is for ${name}, which the patch does not touch: not used`);
    }
  }

  const missing: { name: string; looked: string[]; rejected: string[]; repeated: string[]; local: string[] }[] = [];
  const replaced = new Map<TreeObjectReport, TreeObjectReport>();
  for (const { units, objects } of groups.values()) {
    const mine = given.get(units.name);
    if (mine && units.kind === 'vmlinux' && mine.relocatable) {
      throw new InputError(mine.path, 'is relocatable: kallsyms counts vmlinux symbols in address order, which only the linked vmlinux has');
    }
    const lookup = mine ? { linked: mine, looked: [], rejected: [] } : findLinkedObject(units);
    const unitObjects = objects.map((o) => ({ object: o, elf: openObject(join(request.originalDir, o.path)) }));
    if (lookup.linked) {
      for (const { object, elf } of unitObjects) replaced.set(object, withPositions(object, elf, lookup.linked, units.kind, warnings));
      continue;
    }
    // Without the linked object: no position at all, and the names that may need one.
    const unitsOf = new Map<string, Set<string>>();
    const local = new Set<string>();
    for (const { object, elf } of unitObjects) {
      for (const name of positioned(object)) {
        unitsOf.set(name, (unitsOf.get(name) ?? new Set()).add(object.path));
        if (unitSymbol(elf, name)?.bind === STB_LOCAL) local.add(name);
      }
      replaced.set(object, mapPositions(object, () => undefined));
    }
    const repeated = [...unitsOf].filter(([, paths]) => paths.size > 1).map(([name]) => name);
    if (repeated.length > 0 || local.size > 0) missing.push({ name: units.name, ...lookup, repeated, local: [...local].filter((n) => !repeated.includes(n)) });
  }
  if (missing.length > 0) warnings.push(missingWarning(missing));
  if (replaced.size === 0 && warnings.length === 0) return report;

  const objects = report.objects.map((o) => replaced.get(o) ?? o);
  const tag = <T extends object>(path: string, items: T[]) => items.map((item) => ({ ...item, object: path }));
  return {
    ...report,
    // The aggregated lists are the objects' own, tagged (as tree mode builds them).
    functions: objects.flatMap((o) => tag(o.path, o.functions)),
    stack_only: { enable: objects.flatMap((o) => tag(o.path, o.stack_only.enable)), disable: report.stack_only.disable },
    objects,
    warnings: [...report.warnings, ...warnings],
  };
}

/** The names in an object's report that carry a position in the running kernel's code. */
function positioned(object: CompareReport): string[] {
  const names = [...object.functions.flatMap((f) => (f.original ? [f.original.symbol] : [])), ...object.stack_only.enable.map((e) => e.name)];
  return [...new Set(names)];
}

/** The report with each running-kernel position set by `positionOf` (undefined or 0: none). */
function mapPositions(object: TreeObjectReport, positionOf: (name: string) => number | undefined): TreeObjectReport {
  const withPosition = <T extends { sympos?: number }>(item: T, name: string): T => {
    const { sympos: _, ...rest } = item;
    const sympos = positionOf(name);
    return (sympos ? { ...rest, sympos } : rest) as T;
  };
  return {
    ...object,
    functions: object.functions.map((f) => (f.original ? { ...f, original: withPosition(f.original, f.original.symbol) } : f)),
    stack_only: { ...object.stack_only, enable: object.stack_only.enable.map((e) => withPosition(e, e.name)) },
  };
}

function withPositions(object: TreeObjectReport, elf: ElfObject, linked: LinkedObject, kind: 'module' | 'vmlinux', warnings: string[]): TreeObjectReport {
  const positions = new Map<string, number | undefined>();
  for (const name of positioned(object)) {
    const unit = unitSymbol(elf, name);
    if (!unit) {
      positions.set(name, undefined);
      warnings.push(`${object.path}: ${name} is not among its symbols: no .old_sympos`);
      continue;
    }
    const placement = placeInLinked(linked, unit, kind);
    positions.set(name, placement.sympos);
    if (placement.problem) warnings.push(`${linked.path}: ${placement.problem}${placement.sympos === undefined ? ': no .old_sympos for it' : ''}`);
  }
  return mapPositions(object, (name) => positions.get(name));
}

/** The unit's own symbol of that name (a function first), as placeInLinked() matches it. */
function unitSymbol(elf: ElfObject, name: string): UnitSymbol | undefined {
  const defined = elf.symbols.filter((s) => s.name === name && s.shndx !== SHN_UNDEF && !s.reserved && s.type !== STT_FILE && s.type !== STT_SECTION);
  const symbol = defined.find((s) => s.type === STT_FUNC) ?? defined[0];
  if (!symbol) return undefined;
  const bytes = elf.sectionData(symbol.shndx).subarray(symbol.value, symbol.value + symbol.size);
  return { name, bind: symbol.bind, size: symbol.size, bytes, ...(symbol.file !== undefined ? { file: symbol.file } : {}) };
}

function missingWarning(missing: { name: string; looked: string[]; rejected: string[]; repeated: string[]; local: string[] }[]): string {
  const parts = missing.map((m) => {
    const what = [
      ...(m.repeated.length ? [`${list(m.repeated)} ${m.repeated.length === 1 ? 'is' : 'are'} defined in several of its units: ambiguous, the kernel refuses an entry without a position`] : []),
      ...(m.local.length ? [`the static ${list(m.local)} may repeat in other units`] : []),
    ].join('; ');
    const looked = m.looked.length ? `; looked for ${m.looked.join(', ')}` : '';
    const rejected = m.rejected.length ? `; not usable: ${m.rejected.join(', ')}` : '';
    return `${m.name} (${what}${looked}${rejected})`;
  });
  return `no linked object to count .old_sympos in for ${parts.join('; and for ')}: no .old_sympos is given; give the linked module (.ko, or its ld -r .o) or vmlinux with --linked-object`;
}

const list = (names: string[]) => names.join(', ');

