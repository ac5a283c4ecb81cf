import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { InputError, UsageError } from '../errors.js';
import { describeFsError } from '../elf/reader.js';
import { compileSource, compilerSettings } from './gcc.js';
import { withLineDirectives } from './line-directives.js';
import { applyFilePatch, parseUnifiedDiff } from './patch.js';
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
  const head = Buffer.alloc(4);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    readSync(fd, head, 0, 4, 0);
  } catch (err) {
    throw new InputError(path, describeFsError(err));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) return 'object';
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
  /** Removes whatever was made; safe to call twice. */
  dispose(): void;
}

export interface PairRequest extends CompileOptions {
  original: string;
  /** The patched source or object; or use `patch`. */
  patched?: string;
  /** A unified diff to apply to a copy of the original source. */
  patch?: string;
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
  if (request.patch !== undefined && request.patched !== undefined) throw new UsageError('give either a patched file or --patch, not both');
  if (request.patch === undefined && request.patched === undefined) throw new UsageError('missing the patched input (a file, or --patch FILE)');
  if (originalKind === 'directory') throw new UsageError(`${request.original}: comparing directories takes two directories`);

  if (request.patch !== undefined) {
    if (originalKind !== 'source') throw new UsageError(`--patch needs a C source as the original, and ${request.original} is an object`);
  } else {
    const patchedKind = inputKind(request.patched!);
    if (patchedKind === 'directory') throw new UsageError(`${request.patched}: comparing directories takes two directories`);
    if (patchedKind !== originalKind) {
      throw new UsageError(`cannot compare ${originalKind === 'source' ? 'a source' : 'an object'} (${request.original}) with ${patchedKind === 'source' ? 'a source' : 'an object'} (${request.patched})`);
    }
    if (originalKind === 'object') return { original: request.original, patched: request.patched!, dispose() {} };
  }

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
    let patchedDirectory = request.patched ? dirname(resolve(request.patched)) : dirname(resolve(request.original));
    const lineDirectives = request.lineDirectives !== false;
    /** The patched source without directives, when the one compiled has them. */
    let plainSource: (() => string) | undefined;
    if (request.patch !== undefined) {
      patchedSource = writePatchedCopy(request.original, request.patch, join(work, 'patched-src'), { lineDirectives });
      patchedDirectory = dirname(resolve(request.original));
      if (lineDirectives) plainSource = () => writePatchedCopy(request.original, request.patch!, join(work, 'patched-plain'), { lineDirectives: false });
    } else if (lineDirectives) {
      // The user's patched file is never written to: a copy with the directives compiles in
      // its place, with quoted includes still resolving in the patched file's directory.
      patchedSource = writeCopyWithLineDirectives(request.original, request.patched!, join(work, 'patched-src'));
      if (patchedSource !== request.patched) plainSource = () => request.patched!;
    }
    const out = { original: join(work, 'original.o'), patched: join(work, 'patched.o') };
    const cancelled = (r: PromiseSettledResult<void>) => r.status === 'rejected' && /was cancelled/.test(String(r.reason?.message));
    /** Compiles both sides concurrently (or only the patched one); the first failure stops the other. */
    const compilePair = async (patched: string, scratch: string, original: boolean): Promise<PromiseSettledResult<void>[]> => {
      const controller = new AbortController();
      const signal = request.signal ? AbortSignal.any([request.signal, controller.signal]) : controller.signal;
      const compiles = [
        original
          ? compileSource(settings, { source: request.original, directory: dirname(resolve(request.original)), logicalName, output: out.original, side: 'original', scratch: join(work, `o${scratch}`), signal })
          : Promise.resolve(),
        compileSource(settings, { source: patched, directory: patchedDirectory, logicalName, output: out.patched, side: 'patched', scratch: join(work, `p${scratch}`), signal }),
      ];
      // The first failure is the one to report; stop the other compile rather than wait for it.
      compiles.forEach((c) => c.catch(() => controller.abort()));
      return Promise.allSettled(compiles);
    };
    let results = await compilePair(patchedSource!, '', true);
    if (plainSource && results[1].status === 'rejected' && !cancelled(results[1]) && (results[0].status === 'fulfilled' || cancelled(results[0])) && !request.signal?.aborted) {
      // The patched side failed with line directives: compile it as it is, for diagnostics
      // with the patched file's own line numbers (and, should a directive ever be what broke
      // the compile, for an object after all: its lines then shift as without directives).
      // The original again only if the failure stopped it.
      results = await compilePair(plainSource(), '-plain', results[0].status === 'rejected');
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
    return { ...out, dispose };
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
 * Writes the patched source, and any sibling headers the patch also changes, into `dir`.
 * A patch of a single file applies to the original whatever its header names; with several
 * files, each is found relative to the original's directory. Unless `lineDirectives` is
 * false, each patched file that has an original gets `#line` directives after its changed
 * regions (see line-directives.ts); a file the patch creates gets none.
 */
export function writePatchedCopy(originalSource: string, patchFile: string, dir: string, options: { lineDirectives?: boolean } = {}): string {
  const lines = options.lineDirectives !== false;
  const finish = (original: string, patched: string) => (lines ? withLineDirectives(original, patched) : patched);
  let text: string;
  try {
    text = readFileSync(patchFile, 'utf8');
  } catch (err) {
    throw new InputError(patchFile, describeFsError(err));
  }
  const filePatches = parseUnifiedDiff(text, patchFile);
  mkdirSync(dir, { recursive: true });
  const sourceDir = dirname(resolve(originalSource));
  const mainName = basename(originalSource);
  const target = join(dir, mainName);
  let mainPatched = false;
  for (const fp of filePatches) {
    const name = fp.oldPath ?? fp.newPath;
    const isMain = filePatches.length === 1 || (name !== undefined && (name === mainName || basename(name) === mainName));
    if (isMain) {
      const source = readFileSync(originalSource, 'utf8');
      const patched = applyFilePatch(source, fp, originalSource, patchFile);
      writeFileSync(target, finish(source, patched));
      mainPatched = true;
      continue;
    }
    if (!name) throw new InputError(patchFile, 'a file in the patch has no name');
    if (name.includes('/')) throw new UsageError(`${patchFile}: changes ${name}, outside the source's directory; use --source-dir with a compilation database for multi-directory patches`);
    const sibling = join(sourceDir, name);
    let source = '';
    if (fp.oldPath) {
      try {
        source = readFileSync(sibling, 'utf8');
      } catch (err) {
        throw new InputError(sibling, describeFsError(err));
      }
    }
    const patched = applyFilePatch(source, fp, sibling, patchFile);
    writeFileSync(join(dir, name), fp.oldPath ? finish(source, patched) : patched);
  }
  if (!mainPatched) copyFileSync(originalSource, target);
  return target;
}
