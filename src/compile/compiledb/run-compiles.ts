import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { CompileError } from '../../errors.js';
import { parseDependencyFile } from '../depfiles.js';
import { runCompiler } from '../run.js';
import type { RewrittenCommand } from './rewrite.js';

/*
 * Running the compiles of both sides, a few at once, with cancellation, progress, and one
 * retry without `#line` directives.
 *
 * As a safety net, the patched compile also writes a dependency file (into our temporary
 * directory); if it shows that the compile read the original of a file the patch changes,
 * the build is refused rather than silently compared against unpatched code.
 */

/** A compile stopped by the abort of its pool: not itself the failure to report. */
class CancelledCompile extends CompileError {}

export interface CompileJob {
  /** The compiler's TMPDIR: inside the run's own directory, so that whatever a cancelled compiler leaves there goes with it. */
  tmpdir: string;
  unit: string;
  display: string;
  side: 'original' | 'patched';
  command: RewrittenCommand;
  output: string;
  /** Patched side: our dependency file, and the real paths of the originals the patch changes. */
  leakCheck?: { depfile: string; originals: Map<string, string> };
  /** Turns temporary paths in diagnostics back into the user's. */
  unshadow: (text: string) => string;
  /** What must be done before the compile starts (the patched side: the shadow tree). */
  before?: () => Promise<void>;
}

interface RunOptions {
  /** At most this many compiles at once. */
  jobs: number;
  signal?: AbortSignal;
  /** Called after each compile: `done` of `total` compiles. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Given when the patched files may carry `#line` directives: puts their plain patched
   * text back (false: there were none), before the compiles are tried again after a
   * patched compile failed.
   */
  dropLineDirectives?: () => boolean;
}

/** Runs every job; a cancelled build is a CompileError saying so. Resolves to whether the `#line` directives stayed (no retry without them). */
export async function runCompiles(jobsList: CompileJob[], options: RunOptions): Promise<boolean> {
  const { signal } = options;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  if (signal?.aborted) controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let done = 0;
  const finished = new Set<CompileJob>();
  let failed: CompileJob | undefined;
  let directivesKept = options.dropLineDirectives !== undefined;
  const run = (list: CompileJob[], pool: AbortController) =>
    runPool(
      list.map((job) => async (poolSignal) => {
        try {
          await runCompile(job, poolSignal);
        } catch (err) {
          if (!(err instanceof CancelledCompile)) failed ??= job;
          throw err;
        }
        finished.add(job);
        options.onProgress?.(++done, jobsList.length);
      }),
      options.jobs,
      pool,
    );
  try {
    try {
      await run(jobsList, controller);
    } catch (err) {
      // Again without the directives (when there were some), the failed compile first: for
      // diagnostics with the patched files' own line numbers (or an object, should a
      // directive have broken it).
      if (!options.dropLineDirectives || failed?.side !== 'patched' || signal?.aborted || !options.dropLineDirectives()) throw err;
      directivesKept = false;
      const again = jobsList.filter((job) => !finished.has(job));
      again.sort((a, b) => Number(b === failed) - Number(a === failed));
      const retry = new AbortController();
      const onAbortRetry = () => retry.abort();
      signal?.addEventListener('abort', onAbortRetry, { once: true });
      try {
        await run(again, retry);
      } finally {
        signal?.removeEventListener('abort', onAbortRetry);
      }
    }
  } catch (err) {
    if (signal?.aborted && err instanceof CancelledCompile) throw new CompileError(undefined, 'the build was cancelled');
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) throw new CompileError(undefined, 'the build was cancelled');
  return directivesKept;
}

/** The real paths of the originals of the source-relative files the patch changes, for the leak check. */
export function realPathsOfOriginals(sourceRoot: string, changed: Iterable<string>): Map<string, string> {
  const originals = new Map<string, string>();
  for (const rel of changed) {
    try {
      originals.set(realpathSync.native(join(sourceRoot, rel)), rel);
    } catch {
      // a new file
    }
  }
  return originals;
}

/** Runs tasks, at most `limit` at once; the first failure aborts `controller` and no new task starts. */
async function runPool(tasks: ((signal: AbortSignal) => Promise<void>)[], limit: number, controller: AbortController): Promise<void> {
  const failures: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length && !controller.signal.aborted) {
      const task = tasks[next++];
      try {
        await task(controller.signal);
      } catch (err) {
        failures.push(err);
        controller.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failures.length > 0) {
    // The first failure that is not a cancellation caused by it.
    throw failures.find((f) => !(f instanceof CancelledCompile)) ?? failures[0];
  }
}

async function runCompile(job: CompileJob, signal: AbortSignal): Promise<void> {
  await job.before?.();
  mkdirSync(dirname(job.output), { recursive: true });
  const command = job.command.argv[0];
  const result = await runCompiler(job.command.argv, { cwd: job.command.cwd, tmpdir: job.tmpdir, signal });
  if (result.cancelled) throw new CancelledCompile(job.display, `compile of the ${job.side} side was cancelled`);
  if (result.failed) {
    if (result.notFound) throw new CompileError(job.display, `cannot run the compiler '${command}': not found`);
    const diagnostics = job.unshadow(result.output).trimEnd();
    const status = result.exitCode !== undefined ? `exit status ${result.exitCode}` : (result.signal ?? 'failed');
    const compiler = job.command.argv.slice(0, job.command.compilerWords).map((w) => (isAbsolute(w) ? basename(w) : w)).join(' ');
    throw new CompileError(job.display, `${compiler} failed on the ${job.side} side (${status})`, diagnostics || undefined);
  }
  if (job.leakCheck) {
    let deps: string[] = [];
    try {
      deps = parseDependencyFile(readFileSync(job.leakCheck.depfile, 'utf8'));
    } catch {
      return; // a compiler that ignores -MD: nothing to check
    }
    // Only a dependency with the base name of a changed file can be its original (a kernel
    // unit lists a thousand headers; resolving each took tens of milliseconds). A directory
    // link keeps base names; a file linked under another name is the one leak not seen.
    const names = new Set([...job.leakCheck.originals].flatMap(([real, rel]) => [basename(real), basename(rel)]));
    for (const dep of deps) {
      if (!names.has(basename(dep))) continue;
      let real: string;
      try {
        // Physically: `sub/../x.h` through a link to a directory is not `x.h`.
        real = realpathSync.native(isAbsolute(dep) ? dep : `${job.command.cwd}/${dep}`);
      } catch {
        continue;
      }
      const rel = job.leakCheck.originals.get(real);
      if (rel !== undefined) {
        throw new CompileError(
          job.display,
          `the patched side read the unpatched ${rel} (through ${job.unshadow(dep)}, a path the shadow tree does not cover); the comparison would be wrong`,
        );
      }
    }
  }
}
