import { preloadCompilerRunner } from './run.js';
import { compressionOf } from '../elf/compressed.js';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, readSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { describeFsError, InputError, UsageError } from '../errors.js';
import { parseMakeDepfile } from './depfiles.js';
import { compileSource, compilerSettings } from './gcc.js';
import { withLineDirectives } from './line-directives.js';
import { applyPatchSeries, readPatches, type FilePatch, type PatchOptions } from './patch.js';
import { makeTempDir, removeTempDir } from './tempdir.js';

export type InputKind = 'object' | 'source' | 'directory';

const SOURCE_EXTENSIONS = new Set(['.c', '.i']);

/** Tells an ELF object from a C source by content, so a misnamed file is still read right. */
export function inputKind(path: string): InputKind {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (err) {
    throw new InputError(path, describeFsError(err));
  }
  if (isDirectory) return 'directory';
  const head = Buffer.alloc(6);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    readSync(fd, head, 0, 6, 0);
  } catch (err) {
    throw new InputError(path, describeFsError(err));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) return 'object';
  // A compressed module (.ko.xz, .ko.zst, .ko.gz): the reader decompresses it.
  if (compressionOf(head) !== undefined && /\.ko\.(?:xz|zst|gz)$/.test(path)) return 'object';
  if (SOURCE_EXTENSIONS.has(extname(path))) return 'source';
  if (['.o', '.ko', '.obj'].includes(extname(path))) throw new InputError(path, 'not an ELF file (bad magic)');
  throw new InputError(path, 'neither an ELF object nor a C source (.c)');
}

export interface CompileOptions {
  cc?: string;
  cflags?: string;
  /** Keep the compiled objects here (created if missing). */
  keepObjects?: string;
  /**
   * Compile the patched side from a copy with `#line` directives after each changed
   * region, so that lines the patch did not touch keep their original numbers (`__LINE__`,
   * the kernel's `__bug_table` lines). Default true; false compiles the patched text as it is.
   */
  lineDirectives?: boolean;
  signal?: AbortSignal;
}

export interface PreparedPair {
  original: string;
  patched: string;
  /**
   * The patched side was compiled from a copy with `#line` directives after each changed
   * region: no line number outside the changes moved.
   */
  linesPinned: boolean;
  /** Removes whatever was made; safe to call twice. */
  dispose(): void;
  /** What the report should say about how the pair was made (one line each). */
  warnings?: string[];
}

export interface PairRequest extends CompileOptions {
  original: string;
  /** The patched source or object; or use `patch`. */
  patched?: string;
  /**
   * Unified diffs (or `git format-patch` mail, or a quilt series file) to apply in order to
   * a copy of the original source.
   */
  patch?: string | readonly string[];
  /** Leading path components to strip from the patch's file names (`patch -pN`); default: detected. */
  strip?: PatchOptions['strip'];
}

function objectName(source: string): string {
  return basename(source).replace(/\.[^.]*$/, '') + '.o';
}

/**
 * Turns the two inputs of `compare` into two objects: compiles sources (concurrently),
 * applies a patch to a temporary copy, or passes objects through. Never writes to the
 * user's files; everything made lives in one temporary directory.
 */
