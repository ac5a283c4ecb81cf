import type { FunctionInfo, ObjectModel } from '../model/types.js';
import { CodeComparer, type LineShift, type ChangeReason, type FunctionDifference } from './code.js';
import { matchFunctions, type Matching } from './match.js';

export type ColdMapping = 'one-to-one' | 'lost' | 'gained' | 'split' | 'merged' | 'reparented' | 'none';

/** How one part of a changed family maps between the builds. */
export interface PartMapping {
  original?: FunctionInfo;
  patched?: FunctionInfo;
  /** Where a part came from or went to when it is not in the same family on the other side. */
  otherFamily?: string;
}

export interface FamilyChange {
  /** The original object's name, or the patched object's for an added family. */
  name: string;
  status: 'changed' | 'added' | 'removed';
  original?: FunctionInfo;
  patched?: FunctionInfo;
  reasons: ChangeReason[];
  coldMapping?: ColdMapping;
  partMappings: PartMapping[];
}

export interface Comparison {
  original: ObjectModel;
  patched: ObjectModel;
  matching: Matching;
  /** Changed, added and removed families, by name. */
  changes: FamilyChange[];
  /** Functions (original names) whose only difference is shifted line-number arguments, with the shift. */
  lineOnly: { name: string; shift: number }[];
  warnings: string[];
}

/** Compares two models of the same object built from the original and the patched source. */
export function compareModels(original: ObjectModel, patched: ObjectModel): Comparison {
  const comparer = new CodeComparer(original, patched);
  const matching = matchFunctions(original, patched, comparer.fingerprint);
  const { toPatched, toOriginal } = matching;
  const changes: FamilyChange[] = [];

  // Every matched pair first: whether a difference is only shifted line numbers is judged
  // across the whole object (a patch shifts many functions' __LINE__ arguments alike).
  const differences = new Map<FunctionInfo, FunctionDifference>();
  for (const [o, p] of toPatched) differences.set(o, comparer.compare(o, p, toPatched));
  const lineOnly = settleLineShifts(differences);
  // Only now: comparing reads the special sections, which can warn about the models.
  const warnings = [...original.warnings.map((w) => `original: ${w}`), ...patched.warnings.map((w) => `patched: ${w}`)];

  for (const o of original.functions) {
    if (o.parent) continue;
    const change = familyChange(o, original, patched, matching, differences, warnings);
    if (change) changes.push(change);
  }
  for (const p of patched.functions) {
    if (p.parent || toOriginal.has(p)) continue;
    changes.push({ name: p.name, status: 'added', patched: p, reasons: [], partMappings: [] });
  }
  changes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { original, patched, matching, changes, lineOnly, warnings };
}

/** How the family of original function `o` changed, or nothing when it did not. */
function familyChange(
  o: FunctionInfo,
  original: ObjectModel,
  patched: ObjectModel,
  matching: Matching,
  differences: Map<FunctionInfo, FunctionDifference>,
  warnings: string[],
): FamilyChange | undefined {
  const { toPatched, toOriginal } = matching;
  const p = toPatched.get(o);
  if (!p || p.parent) {
    if (p?.parent) warnings.push(`${o.name} is a function in the original but a part of ${p.parent.name} in the patched object`);
    return { name: o.name, status: 'removed', original: o, reasons: [], partMappings: [] };
  }
  const ownReasons = differences.get(o)!.reasons;
  if (ownReasons.length === 0 && o.parts.length === 0 && p.parts.length === 0) return undefined;
  const reasons = new Set(ownReasons);
  const partMappings: PartMapping[] = [];
  for (const op of o.parts) {
    const pp = toPatched.get(op);
    if (pp && pp.parent === p) {
      partMappings.push({ original: op, patched: pp });
      if (differences.get(op)!.reasons.length > 0) reasons.add('part');
    } else {
      partMappings.push({ original: op, otherFamily: pp?.parent?.name ?? pp?.name });
      reasons.add('part');
    }
  }
  for (const pp of p.parts) {
    const op = toOriginal.get(pp);
    if (op && op.parent === o) continue;
    partMappings.push({ patched: pp, otherFamily: op?.parent?.name ?? op?.name });
    reasons.add('part');
  }
  if (reasons.size === 0) return undefined;
  return {
    name: o.name,
    status: 'changed',
    original: o,
    patched: p,
    reasons: [...reasons],
    coldMapping: coldMappingOf(o, p, partMappings, original, patched, toPatched, toOriginal),
    partMappings,
  };
}

/** Parameters known to take `__LINE__` (kpatch treats these the same way). */
const KNOWN_LINE_CALLEES = new Set(['__warn_printk', '__might_sleep', '___might_sleep', '__might_fault', 'printk', '_printk', 'lockdep_rcu_suspicious', '__btrfs_abort_transaction', '__btrfs_handle_fs_error', '__btrfs_std_error']);

