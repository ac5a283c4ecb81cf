import type { CompareReport } from '../report/types.js';

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
