import { readFileSync } from 'node:fs';
import { describeFsError, InputError } from '../errors.js';
import type { CompareReport, StackOnlyEntryJson } from '../report/types.js';

export interface ReplaceEntry extends StackOnlyEntryJson {
  /** `replaced`: a name in the replaced livepatch's module; `replacing`: a name in the running kernel. */
  from: 'replaced' | 'replacing';
  /** The object the name lives in, for reports of object trees. */
  object?: string;
}

/** A compare report as read back from disk: a single object's, or a tree's with `objects`. */
type StoredReport = Partial<CompareReport> & { objects?: (Partial<CompareReport> & { path?: string })[] };

/** Reads a compare report written with `--format json`; anything else is an error naming the file. */
export function readCompareReport(path: string): StoredReport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(path, describeFsError(err));
  }
  let report: StoredReport;
  try {
    report = JSON.parse(text) as StoredReport;
  } catch (err) {
    throw new InputError(path, `not JSON: ${(err as Error).message}`);
  }
  if (typeof report !== 'object' || report === null || report.schema_version !== 1) {
    throw new InputError(path, 'not a stackonly compare report (schema_version 1 expected)');
  }
  const parts = report.objects ?? [report];
  for (const part of parts) {
    const sets = part.stack_only;
    if (!sets || !Array.isArray(sets.enable) || !Array.isArray(sets.disable)) {
      throw new InputError(path, 'not a stackonly compare report (no stack_only.enable/disable)');
    }
  }
  return report;
}

function entriesOf(report: StoredReport, set: 'enable' | 'disable', from: ReplaceEntry['from']): ReplaceEntry[] {
  const parts = report.objects ?? [report];
  const out: ReplaceEntry[] = [];
  for (const part of parts) {
    for (const e of part.stack_only![set]) {
      const entry: ReplaceEntry = { name: e.name, owner: e.owner, reason: e.reason, from };
      if (e.sympos) entry.sympos = e.sympos;
      if (report.objects && (part as { path?: string }).path) entry.object = (part as { path?: string }).path;
      out.push(entry);
    }
  }
  return out;
}

/**
 * Atomic replace of livepatch A by B (design.md §6): the stack check must see A's code as
 * when disabling A (A's disable set, names in A's module) and the kernel's code as when
 * enabling B (B's enable set).
 */
export function deriveReplace(replaced: StoredReport, replacing: StoredReport): ReplaceEntry[] {
  return [...entriesOf(replaced, 'disable', 'replaced'), ...entriesOf(replacing, 'enable', 'replacing')];
}
