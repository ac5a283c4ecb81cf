#!/usr/bin/env node
// Mutation fuzzer: feeds structure-aware mutations of real objects through inspect,
// object-pair compare and tree mode's per-pair comparison, and of livepatch modules through
// audit, in worker threads with a time and a memory limit per case, and writes a
// reproducer for every new class of failure.
//
//   node scripts/fuzz.mjs [--seed N] [--cases N] [--jobs N] [--timeout MS] [--memory MB]
//                         [--out DIR (default $TMPDIR/stackonly-fuzz-out)] [--modules N] [--no-kernels] [--no-compile] [--json]
//                         [--slow MS] [--dist DIR]
//   node scripts/fuzz.mjs --replay DIR_OR_FILE... [--json]
//
// --slow MS (default half the time limit) also keeps a reproducer of each class of case
// answered after more than MS; --dist picks another build of the library than dist/.
//
// Outcomes: ok (a result), error (an InputError/ElfError: the clean way to refuse input),
// crash (anything else thrown, or a clean error whose message is not one printable line),
// hang (no answer within the time limit), memory (V8's heap limit hit, or more
// ArrayBuffer memory than the limit after the case). Exit status 1 when any case crashed,
// hung or ran out of memory; 2 for bad usage.
//
// Seeds: testdata/elf/*.o, testdata/objects/*/*.o, objects compiled now from
// testdata/elf/src and a few testdata/compare sources at several flag sets, and the audit
// fixtures' livepatch modules (testdata/audit/*/livepatch.c, audited against
// testdata/audit/originals compiled; both cached in the temporary directory), and --modules kernel modules of $STACKONLY_KERNELS (default
// /var/tmp/stackonly-kernels) when present, each paired with the next kernel's build of
// the same module for compare. Cases are made in the main thread from one PRNG stream, so
// a seed gives the same cases whatever the number of workers.
//
// A reproducer is <out>/<class>.o (or .ko) with <class>.json beside it: the operation,
// which side was mutated, the partner object (path relative to the repository), the
// mutation, and the error. `--replay` runs reproducers (all operations: inspect, compare
// both ways against the partner, tree mode's pair) under the same limits; `.o.gz`/`.ko.gz`
// files are decompressed first.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import { layoutOf, mutate, prng } from './fuzz-mutators.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const KERNELS = process.env.STACKONLY_KERNELS || '/var/tmp/stackonly-kernels';

