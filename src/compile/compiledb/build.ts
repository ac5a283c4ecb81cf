import { mkdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { describeFsError, InputError, UsageError } from '../../errors.js';
import { splitCommandLine } from '../gcc.js';
import { preloadCompilerRunner } from '../run.js';
import { makeTempDir, memoryTempRoot, removeTempDir } from '../tempdir.js';
import { VMLINUX } from '../../report/types.js';
import { readPatches } from '../patch.js';
import { compilerLength, moduleOfCommand } from './command-words.js';
import { loadCompilationDatabase, type CompileDbEntry } from './database.js';
import { DependencyReader } from './dependencies.js';
import { applyPatchToTree } from './patched-files.js';
import { rewriteCompileCommand } from './rewrite.js';
import { realPathsOfOriginals, runCompiles, type CompileJob } from './run-compiles.js';
import { checkKeepDir, extraCompilerFlags, keepObjects } from './options.js';
import { ShadowTree } from './shadow-tree.js';
import { directoriesLeftUpwards, SourceTree } from './source-tree.js';
import { selectUnits, type CompileDbUnit } from './units.js';

/*
 * Building the translation units a patch touches from a compilation database.
 *
 * The original side compiles each selected unit exactly as the database says, in the
 * entry's directory, with only the output redirected into a temporary directory and the
 * dependency-file options dropped (so nothing is written into the user's tree), and
 * `--cflags` appended. With keepObjects, both sides' objects are copied out at the end.
 *
 * The patched side compiles the same command in a shadow tree (shadow-tree.ts) that holds
 * the patched files, with `#line` directives where the patch shifted lines; should a
 * patched compile fail, the files go back to the plain patched text and the compiles not
 * done yet run again, so that gcc's diagnostics give the patched files' own line numbers.
 */

export interface CompileDbRequest {
  /** The configured source tree (never modified). */
  sourceDir: string;
  /**
   * The patch file(s), applied in order: unified diffs or `git format-patch` mail (or a
   * quilt series file); paths relative to sourceDir (a/ b/ prefixes, or -p0; see `strip`).
   */
  patch: string | readonly string[];
  /** Leading path components to strip from the patch's file names (`patch -pN`); default: detected. */
  strip?: number;
  /**
   * The klp_object name of units that are not built as part of a module (no `-DMODULE`):
   * default `vmlinux`.
   */
  objectName?: string;
  /** Default `<sourceDir>/compile_commands.json`. */
  compileCommands?: string;
  /** Replaces the compiler word(s) of each command; may be a wrapper (`ccache gcc`). */
  cc?: string;
  /**
   * Compiler options appended to every unit's own command, on both sides (`-fno-inline`);
   * `$CFLAGS` is not read here: a kernel command holds all the flags its build wants.
   */
  cflags?: string;
  /**
   * Keep both sides' objects here, as `original/<path>.o` and `patched/<path>.o` (made when
   * missing; refused when those already hold files); originalDir/patchedDir are then these.
   */
  keepObjects?: string;
  /** At most this many compiles at once (default os.availableParallelism()). */
  jobs?: number;
  signal?: AbortSignal;
  /**
   * Patched files with `#line` directives after each changed region (default true; false:
   * the patched text as it is).
   */
  lineDirectives?: boolean;
  /** Called after each compile: `done` of `total` compiles (two per unit). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Called once the first compiles have started (the patched side's too): a caller can
   * spend the seconds they take on what it will need afterwards.
   */
  onCompiling?: () => void;
}

export interface CompileDbResult {
  /**
   * Objects of the selected units built from the original tree, at `<relative source path
   * with .o>` (each unit's `object`): in a temporary directory that dispose() removes, or
   * under `keepObjects`.
   */
  originalDir: string;
  /** The same from the patched tree. */
  patchedDir: string;
  units: CompileDbUnit[];
  /**
   * The klp_object of each object under originalDir/patchedDir (by relative path): the
   * module the unit is built into (`KBUILD_MODNAME` of a `-DMODULE` command), or
   * `vmlinux` (or the request's objectName) for built-in code. Units of one module share
   * the name.
   */
  objectNames: Map<string, string>;
  /** Each object's database entry (by relative path, as objectNames): where its linked module is looked for. */
  entries: Map<string, CompileDbEntry>;
  /** The patched units were compiled with `#line` directives (none of them needed the retry without). */
  linesPinned: boolean;
  warnings: string[];
  /** Removes every temporary file; safe to call twice. */
  dispose(): void;
}

export async function buildFromCompilationDatabase(req: CompileDbRequest): Promise<CompileDbResult> {
  const runnerLoaded = preloadCompilerRunner();
  let sourceStat;
  try {
    sourceStat = statSync(req.sourceDir);
  } catch (err) {
    throw new InputError(req.sourceDir, describeFsError(err));
  }
  if (!sourceStat.isDirectory()) throw new InputError(req.sourceDir, 'is not a directory');
  const jobs = req.jobs ?? availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`-j takes a positive whole number, not ${req.jobs}`);
  const ccWords = req.cc !== undefined ? splitCommandLine(req.cc) : undefined;
  if (ccWords && ccWords.length === 0) throw new UsageError('the compiler command is empty');
  const extra = extraCompilerFlags(req.cflags);
  if (req.keepObjects !== undefined) checkKeepDir(req.keepObjects);

  const tree = new SourceTree(req.sourceDir);
  const dbPath = req.compileCommands ?? join(req.sourceDir, 'compile_commands.json');
  const entries = loadCompilationDatabase(dbPath);
  const patchList = [req.patch].flat();
  if (patchList.length === 0) throw new UsageError('--source-dir needs --patch');
  const patchedFiles = applyPatchToTree(readPatches(patchList, { strip: req.strip }), tree, req.lineDirectives !== false);
  const { changes } = patchedFiles;
  const dependencies = new DependencyReader(tree);
  const patchLabel = patchList.join(' + ');
  const { units, generated, selected, warnings } = selectUnits({ entries, changes, tree, dependencies, patch: patchLabel, database: dbPath });

  const work = makeTempDir('compiledb');
  // The shadow tree is hundreds of links: in memory where there is a place for it.
  const shadowDir = shadowTempDir();
  let disposed = false;
  const dispose = () => {
    if (!disposed) {
      removeTempDir(work);
      if (shadowDir) removeTempDir(shadowDir);
    }
    disposed = true;
  };
  try {
    const originalDir = join(work, 'original');
    const patchedDir = join(work, 'patched');
    const shadow = new ShadowTree(join(shadowDir ?? work, 'tree'), tree.root, patchedFiles);
    const depsDir = join(work, 'deps');
    const tmpdir = join(work, 'tmp');
    mkdirSync(originalDir);
    mkdirSync(patchedDir);
    mkdirSync(depsDir);
    mkdirSync(tmpdir);

    const originals = realPathsOfOriginals(tree.root, changes.keys());
    for (const rel of changes.keys()) shadow.keepRealParentOf(rel);

    const ordered = [...selected.keys()].sort();
    const jobsList: CompileJob[] = [];
    const objectNames = new Map<string, string>();
    const objectEntries = new Map<string, CompileDbEntry>();
    // The patched side waits for the shadow tree (set below, before any compile starts).
    let shadowReady: Promise<void> = Promise.resolve();
    ordered.forEach((rel, i) => {
      const entry = units.get(rel)!;
      const display = generated.has(rel) ? entry.file : join(req.sourceDir, rel);
      const object = objectPath(rel);
      objectNames.set(object, klpObjectOf(entry, display, req.objectName, warnings));
      objectEntries.set(object, entry);
      const original = rewriteCompileCommand(entry, { output: join(originalDir, object), cc: ccWords, extra });
      const depfile = join(depsDir, `${i}.d`);
      const patchedCommand = rewriteCompileCommand(entry, { output: join(patchedDir, object), cc: ccWords, extra, shadow: { sourceRoots: tree.roots, shadow: shadow.root, depfile } });
      patchedCommand.realDirs.forEach((dir) => shadow.keepReal(dir));
      for (const dep of dependencies.spellings(entry)) directoriesLeftUpwards(dep, entry.directory, tree.roots).forEach((dir) => shadow.keepReal(dir));
      jobsList.push({ tmpdir, unit: rel, display, side: 'original', command: original, output: join(originalDir, object), unshadow: (t) => t });
      jobsList.push({ tmpdir, unit: rel, display, side: 'patched', command: patchedCommand, output: join(patchedDir, object), leakCheck: { depfile, originals }, unshadow: shadow.unshadow, before: () => shadowReady });
    });

    // The shadow's links are started first (in memory where possible, a few at a time:
    // ShadowTree.link) and the patched files, with their `#line` directives, written while
    // the compilers' runner loads; then the two sides' compiles start together: the run
    // ends with the later of the two.
    const linking = shadow.link();
    const writing = shadow.writePatched();
    // Settled only when both are: no link or file is still being made after a failure.
    const building = Promise.allSettled([linking, writing]).then((results) => {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
    // A failure is reported by the patched compiles that wait for it.
    building.catch(() => {});
    shadowReady = building;
    await runnerLoaded;
    const compiles = runCompiles(jobsList, {
      jobs,
      signal: req.signal,
      onProgress: (done, total) => req.onProgress?.(done, total),
      dropLineDirectives: () => shadow.dropLineDirectives(),
    });
    // Awaited below; a compile that fails at once must not count as unhandled before that.
    compiles.catch(() => {});
    // The comparison's warm-up runs once the compilers have been spawned, not before.
    building.then(() => setImmediate(() => req.onCompiling?.())).catch(() => {});

    const linesPinned = await compiles.then((kept) => kept && shadow.hasLineDirectives).finally(() => building.catch(() => {}));
    // Not needed any more: it goes while the objects are compared, not when the run ends.
    rm(shadow.root, { recursive: true, force: true }).catch(() => {});
    const kept = req.keepObjects !== undefined ? keepObjects(req.keepObjects, { original: originalDir, patched: patchedDir }, [...objectNames.keys()]) : undefined;

    return {
      originalDir: kept?.original ?? originalDir,
      patchedDir: kept?.patched ?? patchedDir,
      units: ordered.map((rel) => ({ file: generated.has(rel) ? units.get(rel)!.file : rel, reason: selected.get(rel)!, object: objectPath(rel) })),
      objectNames,
      entries: objectEntries,
      linesPinned,
      warnings,
      dispose,
    };
  } catch (err) {
    dispose();
    throw err;
  }
}

/**
 * The klp_object a unit's code belongs to: for a `-DMODULE` command, the module
 * (`KBUILD_MODNAME`); for built-in code (or a project that is no kernel), `objectName`,
 * default vmlinux. A module unit without KBUILD_MODNAME (the kernel leaves it out for an
 * object linked into several modules) gets a warning and its object's base name.
 */
function klpObjectOf(entry: CompileDbEntry, display: string, objectName: string | undefined, warnings: string[]): string {
  const { module, modname } = moduleOfCommand(entry.argv.slice(compilerLength(entry.argv)));
  if (!module) return objectName ?? VMLINUX;
  if (modname !== undefined) return modname;
  const fallback = objectName ?? basename(display).replace(/\.[^.]*$/, '').replace(/-/g, '_');
  warnings.push(`${display} is built with -DMODULE but without KBUILD_MODNAME (an object linked into several modules?): its klp_object is named ${fallback}; check it`);
  return fallback;
}

/** Where a unit's object goes under originalDir and patchedDir: its source path with `.o`. */
function objectPath(rel: string): string {
  return rel.replace(/\.[^./]*$/, '') + '.o';
}

/** A temporary directory for the shadow tree in memory (tempdir.ts), or undefined: then it goes in the run's own. */
function shadowTempDir(): string | undefined {
  const root = memoryTempRoot();
  if (!root) return undefined;
  try {
    return makeTempDir('shadow', root);
  } catch {
    return undefined;
  }
}
