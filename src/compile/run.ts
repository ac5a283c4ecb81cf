import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { COMPILER_MARKER, compilerMarker, killFamily } from './process-tree.js';

export interface CompilerRun {
  /** Exit status, when the compiler exited. */
  exitCode?: number;
  signal?: string;
  /** stdout and stderr, interleaved: the compiler's diagnostics. */
  output: string;
  failed: boolean;
  cancelled: boolean;
  /** Set when the command could not be started at all. */
  notFound: boolean;
}

/** The compilers running now, by pid: their TMPDIR, and a promise that settles when each is gone. */
const running = new Map<number, { tmpdir: string; done: Promise<unknown> }>();

/** Signals every running compiler's family (see killFamily): those below it, and those that carry its marker. */
function killRunning(signal: NodeJS.Signals): void {
  // One sweep per TMPDIR: a source tree's compiles share theirs.
  const byTmpdir = new Map<string, number[]>();
  for (const [pid, { tmpdir }] of running) byTmpdir.set(tmpdir, [...(byTmpdir.get(tmpdir) ?? []), pid]);
  for (const [tmpdir, pids] of byTmpdir) killFamily(pids, signal, compilerMarker(tmpdir));
}

// Whatever way the process ends, no compiler of ours keeps working for it.
process.on('exit', () => killRunning('SIGTERM'));

/**
 * Ends every compiler still running, each with the processes it started, and resolves when
 * all are gone: SIGTERM, then SIGKILL to those still there after `graceMs`.
 */
export async function stopAllCompilers(graceMs = 2000): Promise<void> {
  if (running.size === 0) return;
  killRunning('SIGTERM');
  const all = () => Promise.allSettled([...running.values()].map((r) => r.done));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), graceMs);
  });
  if ((await Promise.race([all(), late])) === 'late') {
    killRunning('SIGKILL');
    await Promise.race([all(), new Promise((resolve) => setTimeout(resolve, graceMs))]);
  }
  clearTimeout(timer);
}

/**
 * Runs one compiler command, in our own process group: a terminal's Ctrl-C, or a kill of
 * the group, reaches it together with us (a compiler in a group of its own would outlive a
 * SIGKILL of stackonly). Cancelling kills the whole family it started (a ccache or distcc
 * wrapper's gcc, gcc's cc1), found by parent links and by a variable in their environment
 * (see process-tree.ts). Its TMPDIR is the caller's, so that
 * whatever a killed compiler could not clean up goes away with the caller's directory.
 * node:child_process rather than execa: loading execa cost 140 ms of every run.
 */
export async function runCompiler(argv: string[], options: { cwd: string; tmpdir: string; signal?: AbortSignal }): Promise<CompilerRun> {
  mkdirSync(options.tmpdir, { recursive: true });
  const [command, ...args] = argv;
  const signal = options.signal;
  if (signal?.aborted) return { output: '', failed: true, cancelled: true, notFound: false };
  let cancelled = false;
  const child = spawn(command, args, {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_ALL: 'C', TMPDIR: options.tmpdir, [COMPILER_MARKER]: options.tmpdir },
  });
  const done = new Promise<CompilerRun>((resolve) => {
    const output: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    let startError: NodeJS.ErrnoException | undefined;
    let settled = false;
    const finish = (exitCode: number | null, exitSignal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      resolve({
        ...(exitCode !== null ? { exitCode } : {}),
        ...(exitSignal !== null ? { signal: exitSignal } : {}),
        output: Buffer.concat(output).toString(),
        failed: startError !== undefined || exitCode !== 0 || cancelled,
        cancelled,
        notFound: startError?.code === 'ENOENT',
      });
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      startError = err;
      if (child.pid === undefined) finish(null, null);
    });
    // 'close': the process has ended and so has its output (its children's too).
    child.on('close', finish);
  });
  const pid = child.pid;
  if (pid !== undefined) running.set(pid, { tmpdir: options.tmpdir, done });
  const onAbort = () => {
    cancelled = true;
    if (pid !== undefined) killFamily([pid], 'SIGTERM', compilerMarker(options.tmpdir));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await done;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (pid !== undefined) running.delete(pid);
  }
}