function usage(message) {
  process.stderr.write(`fuzz: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    seed: 1,
    cases: 2000,
    jobs: Math.min(2, availableParallelism()),
    timeout: 5000,
    memory: 1024,
    out: join(tmpdir(), 'stackonly-fuzz-out'),
    modules: 20,
    kernels: true,
    compile: true,
    json: false,
    replay: [],
    slow: undefined,
    dist: join(ROOT, 'dist'),
    quiet: false,
  };
  const number = (name, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) usage(`${name} takes a whole number, not '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    if (a === '--seed') o.seed = number(a, next());
    else if (a === '--cases') o.cases = number(a, next());
    else if (a === '--jobs' || a === '-j') o.jobs = Math.max(1, number(a, next()));
    else if (a === '--timeout') o.timeout = number(a, next());
    else if (a === '--memory') o.memory = number(a, next());
    else if (a === '--slow') o.slow = number(a, next());
    else if (a === '--out') o.out = resolve(next());
    else if (a === '--modules') o.modules = number(a, next());
    else if (a === '--dist') o.dist = resolve(next());
    else if (a === '--no-kernels') o.kernels = false;
    else if (a === '--no-compile') o.compile = false;
    else if (a === '--json') o.json = true;
    else if (a === '--quiet') o.quiet = true;
    else if (a === '--replay') {
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) o.replay.push(resolve(argv[++i]));
      if (o.replay.length === 0) usage('--replay needs a file or directory');
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1).filter((line, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else usage(`unknown argument '${a}'`);
  }
  o.slow ??= Math.round(o.timeout / 2);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
if (!existsSync(join(opts.dist, 'index.js'))) usage(`${opts.dist} has no build: run 'npm run build' first`);
const log = (line) => {
  if (!opts.quiet) process.stderr.write(`${line}\n`);
};

// ---------------------------------------------------------------- seeds

const rel = (p) => (p.startsWith(ROOT + '/') ? relative(ROOT, p) : p);

/** Objects compiled now from the project's C fixtures at several flag sets, cached by compiler and flags. */
function compiledSeeds() {
  let version;
  try {
    version = execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    log('gcc not found: no compiled seeds');
    return [];
  }
  const units = [
    ['testdata/elf/src/funcs.c', 'gcc', ['-O2']],
    ['testdata/elf/src/cold.c', 'gcc', ['-O2', '-ffunction-sections', '-fdata-sections']],
    ['testdata/elf/src/comdat.cpp', 'g++', ['-O2']],
    ['testdata/elf/src/groups.s', 'as', []],
  ];
  const pairs = ['upstream-example', 'jump-table-cold', 'computed-goto-cold', 'static-key-changed', 'tail-call-from-part', 'reparented'];
  const flagSets = [['-O2', '-ffunction-sections', '-fdata-sections'], ['-O2', '-g3'], ['-Os'], ['-O3', '-fno-asynchronous-unwind-tables']];
  for (const dir of pairs) {
    for (const flags of flagSets) {
      for (const side of ['orig.c', 'patched.c']) {
        const source = `testdata/compare/${dir}/${side}`;
        if (existsSync(join(ROOT, source))) units.push([source, 'gcc', flags]);
      }
    }
  }
  // The audit fixtures' livepatch modules, in each format (testdata/audit/*/livepatch.c).
  for (const dir of readdirSync(join(ROOT, 'testdata', 'audit')).sort()) {
    const source = `testdata/audit/${dir}/livepatch.c`;
    if (existsSync(join(ROOT, source))) units.push([source, 'gcc', ['-O2']]);
  }
  const cache = join(tmpdir(), `stackonly-fuzz-seeds-${createHash('sha1').update(version).digest('hex').slice(0, 10)}`);
  mkdirSync(cache, { recursive: true });
  const out = [];
  for (const [source, tool, flags] of units) {
    const text = readFileSync(join(ROOT, source));
    const key = createHash('sha1').update(tool).update(flags.join(' ')).update(text).digest('hex').slice(0, 16);
    const object = join(cache, `${basename(source).replace(/\W/g, '_')}-${key}.o`);
    if (!existsSync(object)) {
      try {
        const args = tool === 'as' ? [join(ROOT, source), '-o', object] : [...flags, '-w', '-c', join(ROOT, source), '-o', object];
        execFileSync(tool, args, { cwd: dirname(join(ROOT, source)), stdio: ['ignore', 'ignore', 'pipe'] });
      } catch {
        log(`could not build ${source} with ${tool} ${flags.join(' ')}: skipped`);
        continue;
      }
    }
    out.push({ path: object, label: `${source} (${tool} ${flags.join(' ')})`.replace(' ()', ''), group: `${dirname(source)} ${flags.join(' ')}`, side: basename(source), livepatch: source.startsWith('testdata/audit/') });
  }
  return out;
}

/**
 * The objects the audit fixtures patch (testdata/audit/originals/README.md), built once per
 * compiler into the seed cache: the directory every `audit` case is checked against.
 * Undefined without gcc and ld.
 */
function auditOriginals() {
  const src = join(ROOT, 'testdata', 'audit', 'originals');
  let version;
  try {
    version = execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return undefined;
  }
  const hash = createHash('sha1').update(version);
  for (const f of readdirSync(src).sort()) hash.update(f).update(readFileSync(join(src, f)));
  const dir = join(tmpdir(), `stackonly-fuzz-audit-originals-${hash.digest('hex').slice(0, 12)}`);
  if (existsSync(join(dir, 'vmlinux'))) return dir;
  try {
    const work = mkdtempSync(`${dir}.tmp-`);
    const gcc = (source, output) => execFileSync('gcc', ['-O2', '-w', '-c', join(src, source), '-o', output], { stdio: ['ignore', 'ignore', 'pipe'] });
    gcc('orig.c', join(work, 'orig_mod.ko'));
    gcc('dup_a.c', join(work, 'dup_a.o'));
    gcc('dup_b.c', join(work, 'dup_b.o'));
    execFileSync('ld', ['-r', join(work, 'dup_a.o'), join(work, 'dup_b.o'), '-o', join(work, 'dup_mod.ko')], { stdio: ['ignore', 'ignore', 'pipe'] });
    rmSync(join(work, 'dup_a.o'));
    rmSync(join(work, 'dup_b.o'));
    gcc('vmlinux.c', join(work, 'vmlinux'));
    renameSync(work, dir);
  } catch (err) {
    if (existsSync(join(dir, 'vmlinux'))) return dir;
    log(`could not build the audit originals (${String(err.message).split('\n')[0]}): no audit cases`);
    return undefined;
  }
  return dir;
}

/** Kernel modules spread over sizes (the largest few left out: cases must stay quick), with the next kernel's build of each. */
function kernelSeeds(count) {
  if (!existsSync(KERNELS) || count === 0) return [];
  const versions = readdirSync(KERNELS).filter((v) => existsSync(join(KERNELS, v, 'lib', 'modules'))).sort();
  if (versions.length === 0) return [];
  const base = (v) => {
    const modules = join(KERNELS, v, 'lib', 'modules');
    const flavours = readdirSync(modules).sort();
    return flavours.length ? join(modules, flavours[0], 'kernel') : undefined;
  };
  const first = base(versions[0]);
  const second = versions[1] && base(versions[1]);
  if (!first || !existsSync(first)) return [];
  const all = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ko')) all.push({ p, size: statSync(p).size });
    }
  };
  walk(first);
  all.sort((a, b) => a.size - b.size || (a.p < b.p ? -1 : 1));
  const pool = all.filter((m) => m.size <= 2_200_000);
  const chosen = new Set();
  const ext4 = pool.find((m) => m.p.endsWith('/fs/ext4/ext4.ko'));
  if (ext4) chosen.add(ext4);
  for (let k = 0; chosen.size < Math.min(count, pool.length); k++) chosen.add(pool[Math.floor(((k + 0.5) * pool.length) / count) % pool.length]);
  return [...chosen].map(({ p }) => {
    const partner = second && join(second, relative(first, p));
    return { path: p, label: relative(join(first, '..', '..', '..', '..'), p), partnerPath: partner && existsSync(partner) ? partner : undefined };
  });
}

