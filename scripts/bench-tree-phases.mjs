#!/usr/bin/env node
// Where a tree comparison's time goes: every pair of two module trees through the steps
// tree mode runs (src/tree/object-pair.ts, src/pipeline.ts), in this one thread, with the
// wall time of each step summed over all pairs, and the CPU time of the whole run
// (process.cpuUsage: this thread, V8's GC and compiler threads). Steps are timed by the
// wall clock: process.cpuUsage is a system call that took some 50 us on these machines,
// more than many a pair's step. Byte-identical pairs and pairs the comparison's own
// proof settles stop after the proof, as in tree mode.
//
//   node scripts/bench-tree-phases.mjs [DIR_A DIR_B]     (default: 6.1.0-54 and 6.1.0-55)
//
// One thread, so the sums add up; the tree mode itself runs on every core (bench-tree.sh).
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { DIST, fail, kernelModulesDir, requireDist } from './_common.mjs';

requireDist();
const load = async (module) => import(join(DIST, module));
const { listObjects } = await load('tree/walk.js');
const { ObjectFileReader } = await load('elf/open.js');
const { decompressed } = await load('elf/compressed.js');
const { parseElf } = await load('elf/reader.js');
const { sameComparisonInputs } = await load('compare/same-inputs.js');
const { buildModel } = await load('model/build.js');
const { compareModels } = await load('compare/compare.js');
const { deriveStackOnly } = await load('derive/stack-only.js');
const { buildCompareReport } = await load('report/build.js');
const { fillAssemblerText } = await load('report/assembler-text.js');
const { kernelRelease } = await load('elf/modinfo.js');

const args = process.argv.slice(2);
if (args.length !== 0 && args.length !== 2) fail('usage: node scripts/bench-tree-phases.mjs [DIR_A DIR_B]');
const [dirA, dirB] = args.length === 2 ? args : [kernelModulesDir('6.1.0-54'), kernelModulesDir('6.1.0-55')];

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const steps = new Map();
let lastWall = 0;
const mark = () => {
  lastWall = performance.now();
};
const lap = (name) => {
  const wall = performance.now();
  steps.set(name, (steps.get(name) ?? 0) + wall - lastWall);
  lastWall = wall;
};

const originals = listObjects(dirA);
const patcheds = listObjects(dirB);
const readerA = new ObjectFileReader(true);
const readerB = new ObjectFileReader(true);
const counts = { pairs: 0, identical: 0, proven: 0, modelled: 0 };
const reports = [];
const startCpu = cpuNow();
const startWall = performance.now();
for (const [path, original] of originals) {
  const patched = patcheds.get(path);
  if (!patched) continue;
  counts.pairs++;
  mark();
  let a = readerA.read(original);
  let b = readerB.read(patched);
  a = decompressed(a, original);
  b = decompressed(b, patched);
  lap('read');
  if (a.equals(b)) {
    counts.identical++;
    continue;
  }
  let objectA = parseElf(a, original, { skipSymbols: true });
  let objectB = parseElf(b, patched, { skipSymbols: true, twin: objectA });
  lap('parse headers');
  const proven = sameComparisonInputs(objectA, objectB);
  lap('proof of no difference');
  if (proven) {
    counts.proven++;
    continue;
  }
  counts.modelled++;
  objectA = objectA.withSymbols();
  objectB = objectB.withSymbols();
  lap('symbols');
  const modelA = buildModel(objectA);
  lap('model original');
  const modelB = buildModel(objectB, { twin: modelA });
  lap('model patched');
  const before = kernelRelease(objectA);
  const after = kernelRelease(objectB);
  const comparison = compareModels(modelA, modelB, { stamps: before && after && before !== after ? [{ original: before, patched: after }] : [] });
  lap('compare');
  const sets = deriveStackOnly(comparison);
  lap('stack-only sets');
  const report = buildCompareReport(comparison, sets, { original, patched });
  lap('report (differences explained)');
  fillAssemblerText(report);
  lap('assembler text');
  reports.push(report);
}
mark();
// The tree report is these reports put together: their JSON is most of its cost.
let bytes = 0;
for (const report of reports) bytes += JSON.stringify(report).length;
lap('JSON of the reports');
const totalCpu = cpuNow() - startCpu;
const totalWall = performance.now() - startWall;

console.log(`trees: ${dirA}\n       ${dirB}`);
console.log(`${counts.pairs} pairs: ${counts.identical} byte-identical, ${counts.proven} settled by the proof, ${counts.modelled} modelled; ${(bytes / 1e6).toFixed(1)} MB of JSON`);
console.log(`${cpus().length} cores; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; one thread`);
console.log('');
console.log(`${'step'.padEnd(32)} ${'wall ms'.padStart(8)} ${'share'.padStart(6)}`);
for (const [name, wall] of steps) console.log(`${name.padEnd(32)} ${wall.toFixed(0).padStart(8)} ${`${((100 * wall) / totalWall).toFixed(0)}%`.padStart(6)}`);
console.log(`${'total'.padEnd(32)} ${totalWall.toFixed(0).padStart(8)} ${'100%'.padStart(6)}   (CPU ${totalCpu.toFixed(0)} ms, GC and compiler threads included)`);
