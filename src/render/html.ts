import { diffArrays } from 'diff';
import type { FamilyListing, FunctionListing, ListingLine } from '../report/listings.js';
import type { CompareReport, TreeReport } from '../report/types.js';
import { htmlAssets } from './html-assets.js';
import { PAGE_SCRIPT, PAGE_STYLE } from './html-page.js';
import type { RenderOptions, Renderer } from './renderer.js';

/*
 * The HTML report: one self-contained page (libraries, styles and data inline; no
 * request leaves it) that a person reads in a browser. The report's data is embedded as
 * JSON and the page builds each object's and each function's view only when it is opened,
 * so that a tree of thousands of modules stays a page that opens at once.
 */

/** One row of a side-by-side listing: the instruction on each side, and how they compare. */
type Row = [original: ListingLine | null, patched: ListingLine | null, mark: 'same' | 'changed' | 'removed' | 'added'];

/** A function of a family beside its counterpart on the other side. */
interface SideBySide {
  original: string | null;
  patched: string | null;
  rows: Row[];
  truncated?: boolean;
}

/** What the listings of one object add to its view: side-by-side code, and every tail call for the graphs ([from, to]). */
interface ObjectViews {
  sideBySide: Record<string, SideBySide[]>;
  tailCalls: Record<string, { original: [string, string][]; patched: [string, string][] }>;
}

function objectViews(report: CompareReport, listings: Record<string, FamilyListing>): ObjectViews {
  const views: ObjectViews = { sideBySide: {}, tailCalls: {} };
  const calls = (side: FunctionListing[]) => side.flatMap((fn) => fn.tailCalls.map((to): [string, string] => [fn.symbol, to]));
  for (const f of report.functions) {
    const listing = listings[f.name];
    if (!listing) continue;
    views.sideBySide[f.name] = pairFunctions(listing, f.part_mapping ?? []);
    views.tailCalls[f.name] = { original: calls(listing.original), patched: calls(listing.patched) };
  }
  return views;
}

function page(kind: 'compare' | 'tree', report: CompareReport | TreeReport, options: RenderOptions): string {
  const assets = htmlAssets();
  // The listings' views by object ('' for one pair; the object's path in a tree).
  const views: Record<string, ObjectViews> = {};
  if (kind === 'compare' && options.listings) views[''] = objectViews(report as CompareReport, options.listings);
  if (kind === 'tree' && options.treeListings) {
    for (const o of (report as TreeReport).objects) {
      const listings = options.treeListings[o.path];
      if (listings) views[o.path] = objectViews(o, listings);
    }
  }
  const data = { kind, report, views };
  const title = kind === 'tree' ? `stackonly: ${report.original} -> ${report.patched}` : `stackonly: ${(report as CompareReport).object_name ?? report.original}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
<style>${assets.highlightStyle}</style>
</head>
<body>
<noscript>This report draws its views with JavaScript; the same data is in the JSON report (--format json).</noscript>
<main id="app"></main>
<script type="application/json" id="report-data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
<script>${scriptSafe(assets.highlight)}</script>
<script>${scriptSafe(assets.viz)}</script>
<script>${scriptSafe(PAGE_SCRIPT)}</script>
</body>
</html>
`;
}

/**
 * Pairs the functions of a family across the builds (the function with itself, each part
 * with the part it maps to) and aligns each pair's instructions with a diff of their text.
 */
function pairFunctions(listing: FamilyListing, mapping: { original: string | null; patched: string | null }[]): SideBySide[] {
  const patchedBySymbol = new Map(listing.patched.map((f) => [f.symbol, f]));
  const mapped = new Map(mapping.filter((m) => m.original && m.patched).map((m) => [m.original!, m.patched!]));
  const used = new Set<FunctionListing>();
  const out: SideBySide[] = [];
  listing.original.forEach((o, i) => {
    const partner = i === 0 ? listing.patched[0] : patchedBySymbol.get(mapped.get(o.symbol) ?? '');
    if (partner) used.add(partner);
    out.push(sideBySide(o, partner));
  });
  for (const p of listing.patched) if (!used.has(p)) out.push(sideBySide(undefined, p));
  return out;
}

function sideBySide(o: FunctionListing | undefined, p: FunctionListing | undefined): SideBySide {
  const a = o?.lines ?? [];
  const b = p?.lines ?? [];
  const rows: Row[] = [];
  let i = 0;
  let j = 0;
  const chunks = diffArrays(a.map(alignmentKey), b.map(alignmentKey));
  for (let c = 0; c < chunks.length; c++) {
    const chunk = chunks[c];
    const n = chunk.value.length;
    if (!chunk.added && !chunk.removed) {
      for (let k = 0; k < n; k++) rows.push([a[i++], b[j++], 'same']);
    } else if (chunk.removed && chunks[c + 1]?.added) {
      // A replaced run: its instructions side by side, what is left over alone.
      const m = chunks[c + 1].value.length;
      for (let k = 0; k < Math.max(n, m); k++) rows.push([k < n ? a[i++] : null, k < m ? b[j++] : null, k < n && k < m ? 'changed' : k < n ? 'removed' : 'added']);
      c++;
    } else if (chunk.removed) {
      for (let k = 0; k < n; k++) rows.push([a[i++], null, 'removed']);
    } else {
      for (let k = 0; k < n; k++) rows.push([null, b[j++], 'added']);
    }
  }
  return { original: o?.symbol ?? null, patched: p?.symbol ?? null, rows, ...(o?.truncated || p?.truncated ? { truncated: true } : {}) };
}

/** What two instructions must share to be aligned: the text without in-function branch addresses, which move with any change above them. */
function alignmentKey(line: ListingLine): string {
  return line.text.replace(/^((?:j[a-z]+|call|loop[a-z]*)\s+)0x[0-9a-f]+/, '$1.');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** Text placed inside a <script> element: `</script` and `<!--` must not occur in it. */
function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

export const htmlRenderer: Renderer = {
  compare: (report, options) => page('compare', report, options),
  tree: (report, options) => page('tree', report, options),
};
