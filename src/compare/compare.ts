import type { FunctionInfo, ObjectModel } from '../model/types.js';
import { CodeComparer, type ChangeReason } from './code.js';
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
  warnings: string[];
}

/** Compares two models of the same object built from the original and the patched source. */
export function compareModels(original: ObjectModel, patched: ObjectModel): Comparison {
  const comparer = new CodeComparer(original, patched);
  const matching = matchFunctions(original, patched, comparer.fingerprint);
  const { toPatched, toOriginal } = matching;
  const warnings = [...original.warnings.map((w) => `original: ${w}`), ...patched.warnings.map((w) => `patched: ${w}`)];
  const changes: FamilyChange[] = [];

  const differs = new Map<FunctionInfo, ChangeReason[]>();
  const reasonsOf = (o: FunctionInfo, p: FunctionInfo) => {
    let r = differs.get(o);
    if (!r) differs.set(o, (r = comparer.compare(o, p, toPatched)));
    return r;
  };

  for (const o of original.functions) {
    if (o.parent) continue;
    const p = toPatched.get(o);
    if (!p || p.parent) {
      if (p?.parent) warnings.push(`${o.name} is a function in the original but a part of ${p.parent.name} in the patched object`);
      changes.push({ name: o.name, status: 'removed', original: o, reasons: [], partMappings: [] });
      continue;
    }
    const reasons = new Set(reasonsOf(o, p));
    const partMappings: PartMapping[] = [];
    for (const op of o.parts) {
      const pp = toPatched.get(op);
      if (pp && pp.parent === p) {
        partMappings.push({ original: op, patched: pp });
        if (reasonsOf(op, pp).length > 0) reasons.add('part');
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
    if (reasons.size === 0) continue;
    changes.push({
      name: o.name,
      status: 'changed',
      original: o,
      patched: p,
      reasons: [...reasons],
      coldMapping: coldMappingOf(o, p, partMappings, original, patched, toPatched, toOriginal),
      partMappings,
    });
  }
  for (const p of patched.functions) {
    if (p.parent || toOriginal.has(p)) continue;
    changes.push({ name: p.name, status: 'added', patched: p, reasons: [], partMappings: [] });
  }
  changes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { original, patched, matching, changes, warnings };
}

/** Names of external and in-object functions a function calls: a rough signature of cold code. */
function calleeNames(fn: FunctionInfo): Set<string> {
  const names = new Set<string>();
  for (const edge of fn.edges) if (edge.kind === 'call' || edge.kind === 'tail-call') names.add(edge.targetName);
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
  const vanished = mappings.filter((m) => m.original && !m.patched);
  const appeared = mappings.filter((m) => m.patched && !m.original);
  for (const m of vanished) {
    const sig = calleeNames(m.original!);
    for (const other of patched.functions) {
      if (!other.parent || other.parent === p || toOriginal.has(other)) continue;
      if (similar(sig, calleeNames(other))) {
        m.otherFamily = other.parent.name;
        return 'reparented';
      }
    }
  }
  for (const m of appeared) {
    const sig = calleeNames(m.patched!);
    for (const other of original.functions) {
      if (!other.parent || other.parent === o || toPatched.has(other)) continue;
      if (similar(sig, calleeNames(other))) {
        m.otherFamily = other.parent.name;
        return 'reparented';
      }
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
