import type { CompareReport } from '../report/types.js';
import type { AuditReport } from '../audit/report.js';

export const EXIT_OK = 0;
const EXIT_CHANGED = 1;
export const EXIT_ERROR = 2;

/**
 * design.md §7: 1 only with --exit-code and at least one changed, added or removed
 * function (build noise does not count); errors never get here.
 */
export function compareExitCode(reports: CompareReport[], options: { exitCode?: boolean }): number {
  if (!options.exitCode) return EXIT_OK;
  return reports.some((r) => r.functions.some((f) => f.status !== 'build_noise')) ? EXIT_CHANGED : EXIT_OK;
}

/** `audit`: 1 only with --exit-code and at least one blind spot or position error. */
export function auditExitCode(report: AuditReport, options: { exitCode?: boolean }): number {
  if (!options.exitCode) return EXIT_OK;
  return report.summary.blind_spots > 0 || report.summary.position_errors > 0 ? EXIT_CHANGED : EXIT_OK;
}