export async function preparePair(request: PairRequest): Promise<PreparedPair> {
  const originalKind = inputKind(request.original);
  if (originalKind === 'source') void preloadCompilerRunner();
  const patchFiles = request.patch === undefined ? [] : [request.patch].flat();
  if (patchFiles.length > 0 && request.patched !== undefined) throw new UsageError('give either a patched file or --patch, not both');
  if (patchFiles.length === 0 && request.patched === undefined) throw new UsageError('missing the patched input (a file, or --patch FILE)');
  if (originalKind === 'directory') throw new UsageError(`${request.original}: comparing directories takes two directories`);

  if (patchFiles.length > 0) {
    if (originalKind !== 'source') throw new UsageError(`--patch needs a C source as the original, and ${request.original} is an object`);
  } else {
    const patchedKind = inputKind(request.patched!);
    if (patchedKind === 'directory') throw new UsageError(`${request.patched}: comparing directories takes two directories`);
    if (patchedKind !== originalKind) {
      throw new UsageError(`cannot compare ${originalKind === 'source' ? 'a source' : 'an object'} (${request.original}) with ${patchedKind === 'source' ? 'a source' : 'an object'} (${request.patched})`);
    }
    if (originalKind === 'object') return { original: request.original, patched: request.patched!, linesPinned: false, dispose() {} };
  }

  // The patch is read and applied (in memory) before anything is made: a patch that does
  // not apply costs no compile.
  const patched = patchFiles.length > 0 ? patchSource(request.original, readPatches(patchFiles, { strip: request.strip })) : undefined;

  const work = makeTempDir('compare');
  let disposed = false;
  const dispose = () => {
    if (!disposed) removeTempDir(work);
    disposed = true;
  };
  try {
    const settings = compilerSettings(request);
    const logicalName = basename(request.original);
    let patchedSource = request.patched;
    /** Where the patched copies of the files next to the source are, for the compile that used them. */
    let siblingsDir: string | undefined;
    let patchedDirectory = request.patched ? dirname(resolve(request.patched)) : dirname(resolve(request.original));
    const lineDirectives = request.lineDirectives !== false;
    /** The patched source without directives, when the one compiled has them. */
    let plainSource: (() => string) | undefined;
    if (patched !== undefined) {
      patchedSource = writePatchedCopy(patched, join(work, 'patched-src'), { lineDirectives });
      siblingsDir = join(work, 'patched-src');
      patchedDirectory = dirname(resolve(request.original));
      if (lineDirectives) {
        plainSource = () => {
          siblingsDir = join(work, 'patched-plain');
          return writePatchedCopy(patched, siblingsDir, { lineDirectives: false });
        };
      }
    } else if (lineDirectives) {
      // The user's patched file is never written to: a copy with the directives compiles in
      // its place, with quoted includes still resolving in the patched file's directory.
      patchedSource = writeCopyWithLineDirectives(request.original, request.patched!, join(work, 'patched-src'));
      if (patchedSource !== request.patched) plainSource = () => request.patched!;
    }
    const out = { original: join(work, 'original.o'), patched: join(work, 'patched.o') };
    // The files next to the source that the patch changes count only if the compile reads them.
    const dependencies = patched && patched.siblings.length > 0 ? join(work, 'patched.d') : undefined;
    const cancelled = (r: PromiseSettledResult<void>) => r.status === 'rejected' && /was cancelled/.test(String(r.reason?.message));
    /** Compiles both sides concurrently (or only the patched one); the first failure stops the other. */
    const compilePair = async (patched: string, scratch: string, original: boolean): Promise<PromiseSettledResult<void>[]> => {
      const controller = new AbortController();
      const signal = request.signal ? AbortSignal.any([request.signal, controller.signal]) : controller.signal;
      const compiles = [
        original
          ? compileSource(settings, { source: request.original, directory: dirname(resolve(request.original)), logicalName, output: out.original, side: 'original', scratch: join(work, `o${scratch}`), signal })
          : Promise.resolve(),
        compileSource(settings, { source: patched, directory: patchedDirectory, logicalName, output: out.patched, side: 'patched', scratch: join(work, `p${scratch}`), signal, dependencies }),
      ];
      // The first failure is the one to report; stop the other compile rather than wait for it.
      compiles.forEach((c) => c.catch(() => controller.abort()));
      return Promise.allSettled(compiles);
    };
    let results = await compilePair(patchedSource!, '', true);
    let linesPinned = plainSource !== undefined;
    if (plainSource && results[1].status === 'rejected' && !cancelled(results[1]) && (results[0].status === 'fulfilled' || cancelled(results[0])) && !request.signal?.aborted) {
      // The patched side failed with line directives: compile it as it is, for diagnostics
      // with the patched file's own line numbers (and, should a directive ever be what broke
      // the compile, for an object after all: its lines then shift as without directives).
      // The original again only if the failure stopped it.
      results = await compilePair(plainSource(), '-plain', results[0].status === 'rejected');
      linesPinned = false;
    }
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !cancelled(r));
    const anyFailure = failure ?? results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (anyFailure) throw anyFailure.reason;
    if (request.keepObjects) {
      mkdirSync(request.keepObjects, { recursive: true });
      const base = objectName(request.original).replace(/\.o$/, '');
      copyFileSync(out.original, join(request.keepObjects, `${base}.orig.o`));
      copyFileSync(out.patched, join(request.keepObjects, `${base}.patched.o`));
    }
    const unread = patched && dependencies && siblingsDir ? unreadSiblings(patched, siblingsDir, dependencies, patchedDirectory) : [];
    const warnings = unread.map(
      (name) =>
        `${patchFiles.join(', ')}: ${patched!.siblings.find((s) => s.name === name)?.original === undefined ? 'creates' : 'changes'} ${join(dirname(request.original), name)}, which the compile of ${request.original} does not read: that change is not in this comparison (compile that file itself, or use --source-dir)`,
    );
    return { ...out, linesPinned, dispose, ...(warnings.length ? { warnings } : {}) };
  } catch (err) {
    dispose();
    throw err;
  }
}

