#!/usr/bin/env node
// Bundles the CLI that `npx stackonly` runs (package.json "bin") from what tsc wrote to
// dist/: dist/bin/stackonly.js, the tree mode's worker dist/bin/worker.js beside it, and
// the chunks they share. Run by `npm run build` and `npm ci` (the "prepare" script), after
// tsc; dist/ itself stays the library (package.json "exports") that the tests import.
//
// Why: Node 20 loads an ES module file by file, and the CLI's 113 files, with execa's 40 and
// the other dependencies', cost 130 ms before the first line of main ran and another 110 ms
// when execa was loaded for the first compile (cpu-prof, strace): more than comparing a
// kernel unit's two objects takes. Bundled, `stackonly --version` takes 0.15 s instead of
// 0.20 s, a unit's `compare` 0.31 s instead of 0.42 s, and `--source-dir` starts its
// compilers 0.2 s sooner (scripts/bench-unit-kpatch.sh, scripts/bench-source-dir.mjs).
//
// Left outside the bundle: what must stay a file of its own package. Piscina starts its
// worker threads from its own files; iced-x86 (WebAssembly), @napi-rs/lzma (a native
// addon), fzstd, @viz-js/viz and @highlightjs/cdn-assets are loaded with require() or read
// from their package directory when a run needs them.
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'rolldown';
import { DIST } from './_common.mjs';

const OUT = join(DIST, 'bin');
const EXTERNAL = ['piscina', 'iced-x86', '@napi-rs/lzma', 'fzstd', '@viz-js/viz', '@highlightjs/cdn-assets'];

rmSync(OUT, { recursive: true, force: true });
await build({
  // The worker is an entry of its own, named as src/tree/compare-tree.ts finds it: next to
  // the code that starts the pool (`new URL('./worker.js', import.meta.url)`). The bundle
  // sits two directories below package.json, as dist/cli/main.js does, for `--version`.
  input: { stackonly: join(DIST, 'cli', 'main.js'), worker: join(DIST, 'tree', 'worker.js') },
  platform: 'node',
  external: (id) => id.startsWith('node:') || EXTERNAL.some((name) => id === name || id.startsWith(`${name}/`)),
  logLevel: 'warn',
  output: { dir: OUT, format: 'esm' },
});
chmodSync(join(OUT, 'stackonly.js'), 0o755);
// The unbundled entry stays runnable too: npx keeps, per checkout path, the bin links it
// made on first use (~/.npm/_npx), and those made before the bundle existed point at it.
chmodSync(join(DIST, 'cli', 'main.js'), 0o755);