async function loadSeeds() {
  const { parseElf } = await import(pathToFileURL(join(opts.dist, 'index.js')).href);
  const seeds = [];
  const add = (s) => {
    const bytes = readFileSync(s.path);
    let obj;
    try {
      obj = parseElf(bytes, s.path);
    } catch (err) {
      log(`seed ${s.label} does not parse (${err.message}): skipped`);
      return;
    }
    seeds.push({ ...s, bytes, layout: layoutOf(bytes, obj), ext: s.path.endsWith('.ko') ? '.ko' : '.o' });
  };
  for (const f of readdirSync(join(ROOT, 'testdata', 'elf')).filter((f) => f.endsWith('.o')).sort()) add({ path: join(ROOT, 'testdata', 'elf', f), label: `testdata/elf/${f}` });
  for (const dir of readdirSync(join(ROOT, 'testdata', 'objects'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    for (const side of ['original.o', 'patched.o']) {
      const p = join(ROOT, 'testdata', 'objects', dir, side);
      if (existsSync(p)) add({ path: p, label: `testdata/objects/${dir}/${side}`, partnerPath: join(ROOT, 'testdata', 'objects', dir, side === 'original.o' ? 'patched.o' : 'original.o') });
    }
  }
  if (opts.compile) {
    const compiled = compiledSeeds();
    for (const c of compiled) {
      const other = c.side === 'orig.c' ? 'patched.c' : c.side === 'patched.c' ? 'orig.c' : undefined;
      const partner = other && compiled.find((d) => d.group === c.group && d.side === other);
      add({ path: c.path, label: c.label, partnerPath: partner?.path, livepatch: c.livepatch });
    }
  }
  if (opts.kernels) for (const k of kernelSeeds(opts.modules)) add({ ...k, kernel: true });
  for (const s of seeds) {
    const partner = s.partnerPath && existsSync(s.partnerPath) ? s.partnerPath : s.path;
    s.partnerPath = partner;
    s.partnerBytes = partner === s.path ? s.bytes : readFileSync(partner);
  }
  return seeds;
}

// ---------------------------------------------------------------- the pool

/** Where workers write the objects they read (memory-backed where there is /dev/shm). */
const SCRATCH_ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const scratchDirs = new Set();
process.on('exit', () => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs cases on `jobs` worker threads, one case per thread at a time, each with the time
 * limit; a thread that hangs is terminated and replaced, and so is one that ran out of heap.
 * A hang is run once more on a fresh thread before it counts (the machine is shared).
 */
class Pool {
  constructor(jobs) {
    this.jobs = jobs;
    this.slots = [];
  }

  spawn() {
    const scratch = mkdtempSync(join(SCRATCH_ROOT, 'stackonly-fuzz-'));
    scratchDirs.add(scratch);
    const worker = new Worker(new URL('./fuzz-worker.mjs', import.meta.url), {
      workerData: { dist: opts.dist, memoryMb: opts.memory, scratch, auditOriginals: AUDIT_ORIGINALS },
      resourceLimits: { maxOldGenerationSizeMb: opts.memory, maxYoungGenerationSizeMb: 48, stackSizeMb: 1 },
      stdout: true,
      stderr: true,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    worker.once('exit', () => {
      scratchDirs.delete(scratch);
      rmSync(scratch, { recursive: true, force: true });
    });
    const slot = { worker, ready: new Promise((res, rej) => {
      worker.once('message', (m) => (m.ready ? res() : rej(new Error('worker did not start'))));
      worker.once('error', rej);
    }) };
    return slot;
  }

  /** Runs one case on a fresh or idle thread: { outcome, detail, ms }. */
  async run(c, slot) {
    await slot.ready;
    return new Promise((resolveCase) => {
      let done = false;
      const finish = (result, replace) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        slot.worker.off('message', onMessage);
        slot.worker.off('error', onError);
        slot.worker.off('exit', onExit);
        if (replace) {
          void slot.worker.terminate();
          Object.assign(slot, this.spawn());
        }
        resolveCase(result);
      };
      const onMessage = (m) => {
        if (m.id === c.id) finish(m, false);
      };
      const onError = (err) => {
        const oom = err?.code === 'ERR_WORKER_OUT_OF_MEMORY' || /out of memory|heap limit/i.test(String(err?.message));
        finish({ outcome: oom ? 'memory' : 'crash', detail: { name: err?.code ?? err?.name, message: String(err?.message ?? err), stack: String(err?.stack ?? '') }, ms: performance.now() - t0 }, true);
      };
      const onExit = (code) => finish({ outcome: 'crash', detail: { name: 'WorkerExit', message: `worker exited with ${code}` }, ms: performance.now() - t0 }, true);
      const t0 = performance.now();
      const timer = setTimeout(() => finish({ outcome: 'hang', detail: { name: 'Timeout', message: `no answer within ${opts.timeout} ms` }, ms: opts.timeout }, true), opts.timeout);
      slot.worker.on('message', onMessage);
      slot.worker.on('error', onError);
      slot.worker.on('exit', onExit);
      const message = { ...c };
      delete message.mutators;
      slot.worker.postMessage(message);
    });
  }

  /** Runs every case `next()` hands out until it returns undefined; `onResult(case, result)` for each. */
  async drain(next, onResult) {
    const loop = async (slot) => {
      for (let c = next(); c; c = next()) {
        let result = await this.run(c, slot);
        if (result.outcome === 'hang') {
          const again = await this.run(c, slot);
          if (again.outcome !== 'hang') result = { ...again, slowRetry: true };
        }
        onResult(c, result);
      }
    };
    this.slots = Array.from({ length: this.jobs }, () => this.spawn());
    await Promise.all(this.slots.map(loop));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

// ---------------------------------------------------------------- classes and reproducers

/** What makes two failures the same: the error's kind and normalised message, and where it was thrown. */
function classOf(c, result) {
  const { outcome, detail } = result;
  if (outcome === 'hang' || outcome === 'memory') return `${outcome} ${c.op} ${c.mutators.join('+')}`;
  const message = String(detail?.message ?? '')
    .replace(/\/[^\s:'"]+/g, 'PATH')
    .replace(/0x[0-9a-f]+|\d+/gi, 'N')
    .replace(/'[^']*'|"[^"]*"/g, 'Q')
    .slice(0, 120);
  const frame = String(detail?.stack ?? '')
    .split('\n')
    .find((line) => /\/dist\//.test(line));
  const where = frame ? frame.replace(/^.*\/dist\//, '').replace(/:\d+\)?$/, '') : '';
  return `crash ${detail?.name}: ${message}${where ? ` @ ${where}` : ''}`;
}

const slug = (cls) => createHash('sha1').update(cls).digest('hex').slice(0, 8);

function writeReproducer(c, result, cls, extra = {}) {
  mkdirSync(opts.out, { recursive: true });
  const name = `${cls.split(' ')[0]}-${c.op}-${slug(cls)}`;
  writeFileSync(join(opts.out, `${name}${c.ext}`), c.bytes);
  const meta = {
    class: cls,
    outcome: result.outcome,
    op: c.op,
    side: c.side,
    seed: rel(c.seedPath),
    partner: rel(c.partnerPath),
    mutation: c.what,
    mutators: c.mutators,
    run: { seed: opts.seed, case: c.n },
    ms: Math.round(result.ms),
    error: result.detail,
    ...extra,
  };
  writeFileSync(join(opts.out, `${name}.json`), JSON.stringify(meta, null, 2) + '\n');
  return join(opts.out, `${name}${c.ext}`);
}

// ---------------------------------------------------------------- fuzzing and replaying

async function fuzz() {
  const seeds = await loadSeeds();
  if (seeds.length === 0) usage('no seed objects');
  log(`${seeds.length} seed objects (${seeds.filter((s) => s.kernel).length} kernel modules); seed ${opts.seed}, ${opts.cases} cases, ${opts.jobs} workers, ${opts.timeout} ms and ${opts.memory} MiB per case`);
  // Small seeds most of the time; kernel modules a fifth of the cases (they are slower).
  const small = seeds.filter((s) => !s.kernel && !s.livepatch);
  const big = seeds.filter((s) => s.kernel);
  // Livepatch modules (audited) a tenth of the cases: a handful of seeds among many.
  const livepatches = AUDIT_ORIGINALS ? seeds.filter((s) => s.livepatch) : [];
  const rng = prng(opts.seed);
  let n = 0;
  const next = () => {
    if (n >= opts.cases) return undefined;
    const seed = big.length && rng.chance(0.2) ? rng.pick(big) : livepatches.length && rng.chance(0.1) ? rng.pick(livepatches) : rng.pick(small);
    // A livepatch module is audited (when the originals could be built), and read like any object.
    const op = seed.livepatch ? rng.pick(['audit', 'audit', 'audit', 'inspect']) : rng.pick(['inspect', 'inspect', 'compare', 'compare', 'tree']);
    const side = rng.chance(0.5) ? 'original' : 'patched';
    const m = mutate(rng, seed.bytes, seed.layout);
    return { id: n, n: n++, op, side, ext: seed.ext, bytes: m.bytes, partner: op === 'inspect' || op === 'audit' ? undefined : seed.partnerBytes, what: m.what, mutators: m.mutators, seedPath: seed.path, partnerPath: seed.partnerPath, seedLabel: seed.label };
  };
  const counts = { ok: 0, error: 0, crash: 0, hang: 0, memory: 0, slow: 0 };
  const classes = new Map();
  const byMutator = {};
  const byOp = {};
  let slowest = { ms: 0 };
  let slowRetries = 0;
  const started = performance.now();
  const pool = new Pool(opts.jobs);
  await pool.drain(next, (c, result) => {
    counts[result.outcome]++;
    const opRow = (byOp[c.op] ??= { ok: 0, error: 0, crash: 0, hang: 0, memory: 0 });
    opRow[result.outcome]++;
    if (result.slowRetry) slowRetries++;
    for (const m of c.mutators) {
      const row = (byMutator[m] ??= { ok: 0, error: 0, crash: 0, hang: 0, memory: 0 });
      row[result.outcome]++;
    }
    if ((result.outcome === 'ok' || result.outcome === 'error') && result.ms > slowest.ms) slowest = { ms: result.ms, op: c.op, seed: c.seedLabel, what: c.what };
    const slow = (result.outcome === 'ok' || result.outcome === 'error') && result.ms > opts.slow;
    if (slow) counts.slow++;
    if ((result.outcome === 'ok' || result.outcome === 'error') && !slow) return;
    const cls = slow ? `slow ${c.op} ${c.mutators.join('+')}` : classOf(c, result);
    const known = classes.get(cls);
    if (known) {
      known.count++;
      return;
    }
    const file = writeReproducer(c, result, cls, slow ? { outcome: `slow (${result.outcome})` } : {});
    classes.set(cls, { count: 1, file, example: `${c.op} ${c.seedLabel}: ${c.what}`, message: result.detail?.message });
    log(`new class: ${cls}\n  ${c.op} ${c.side} ${c.seedLabel}: ${c.what}\n  reproducer: ${rel(file)}`);
  });
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    seed: opts.seed,
    cases: opts.cases,
    seconds: Number(seconds.toFixed(1)),
    ...counts,
    slowRetries,
    slowest: { ...slowest, ms: Math.round(slowest.ms) },
    classes: [...classes].map(([cls, v]) => ({ class: cls, count: v.count, reproducer: rel(v.file), example: v.example })),
    byMutator,
    byOp,
  };
  if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else {
    const out = [];
    out.push(`${opts.cases} cases in ${seconds.toFixed(1)} s (seed ${opts.seed}): ok ${counts.ok}, clean error ${counts.error}, crash ${counts.crash}, hang ${counts.hang}, memory ${counts.memory}; ${counts.slow} answered after more than ${opts.slow} ms`);
    out.push(`slowest answered case: ${Math.round(slowest.ms)} ms, ${slowest.op} ${slowest.seed}: ${slowest.what}${slowRetries ? ` (${slowRetries} cases answered only when retried)` : ''}`);
    for (const [op, row] of Object.entries(byOp).sort()) out.push(`  ${op.padEnd(20)} ok ${row.ok}, error ${row.error}, crash ${row.crash}, hang ${row.hang}, memory ${row.memory}`);
    for (const [m, row] of Object.entries(byMutator).sort()) out.push(`  ${m.padEnd(20)} ok ${row.ok}, error ${row.error}, crash ${row.crash}, hang ${row.hang}, memory ${row.memory}`);
    for (const c of summary.classes) out.push(`class (${c.count}x): ${c.class}\n  ${c.reproducer}`);
    process.stdout.write(out.join('\n') + '\n');
  }
  return counts.crash + counts.hang + counts.memory === 0;
}

/** The reproducer files under the given paths: objects, gzipped or not, each with its optional .json. */
function reproducers(paths) {
  const files = [];
  for (const p of paths) {
    if (!existsSync(p)) usage(`${p}: no such file or directory`);
    if (statSync(p).isDirectory()) for (const f of readdirSync(p).sort()) files.push(...reproducers([join(p, f)]).filter(Boolean));
    else if (/\.(o|ko)(\.gz)?$/.test(p)) files.push(p);
  }
  return files;
}

async function replay() {
  const files = reproducers(opts.replay);
  const results = [];
  const cases = [];
  for (const file of files) {
    const meta = existsSync(file.replace(/\.(o|ko)(\.gz)?$/, '.json')) ? JSON.parse(readFileSync(file.replace(/\.(o|ko)(\.gz)?$/, '.json'), 'utf8')) : {};
    let bytes = readFileSync(file);
    if (file.endsWith('.gz')) bytes = gunzipSync(bytes);
    const ext = /\.ko(\.gz)?$/.test(file) ? '.ko' : '.o';
    const partnerPath = meta.partner && resolve(ROOT, meta.partner);
    const partner = partnerPath && existsSync(partnerPath) ? readFileSync(partnerPath) : undefined;
    const ops = [['inspect', 'original']];
    if (meta.op === 'audit' && AUDIT_ORIGINALS) ops.push(['audit', 'original']);
    if (partner) ops.push(['compare', 'original'], ['compare', 'patched'], ['tree', 'original'], ['tree', 'patched']);
    for (const [op, side] of ops) cases.push({ id: cases.length, n: cases.length, op, side, ext, bytes, partner: op === 'inspect' || op === 'audit' ? undefined : partner, what: meta.mutation ?? '', mutators: meta.mutators ?? [], seedPath: file, partnerPath, file: rel(file), skipped: meta.partner && !partner ? `partner ${meta.partner} not present` : undefined });
  }
  let i = 0;
  const pool = new Pool(opts.jobs);
  await pool.drain(() => cases[i++], (c, result) => {
    results.push({ file: c.file, op: c.op, side: c.side, outcome: result.outcome, ms: Math.round(result.ms), error: result.detail?.message, skipped: c.skipped });
    log(`${c.file} ${c.op} ${c.op === 'inspect' ? '' : `(${c.side} mutated) `}${result.outcome} ${Math.round(result.ms)} ms${result.detail ? `: ${String(result.detail.message).slice(0, 200)}` : ''}`);
  });
  results.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  if (opts.json) process.stdout.write(JSON.stringify({ results }) + '\n');
  else process.stdout.write(`${files.length} reproducers, ${results.length} runs: ${results.filter((r) => r.outcome === 'ok' || r.outcome === 'error').length} ended cleanly\n`);
  return results.every((r) => r.outcome === 'ok' || r.outcome === 'error');
}

/** Where `audit` cases find the objects their livepatch modules patch (gcc and ld needed). */
const AUDIT_ORIGINALS = opts.compile || opts.replay.length ? auditOriginals() : undefined;

const clean = opts.replay.length ? await replay() : await fuzz();
process.exitCode = clean ? 0 : 1;