/**
 * The patched source itself when it needs no `#line` directive; else a copy of it with the
 * directives, in `dir` (under the patched file's own name). Read and written byte for byte
 * (latin1), so that text that is not UTF-8 reaches the compiler unchanged.
 */
function writeCopyWithLineDirectives(originalSource: string, patchedSource: string, dir: string): string {
  let original: string;
  let patched: string;
  try {
    original = readFileSync(originalSource, 'latin1');
  } catch (err) {
    throw new InputError(originalSource, describeFsError(err));
  }
  try {
    patched = readFileSync(patchedSource, 'latin1');
  } catch (err) {
    throw new InputError(patchedSource, describeFsError(err));
  }
  const text = withLineDirectives(original, patched);
  if (text === patched) return patchedSource;
  mkdirSync(dir, { recursive: true });
  const copy = join(dir, basename(patchedSource));
  writeFileSync(copy, text, 'latin1');
  return copy;
}

/**
 * The files next to the source that the patch changed or created and the patched compile
 * did not read (none of its dependencies, as gcc's `-MD` lists them, is that file): a patch
 * to another unit of the directory, or a new file nothing includes. Nothing when the
 * compiler wrote no dependencies (it cannot be told).
 */
function unreadSiblings(patched: PatchedSource, dir: string, depfile: string, cwd: string): string[] {
  let text: string;
  try {
    text = readFileSync(depfile, 'utf8');
  } catch {
    return [];
  }
  const real = (path: string): string | undefined => {
    try {
      return realpathSync(path);
    } catch {
      return undefined;
    }
  };
  const read = new Set(parseMakeDepfile(text).map((dep) => real(resolve(cwd, dep))));
  return patched.siblings.map((s) => s.name).filter((name) => !read.has(real(join(dir, name))));
}

/** A source and the files next to it, patched in memory. */
interface PatchedSource {
  /** The original source, as given. */
  path: string;
  /** Its base name: the patched text is compiled under it. */
  mainName: string;
  /** The original source's text, and its patched text. */
  original: string;
  patched: string;
  /** Files next to the source that the patch changes or creates (`original` undefined: created). */
  siblings: { name: string; original?: string; patched: string }[];
}

/**
 * Applies patches to a C source and the files next to it, in memory. When the patches
 * change one file only, they apply to the source whatever their headers name (a diff of
 * `orig.c` and `fixed.c`, or of `a/dir/foo.c`), unless that file is another one next to
 * the source; otherwise each file is found next to the source by name. Deleting or
 * renaming away a file next to the source is refused: the compile would still find it.
 */
