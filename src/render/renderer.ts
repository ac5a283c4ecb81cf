import type { KlpModuleOptions } from './klp-module.js';
import type { FamilyListing } from '../report/listings.js';
import type { CompareReport, InspectReport, ReplaceReport, TreeReport } from '../report/types.js';
import type { AuditReport } from '../audit/report.js';

/** The reports a format may render, by kind: one object pair, two trees, one object, an atomic replace. */
export interface Reports {
  compare: CompareReport;
  tree: TreeReport;
  inspect: InspectReport;
  replace: ReplaceReport;
  /** A built livepatch module checked against its originals (`audit`). */
  audit: AuditReport;
}

export type ReportKind = keyof Reports;

/** Command-line options that shape an output, for the formats that use them. */
export interface RenderOptions extends KlpModuleOptions {
  /** `--new-prefix`: prefix of the livepatch module's function names. */
  newPrefix?: string;
  /** `--object-name`: the klp_object name of tree-mode objects that are not kernel modules. */
  objectName?: string;
  /**
   * The whole-function disassembly of the changed families of one object pair, by family
   * name (familyListings), for the formats that show it side by side (html).
   */
  listings?: Record<string, FamilyListing>;
  /** The same for the objects of a tree report, by object path (small trees only; see TreeOptions.listingsUpTo). */
  treeListings?: Record<string, Record<string, FamilyListing>>;
}

/**
 * One output format: a function per kind of report it can show, each returning the whole
 * output as a string (the CLI writes it; a renderer does no I/O). A kind left out is one the
 * format cannot show, and the command that makes that kind does not offer the format.
 */
export type Renderer = { readonly [K in ReportKind]?: (report: Reports[K], options: RenderOptions) => string };