/**
 * A patch that adds or removes lines shifts every later `__LINE__` in the file by the same
 * amount, so many functions differ only in those constants. Struct sizes, flags and enum
 * values passed to calls differ the same way when a patch changes them, and a missed change
 * is worse than an extra `klp_func`, so a differing constant counts as a line number only on
 * evidence that it is one:
 *  - it is the line field of a kernel table entry (`__bug_table`), or the callee is one known
 *    to take line numbers;
 *  - its function passes at least two different constants that all moved by the same shift
 *    (lines of one function move together; `sizeof` moves do not come in distinct pairs);
 *  - the same parameter (callee and register) is proven a line number in another function
 *    by the rule above;
 *  - its shift is proven above for other constants of the object whose old values lie on
 *    both sides of it (lines between two lines that moved by s moved by s too).
 * A function whose differences are all line numbers is unchanged; anything else is a change.
 */
function settleLineShifts(differences: Map<FunctionInfo, FunctionDifference>): { name: string; shift: number }[] {
  const lineParameters = new Set<string>();
  for (const d of differences.values()) {
    if (!d.lineShifts) continue;
    for (const arg of d.lineShifts) {
      if (!isLineField(arg) && !arg.parameter.startsWith('#') && movedTogether(arg, d.lineShifts)) lineParameters.add(arg.parameter);
    }
  }
  // Old values proven to be lines, by shift, to place the unproven ones between them.
  const provenValues = new Map<number, number[]>();
  const unproven = new Map<FunctionInfo, LineShift[]>();
  for (const [fn, d] of differences) {
    if (!d.lineShifts) continue;
    for (const arg of d.lineShifts) {
      if (provenLine(arg, d.lineShifts, lineParameters)) {
        const list = provenValues.get(arg.shift) ?? [];
        list.push(arg.original);
        provenValues.set(arg.shift, list);
      } else {
        const list = unproven.get(fn) ?? [];
        list.push(arg);
        unproven.set(fn, list);
      }
    }
  }
  const lineOnly: { name: string; shift: number }[] = [];
  for (const [fn, d] of differences) {
    if (!d.lineShifts) continue;
    if ((unproven.get(fn) ?? []).every((arg) => betweenProvenLines(arg, provenValues))) lineOnly.push({ name: fn.name, shift: d.lineShifts[0].shift });
    else d.reasons = ['code'];
    delete d.lineShifts;
  }
  return lineOnly.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const isLineField = (arg: LineShift) => arg.parameter.endsWith('#line');

/** Lines of one function move together: two different constants moved by the same shift. */
function movedTogether(arg: LineShift, all: LineShift[]): boolean {
  const originals = new Set<number>();
  for (const other of all) if (other.shift === arg.shift && !isLineField(other)) originals.add(other.original);
  return originals.size >= 2;
}

function provenLine(arg: LineShift, all: LineShift[], lineParameters: Set<string>): boolean {
  return isLineField(arg) || KNOWN_LINE_CALLEES.has(arg.parameter.split('#')[0]) || movedTogether(arg, all) || lineParameters.has(arg.parameter);
}

function betweenProvenLines(arg: LineShift, provenValues: Map<number, number[]>): boolean {
  const values = provenValues.get(arg.shift) ?? [];
  return values.some((v) => v < arg.original) && values.some((v) => v > arg.original);
}

const callees = new WeakMap<FunctionInfo, Set<string>>();

/** Names of external and in-object functions a function calls: a rough signature of cold code. */
function calleeNames(fn: FunctionInfo): Set<string> {
  let names = callees.get(fn);
  if (!names) {
    names = new Set<string>();
    for (const edge of fn.edges) if (edge.kind === 'call' || edge.kind === 'tail-call') names.add(edge.targetName);
    callees.set(fn, names);
  }
  return names;
}

function similar(a: Set<string>, b: Set<string>): boolean {
  if (a.size === 0 || b.size === 0) return false;
  let shared = 0;
  for (const x of a) if (b.has(x)) shared++;
  return shared / (a.size + b.size - shared) >= 0.5;
}

function coldMappingOf(
  o: FunctionInfo,
  p: FunctionInfo,
  mappings: PartMapping[],
  original: ObjectModel,
  patched: ObjectModel,
  toPatched: Map<FunctionInfo, FunctionInfo>,
  toOriginal: Map<FunctionInfo, FunctionInfo>,
): ColdMapping {
  if (mappings.some((m) => m.otherFamily !== undefined)) return 'reparented';
  // A part that vanished here and a part that is new in another family, calling the same
  // things: the cold code followed an inlining decision to another family.
  const newHome = (part: FunctionInfo, others: FunctionInfo[], family: FunctionInfo, matched: Map<FunctionInfo, FunctionInfo>) => {
    const signature = calleeNames(part);
    return others.find((other) => other.parent && other.parent !== family && !matched.has(other) && similar(signature, calleeNames(other)));
  };
  for (const m of mappings) {
    const home = m.original && !m.patched ? newHome(m.original, patched.functions, p, toOriginal) : m.patched && !m.original ? newHome(m.patched, original.functions, o, toPatched) : undefined;
    if (home) {
      m.otherFamily = home.parent!.name;
      return 'reparented';
    }
  }
  const before = o.parts.length;
  const after = p.parts.length;
  if (before === 0 && after === 0) return 'none';
  if (after === 0) return 'lost';
  if (before === 0) return 'gained';
  if (before === after) return 'one-to-one';
  return before < after ? 'split' : 'merged';
}
