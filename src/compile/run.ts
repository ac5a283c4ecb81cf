import { mkdirSync } from 'node:fs';

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

/** Kills of the compilers still running: a detached group is not killed with us, so exit does it. */
const running = new Set<() => void>();
process.on('exit', () => {
  for (const kill of running) kill();
});

/**
 * Runs one compiler command. The compiler gets a process group of its own, so that
 * cancelling kills everything it started (a ccache or distcc wrapper's gcc, gcc's cc1),
 * not only the process we started; and a TMPDIR of the caller's, so that whatever a killed
 * compiler could not clean up goes away with the caller's directory.
 */
export async function runCompiler(argv: string[], options: { cwd: string; tmpdir: string; signal?: AbortSignal }): Promise<CompilerRun> {
  mkdirSync(options.tmpdir, { recursive: true });
  const [command, ...args] = argv;
  // execa costs a few hundred milliseconds to load: only runs that compile pay for it.
  const { execa } = await import('execa');
  const signal = options.signal;
  if (signal?.aborted) return { output: '', failed: true, cancelled: true, notFound: false };
  const child = execa(command, args, {
    cwd: options.cwd,
    reject: false,
    all: true,
    stdin: 'ignore',
    detached: true,
    env: { LC_ALL: 'C', TMPDIR: options.tmpdir },
  });
  let cancelled = false;
  const killGroup = () => {
    cancelled = true;
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  };
  signal?.addEventListener('abort', killGroup, { once: true });
  running.add(killGroup);
  try {
    const result = await child;
    return {
      exitCode: result.exitCode,
      signal: result.signal,
      output: (result.all ?? '').toString(),
      failed: result.failed || cancelled,
      cancelled,
      notFound: (result as { code?: string }).code === 'ENOENT',
    };
  } finally {
    signal?.removeEventListener('abort', killGroup);
    running.delete(killGroup);
  }
}
