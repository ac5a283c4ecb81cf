#!/usr/bin/env node
// The cost of `stackonly compare --source-dir` on one unit over its two bare compiles.
// In the same run, alternating which goes first, BENCH_ROUNDS times each:
//   (a) the unit's command from compile_commands.json, run twice side by side (dependency
//       options dropped and the object written to a temporary directory, as the tool runs
//       its original side), wall time until both finish;
//   (b) node dist/bin/stackonly.js compare --source-dir TREE --patch PATCH --format json -o FILE.
// Prints each round, the medians, the ratio b/a of the medians and the median of the
// per-round ratios (goal: at most 1.10), the load average, and what the report holds.
// With GNU time (/usr/bin/time), also the CPU time (user + system) of both, children
// included, and of the Node process alone: far less sensitive to other load on a shared
// machine than the wall time.
//
// On a configured kernel tree (built, with compile_commands.json from
// scripts/clang-tools/gen_compile_commands.py):
//   KSRC=/path/to/linux [KBUILD=/path/to/O=dir] [KUNIT=fs/ext4/inode.c] [KPATCH=fix.patch] node scripts/bench-source-dir.mjs
// KBUILD (default KSRC) holds compile_commands.json and the objects; KPATCH defaults to a
// patch made here that adds a function at the end of KUNIT. Without KSRC the unit is
// src/core.c of testdata/compiledb/project (configured in a temporary directory) with
// fix-core.patch: a compile there takes milliseconds, so Node's start dominates the ratio.
//   BENCH_ROUNDS=3 (default)  BENCH_JOBS=2 (-j, default 2: the two sides at once)
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, DIST, ROOT, SCRIPTS, fail, loadLine, median, requireCommand, requireDist, table } from './_common.mjs';

const sec = (v) => `${(v / 1000).toFixed(3)} s`;

requireDist();
requireCommand('gcc', 'the benchmark compiles C');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) fail('BENCH_ROUNDS must be a positive integer');
const JOBS = process.env.BENCH_JOBS ?? '2';
const { loadCompilationDatabase, rewriteCompileCommand } = await import(join(DIST, 'compile', 'compiledb.js'));

