import { tailCallReach } from '../model/tail-calls.js';
import { InputError } from '../errors.js';
import { openObject } from '../elf/open.js';
import { buildModel } from '../model/build.js';
import type { FunctionInfo, ObjectModel } from '../model/types.js';
import type { CompareReport, FunctionChangeJson, StackOnlyEntryJson } from '../report/types.js';

/** The prefix the kernel's livepatch selftests give their copies, tried when none is given. */
const DEFAULT_PREFIX = 'livepatch_';

/** One changed function and its copy in the livepatch module. */
interface LivepatchCopy {
  /** The report's name of the changed function (its original name). */
  name: string;
  /** The patched object's symbol. */
  patched: string;
  /** The livepatch module's copy: what `.new_func` points to. */
  copy: string;
  /** The prefix the copy's name adds to the patched symbol ('' when the names are the same). */
  prefix: string;
  /** The copy's parts in the livepatch module. */
  parts: string[];
}

export interface LivepatchNames {
  /** The livepatch object read. */
  path: string;
  copies: LivepatchCopy[];
  /**
   * The disable set as the livepatch module has it: for each copy, its parts, and every
   * function of the module it reaches through tail calls (transitively), with their parts.
   */
  disable: StackOnlyEntryJson[];
  /** One line each: where the module's split differs from the patched object's. */
  warnings: string[];
}

/** The function (not a part) named `name` in the model; an error when the name repeats. */
function familyNamed(model: ObjectModel, path: string, name: string): FunctionInfo | undefined {
  const found = (model.byName.get(name) ?? []).filter((fn) => !fn.parent);
  if (found.length > 1) throw new InputError(path, `has ${found.length} functions named ${name}: the livepatch copy must be unique`);
  return found[0];
}

/** The livepatch copy of one changed function: `prefix + symbol`, or without a prefix the symbol itself or `livepatch_` + symbol. */
function findCopy(model: ObjectModel, path: string, change: FunctionChangeJson, prefix: string | undefined): { fn: FunctionInfo; prefix: string } {
  const symbol = change.patched!.symbol;
  const prefixes = prefix !== undefined ? [prefix] : ['', DEFAULT_PREFIX];
  for (const p of prefixes) {
    const fn = familyNamed(model, path, p + symbol);
    if (fn) return { fn, prefix: p };
  }
  const tried = prefixes.map((p) => p + symbol).join(' or ');
  throw new InputError(path, `has no function ${tried}: the livepatch copy of ${change.name} (give its prefix with --new-prefix)`);
}

function byName(a: StackOnlyEntryJson, b: StackOnlyEntryJson): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * The names a livepatch module, as it was built, has for what the comparison derived: the
 * copy of each changed function (`.new_func`) and the disable set (`.new_name`), found in
 * the module's own object, not assumed from the patched object's split: the module is a
 * separate compile (other names, other flags, other inlining), and gcc may split a copy
 * differently, or tail-call differently. The module's own code counts when it is reached
 * by a tail call from a copy, whatever the function (it is gone once the patch is
 * disabled and the module removed); code outside the module (undefined symbols) does not.
 */
function deriveLivepatchNames(report: CompareReport, model: ObjectModel, path: string, prefix?: string): LivepatchNames {
  const changed = report.functions.filter((f) => f.status === 'changed');
  const found = changed.map((change) => ({ change, ...findCopy(model, path, change, prefix) }));
  const copyFns = new Set(found.map((c) => c.fn));
  const entries = new Map<FunctionInfo, StackOnlyEntryJson>();
  const add = (fn: FunctionInfo, owner: string, reason: 'part' | 'tail-call', partOf?: string) => {
    if (!entries.has(fn)) entries.set(fn, { name: fn.name, owner, reason, ...(partOf ? { part_of: partOf } : {}) });
  };
  for (const { fn } of found) {
    for (const part of fn.parts) add(part, fn.name, 'part');
    // Another copy is checked as a new function already.
    for (const target of tailCallReach(fn, (t) => copyFns.has(t))) {
      add(target, fn.name, 'tail-call');
      for (const part of target.parts) add(part, fn.name, 'part', target.name);
    }
  }
  const disable = [...entries.values()].sort(byName);

  // The report's disable set, renamed as the module would have it had it split alike.
  const prefixOf = new Map(found.map((c) => [c.change.patched!.symbol, c.prefix]));
  const expected = new Set(report.stack_only.disable.map((e) => (prefixOf.get(e.owner) ?? prefix ?? DEFAULT_PREFIX) + e.name));
  const actual = new Set(disable.map((e) => e.name));
  const onlyModule = [...actual].filter((n) => !expected.has(n));
  const onlyPatched = [...expected].filter((n) => !actual.has(n));
  const warnings: string[] = [];
  if (onlyModule.length || onlyPatched.length) {
    const sides = [onlyModule.length ? `only in the livepatch module: ${onlyModule.join(', ')}` : '', onlyPatched.length ? `only in the patched object: ${onlyPatched.join(', ')}` : ''];
    warnings.push(`${path}: the livepatch module splits or tail-calls differently from ${report.patched} (${sides.filter(Boolean).join('; ')}); the disable set follows the module`);
  }
  // The kernel looks a new_name up with position 0 (kernel/6.1/0001-*.patch): a name the
  // module has twice, from two of its units, makes it refuse the patch.
  for (const e of disable) {
    const count = new Set(model.byName.get(e.name) ?? []).size;
    if (count > 1) warnings.push(`${path}: ${count} functions are named ${e.name}, a .new_name of the disable set: the kernel looks new_name up without a position and refuses the patch (rename one)`);
  }
  for (const { fn } of found) {
    if (!fn.global) warnings.push(`${path}: ${fn.name} is local to its object: a separate unit cannot point .new_func at it (make it global)`);
  }
  return {
    path,
    copies: found.map(({ change, fn, prefix: p }) => ({ name: change.name, patched: change.patched!.symbol, copy: fn.name, prefix: p, parts: fn.parts.map((part) => part.name) })),
    disable,
    warnings,
  };
}

/** Reads the built livepatch object (`.o` or `.ko`) and derives its names (see deriveLivepatchNames). */
export function readLivepatchNames(report: CompareReport, path: string, prefix?: string): LivepatchNames {
  return deriveLivepatchNames(report, buildModel(openObject(path)), path, prefix);
}

/**
 * The report as the C output needs it for that module: each changed function's patched
 * side named by its copy (so `.new_func` points to it), part mappings by the module's part
 * names where the module has them, and the module's disable set. Render it with no prefix.
 */
export function withLivepatchNames(report: CompareReport, names: LivepatchNames): CompareReport {
  const copies = new Map(names.copies.map((c) => [c.name, c]));
  const moduleNames = new Set(names.disable.map((e) => e.name));
  const functions = report.functions.map((f) => {
    const copy = f.status === 'changed' ? copies.get(f.name) : undefined;
    if (!copy) return f;
    const rename = (n: string | null) => (n !== null && moduleNames.has(copy.prefix + n) ? copy.prefix + n : null);
    return {
      ...f,
      patched: { ...f.patched!, symbol: copy.copy, parts: copy.parts },
      ...(f.part_mapping ? { part_mapping: f.part_mapping.map((m) => ({ ...m, patched: rename(m.patched) })) } : {}),
    };
  });
  return { ...report, functions, stack_only: { ...report.stack_only, disable: names.disable }, warnings: [...report.warnings, ...names.warnings] };
}
