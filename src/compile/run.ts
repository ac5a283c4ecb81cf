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

/** execa, loading: a few hundred milliseconds, started before the first compiler is wanted. */
let execaModule: Promise<typeof import('execa')> | undefined;

/**
 * Starts loading execa, the compilers' runner, while the caller still prepares the compiles
 * (reading the database, applying the patch): only runs that compile pay for it. Resolves
 * once it is loaded (never rejects: a failure to load shows where it is used).
 */
export function preloadCompilerRunner(): Promise<void> {
  if (!execaModule) {
    execaModule = import('execa');
    // Handled where it is awaited; a run that never compiles must not die of its failure.
    execaModule.catch(() => {});
  }
  return execaModule.then(
    () => undefined,
    () => undefined,
  );
}

/**
 * Runs one compiler command (through execa), in our own process group: a terminal's
 * Ctrl-C, or a kill of the group, reaches it together with us (a compiler in a group of its
 * own would outlive a SIGKILL of stackonly). Cancelling kills the whole family it started (a
 * ccache or distcc wrapper's gcc, gcc's cc1), found by parent links and by a variable in
 * their environment (see process-tree.ts). Its TMPDIR is the caller's, so that whatever a
 * killed compiler could not clean up goes away with the caller's directory.
 */
export async function runCompiler(argv: string[], options: { cwd: string; tmpdir: string; signal?: AbortSignal }): Promise<CompilerRun> {
  mkdirSync(options.tmpdir, { recursive: true });
  const [command, ...args] = argv;
  const signal = options.signal;
  const cancelledRun: CompilerRun = { output: '', failed: true, cancelled: true, notFound: false };
  if (signal?.aborted) return cancelledRun;
  void preloadCompilerRunner();
  const { execa } = await execaModule!;
  if (signal?.aborted) return cancelledRun;
  let cancelled = false;
  const child = execa(command, args, {
    cwd: options.cwd,
    reject: false,
    all: true,
    stdin: 'ignore',
    env: { LC_ALL: 'C', TMPDIR: options.tmpdir, [COMPILER_MARKER]: options.tmpdir },
  });
  const pid = child.pid;
  if (pid !== undefined) running.set(pid, { tmpdir: options.tmpdir, done: child.catch(() => undefined) });
  const onAbort = () => {
    cancelled = true;
    if (pid !== undefined) killFamily([pid], 'SIGTERM', compilerMarker(options.tmpdir));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await child;
    return {
      ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
      ...(result.signal !== undefined ? { signal: result.signal } : {}),
      output: String(result.all ?? ''),
      failed: result.failed || cancelled,
      cancelled,
      notFound: (result as { code?: string }).code === 'ENOENT',
    };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (pid !== undefined) running.delete(pid);
  }
}
