import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processIdentity } from '../src/compile/process-tree.js';
import { memoryTempRoot, sweepStaleTempDirs } from '../src/compile/tempdir.js';
import { cliPath, repoRoot, runCli } from './helpers/cli.js';
import { configureProject } from './helpers/project.js';

/*
 * Interrupting `stackonly compare --source-dir` while its compilers run: with SIGINT (sent
 * to the whole process group, as a terminal's Ctrl-C is), SIGTERM and SIGHUP (to stackonly
 * alone, as `kill PID`), no compiler and no temporary folder may remain, and the exit status
 * says which signal it was. After SIGKILL the compilers outlive stackonly; the next run
 * reports the folder left behind, removes it, and ends them. The compiler is
 * testdata/compiledb/slow-cc.sh, which sleeps (in a child of its own) before running gcc
 * and records both pids; each run has a TMPDIR of its own, so that what is left can be seen.
 */
const slowCc = join(repoRoot, 'testdata', 'compiledb', 'slow-cc.sh');
// Two units, four compiles: with -j 2, two are in flight when the signal comes.
const patch = join(repoRoot, 'testdata', 'compiledb', 'fix-header.patch');
let scratch: string;
let proj: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'stackonly-signals-test-'));
  ({ proj } = await configureProject(scratch));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Gone, or a zombie nobody has reaped yet (it runs no more). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.startsWith('Z') ?? false;
  } catch {
    return true;
  }
}

interface SlowRun {
  child: ChildProcess;
  tmp: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The slow compilers' pids and their sleeps' pids. */
  compilers: () => number[];
  stderr: () => string;
}

