#!/usr/bin/env node
// The cost of `stackonly compare` on two C sources over the two bare compiles it runs.
// Source: the SQLite amalgamation (sqlite3.c, ~9 MB) from the npm package better-sqlite3
// (fetched with `npm pack` into a temporary directory, never installed), and a copy in
// which sqlite3_libversion_number() returns another constant (same line count).
// Alternating, ROUNDS times each, in the same run:
//   (a) gcc -O2 -c -ffunction-sections -fdata-sections on both files, started together,
//       wall time until both finish (what the tool must do anyway);
//   (b) node dist/bin/stackonly.js compare sqlite3.c sqlite3-patched.c --format json.
// Prints the medians, the overhead (b - a) / a (goal: under 10%), and checks that the
// report names exactly the changed function.
//
//   node scripts/bench-compare-sqlite.mjs
//   BENCH_ROUNDS=3 (default)  CC_BENCH=gcc (default)  SQLITE_C=/path/to/sqlite3.c (skip npm pack)
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, SCRIPTS, fail, loadLine, median, requireCommand, requireDist, requireFile, sec, table } from './_common.mjs';

requireDist();
const CC = process.env.CC_BENCH || 'gcc';
requireCommand(CC, 'the benchmark compiles C');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) fail('BENCH_ROUNDS must be a positive integer');

