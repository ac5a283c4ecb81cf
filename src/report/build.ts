import { explain, type Comparison, type FamilyChange, type LineOnly } from '../compare/compare.js';
import type { Difference } from '../compare/differences.js';
import type { StackOnlyEntry, StackOnlySets } from '../derive/stack-only.js';
import type { FunctionInfo, ObjectModel } from '../model/types.js';
import type {
  CompareReport,
  FamilySideJson,
  DifferenceJson,
  FunctionChangeJson,
  InspectReport,
  LineShiftJson,
  StackOnlyEntryJson,
  TreeObjectReport,
  TreeReport,
} from './types.js';

const SCHEMA_VERSION = 1;

function withSympos<T extends object>(value: T, sympos: number): T {
  return sympos > 0 ? { ...value, sympos } : value;
}

function side(fn: FunctionInfo | undefined): FamilySideJson | null {
  if (!fn) return null;
  return withSympos({ symbol: fn.name, parts: fn.parts.map((p) => p.name).sort(), section: fn.sectionName, size: fn.size }, fn.sympos);
}

function differenceJson(d: Difference): DifferenceJson {
  return { kind: d.kind, original: d.original, patched: d.patched, ...(d.evidence ? { evidence: d.evidence } : {}) };
}

function lineShift(comparison: Comparison, l: LineOnly): LineShiftJson {
  return {
    name: l.name,
    shift: l.shift,
    evidence: [...new Set(l.lines.map((line) => line.evidence!))].sort(),
    differences: explain(comparison, l).map(differenceJson),
  };
}

function change(comparison: Comparison, c: FamilyChange): FunctionChangeJson {
  const json: Omit<FunctionChangeJson, 'differences'> = {
    name: c.name,
    status: c.status,
    original: side(c.original),
    patched: side(c.patched),
  };
  if (c.status === 'changed') {
    json.cold_mapping = c.coldMapping!;
    json.reasons = c.reasons;
    json.part_mapping = c.partMappings.map((m) => ({
      original: m.original?.name ?? null,
      patched: m.patched?.name ?? null,
      ...(m.otherFamily !== undefined ? { other_family: m.otherFamily } : {}),
    }));
  }
  return { ...json, differences: explain(comparison, c).map(differenceJson) };
}

function stackOnlyEntryJson(e: StackOnlyEntry): StackOnlyEntryJson {
  const json: StackOnlyEntryJson = { name: e.name, owner: e.owner, reason: e.reason };
  if (e.partOf) json.part_of = e.partOf;
  return withSympos(json, e.sympos);
}

export function buildCompareReport(comparison: Comparison, sets: StackOnlySets, paths: { original: string; patched: string }): CompareReport {
  return {
    schema_version: SCHEMA_VERSION,
    arch: comparison.original.backend.name,
    original: paths.original,
    patched: paths.patched,
    functions: comparison.changes.map((c) => change(comparison, c)),
    stack_only: {
      enable: sets.enable.map(stackOnlyEntryJson),
      disable: sets.disable.map(stackOnlyEntryJson),
    },
    renames: comparison.matching.renames.map((r) => ({ original: r.original, patched: r.patched, by: r.by })),
    line_shifts: comparison.lineOnly.map((l) => lineShift(comparison, l)),
    build_stamps: comparison.stamps.map((s) => ({ original: s.original, patched: s.patched })),
    warnings: comparison.warnings,
  };
}

/** The report of a pair with no difference. */
export function emptyCompareReport(arch: string, paths: { original: string; patched: string }): CompareReport {
  return {
    schema_version: SCHEMA_VERSION,
    arch,
    original: paths.original,
    patched: paths.patched,
    functions: [],
    stack_only: { enable: [], disable: [] },
    renames: [],
    line_shifts: [],
    build_stamps: [],
    warnings: [],
  };
}

/** The report with its klp_object name (design.md §7: never null), right after the names of the two inputs. */
export function withObjectName<T extends CompareReport>(report: T, name: string): T {
  const { schema_version, arch, original, patched, object_name: _, ...rest } = report;
  return { schema_version, arch, original, patched, object_name: name, ...rest } as T;
}

/**
 * Names every object of a tree report: `nameOf` gives each its klp_object name (from what
 * tree mode found, the object's path, or the compilation database), placed after its path
 * and status.
 */
export function nameTreeObjects(report: TreeReport, nameOf: (object: TreeObjectReport) => string): TreeReport {
  return {
    ...report,
    objects: report.objects.map((object) => {
      const { path, status, object_name: _, ...rest } = object;
      return { path, status, object_name: nameOf(object), ...rest };
    }),
  };
}

export function buildInspectReport(model: ObjectModel, path: string): InspectReport {
  return {
    schema_version: SCHEMA_VERSION,
    arch: model.backend.name,
    path,
    functions: model.functions.map((fn) => {
      const seen = new Set<string>();
      const edges: { kind: string; target: string }[] = [];
      for (const edge of fn.edges) {
        const key = `${edge.kind}\0${edge.targetName}`;
        if (seen.has(key)) continue;
        seen.add(key);
        edges.push({ kind: edge.kind, target: edge.targetName });
      }
      const t = fn.thunks;
      const thunks = t.fentry || t.returns || t.indirectCalls || t.indirectJumps ? { thunks: { fentry: t.fentry, returns: t.returns, indirect_calls: t.indirectCalls, indirect_jumps: t.indirectJumps } } : {};
      const base = { name: fn.name, section: fn.sectionName, size: fn.size, ...thunks };
      const shape = fn.parent
        ? { ...base, part_of: fn.parent.name, evidence: fn.partEvidence, edges }
        : { ...base, parts: fn.parts.map((p) => p.name), edges };
      const withAliases = fn.aliases.length > 0 ? { ...shape, aliases: fn.aliases } : shape;
      return withSympos(withAliases, fn.sympos) as InspectReport['functions'][number];
    }),
    warnings: model.warnings,
  };
}
