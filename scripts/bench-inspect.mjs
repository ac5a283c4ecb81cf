#!/usr/bin/env node
// Reading and modelling one object, against readelf dumping its symbols and relocations.
// One process; in each round the library (openObject + buildModel) and a spawned
// `readelf -sW -rW <object> > /dev/null` are timed back to back, in alternating order,
// so that both see the same machine load. Reports the medians and their ratio.
//
//   node scripts/bench-inspect.mjs [object]
//   BENCH_RUNS=15 BENCH_WARMUP=3 node scripts/bench-inspect.mjs ...
//
// Default object: fs/ext4/ext4.ko of 6.1.0-54 from the kernel cache.
import { openSync, closeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fail, kernelModulesDir, library, loadLine, median, mib, ms, requireCommand, requireFile, table } from './_common.mjs';

const { openObject, buildModel } = await library();
requireCommand('readelf', 'install binutils');

const object = process.argv[2] ?? join(kernelModulesDir('6.1.0-54'), 'fs', 'ext4', 'ext4.ko');
requireFile(object, 'object');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
if (!(RUNS >= 1) || !(WARMUP >= 0)) fail('BENCH_RUNS must be >= 1 and BENCH_WARMUP >= 0');

const loadAtStart = loadLine();
const devNull = openSync('/dev/null', 'w');
function runTool() {
  const t0 = performance.now();
  const model = buildModel(openObject(object));
  // Edges are made on first use; `inspect` uses all of them, so the measurement does too.
  let edges = 0;
  for (const fn of model.functions) edges += fn.edges.length;
  const t = performance.now() - t0;
  return { t, functions: model.functions.length, edges };
}
function runReadelf() {
  const t0 = performance.now();
  const r = spawnSync('readelf', ['-sW', '-rW', object], { stdio: ['ignore', devNull, 'pipe'] });
  const t = performance.now() - t0;
  if (r.status !== 0) fail(`readelf -sW -rW ${object} failed: ${String(r.stderr).split('\n')[0]}`);
  return t;
}

// The first (cold) run of each: the tool's includes loading and JIT-compiling the reader
// and model code. readelf runs first, so the object is in the page cache for both.
const coldReadelf = runReadelf();
const coldTool = runTool();

for (let i = 0; i < WARMUP; i++) {
  runTool();
  runReadelf();
}
const tool = [];
const readelf = [];
let functions = 0;
for (let i = 0; i < RUNS; i++) {
  if (i % 2 === 0) {
    const r = runTool();
    functions = r.functions;
    tool.push(r.t);
    readelf.push(runReadelf());
  } else {
    readelf.push(runReadelf());
    tool.push(runTool().t);
  }
}
closeSync(devNull);

const mTool = median(tool);
const mReadelf = median(readelf);
const rss = process.resourceUsage().maxRSS * 1024;

console.log(`object: ${object} (${functions} functions)`);
console.log(`runs: ${RUNS} measured after ${WARMUP} warm-ups, tool and readelf interleaved (alternating order)\n`);
console.log(table([
  ['', 'openObject+buildModel', 'readelf -sW -rW (spawned)', 'ratio tool/readelf'],
  ['first (cold) run', ms(coldTool.t), ms(coldReadelf), (coldTool.t / coldReadelf).toFixed(2)],
  [`median of ${RUNS} (warm)`, ms(mTool), ms(mReadelf), (mTool / mReadelf).toFixed(2)],
  ['median of per-round ratios', '', '', median(tool.map((t, i) => t / readelf[i])).toFixed(2)],
  ['min', ms(Math.min(...tool)), ms(Math.min(...readelf)), (Math.min(...tool) / Math.min(...readelf)).toFixed(2)],
  ['max', ms(Math.max(...tool)), ms(Math.max(...readelf)), (Math.max(...tool) / Math.max(...readelf)).toFixed(2)],
], ['l', 'r', 'r', 'r']));
console.log(`\nat start: ${loadAtStart}\nat end:   ${loadLine()}`);
console.log(`peak RSS of this process (tool runs; readelf is a child): ${mib(rss)}`);
