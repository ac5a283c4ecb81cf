import type { BuildStamp } from './compare/code.js';
import { compareModels, type Comparison } from './compare/compare.js';
import { deriveStackOnly, type StackOnlySets } from './derive/stack-only.js';
import { kernelRelease } from './elf/modinfo.js';
import type { ElfObject } from './elf/types.js';
import { buildModel } from './model/build.js';
import { backendFor } from './arch/index.js';
import { sameComparisonInputs } from './compare/same-inputs.js';
import { fillAssemblerText } from './report/assembler-text.js';
import { buildCompareReport, emptyCompareReport } from './report/build.js';
import type { CompareReport } from './report/types.js';

export interface CompareResult {
  report: CompareReport;
  /** The models compared and the sets; absent when the pair was proven unchanged without modelling. */
  comparison?: Comparison;
  sets?: StackOnlySets;
}

export interface PipelineOptions {
  /** Build stamps besides the kernel release that modules carry (for objects without .modinfo). */
  stamps?: readonly BuildStamp[];
  /**
   * Leave the assembler text of differing instructions to the caller (`fillAssemblerText`):
   * tree mode's workers do, so that only the thread writing the report disassembles.
   */
  deferAssemblerText?: boolean;
  /** The patched side was compiled with `#line` directives: no line moved outside the changes. */
  linesPinned?: boolean;
}

/**
 * The stamps a string literal may differ by without the code changing: the kernel release
 * of each build (from a module's `vermagic=`), and any the caller names.
 */
function buildStamps(original: ElfObject, patched: ElfObject, given: readonly BuildStamp[]): BuildStamp[] {
  const stamps = given.filter((s) => s.original !== s.patched && s.original !== '');
  const before = kernelRelease(original);
  const after = kernelRelease(patched);
  if (before && after && before !== after && !stamps.some((s) => s.original === before)) stamps.push({ original: before, patched: after });
  return stamps;
}

/**
 * The one comparison every mode goes through (two sources, two objects, two trees, a
 * source tree): model both objects, compare them, derive the sets, build the report. A
 * mode may skip a pair only when its files are byte-identical; anything else comes here, so
 * that a rule (special sections, line shifts, renames) holds in every mode alike. Pairs
 * whose differences lie only where the comparison never reads (build IDs, `.modinfo`, BTF)
 * are settled by the comparison's own proof, without modelling.
 */
export function compareElfObjects(original: ElfObject, patched: ElfObject, labels: { original: string; patched: string }, options: PipelineOptions = {}): CompareResult {
  const arch = backendFor(original).name;
  backendFor(patched);
  if (sameComparisonInputs(original, patched)) return { report: emptyCompareReport(arch, labels) };
  // Objects parsed without symbols (for the proof above) get them now.
  original = original.withSymbols?.() ?? original;
  patched = patched.withSymbols?.() ?? patched;
  const originalModel = buildModel(original);
  // The patched build is mostly the same code: what is byte-identical is not decoded twice.
  const stamps = buildStamps(original, patched, options.stamps ?? []);
  const comparison = compareModels(originalModel, buildModel(patched, { twin: originalModel }), { stamps, linesPinned: options.linesPinned });
  const sets = deriveStackOnly(comparison);
  const report = buildCompareReport(comparison, sets, labels);
  if (!options.deferAssemblerText) fillAssemblerText(report);
  return { comparison, sets, report };
}
