import { setMaxListeners } from 'node:events';
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { backendFor } from '../arch/index.js';
import { openObject } from '../elf/open.js';
import { InputError } from '../errors.js';
import type { BuildStamp } from '../compare/code.js';
import { fillAssemblerText } from '../report/assembler-text.js';
import { emptyCompareReport } from '../report/build.js';
import type { CompareReport, TreeObjectReport, TreeReport } from '../report/types.js';
import { compareObjectPair, type ObjectPairRequest, type ObjectPairResult } from './object-pair.js';
import { readKbuildTrees, type KbuildTree } from './kbuild.js';
import { listObjects } from './walk.js';

export interface TreeOptions {
  /** Worker threads; default: the number of cores. 1 compares in this thread. */
  jobs?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** How to name the two trees in the report (default: the directories). */
  labels?: { original: string; patched: string };
  /** Build stamps besides each module's kernel release (objects without .modinfo). */
  stamps?: BuildStamp[];
  /** The trees were compiled by this tool, the patched one with `#line` directives. */
  linesPinned?: boolean;
  /**
   * List the changed families' code whole, for the HTML report, when the trees hold at most
   * this many pairs: the few units of a source tree's patch, not a distribution's 4,000
   * modules, whose page would run to hundreds of megabytes.
   */
  listingsUpTo?: number;
}

export interface TreeResult {
  report: TreeReport;
  results: ObjectPairResult[];
  /** What kbuild's saved commands said about the trees' objects (none for other trees). */
  kbuild: KbuildTree;
}

type WorkerPool = import('piscina').Piscina;

/**
 * The worker threads, started before the trees are walked: each loads and compiles the
 * comparison's code while this thread lists the files. `workers` of them; the caller's own
 * thread compares too.
 */
async function startPool(workers: number, signal: AbortSignal | undefined): Promise<WorkerPool> {
  const { Piscina } = await import('piscina');
  if (signal) setMaxListeners(TASKS_PER_WORKER * workers + 10, signal);
  return new Piscina({
    filename: new URL('./worker.js', import.meta.url).href,
    minThreads: workers,
    maxThreads: workers,
    concurrentTasksPerWorker: TASKS_PER_WORKER,
    idleTimeout: 1000,
    // A pair's model is garbage once it is compared; with the default young generation
    // most of it is copied once or twice before it dies (measured: about 20% of the time).
    resourceLimits: { maxYoungGenerationSizeMb: 96 },
  });
}

