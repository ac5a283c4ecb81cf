import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/*
 * The libraries the HTML report inlines, read from the installed packages: the page must
 * open offline, so nothing is loaded from a CDN. Graph layout: Graphviz compiled to
 * WebAssembly (@viz-js/viz, its build with the WebAssembly embedded). Highlighting:
 * highlight.js (its browser build, from @highlightjs/cdn-assets) with its x86 assembler
 * language.
 */

export interface HtmlAssets {
  viz: string;
  highlight: string;
  highlightStyle: string;
}

let cached: HtmlAssets | undefined;

export function htmlAssets(): HtmlAssets {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  // Neither package exports these files by name: find them beside the package's entry.
  const vizDir = dirname(require.resolve('@viz-js/viz'));
  const hljsDir = dirname(require.resolve('@highlightjs/cdn-assets/package.json'));
  const read = (path: string) => readFileSync(path, 'utf8');
  cached = {
    viz: read(join(vizDir, 'viz-global.js')),
    highlight: `${read(join(hljsDir, 'highlight.min.js'))}\n${read(join(hljsDir, 'languages', 'x86asm.min.js'))}`,
    highlightStyle: read(join(hljsDir, 'styles', 'github.min.css')),
  };
  return cached;
}
