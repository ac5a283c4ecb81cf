import { familyRoot, type FunctionInfo, type ObjectModel } from '../model/types.js';
import { CodeComparer, type BuildStamp, type LineShift, type ChangeReason, type FunctionDifference } from './code.js';
import { DifferenceFinder, type Difference } from './differences.js';
import { dwarfNamesLine } from './dwarf-evidence.js';
import { matchFunctions, type Matching } from './match.js';

export type ColdMapping = 'one-to-one' | 'lost' | 'gained' | 'split' | 'merged' | 'reparented' | 'none';

/** How one part of a changed family maps between the builds. */
interface PartMapping {
  original?: FunctionInfo;
  patched?: FunctionInfo;
  /** Where a part came from or went to when it is not in the same family on the other side. */
  otherFamily?: string;
}

export interface FamilyChange {
  /** The original object's name, or the patched object's for an added family. */
  name: string;
  /** `build_noise`: the family differs only in string literals that differ by build stamps. */
  status: 'changed' | 'added' | 'removed' | 'build_noise';
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
  /** Changed, added, removed and build-noise families, by name. */
  changes: FamilyChange[];
  /** Functions (original names) whose only difference is shifted line-number arguments, with the shift. */
  lineOnly: LineOnly[];
  /** How each matched pair differs (original function to its difference), for explaining verdicts. */
  differences: Map<FunctionInfo, FunctionDifference>;
  comparer: CodeComparer;
  /** The build stamps that string literals were compared under. */
  stamps: readonly BuildStamp[];
  warnings: string[];
}

export interface CompareOptions {
  /** Build stamps (the kernel release) of the two builds: literals that differ only by them are build noise. */
  stamps?: readonly BuildStamp[];
  /**
   * The patched side was compiled with `#line` directives after each changed region, so no
   * line number outside the changes moved: every differing constant is a change, whatever
   * evidence would otherwise call it a line.
   */
  linesPinned?: boolean;
}