const work = mkdtempSync(join(tmpdir(), 'stackonly-sqlite-'));
const children = new Set();
const cleanup = () => {
  for (const c of children) c.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// ---- the source ----
const original = join(work, 'sqlite3.c');
if (process.env.SQLITE_C) {
  copyFileSync(requireFile(process.env.SQLITE_C, 'SQLITE_C'), original);
} else {
  requireCommand('npm', 'needed to fetch better-sqlite3 (or set SQLITE_C=/path/to/sqlite3.c)');
  requireCommand('tar');
  process.stderr.write('fetching better-sqlite3@12 with npm pack ...\n');
  const pack = spawnSync('npm', ['pack', 'better-sqlite3@12', '--silent', '--pack-destination', work], { cwd: work, encoding: 'utf8' });
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (pack.status !== 0 || !tgz) fail(`npm pack better-sqlite3@12 failed: ${(pack.stderr || '').trim().split('\n').pop()}`);
  const untar = spawnSync('tar', ['xzf', join(work, tgz), '-C', work, 'package/deps/sqlite3/sqlite3.c'], { encoding: 'utf8' });
  if (untar.status !== 0) fail(`${tgz} holds no package/deps/sqlite3/sqlite3.c: ${untar.stderr.trim()}`);
  copyFileSync(join(work, 'package/deps/sqlite3/sqlite3.c'), original);
  rmSync(join(work, 'package'), { recursive: true, force: true });
  rmSync(join(work, tgz), { force: true });
  process.stderr.write(`using sqlite3.c from ${tgz}\n`);
}

// ---- the patched copy: one constant changed, on the same line ----
const CHANGED = 'sqlite3_libversion_number';
const before = `SQLITE_API int ${CHANGED}(void){ return SQLITE_VERSION_NUMBER; }`;
const after = `SQLITE_API int ${CHANGED}(void){ return SQLITE_VERSION_NUMBER + 1; }`;
const text = readFileSync(original, 'latin1');
if (text.split(before).length !== 2) fail(`sqlite3.c does not hold exactly one line '${before}': another SQLite version?`);
const patched = join(work, 'sqlite3-patched.c');
writeFileSync(patched, text.replace(before, after), 'latin1');

// ---- the runs ----
const env = { ...process.env };
delete env.CC;
delete env.CFLAGS;
const FLAGS = ['-O2', '-c', '-ffunction-sections', '-fdata-sections'];
const haveTime = existsSync('/usr/bin/time');

function run(cmd, args, label, extraEnv = {}) {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { cwd: work, env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => fail(`${label}: ${err.message}`));
    child.on('close', (code) => {
      children.delete(child);
      if (code !== 0) fail(`${label} failed (exit status ${code}): ${stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
      resolvePromise();
    });
  });
}

// With GNU time, also the CPU time (user + system) of each run: on a loaded machine it
// varies much less than wall time. The tool's includes its gcc children (wait4 rusage).
const timed = (file, cmd, args) => (haveTime ? ['/usr/bin/time', ['-f', '%M %U %S', '-o', file, cmd, ...args]] : [cmd, args]);
const readTime = (file) => {
  const [kb, user, sys] = readFileSync(file, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { rss: kb * 1024, cpu: (user + sys) * 1000 };
};

async function bareCompiles() {
  const t0 = performance.now();
  await Promise.all([
    run(...timed(join(work, 'time-a1'), CC, [...FLAGS, 'sqlite3.c', '-o', 'bare-orig.o']), `${CC} sqlite3.c`),
    run(...timed(join(work, 'time-a2'), CC, [...FLAGS, 'sqlite3-patched.c', '-o', 'bare-patched.o']), `${CC} sqlite3-patched.c`),
  ]);
  const wall = performance.now() - t0;
  return { wall, cpu: haveTime ? readTime(join(work, 'time-a1')).cpu + readTime(join(work, 'time-a2')).cpu : NaN };
}

const report = join(work, 'report.json');
const rssFile = join(work, 'time-b');
async function toolCompare() {
  const args = [CLI, 'compare', 'sqlite3.c', 'sqlite3-patched.c', '--format', 'json', '--cc', CC, '-o', report];
  const t0 = performance.now();
  const nodeRss = join(work, 'rss-node');
  await run(...timed(rssFile, process.execPath, ['--import', join(SCRIPTS, '_rss-hook.mjs'), ...args]), 'stackonly compare', { STACKONLY_RSS_FILE: nodeRss });
  const wall = performance.now() - t0;
  const self = JSON.parse(readFileSync(nodeRss, 'utf8'));
  return { wall, cpu: haveTime ? readTime(rssFile).cpu : NaN, rss: self.rss, selfCpu: self.cpu };
}

const bare = [];
const tool = [];
const bareCpu = [];
const toolCpu = [];
const rss = [];
const selfCpu = [];
const cpuNote = (c) => (Number.isNaN(c) ? '' : `  (CPU ${sec(c)})`);
console.log(`sqlite3.c: ${(text.length / 1e6).toFixed(1)} MB, changed: ${CHANGED}; ${ROUNDS} round(s), order alternating; ${CC} ${FLAGS.join(' ')}\n`);
console.log(`at start: ${loadLine()}`);
for (let i = 0; i < ROUNDS; i++) {
  const order = i % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
  for (const which of order) {
    if (which === 'a') {
      const r = await bareCompiles();
      bare.push(r.wall);
      bareCpu.push(r.cpu);
      console.log(`round ${i + 1}: (a) two bare compiles, concurrent: ${sec(r.wall)}${cpuNote(r.cpu)}`);
    } else {
      const r = await toolCompare();
      tool.push(r.wall);
      toolCpu.push(r.cpu);
      rss.push(r.rss);
      selfCpu.push(r.selfCpu);
      console.log(`round ${i + 1}: (b) stackonly compare:             ${sec(r.wall)}${cpuNote(r.cpu)}, of which node itself ${sec(r.selfCpu)}`);
    }
  }
}
console.log(`at end:   ${loadLine()}`);

// ---- the report ----
const json = JSON.parse(readFileSync(report, 'utf8'));
const fns = json.functions ?? [];
const named = fns.map((f) => `${f.name} (${f.status})`);
const exact = fns.length === 1 && fns[0].name === CHANGED && fns[0].status === 'changed';

const a = median(bare);
const b = median(tool);
const overhead = ((b - a) / a) * 100;
console.log('');
const rows = [
  ['', `median of ${ROUNDS}`, 'min', 'max'],
  ['(a) 2 x gcc, concurrent: wall', sec(a), sec(Math.min(...bare)), sec(Math.max(...bare))],
  ['(b) stackonly compare: wall', sec(b), sec(Math.min(...tool)), sec(Math.max(...tool))],
];
if (haveTime) {
  rows.push(['(a) CPU, both gcc', sec(median(bareCpu)), sec(Math.min(...bareCpu)), sec(Math.max(...bareCpu))]);
  rows.push(['(b) CPU, node + its gcc', sec(median(toolCpu)), sec(Math.min(...toolCpu)), sec(Math.max(...toolCpu))]);
}
console.log(table(rows, ['l', 'r', 'r', 'r']));
console.log(`\noverhead (b - a) / a, wall time: ${overhead.toFixed(1)}%  (goal: under 10%) -> ${overhead < 10 ? 'met' : 'NOT met'}`);
if (haveTime) {
  const cpuOverhead = ((median(toolCpu) - median(bareCpu)) / median(bareCpu)) * 100;
  console.log(`overhead (b - a) / a, CPU time:  ${cpuOverhead.toFixed(1)}%  (less sensitive to other load on the machine)`);
  console.log(`CPU of the node process itself over both gcc: ${((median(selfCpu) / median(bareCpu)) * 100).toFixed(1)}%  (${sec(median(selfCpu))} / ${sec(median(bareCpu))}: the tool's own work, whatever the load)`);
} else console.log(`CPU of the node process itself: ${sec(median(selfCpu))} (median)`);
console.log(`stackonly peak RSS (the node process alone, its gcc children not included): ${(Math.max(...rss) / 1048576).toFixed(0)} MiB`);
console.log(`report: ${fns.length} function(s): ${named.join(', ') || 'none'}; stack_only enable ${json.stack_only?.enable?.length ?? '?'}, disable ${json.stack_only?.disable?.length ?? '?'}; ${json.warnings?.length ?? 0} warning(s), ${json.renames?.length ?? 0} rename(s)`);
console.log(`report names exactly ${CHANGED}: ${exact ? 'yes' : 'NO'}`);
if (!exact) {
  for (const w of (json.warnings ?? []).slice(0, 10)) console.log(`  warning: ${w}`);
  process.exitCode = 1;
}
