import type { CompareReport, InspectReport, ReplaceReport, TreeReport } from '../report/types.js';

/** The reports a format may render, by kind: one object pair, two trees, one object, an atomic replace. */
export interface Reports {
  compare: CompareReport;
  tree: TreeReport;
  inspect: InspectReport;
  replace: ReplaceReport;
}

export type ReportKind = keyof Reports;

/** Command-line options that shape an output, for the formats that use them. */
export interface RenderOptions {
  /** `--new-prefix`: prefix of the livepatch module's function names. */
  newPrefix?: string;
  /** `--object-name`: the klp_object name of tree-mode objects that are not kernel modules. */
  objectName?: string;
}

/**
 * One output format: a function per kind of report it can show, each returning the whole
 * output as a string (the CLI writes it; a renderer does no I/O). A kind left out is one the
 * format cannot show, and the command that makes that kind does not offer the format.
 */
export type Renderer = { readonly [K in ReportKind]?: (report: Reports[K], options: RenderOptions) => string };