/** Compares two models of the same object built from the original and the patched source. */
export function compareModels(original: ObjectModel, patched: ObjectModel, options: CompareOptions = {}): Comparison {
  const stamps = options.stamps ?? [];
  const comparer = new CodeComparer(original, patched, stamps);
  const matching = matchFunctions(original, patched, comparer.fingerprint);
  const { toPatched, toOriginal } = matching;
  const changes: FamilyChange[] = [];

  // Every matched pair first: whether a difference is only shifted line numbers is judged
  // across the whole object (a patch shifts many functions' __LINE__ arguments alike).
  const differences = new Map<FunctionInfo, FunctionDifference>();
  for (const [o, p] of toPatched) differences.set(o, comparer.compare(o, p, toPatched));
  const lineOnly = settleLineShifts(differences, comparer, toPatched, options.linesPinned === true);
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
  // A part whose own differences are lines is no news when its family is listed anyway.
  const listed = new Set(changes.map((c) => c.original));
  const lineShifted = lineOnly.filter((l) => !listed.has(familyRoot(l.fn)));
  return { original, patched, matching, changes, lineOnly: lineShifted, differences, comparer, stamps, warnings };
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
  const own = differences.get(o)!;
  const ownReasons = own.reasons;
  if (ownReasons.length === 0 && o.parts.length === 0 && p.parts.length === 0) return own.noise ? buildNoise(o, p) : undefined;
  const reasons = new Set(ownReasons);
  let noise = own.noise !== undefined;
  const partMappings: PartMapping[] = [];
  for (const op of o.parts) {
    const pp = toPatched.get(op);
    if (pp && pp.parent === p) {
      partMappings.push({ original: op, patched: pp });
      const difference = differences.get(op)!;
      if (difference.reasons.length > 0) reasons.add('part');
      if (difference.noise) noise = true;
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
  if (reasons.size === 0) return noise ? buildNoise(o, p) : undefined;
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

/** What differs in a listed family, or in a function listed under line shifts: the evidence for its verdict. */
export function explain(comparison: Comparison, item: FamilyChange | LineOnly): Difference[] {
  const finder = (finders.get(comparison) ?? finders.set(comparison, new DifferenceFinder(comparison.comparer, comparison.matching.toPatched)).get(comparison))!;
  if ('lines' in item) return finder.pair(item.fn, comparison.matching.toPatched.get(item.fn)!, comparison.differences.get(item.fn));
  if (item.status === 'added' || item.status === 'removed') return [];
  return finder.family(item.original!, item.patched!, comparison.differences);
}

const finders = new WeakMap<Comparison, DifferenceFinder>();

function buildNoise(o: FunctionInfo, p: FunctionInfo): FamilyChange {
  return { name: o.name, status: 'build_noise', original: o, patched: p, reasons: [], partMappings: [] };
}

/** A function not reported because its differences are all moved line numbers. */
export interface LineOnly {
  name: string;
  fn: FunctionInfo;
  shift: number;
  /** Every differing constant, each with the evidence that it is a line number. */
  lines: LineShift[];
}

/**
 * A patch that adds or removes lines shifts every later `__LINE__` in the file by the same
 * amount, so many functions differ only in those constants. Struct sizes, flags and enum
 * values passed to calls differ the same way when a patch changes them, and a missed change
 * is worse than an extra `klp_func`, so a differing constant counts as a line number only on
 * positive evidence:
 *  - `bug_table`: it is the line field of a kernel table entry (`__bug_table`);
 *  - `line_callee`: it is passed at the line parameter of a kernel function known to take
 *    one (the backend's `lineCallees`);
 *  - `format`: the same call receives a format string that prints it as a line number
 *    (`"%s: line=%d\n"`: a lock helper's `__LINE__` passed on to a debug print);
 *  - `function_name`: an argument next to it is a function's name (`__func__, __LINE__`,
 *    or `__LINE__, __func__`);
 *  - `dwarf`: the objects carry line tables, and on each side the constant is the line of
 *    the code that uses it (dwarf-evidence.ts);
 *  - `span`: it lies within the span of the line numbers proven so in the same family (the
 *    function and its parts are one source function) and moved by the same amount.
 * A function whose differing constants are all proven is not changed; any other differing
 * constant is a change (reason `constant`).
 */
function settleLineShifts(differences: Map<FunctionInfo, FunctionDifference>, comparer: CodeComparer, toPatched: Map<FunctionInfo, FunctionInfo>, linesPinned: boolean): LineOnly[] {
  // Proven lines by family and shift: the span they cover.
  const spans = new Map<FunctionInfo, Map<number, { low: number; high: number }>>();
  for (const [fn, d] of differences) {
    if (!d.lineShifts || linesPinned) continue;
    for (const arg of d.lineShifts) {
      if (arg.table === '__bug_table') arg.evidence = 'bug_table';
      else if (arg.argument >= 0 && comparer.original.backend.lineCallees.get(arg.callee) === arg.argument) arg.evidence = 'line_callee';
      else if (comparer.lineEvidence.formatNamesLine(fn, arg)) arg.evidence = 'format';
      else if (comparer.lineEvidence.functionNameBesideLine(fn, arg)) arg.evidence = 'function_name';
      else if (dwarfNamesLine(fn, toPatched.get(fn)!, arg, comparer.original, comparer.patched)) arg.evidence = 'dwarf';
      else continue;
      const root = familyRoot(fn);
      let byShift = spans.get(root);
      if (!byShift) spans.set(root, (byShift = new Map()));
      const span = byShift.get(arg.shift);
      if (!span) byShift.set(arg.shift, { low: arg.original, high: arg.original });
      else {
        span.low = Math.min(span.low, arg.original);
        span.high = Math.max(span.high, arg.original);
      }
    }
  }
  const lineOnly: LineOnly[] = [];
  for (const [fn, d] of differences) {
    if (!d.lineShifts) continue;
    const byShift = spans.get(familyRoot(fn));
    for (const arg of d.lineShifts) {
      if (arg.evidence) continue;
      const span = byShift?.get(arg.shift);
      if (span && arg.original >= span.low && arg.original <= span.high) arg.evidence = 'span';
    }
    if (d.lineShifts.every((arg) => arg.evidence !== undefined)) lineOnly.push({ name: fn.name, fn, shift: d.lineShifts[0].shift, lines: d.lineShifts });
    else {
      // A constant passed to a call is an argument that changed (`constant`); one the
      // code computes with is a change of the code itself.
      const unproven = d.lineShifts.filter((arg) => arg.evidence === undefined);
      const reasons: ChangeReason[] = [];
      if (unproven.some((arg) => arg.callOffset < 0 && arg.table === undefined)) reasons.push('code');
      if (unproven.some((arg) => arg.callOffset >= 0 || arg.table !== undefined)) reasons.push('constant');
      d.reasons = reasons;
    }
  }
  return lineOnly.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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

/**
 * Whether a function (or a part of it) of one name refers to one of the other, either way,
 * in any of the models: calls it, tail-calls it, or takes its address (a work item, a
 * callback: code moved into a function run through a pointer).
 */
function referenceRelated(a: string, b: string, models: ObjectModel[]): boolean {
  const refers = (fn: FunctionInfo, to: string) => fn.edges.some((edge) => edge.targetName === to);
  const from = (model: ObjectModel, x: string, y: string) => (model.byName.get(x) ?? []).some((fn) => refers(fn, y) || fn.parts.some((part) => refers(part, y)));
  return models.some((model) => from(model, a, b) || from(model, b, a));
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
  // things: the cold code moved to another family, by an inlining decision or by the patch.
  // Inlining moves code between a caller and its callee, and a patch that moves code into a
  // new function calls it or hands it on (a work item): the two families must refer to one
  // another in one of the builds. Two unrelated functions that lose and gain similar cold
  // code (two copies of one error path) are `lost` and `gained`, not one part moving.
  const newHome = (part: FunctionInfo, others: FunctionInfo[], family: FunctionInfo, matched: Map<FunctionInfo, FunctionInfo>) => {
    const signature = calleeNames(part);
    return others.find(
      (other) => other.parent && other.parent !== family && !matched.has(other) && similar(signature, calleeNames(other)) && referenceRelated(family.name, other.parent.name, [original, patched]),
    );
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