/** Starts the CLI as a shell starts a job (a process group of its own), and resolves when two compiles are in flight. */
async function startSlowRun(name: string, options: { systemTmp?: boolean } = {}): Promise<SlowRun> {
  const tmp = join(scratch, name, 'tmp');
  const pids = join(scratch, name, 'pids');
  mkdirSync(tmp, { recursive: true });
  mkdirSync(pids);
  // Without TMPDIR the tool chooses: the system's temporary directory, and memory for the shadow tree.
  const { TMPDIR: _, ...withoutTmpdir } = process.env;
  const child = spawn('node', [cliPath, 'compare', '--source-dir', proj, '--patch', patch, '--cc', slowCc, '-j', '2', '--quiet'], {
    env: { ...(options.systemTmp ? withoutTmpdir : { ...process.env, TMPDIR: tmp }), SLOW_CC_PIDS: pids, SLOW_CC_SECONDS: '60' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const compilers = () =>
    readdirSync(pids).flatMap((f) =>
      readFileSync(join(pids, f), 'utf8')
        .trim()
        .split(' ')
        .filter(Boolean)
        .map(Number),
    );
  await waitFor(() => compilers().length >= 4, 20_000, 'two compiles in flight');
  return { child, tmp, exited, compilers, stderr: () => stderr };
}

describe('stackonly compare --source-dir interrupted', () => {
  it.each([
    { signal: 'SIGINT' as const, group: true, status: 130 },
    { signal: 'SIGTERM' as const, group: false, status: 143 },
    { signal: 'SIGHUP' as const, group: false, status: 129 },
  ])('$signal (to the group: $group) ends the compilers, removes the temporary folder, exits $status', async ({ signal, group, status }) => {
    const run = await startSlowRun(signal);
    const compilers = run.compilers();
    expect(compilers.every((pid) => !gone(pid))).toBe(true);
    process.kill(group ? -run.child.pid! : run.child.pid!, signal);
    const started = Date.now();
    const { code } = await run.exited;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(code).toBe(status);
    expect(run.stderr()).toBe('');
    expect(readdirSync(run.tmp)).toEqual([]);
    await waitFor(() => compilers.every(gone), 5000, `the compilers ${compilers.join(' ')} to end`);
  }, 40_000);

  it('after SIGKILL, the next run reports and removes the folder left behind, and ends its compilers', async () => {
    const run = await startSlowRun('SIGKILL');
    process.kill(run.child.pid!, 'SIGKILL');
    expect((await run.exited).signal).toBe('SIGKILL');
    const left = readdirSync(run.tmp);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^stackonly-compiledb-/);
    const compilers = run.compilers();
    // Orphans now, still working for the dead run.
    expect(compilers.some((pid) => !gone(pid))).toBe(true);

    const next = await runCli(['compare', '--source-dir', proj, '--patch', join(repoRoot, 'testdata', 'compiledb', 'fix-core.patch'), '--format', 'json'], { env: { TMPDIR: run.tmp } });
    expect(next.exitCode).toBe(0);
    expect(next.stderr).toBe(`stackonly: removed ${join(run.tmp, left[0])}, left by an earlier run (pid ${run.child.pid}) that was killed, and stopped ${compilers.length} of its compiler processes`);
    expect(JSON.parse(next.stdout).summary.compared).toBe(1);
    expect(readdirSync(run.tmp)).toEqual([]);
    await waitFor(() => compilers.every(gone), 5000, `the orphaned compilers ${compilers.join(' ')} to end`);
  }, 40_000);
});

/** The tool's temporary directories in `root` that process `pid` made (by their owner file). */
function tempDirsOf(root: string, pid: number): string[] {
  return readdirSync(root)
    .filter((name) => name.startsWith('stackonly-'))
    .filter((name) => {
      try {
        return readFileSync(join(root, name, 'owner'), 'utf8').split(' ')[0] === String(pid);
      } catch {
        return false;
      }
    });
}

describe('the shadow tree in memory (TMPDIR unset)', () => {
  const memory = memoryTempRoot();
  if (!memory) console.log(`skipped: ${process.env.TMPDIR ? 'TMPDIR is set in the test environment' : '/dev/shm is not a writable tmpfs'}; the shadow tree then goes in TMPDIR, as the tests above check`);

  it.skipIf(!memory)('is made in /dev/shm, and SIGTERM removes it with the run folder', async () => {
    const run = await startSlowRun('memory-shadow', { systemTmp: true });
    const pid = run.child.pid!;
    const compilers = run.compilers();
    expect(tempDirsOf(memory!, pid)).toEqual([expect.stringMatching(/^stackonly-shadow-/)]);
    expect(tempDirsOf(tmpdir(), pid)).toEqual([expect.stringMatching(/^stackonly-compiledb-/)]);
    process.kill(pid, 'SIGTERM');
    expect((await run.exited).code).toBe(143);
    expect(run.stderr()).toBe('');
    expect(tempDirsOf(memory!, pid)).toEqual([]);
    expect(tempDirsOf(tmpdir(), pid)).toEqual([]);
    await waitFor(() => compilers.every(gone), 5000, `the compilers ${compilers.join(' ')} to end`);
  }, 40_000);

  it.skipIf(!memory)('a killed run\'s shadow there is swept like its run folder, also by a run with TMPDIR set', () => {
    const me = processIdentity(process.pid)!;
    const deadPid = spawnSync('true').pid!;
    const stale = mkdtempSync(join(memory!, 'stackonly-shadow-'));
    writeFileSync(join(stale, 'owner'), `${deadPid} 1 ${me.namespace}\n`);
    mkdirSync(join(stale, 'tree'));
    // Swept whether or not this run has TMPDIR set: the killed one may not have had it.
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = mkdtempSync(join(scratch, 'elsewhere-'));
    try {
      const removed = sweepStaleTempDirs();
      expect(removed.filter((r) => r.dir === stale)).toEqual([{ dir: stale, pid: deadPid, stopped: 0 }]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(stale, { recursive: true, force: true });
    }
    expect(existsSync(stale)).toBe(false);
  });
});

describe('a small /dev/shm (a container\'s: 64 MiB in all, shared)', () => {
  // A private mount namespace with a /dev/shm of the given size: root and unshare(1) needed.
  const withShm = (size: string): { out: string; status: number | null } => {
    const script = `mount -t tmpfs -o size=${size} tmpfs /dev/shm && exec node --input-type=module -e "const m = await import('${join(repoRoot, 'dist/compile/tempdir.js')}'); console.log(m.memoryTempRoot() ?? 'disk')"`;
    const env = { ...process.env };
    delete env.TMPDIR;
    const r = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', env });
    return { out: r.stdout.trim(), status: r.status };
  };
  const probe = withShm('64m');
  const can = probe.status === 0 && probe.out === '/dev/shm';
  if (!can) console.log(`skipped: a private /dev/shm cannot be mounted here (unshare -m and mount need root and a kernel that allows them: ${probe.out || `status ${probe.status}`})`);

  it.skipIf(!can)('is used when 32 MiB are free there, and the disk when less is', () => {
    expect(withShm('64m').out).toBe('/dev/shm');
    expect(withShm('16m').out).toBe('disk');
  });
});

describe('sweepStaleTempDirs', () => {
  it('removes the folders whose owner is gone, and nothing else', () => {
    const root = join(scratch, 'sweep');
    mkdirSync(root);
    const me = processIdentity(process.pid)!;
    const deadPid = spawnSync('true').pid!;
    const dirs = {
      live: `${process.pid} ${me.start} ${me.namespace}`,
      dead: `${deadPid} 1 ${me.namespace}`,
      reused: `${process.pid} 1 ${me.namespace}`,
      otherNamespace: `${deadPid} 1 pid:[1]`,
      unmarked: undefined,
    };
    for (const [name, owner] of Object.entries(dirs)) {
      mkdirSync(join(root, `stackonly-compiledb-${name}`));
      if (owner !== undefined) writeFileSync(join(root, `stackonly-compiledb-${name}`, 'owner'), `${owner}\n`);
    }
    mkdirSync(join(root, 'other-tool-dead'));
    writeFileSync(join(root, 'other-tool-dead', 'owner'), `${deadPid} 1 ${me.namespace}\n`);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = root;
    try {
      // Only this root's: the sweep looks in /dev/shm too, which other runs share.
      const removed = sweepStaleTempDirs().filter((s) => s.dir.startsWith(`${root}/`));
      expect(removed.map((s) => [s.dir, s.pid, s.stopped]).sort()).toEqual([
        [join(root, 'stackonly-compiledb-dead'), deadPid, 0],
        [join(root, 'stackonly-compiledb-reused'), process.pid, 0],
      ]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(readdirSync(root).sort()).toEqual(['other-tool-dead', 'stackonly-compiledb-live', 'stackonly-compiledb-otherNamespace', 'stackonly-compiledb-unmarked']);
    expect(existsSync(join(root, 'stackonly-compiledb-dead'))).toBe(false);
  });
});