const work = mkdtempSync(join(tmpdir(), 'stackonly-bench-source-dir-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// ---- the tree, its database, the unit and the patch ----
let tree;
let database;
let unit;
let patch;
if (process.env.KSRC) {
  tree = resolve(process.env.KSRC);
  const build = resolve(process.env.KBUILD ?? tree);
  database = join(build, 'compile_commands.json');
  if (!existsSync(database)) fail(`${database} not found: build the tree, then run scripts/clang-tools/gen_compile_commands.py${build !== tree ? ` -d ${build} -o ${database}` : ''}`);
  unit = process.env.KUNIT ?? 'fs/ext4/inode.c';
  if (!existsSync(join(tree, unit))) fail(`${join(tree, unit)} not found (KUNIT is relative to KSRC)`);
  patch = process.env.KPATCH ? resolve(process.env.KPATCH) : addedFunctionPatch(tree, unit);
} else {
  const fixture = join(ROOT, 'testdata', 'compiledb');
  tree = join(work, 'proj');
  cpSync(join(fixture, 'project'), tree, { recursive: true });
  const template = readFileSync(join(fixture, 'compile_commands.in.json'), 'utf8');
  database = join(tree, 'compile_commands.json');
  writeFileSync(database, template.replaceAll('@DIR@', tree).replaceAll('@BUILD@', join(work, 'build-util')));
  mkdirSync(join(tree, 'build', 'src'), { recursive: true });
  mkdirSync(join(work, 'build-util', 'src'), { recursive: true });
  // The "configure build": the dependency files a real build leaves.
  for (const entry of loadCompilationDatabase(database)) {
    const r = spawnSync(entry.argv[0], entry.argv.slice(1), { cwd: entry.directory, encoding: 'utf8' });
    if (r.status !== 0) fail(`the testdata project does not build: ${r.stderr.trim().split('\n')[0]}`);
  }
  unit = 'src/core.c';
  patch = join(fixture, 'fix-core.patch');
}
const entry = loadCompilationDatabase(database).find((e) => relative(tree, e.file) === unit);
if (!entry) fail(`${database} has no entry for ${unit}`);

/** A patch that adds a function (with its prototype) at the end of the unit: both sides compile, the objects differ. */
function addedFunctionPatch(root, rel) {
  const lines = readFileSync(join(root, rel), 'latin1').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const n = lines.length;
  const context = lines.slice(Math.max(0, n - 3));
  const added = ['', 'int stackonly_bench_added(int x);', 'int stackonly_bench_added(int x) { return x + 1; }'];
  const hunk = [
    `--- a/${rel}`,
    `+++ b/${rel}`,
    `@@ -${n - context.length + 1},${context.length} +${n - context.length + 1},${context.length + added.length} @@`,
    ...context.map((l) => ` ${l}`),
    ...added.map((l) => `+${l}`),
    '',
  ];
  const file = join(work, 'bench.patch');
  writeFileSync(file, hunk.join('\n'), 'latin1');
  return file;
}

// ---- the two measurements ----
const bare = [0, 1].map((i) => rewriteCompileCommand(entry, { output: join(work, 'bare', `${i}.o`) }));
mkdirSync(join(work, 'bare'));

const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
let timeFiles = 0;

/** Runs argv; resolves to its CPU time in ms (user + system, children included) when GNU time is there. */
function run(argv, cwd, env = process.env) {
  const cpuFile = GNU_TIME ? join(work, `cpu-${timeFiles++}`) : undefined;
  const full = cpuFile ? [GNU_TIME, '-f', '%U %S', '-o', cpuFile, ...argv] : argv;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(full[0], full.slice(1), { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${argv[0]} exited with ${code}: ${stderr.trim().split('\n').slice(0, 3).join(' / ')}`));
      if (!cpuFile) return resolvePromise(undefined);
      const [user, system] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
      resolvePromise((user + system) * 1000);
    });
  });
}

async function timeBare() {
  const t = performance.now();
  const cpu = await Promise.all(bare.map((c) => run(c.argv, c.cwd)));
  return { wall: performance.now() - t, cpu: GNU_TIME ? cpu[0] + cpu[1] : undefined };
}

const report = join(work, 'report.json');
const nodeUsage = join(work, 'node-usage.json');
async function timeTool() {
  const argv = ['node', '--import', pathToFileURL(join(SCRIPTS, '_rss-hook.mjs')).href, CLI, 'compare', '--source-dir', tree, '--compile-commands', database, '--patch', patch, '--format', 'json', '-o', report, '-j', JOBS, '--quiet'];
  const t = performance.now();
  const cpu = await run(argv, work, { ...process.env, STACKONLY_RSS_FILE: nodeUsage });
  return { wall: performance.now() - t, cpu, node: JSON.parse(readFileSync(nodeUsage, 'utf8')).cpu };
}

process.stdout.write(`unit: ${join(tree, unit)}\npatch: ${patch}\n${loadLine()}\n`);
const rows = [['round', 'bare: wall', 'stackonly: wall', 'ratio', 'bare: CPU', 'stackonly: CPU', 'ratio', 'node alone: CPU']];
const bareTimes = [];
const toolTimes = [];
const cpuText = (v) => (v === undefined ? '-' : sec(v));
try {
  // One untimed run of each: the page cache, and gcc's and Node's first start.
  await timeBare();
  await timeTool();
  for (let round = 1; round <= ROUNDS; round++) {
    let a;
    let b;
    if (round % 2) {
      a = await timeBare();
      b = await timeTool();
    } else {
      b = await timeTool();
      a = await timeBare();
    }
    bareTimes.push(a);
    toolTimes.push(b);
    rows.push([round, sec(a.wall), sec(b.wall), (b.wall / a.wall).toFixed(3), cpuText(a.cpu), cpuText(b.cpu), a.cpu ? (b.cpu / a.cpu).toFixed(3) : '-', sec(b.node)]);
  }
} catch (err) {
  fail(`a run failed: ${err.message}`, 1);
}
const med = (list, key) => median(list.map((x) => x[key]));
const cpuRatio = GNU_TIME ? (med(toolTimes, 'cpu') / med(bareTimes, 'cpu')).toFixed(3) : '-';
rows.push(['median', sec(med(bareTimes, 'wall')), sec(med(toolTimes, 'wall')), (med(toolTimes, 'wall') / med(bareTimes, 'wall')).toFixed(3), cpuText(GNU_TIME && med(bareTimes, 'cpu')), cpuText(GNU_TIME && med(toolTimes, 'cpu')), cpuRatio, sec(med(toolTimes, 'node'))]);
process.stdout.write(`${table(rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'])}\n`);
process.stdout.write(`two bare compiles side by side against stackonly --source-dir -j ${JOBS} on that unit\n`);
process.stdout.write(`median of the per-round wall ratios: ${median(toolTimes.map((b, i) => b.wall / bareTimes[i].wall)).toFixed(3)} (goal: at most 1.10)\n`);
const json = JSON.parse(readFileSync(report, 'utf8'));
const names = json.objects.map((o) => `${o.path}: ${o.original}`).join(', ');
process.stdout.write(`report: ${json.summary.compared} object(s) compared (${names}); ${json.functions.length} function(s): ${json.functions.map((f) => `${f.name} ${f.status}`).join(', ') || 'none'}\n`);
process.stdout.write(`${loadLine()}\n`);