function patchSource(originalSource: string, patches: readonly FilePatch[]): PatchedSource {
  const sourceDir = dirname(resolve(originalSource));
  const mainName = basename(originalSource);
  const identities = new Set(patches.map((fp) => fp.newPath ?? fp.oldPath ?? ''));
  const oneFile = identities.size === 1 && patches.every((fp) => fp.kind === 'modify');
  const isSiblingFile = (name: string) => {
    try {
      return statSync(join(sourceDir, name)).isFile();
    } catch {
      return false;
    }
  };
  const key = (fp: FilePatch, name: string | undefined): string => {
    if (name === undefined) {
      if (oneFile) return mainName;
      throw new UsageError(`${fp.patchFile}: has hunks that name no file, among changes to several files`);
    }
    if (basename(name) === mainName) return mainName;
    if (!name.includes('/') && isSiblingFile(name)) return name;
    if (oneFile) return mainName;
    if (name.includes('/')) throw new UsageError(`${fp.patchFile}: changes ${name}, outside the source's directory; use --source-dir with a compilation database for multi-directory patches (or --strip N)`);
    return name;
  };
  const applied = applyPatchSeries(patches, {
    resolve: (fp) => {
      const old = fp.oldPath !== undefined || fp.kind === 'modify' ? key(fp, fp.oldPath) : undefined;
      // A rename of the source itself: its new text is still compiled under its own name.
      const renamesMain = (fp.kind === 'rename' && old === mainName) || (fp.kind === 'modify' && old === mainName);
      const next = fp.kind === 'delete' ? undefined : renamesMain ? mainName : key(fp, fp.newPath ?? fp.oldPath);
      return { old, new: next };
    },
    read: (name) => {
      if (name === mainName) return readSource(originalSource);
      try {
        return readFileSync(join(sourceDir, name), 'utf8');
      } catch {
        return undefined;
      }
    },
    display: (name) => (name === mainName ? originalSource : join(dirname(originalSource), name)),
  });
  const siblings: PatchedSource['siblings'] = [];
  for (const [name, text] of applied.changes) {
    if (name === mainName) continue;
    if (text === null) {
      throw new UsageError(
        `${patches.map((p) => p.patchFile).filter((f, i, all) => all.indexOf(f) === i).join(', ')}: deletes or renames ${join(dirname(originalSource), name)}, next to the source; only --source-dir (with a compilation database) can hide a file from the compile`,
      );
    }
    siblings.push({ name, original: applied.originals.get(name), patched: text });
  }
  const original = applied.originals.get(mainName) ?? readSource(originalSource);
  const main = applied.changes.get(mainName);
  if (main === null) throw new UsageError(`the patch deletes ${originalSource}, the source it is applied to`);
  return { path: originalSource, mainName, original, patched: main ?? original, siblings };
}

function readSource(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(path, describeFsError(err));
  }
}

/**
 * Writes the patched source, and the files next to it that the patch changes, into `dir`;
 * returns the source's path there. Unless `lineDirectives` is false, each patched file
 * that has an original gets `#line` directives after its changed regions (see
 * line-directives.ts); a file the patch creates gets none.
 */
function writePatchedCopy(source: PatchedSource, dir: string, options: { lineDirectives?: boolean } = {}): string {
  const lines = options.lineDirectives !== false;
  const finish = (original: string | undefined, patched: string) => (lines && original !== undefined ? withLineDirectives(original, patched) : patched);
  mkdirSync(dir, { recursive: true });
  for (const sibling of source.siblings) writeFileSync(join(dir, sibling.name), finish(sibling.original, sibling.patched));
  const target = join(dir, source.mainName);
  // An untouched source is copied byte for byte.
  if (source.patched === source.original) copyFileSync(source.path, target);
  else writeFileSync(target, finish(source.original, source.patched));
  return target;
}