async function runAll(requests: ObjectPairRequest[], options: TreeOptions, starting: Promise<WorkerPool> | undefined): Promise<ObjectPairResult[]> {
  const jobs = Math.max(1, options.jobs ?? availableParallelism());
  let done = 0;
  const progress = () => options.onProgress?.(++done, requests.length);
  // Workers leave assembler text to the thread that writes the report.
  const complete = (result: ObjectPairResult) => {
    if (result.report) fillAssemblerText(result.report);
    progress();
    return result;
  };
  // Largest pairs first, so that no thread is left with a big module at the end.
  const order = requests.map((_, i) => i);
  const sizes = requests.map((r) => fileSize(r.original) + fileSize(r.patched));
  order.sort((x, y) => sizes[y] - sizes[x] || x - y);
  // Pairs go out to the workers a few at a time, largest first: one message per pair cost
  // more than the smaller pairs take. Batches shrink towards the end, so that no worker is
  // left with a queue of them while the other threads have nothing to do.
  const batchSize = () => (jobs === 1 ? 1 : Math.max(1, Math.min(MAX_BATCH, Math.floor((tail - head) / (jobs * TASKS_PER_WORKER * 2)))));
  const results: ObjectPairResult[] = new Array(requests.length);
  let head = 0;
  let tail = order.length;
  const take = () => {
    if (head >= tail) return undefined;
    const end = Math.min(head + batchSize(), tail);
    const b = order.slice(head, end);
    head = end;
    return b;
  };

  // This thread compares too: it is one of the `jobs`. It takes the smallest pairs, one at a
  // time, and yields after each, so that the workers' results are taken in and their next
  // batches sent out promptly: a worker waiting for this thread to finish a long pair idled
  // for seconds over a kernel tree (measured).
  const here = async () => {
    while (head < tail) {
      if (options.signal?.aborted) throw options.signal.reason;
      const i = order[--tail];
      results[i] = complete(compareObjectPair(requests[i]));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const workers = Math.min(jobs - 1, Math.max(0, requests.length - 1));
  if (workers === 0) {
    await (await starting)?.destroy();
    await here();
    return results;
  }
  const pool = (await starting)!;
  const feed = async () => {
    for (let b = take(); b; b = take()) {
      const out = (await pool.run(b.map((i) => requests[i]), { signal: options.signal })) as ObjectPairResult[];
      for (let k = 0; k < b.length; k++) results[b[k]] = complete(out[k]);
    }
  };
  try {
    await Promise.all([...Array.from({ length: TASKS_PER_WORKER * workers }, feed), here()]);
    return results;
  } finally {
    await pool.destroy();
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function uniqueStamps(stamps: { original: string; patched: string }[]): { original: string; patched: string }[] {
  const seen = new Map<string, { original: string; patched: string }>();
  for (const s of stamps) seen.set(`${s.original}\0${s.patched}`, s);
  return [...seen.values()];
}

/** Batches each worker holds at once: it never waits for this thread to send the next. */
const TASKS_PER_WORKER = 2;

/** Pairs per message to a worker thread, at most. */
const MAX_BATCH = 8;

/**
 * Tree mode: pairs every .o and .ko by relative path, skips byte-identical pairs without
 * parsing them, and compares the rest on a pool of worker threads.
 */
export async function compareTrees(originalDir: string, patchedDir: string, options: TreeOptions = {}): Promise<TreeResult> {
  const jobs = Math.max(1, options.jobs ?? availableParallelism());
  const starting = jobs > 1 ? startPool(jobs - 1, options.signal) : undefined;
  let requests: ObjectPairRequest[];
  let originals: Map<string, string>;
  let patcheds: Map<string, string>;
  let kbuild: KbuildTree;
  try {
    const withCommands = new Set<string>();
    originals = listObjects(originalDir, withCommands);
    patcheds = listObjects(patchedDir, withCommands);
    if (originals.size === 0 && patcheds.size === 0) throw new InputError(originalDir, 'no .o or .ko files in either directory');
    kbuild = readKbuildTrees(originalDir, patchedDir, { original: new Set(originals.keys()), patched: new Set(patcheds.keys()) }, withCommands);
    requests = [];
    for (const [path, original] of originals) {
      const patched = patcheds.get(path);
      if (patched && !kbuild.linkedFromMembers.has(path) && !kbuild.hostObjects.has(path)) requests.push({ path, original, patched, ...(options.stamps?.length ? { stamps: options.stamps } : {}), ...(options.linesPinned ? { linesPinned: true } : {}) });
    }
  } catch (err) {
    await (await starting)?.destroy();
    throw err;
  }
  if (options.listingsUpTo !== undefined && requests.length <= options.listingsUpTo) for (const r of requests) r.listings = true;
  const results = await runAll(requests, options, starting);
  const arch = treeArch(results, [...originals.values(), ...patcheds.values()]);
  const labels = options.labels ?? { original: originalDir, patched: patchedDir };
  const report = buildTreeReport(labels.original, labels.patched, arch, originals, patcheds, results);
  if (kbuild.linkedFromMembers.size > 0) report.summary.linked_from_members = [...kbuild.linkedFromMembers];
  if (kbuild.hostObjects.size > 0) report.summary.host_objects = [...kbuild.hostObjects];
  const unsure = withoutCommands(originals, patcheds, kbuild);
  if (unsure) report.warnings.push(unsure);
  return { report, results, kbuild };
}

/**
 * A warning when the trees look like kbuild's build trees (a module's `NAME.mod.o` beside
 * its `NAME.ko`, or `vmlinux.o`) but lack the saved commands that tell units from what was
 * linked of them: then both are compared, and a change may be listed more than once, its
 * units under vmlinux.
 */
function withoutCommands(originals: Map<string, string>, patcheds: Map<string, string>, kbuild: KbuildTree): string | undefined {
  if (kbuild.units.size > 0 || kbuild.linkedFromMembers.size > 0 || kbuild.hostObjects.size > 0) return undefined;
  const paired = [...originals.keys()].filter((p) => patcheds.has(p));
  const sign = paired.find((p) => p === 'vmlinux.o' || p.endsWith('/vmlinux.o')) ?? paired.find((p) => p.endsWith('.ko') && originals.has(p.replace(/\.ko$/, '.mod.o')));
  if (!sign) return undefined;
  const what = sign.endsWith('.ko') ? `${sign} beside ${sign.replace(/\.ko$/, '.mod.o')}` : sign;
  return `these look like kbuild build trees (${what}), but kbuild's saved commands (.NAME.o.cmd) are not there: the objects and those linked from them are all compared, so a change may be listed more than once, and units are named vmlinux (--object-name) whatever their module; keep the dot files when copying a build tree`;
}

/**
 * The tree's architecture, from its objects' ELF headers: the backend of the pairs compared
 * (each pair's checks its two objects, identical ones included). When no pair could be
 * compared, that of the first object that reads with a backend. A tree with no such object
 * has no report to make and fails on its first error, as a single pair does: the first object
 * of an architecture without a backend, else the first pair that failed.
 */
function treeArch(results: ObjectPairResult[], files: string[]): string {
  for (const r of results) {
    const arch = r.report?.arch ?? r.arch;
    if (r.status !== 'error' && arch) return arch;
  }
  let unsupported: InputError | undefined;
  let unreadable: unknown;
  for (const file of files) {
    let object;
    try {
      object = openObject(file, { skipSymbols: true });
    } catch (err) {
      unreadable ??= err;
      continue;
    }
    try {
      return backendFor(object).name;
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      unsupported ??= err;
    }
  }
  if (unsupported) throw unsupported;
  const failed = results.find((r) => r.status === 'error');
  if (failed) throw new InputError(undefined, failed.error!);
  throw unreadable;
}

function buildTreeReport(
  originalDir: string,
  patchedDir: string,
  arch: string,
  originals: Map<string, string>,
  patcheds: Map<string, string>,
  results: ObjectPairResult[],
): TreeReport {
  const count = (status: ObjectPairResult['status']) => results.filter((r) => r.status === status).length;
  const changed = results.filter((r) => r.status === 'changed' && r.report);
  // One report per compared pair (design.md §7); byte-identical pairs get the empty report
  // they would have had.
  const empty = (r: ObjectPairResult): CompareReport => emptyCompareReport(r.arch ?? arch, { original: `${originalDir}/${r.path}`, patched: `${patchedDir}/${r.path}` });
  // A pair that could not be compared stays in the list, with its error: one broken module
  // among thousands must not hide which one it was.
  const objects: TreeObjectReport[] = results.map((r) => ({
    path: r.path,
    status: r.status,
    ...(r.error !== undefined ? { error: r.error } : {}),
    ...(r.moduleName ? { object_name: r.moduleName } : {}),
    ...(r.report ?? empty(r)),
  }));
  const tag = <T extends object>(path: string, items: T[]) => items.map((item) => ({ ...item, object: path }));
  const errors = results.filter((r) => r.status === 'error').map((r) => r.error!);
  return {
    schema_version: 1,
    arch,
    original: originalDir,
    patched: patchedDir,
    summary: {
      compared: results.length,
      identical: count('identical'),
      unchanged: count('unchanged'),
      changed: changed.length,
      build_noise: count('build_noise'),
      errors: errors.length,
      only_in_original: [...originals.keys()].filter((p) => !patcheds.has(p)),
      only_in_patched: [...patcheds.keys()].filter((p) => !originals.has(p)),
    },
    functions: objects.flatMap((o) => tag(o.path, o.functions)),
    stack_only: {
      enable: objects.flatMap((o) => tag(o.path, o.stack_only.enable)),
      disable: objects.flatMap((o) => tag(o.path, o.stack_only.disable)),
    },
    renames: objects.flatMap((o) => tag(o.path, o.renames)),
    line_shifts: objects.flatMap((o) => tag(o.path, o.line_shifts)),
    build_stamps: uniqueStamps(objects.flatMap((o) => o.build_stamps)),
    // A warning that names one of the pair's files already says which object it is about.
    warnings: [...errors, ...objects.flatMap((o) => o.warnings.map((w) => (w.includes(`${o.original}: `) || w.includes(`${o.patched}: `) ? w : `${o.path}: ${w}`)))],
    objects,
  };
}
