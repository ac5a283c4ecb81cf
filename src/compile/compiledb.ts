import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { describeFsError } from '../elf/reader.js';
import { CompileError, InputError, PatchError, UsageError } from '../errors.js';
import { parseDependencyFile } from './depfiles.js';
import { splitCommandLine } from './gcc.js';
import { withLineDirectives } from './line-directives.js';
import { applyFilePatch, parseUnifiedDiff } from './patch.js';
import { runCompiler } from './run.js';
import { makeTempDir, removeTempDir } from './tempdir.js';

/*
 * Building the translation units a patch touches from a compilation database
 * (compile_commands.json, as bear and the kernel's gen_compile_commands.py write it).
 *
 * The original side compiles each selected unit exactly as the database says, in the
 * entry's directory, with only the output redirected into a temporary directory and the
 * dependency-file options dropped (so nothing is written into the user's tree).
 *
 * The patched side compiles the same command in a *shadow tree*: a temporary directory
 * that mirrors the source tree with symbolic links, except that the files the patch
 * changes are real files holding the patched text. Why a shadow tree rather than a
 * directory of patched files put in front with -I/-iquote: gcc resolves
 * `#include "x.h"` in the directory of the file that includes it *before* any -iquote or
 * -I directory, so an unpatched header next to a patched one (or the unit's own
 * directory) would still find the original. In the shadow tree every file is reached
 * through the same relative path as in the original tree, and gcc takes the directory of
 * an included file from the path it opened (it does not resolve symbolic links), so
 * every include, quoted or not, nested or not, finds the patched copy where there is one.
 *
 * The shadow is sparse: a directory is a real directory only where it must be, on the
 * way to a patched file, to a selected unit's source or working directory, to the
 * headers its dependency information lists, and wherever a path in its command goes up
 * with `..` (a `..` out of a symbolic link to a directory would lead back into the
 * original tree). Every other entry is one symbolic link to the original file or
 * directory, so even a kernel tree costs a few hundred links.
 *
 * Paths in the command that name the source tree absolutely are moved into the shadow
 * (relative ones already resolve there, since the compile runs in the shadow copy of
 * the entry's directory), and `-ffile-prefix-map=<shadow>=<source dir>` maps them back,
 * so `__FILE__` strings and debug paths are those of the original build. The user's own
 * prefix maps get a twin for the shadow spelling.
 *
 * The patched files of the shadow tree (units and headers alike) get `#line` directives
 * after their changed regions (line-directives.ts), so that the lines the patch did not
 * touch keep their original numbers; a file the patch creates gets none. Should a patched
 * compile fail, the files go back to the plain patched text and the compiles not done yet
 * run again: gcc's diagnostics then give the patched files' own line numbers.
 *
 * As a safety net, the patched compile also writes a dependency file (into our temporary
 * directory); if it shows that the compile read the original of a file the patch changes,
 * the build is refused rather than silently compared against unpatched code.
 */

export interface CompileDbRequest {
  /** The configured source tree (never modified). */
  sourceDir: string;
  /** The unified diff file; paths relative to sourceDir (a/ b/ prefixes, or -p0). */
  patch: string;
  /** Default `<sourceDir>/compile_commands.json`. */
  compileCommands?: string;
  /** Replaces the compiler word(s) of each command; may be a wrapper (`ccache gcc`). */
  cc?: string;
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
}

export interface CompileDbUnit {
  /** The source, relative to sourceDir. */
  file: string;
  reason: 'patched' | 'includes-patched-header';
}

export interface CompileDbResult {
  /** Objects of the selected units built from the original tree, at `<relative source path with .o>`. */
  originalDir: string;
  /** The same from the patched tree. */
  patchedDir: string;
  units: CompileDbUnit[];
  warnings: string[];
  /** Removes every temporary file; safe to call twice. */
  dispose(): void;
}

// ---------------------------------------------------------------------------------------
// The database

export interface CompileDbEntry {
  /** Absolute. */
  directory: string;
  /** Absolute (resolved against directory). */
  file: string;
  /** The command as words (`arguments`, or `command` split like a shell would). */
  argv: string[];
  /** Absolute, when the entry has `output`. */
  output?: string;
  /** Position in the database, for messages. */
  index: number;
}

/** Reads compile_commands.json; a missing or malformed database is an InputError naming it. */
export function loadCompilationDatabase(path: string): CompileDbEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const hint = (err as NodeJS.ErrnoException)?.code === 'ENOENT' ? ' (generate one with bear, or the kernel\'s scripts/clang-tools/gen_compile_commands.py)' : '';
    throw new InputError(path, describeFsError(err) + hint);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InputError(path, `not a compilation database: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new InputError(path, 'not a compilation database: the top level is not an array');
  const base = dirname(resolve(path));
  return data.map((raw, index) => {
    const where = `entry ${index + 1}`;
    if (typeof raw !== 'object' || raw === null) throw new InputError(path, `${where} is not an object`);
    const e = raw as Record<string, unknown>;
    if (typeof e.directory !== 'string' || !e.directory) throw new InputError(path, `${where} has no "directory"`);
    if (typeof e.file !== 'string' || !e.file) throw new InputError(path, `${where} has no "file"`);
    let argv: string[];
    if (Array.isArray(e.arguments)) {
      if (!e.arguments.every((a) => typeof a === 'string')) throw new InputError(path, `${where}: "arguments" holds a non-string`);
      argv = e.arguments as string[];
    } else if (typeof e.command === 'string') {
      try {
        argv = splitCommandLine(e.command);
      } catch (err) {
        throw new InputError(path, `${where}: cannot split "command": ${(err as InputError).problem ?? (err as Error).message}`);
      }
    } else {
      throw new InputError(path, `${where} has neither "arguments" nor "command"`);
    }
    if (argv.length === 0) throw new InputError(path, `${where} has an empty command`);
    // The format wants an absolute directory; a relative one is taken relative to the database.
    const directory = resolve(base, e.directory);
    const entry: CompileDbEntry = { directory, file: resolve(directory, e.file), argv, index };
    if (typeof e.output === 'string' && e.output) entry.output = resolve(directory, e.output);
    return entry;
  });
}

// ---------------------------------------------------------------------------------------
// Commands

/** Wrappers whose next word is the real compiler. */
const WRAPPERS = new Set(['ccache', 'sccache', 'distcc', 'icecc', 'buildcache']);

/** Options whose value is the next word (when not joined), so it is not taken for an input. */
const SEPARATE = new Set([
  '-o', '-I', '-D', '-U', '-include', '-imacros', '-isystem', '-iquote', '-idirafter', '-iprefix',
  '-iwithprefix', '-iwithprefixbefore', '-isysroot', '-imultilib', '-x', '-MF', '-MT', '-MQ', '-MJ',
  '-Xpreprocessor', '-Xassembler', '-Xlinker', '-Xclang', '-aux-info', '--param', '-A', '-L', '-l',
  '-T', '-u', '-z', '-e', '-B', '-G', '-dumpbase', '-dumpdir', '-dumpbase-ext', '--sysroot', '-target',
  '-arch', '-include-pch', '-iframework', '-F',
]);

/** Options naming files or directories the preprocessor reads: moved into the shadow tree. */
const PATH_OPTIONS = ['-include', '-imacros', '-idirafter', '-iquote', '-isystem', '-I'];

/** Dependency-generation options without a value. */
const DEP_FLAGS = new Set(['-M', '-MM', '-MD', '-MMD', '-MP', '-MG']);
/** Dependency-generation options with a value (separate or joined). */
const DEP_VALUED = ['-MF', '-MT', '-MQ', '-MJ'];

const PREFIX_MAP = /^(-f(?:file|macro|debug|profile)-prefix-map=)(.*)$/;

type Token =
  | { kind: 'keep'; words: string[] }
  | { kind: 'input'; value: string }
  | { kind: 'output'; value: string }
  | { kind: 'deps'; file?: string; writes: boolean }
  | { kind: 'path'; option: string; joined: boolean; value: string }
  | { kind: 'wp'; kept: string[]; file?: string; writes: boolean }
  | { kind: 'prefix-map'; option: string; old: string; new: string }
  | { kind: 'save-temps' }
  | { kind: 'dumpdir' };

/** Reads `-Wp,a,b,c`: the dependency items (with their values) are taken out. */
function scanWp(items: string[]): { kept: string[]; file?: string; writes: boolean } {
  const kept: string[] = [];
  let file: string | undefined;
  let writes = false;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item === '-MD' || item === '-MMD') {
      // cpp's own -MD/-MMD take the file as their argument.
      writes = true;
      if (i + 1 < items.length) file = items[++i];
    } else if (item === '-MF') {
      if (i + 1 < items.length) file = items[++i];
    } else if (item.startsWith('-MF') && item.length > 3) {
      file = item.slice(3);
    } else if (item === '-MT' || item === '-MQ') {
      i++;
    } else if (/^-M[TQ]./.test(item) || DEP_FLAGS.has(item)) {
      // dropped
    } else {
      kept.push(item);
    }
  }
  return { kept, file, writes };
}

/** Splits a command's words (after the compiler) into what the rewriting needs to know. */
function scanArguments(args: string[]): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i];
    const next = () => (i + 1 < args.length ? args[++i] : '');
    if (word === '-o') {
      tokens.push({ kind: 'output', value: next() });
      continue;
    }
    if (word.startsWith('-o') && word.length > 2) {
      tokens.push({ kind: 'output', value: word.slice(2) });
      continue;
    }
    if (DEP_FLAGS.has(word)) {
      tokens.push({ kind: 'deps', writes: word === '-MD' || word === '-MMD' });
      continue;
    }
    const depValued = DEP_VALUED.find((o) => word === o || word.startsWith(o));
    if (depValued) {
      const value = word === depValued ? next() : word.slice(depValued.length).replace(/^=/, '');
      tokens.push({ kind: 'deps', writes: false, file: depValued === '-MF' ? value : undefined });
      continue;
    }
    if (word.startsWith('-Wp,')) {
      const wp = scanWp(word.slice(4).split(','));
      tokens.push({ kind: 'wp', ...wp });
      continue;
    }
    const pathOption = PATH_OPTIONS.find((o) => word === o || word.startsWith(o));
    if (pathOption) {
      if (word === pathOption) tokens.push({ kind: 'path', option: pathOption, joined: false, value: next() });
      else tokens.push({ kind: 'path', option: pathOption, joined: true, value: word.slice(pathOption.length) });
      continue;
    }
    const map = PREFIX_MAP.exec(word);
    if (map) {
      const eq = map[2].lastIndexOf('=');
      if (eq >= 0) {
        tokens.push({ kind: 'prefix-map', option: map[1], old: map[2].slice(0, eq), new: map[2].slice(eq + 1) });
        continue;
      }
    }
    if (word === '-save-temps' || word === '-save-temps=cwd') {
      tokens.push({ kind: 'save-temps' });
      continue;
    }
    if (word === '-dumpdir') {
      next();
      tokens.push({ kind: 'dumpdir' });
      continue;
    }
    if (SEPARATE.has(word)) {
      tokens.push({ kind: 'keep', words: [word, next()] });
      continue;
    }
    if (!word.startsWith('-') || word === '-') {
      tokens.push({ kind: 'input', value: word });
      continue;
    }
    tokens.push({ kind: 'keep', words: [word] });
  }
  return tokens;
}

/** The compiler word(s) of a command: argv[0], and the compiler after a known wrapper. */
function compilerLength(argv: string[]): number {
  const first = basename(argv[0]);
  return WRAPPERS.has(first) && argv.length > 1 && !argv[1].startsWith('-') ? 2 : 1;
}

export interface CommandInfo {
  /** Where the command writes its object (absolute): `output`, `-o`, else `<file base>.o` in the directory. */
  output: string;
  /** The dependency files the build may have left (absolute), most specific first. */
  dependencyFiles: string[];
}

/** What a database entry tells about the files its build left behind. */
export function describeEntry(entry: CompileDbEntry): CommandInfo {
  const tokens = scanArguments(entry.argv.slice(compilerLength(entry.argv)));
  let output = entry.output;
  const named: string[] = [];
  let mdFlag = false;
  let mfFlag = false;
  for (const t of tokens) {
    if (t.kind === 'output' && !output) output = resolve(entry.directory, t.value);
    if ((t.kind === 'deps' || t.kind === 'wp') && t.file) named.push(resolve(entry.directory, t.file));
    if (t.kind === 'deps' && t.writes) mdFlag = true;
    if (t.kind === 'deps' && t.file) mfFlag = true;
  }
  output ??= join(entry.directory, basename(entry.file).replace(/\.[^.]*$/, '') + '.o');
  const dependencyFiles = [...named];
  if ((mdFlag && !mfFlag) || named.length === 0) {
    // gcc's -MD without -MF: the output with its suffix replaced by .d.
    const stem = /\.[^./]*$/.test(basename(output)) ? output.replace(/\.[^./]*$/, '') : output;
    dependencyFiles.push(`${stem}.d`, `${output}.d`);
  }
  // The kernel keeps what fixdep made of the dependency file in <dir>/.<name>.o.cmd.
  dependencyFiles.push(join(dirname(output), `.${basename(output)}.cmd`));
  return { output, dependencyFiles: [...new Set(dependencyFiles)] };
}

/** How the patched side sees the source tree. */
export interface ShadowSpace {
  /** The spellings of the source directory (as given, resolved, and its real path). */
  sourceRoots: string[];
  /** The root of the shadow tree. */
  shadow: string;
}

export interface RewriteOptions {
  /** Where the object goes (absolute). */
  output: string;
  /** Replaces the compiler word(s). */
  cc?: string[];
  /** The patched side: move the command into the shadow tree. */
  shadow?: ShadowSpace & {
    /** A dependency file of our own, to check the compile read the patched files. */
    depfile: string;
  };
}

export interface RewrittenCommand {
  argv: string[];
  /** How many leading words of argv are the compiler (with its wrapper). */
  compilerWords: number;
  /** Where to run it. */
  cwd: string;
  /** Source-relative directories that must be real directories in the shadow tree. */
  realDirs: string[];
}

/** `abs` relative to the first root it lies under, or undefined. Lexical. */
function underRoots(abs: string, roots: string[]): { root: string; rel: string } | undefined {
  for (const root of roots) {
    if (abs === root) return { root, rel: '' };
    const prefix = root.endsWith('/') ? root : root + '/';
    if (abs.startsWith(prefix)) return { root, rel: abs.slice(prefix.length).replace(/\/+$/, '') };
  }
  return undefined;
}

function joinRel(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a}/${b}`;
}

/**
 * Rewrites one database command for our build: the output into `options.output`, the
 * dependency options (-MD, -MMD, -MF, -MT, -MQ, and those inside -Wp,) dropped,
 * `-save-temps` kept next to the object, `--cc` in place of the compiler, everything else
 * in order. With `options.shadow`, the command is moved into the shadow tree (see the top
 * of this file).
 */
export function rewriteCompileCommand(entry: Pick<CompileDbEntry, 'argv' | 'directory' | 'file'>, options: RewriteOptions): RewrittenCommand {
  const split = compilerLength(entry.argv);
  let compiler = entry.argv.slice(0, split);
  if (options.cc) compiler = options.cc;
  else if (compiler[0].includes('/') && !isAbsolute(compiler[0])) compiler = [resolve(entry.directory, compiler[0]), ...compiler.slice(1)];
  const tokens = scanArguments(entry.argv.slice(split));
  const shadow = options.shadow;
  const realDirs = new Set<string>();
  const maps = new Map<string, string>();
  let cwd = entry.directory;
  let cwdShadowed = false;
  if (shadow) {
    const at = underRoots(resolve(entry.directory), shadow.sourceRoots);
    if (at) {
      cwd = at.rel ? join(shadow.shadow, at.rel) : shadow.shadow;
      cwdShadowed = true;
      realDirs.add(at.rel);
      maps.set(shadow.shadow, at.root);
    }
  }

  /** Marks the directories a path goes up out of (with ..) as real in the shadow. */
  const markUps = (value: string) => {
    if (!shadow || !value.includes('..')) return;
    let position = isAbsolute(value) ? '/' : entry.directory;
    for (const part of value.split('/')) {
      if (part === '..') {
        const at = underRoots(position, shadow.sourceRoots);
        if (at) realDirs.add(at.rel);
        position = dirname(position);
      } else if (part !== '' && part !== '.') {
        position = join(position, part);
      }
    }
  };

  /** A path as the patched side must spell it; records the prefix map that spells it back. */
  const moveValue = (value: string): string => {
    if (!shadow || value === '' || value === '-') return value;
    const trailing = value.length > 1 && value.endsWith('/') ? '/' : '';
    if (isAbsolute(value)) {
      for (const root of shadow.sourceRoots) {
        if (value === root || value.startsWith(root.endsWith('/') ? root : root + '/')) {
          markUps(value);
          maps.set(shadow.shadow, root.replace(/\/$/, ''));
          return shadow.shadow + value.slice(root.replace(/\/$/, '').length);
        }
      }
      return value;
    }
    const target = resolve(entry.directory, value);
    const at = underRoots(target, shadow.sourceRoots);
    if (cwdShadowed) {
      const inShadow = at ? (at.rel ? join(shadow.shadow, at.rel) : shadow.shadow) : undefined;
      if (inShadow !== undefined && resolve(cwd, value) === inShadow) {
        // Resolves in the shadow copy of the directory just as in the original.
        markUps(value);
        return value;
      }
      // Leaves the tree upwards (and perhaps comes back by its name): from the shadow it
      // would land in our temporary directory.
      const moved = inShadow ?? target;
      maps.set(moved, value.replace(/\/$/, ''));
      return moved + trailing;
    }
    if (!at) return value;
    const moved = join(shadow.shadow, at.rel);
    maps.set(moved, value.replace(/\/$/, ''));
    return moved + trailing;
  };

  const sourceAbs = resolve(entry.directory, entry.file);
  const args: string[] = [];
  let sawInput = false;
  let mode: '-c' | '-S' | '-E' | undefined;
  for (const t of tokens) {
    switch (t.kind) {
      case 'keep':
        if (t.words[0] === '-c' || t.words[0] === '-S' || t.words[0] === '-E') mode ??= t.words[0];
        args.push(...t.words);
        break;
      case 'input':
        if (resolve(entry.directory, t.value) === sourceAbs) sawInput = true;
        args.push(moveValue(t.value));
        break;
      case 'output':
      case 'deps':
      case 'dumpdir':
        break;
      case 'wp':
        if (t.kept.length > 0) args.push(`-Wp,${t.kept.join(',')}`);
        break;
      case 'save-temps':
        args.push('-save-temps=obj');
        break;
      case 'path': {
        const value = moveValue(t.value);
        if (t.joined) args.push(t.option + value);
        else args.push(t.option, value);
        break;
      }
      case 'prefix-map': {
        args.push(`${t.option}${t.old}=${t.new}`);
        const moved = moveValue(t.old);
        // The same map for the shadow spelling, right after: a later map takes precedence
        // in gcc, so the user's maps keep their order among themselves.
        if (moved !== t.old) args.push(`${t.option}${moved}=${t.new}`);
        break;
      }
    }
  }
  if (!sawInput) {
    // A database entry whose command names its file differently (another spelling of the
    // same path): accept it when the real paths agree.
    const real = (p: string) => {
      try {
        return realpathSync(p);
      } catch {
        return p;
      }
    };
    const sourceReal = real(sourceAbs);
    sawInput = tokens.some((t) => t.kind === 'input' && real(resolve(entry.directory, t.value)) === sourceReal);
  }
  if (!sawInput) throw new InputError(entry.file, 'its compilation database command does not name it as an input');
  if (mode === '-S' || mode === '-E') throw new InputError(entry.file, `its compilation database command does not compile to an object (${mode})`);
  if (!mode) args.push('-c');
  args.push('-o', options.output);
  const front: string[] = [];
  if (shadow) {
    // First on the line: the lowest precedence, so the user's own maps (and their shadow
    // twins) still apply first where they match.
    for (const [from, to] of maps) front.push(`-ffile-prefix-map=${from}=${to}`);
    args.push('-MD', '-MF', shadow.depfile);
  }
  return { argv: [...compiler, ...front, ...args], compilerWords: compiler.length, cwd, realDirs: [...realDirs] };
}

// ---------------------------------------------------------------------------------------
// Running compiles

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

class CancelledCompile extends CompileError {}

interface CompileJob {
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
}

async function runCompile(job: CompileJob, signal: AbortSignal): Promise<void> {
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
    for (const dep of deps) {
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

// ---------------------------------------------------------------------------------------
// The build

function readText(path: string, what = path): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(what, describeFsError(err));
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function objectPath(rel: string): string {
  return rel.replace(/\.[^./]*$/, '') + '.o';
}

export async function buildFromCompilationDatabase(req: CompileDbRequest): Promise<CompileDbResult> {
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

  const rootAbs = resolve(req.sourceDir);
  const sourceRoots = [...new Set([rootAbs, realpathSync(rootAbs)])];
  const relOf = (abs: string) => underRoots(resolve(abs), sourceRoots)?.rel;
  const dbPath = req.compileCommands ?? join(req.sourceDir, 'compile_commands.json');
  const entries = loadCompilationDatabase(dbPath);
  const patchName = req.patch;
  const filePatches = parseUnifiedDiff(readText(req.patch), req.patch);

  // The patched text of every file the patch changes (null: the patch deletes it).
  const changes = new Map<string, string | null>();
  /** The same with `#line` directives, for the files that have an original and need them. */
  const directed = new Map<string, string>();
  const locate = (name: string): string => {
    if (isAbsolute(name) || name.split('/').includes('..')) throw new PatchError(patchName, `names ${name}, outside ${req.sourceDir}`);
    const clean = name.replace(/^(\.\/)+/, '');
    if (existsSync(join(rootAbs, clean))) return clean;
    // Another -p1 prefix than a/ b/ (linux/, orig/): drop the first component.
    const stripped = clean.includes('/') ? clean.slice(clean.indexOf('/') + 1) : undefined;
    if (stripped && existsSync(join(rootAbs, stripped))) return stripped;
    // A new file: where its directory exists.
    if (!existsSync(join(rootAbs, dirname(clean))) && stripped && existsSync(join(rootAbs, dirname(stripped)))) return stripped;
    return clean;
  };
  for (const fp of filePatches) {
    const oldRel = fp.oldPath !== undefined ? locate(fp.oldPath) : undefined;
    const newRel = fp.newPath !== undefined ? locate(fp.newPath) : undefined;
    if (oldRel === undefined && newRel === undefined) throw new PatchError(patchName, 'a file in the patch has no name');
    let original = '';
    if (oldRel !== undefined) {
      if (!isFile(join(rootAbs, oldRel))) throw new PatchError(patchName, `changes ${oldRel}, which is not a file in ${req.sourceDir}`);
      original = readText(join(rootAbs, oldRel));
    }
    const text = applyFilePatch(original, fp, join(req.sourceDir, oldRel ?? newRel!), patchName);
    if (newRel !== undefined) changes.set(newRel, text);
    if (newRel !== undefined && oldRel !== undefined && req.lineDirectives !== false) {
      const withLines = withLineDirectives(original, text);
      if (withLines !== text) directed.set(newRel, withLines);
    }
    if (oldRel !== undefined && oldRel !== newRel) changes.set(oldRel, null);
  }

  // The database's units under the source tree, by relative path (the first entry of a file wins).
  const units = new Map<string, CompileDbEntry>();
  const duplicates = new Set<string>();
  for (const entry of entries) {
    const rel = relOf(entry.file);
    if (rel === undefined) continue;
    if (units.has(rel)) duplicates.add(rel);
    else units.set(rel, entry);
  }

  const warnings: string[] = [];
  const selected = new Map<string, CompileDbUnit['reason']>();
  for (const [rel, text] of changes) {
    if (!units.has(rel)) continue;
    if (text === null) warnings.push(`${patchName} deletes ${rel}: it is not compiled`);
    else selected.set(rel, 'patched');
  }

  // Dependency information: which units read the other changed files.
  const depCache = new Map<CompileDbEntry, string[] | null>();
  /**
   * The source-relative files a unit's dependency information lists: null when the unit has
   * none; undefined when `mustMention` is given and the file names none of those base names
   * (a cheap test first: a kernel has tens of thousands of these files).
   */
  const readDeps = (entry: CompileDbEntry, mustMention?: string[]): string[] | null | undefined => {
    if (depCache.has(entry)) return depCache.get(entry);
    for (const file of describeEntry(entry).dependencyFiles) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      if (mustMention && !mustMention.some((name) => text.includes(name))) return undefined;
      const deps: string[] = [];
      for (const word of parseDependencyFile(text)) {
        // Relative to where the compiler ran; the kernel's .cmd paths may be relative to the source tree.
        const rel = relOf(resolve(entry.directory, word)) ?? (isAbsolute(word) ? undefined : relOf(resolve(rootAbs, word)));
        if (rel !== undefined) deps.push(rel);
      }
      depCache.set(entry, deps);
      return deps;
    }
    depCache.set(entry, null);
    return null;
  };
  const others = [...changes.keys()].filter((rel) => !units.has(rel));
  const named = new Set<string>();
  let anyDependencyInfo = false;
  if (others.length > 0) {
    const names = [...new Set(others.map((rel) => basename(rel)))];
    const outside: string[] = [];
    for (const entry of entries) {
      const deps = readDeps(entry, names);
      if (deps !== null) anyDependencyInfo = true;
      if (!deps) continue;
      const hits = deps.filter((d) => changes.has(d) && !units.has(d));
      if (hits.length === 0) continue;
      hits.forEach((h) => named.add(h));
      const rel = relOf(entry.file);
      if (rel === undefined) outside.push(entry.file);
      else if (!selected.has(rel) && changes.get(rel) !== null) selected.set(rel, 'includes-patched-header');
    }
    for (const file of outside) warnings.push(`${file} includes a file ${patchName} changes, but is outside ${req.sourceDir}: not compiled`);
  }
  const unnamed = others.filter((rel) => !named.has(rel));
  if (selected.size === 0) {
    throw new InputError(
      patchName,
      `changes no translation unit of ${dbPath}: ${[...changes.keys()].join(', ')} ${changes.size === 1 ? 'is' : 'are'} compiled by no entry, and no dependency information names ${changes.size === 1 ? 'it' : 'them'}`,
    );
  }
  const hint = anyDependencyInfo ? '' : ' (no unit of the database has dependency information: build the tree first)';
  for (const rel of unnamed) warnings.push(`${patchName} changes ${rel}, but no dependency information names it: no unit selected for it${hint}`);
  for (const rel of selected.keys()) {
    if (duplicates.has(rel)) warnings.push(`${dbPath} has several entries for ${rel}: the first one is used`);
  }

  const work = makeTempDir('compiledb');
  let disposed = false;
  const dispose = () => {
    if (!disposed) removeTempDir(work);
    disposed = true;
  };
  try {
    const originalDir = join(work, 'original');
    const patchedDir = join(work, 'patched');
    const shadowRoot = join(work, 'tree');
    const depsDir = join(work, 'deps');
    const tmpdir = join(work, 'tmp');
    mkdirSync(originalDir);
    mkdirSync(patchedDir);
    mkdirSync(depsDir);
    mkdirSync(tmpdir);

    // The real paths of the originals the patch changes, for the leak check.
    const originals = new Map<string, string>();
    for (const rel of changes.keys()) {
      try {
        originals.set(realpathSync.native(join(rootAbs, rel)), rel);
      } catch {
        // a new file
      }
    }

    const realDirs = new Set<string>();
    const addReal = (rel: string) => {
      for (let d = rel; ; d = d.includes('/') ? d.slice(0, d.lastIndexOf('/')) : '') {
        if (realDirs.has(d)) break;
        realDirs.add(d);
        if (d === '') break;
      }
    };
    const dirOf = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');
    for (const rel of changes.keys()) addReal(dirOf(rel));

    const ordered = [...selected.keys()].sort();
    const unshadow = (text: string) => text.split(shadowRoot + '/').join(rootAbs + '/').split(shadowRoot).join(rootAbs);
    const jobsList: CompileJob[] = [];
    ordered.forEach((rel, i) => {
      const entry = units.get(rel)!;
      const display = join(req.sourceDir, rel);
      const object = objectPath(rel);
      const original = rewriteCompileCommand(entry, { output: join(originalDir, object), cc: ccWords });
      const depfile = join(depsDir, `${i}.d`);
      const patched = rewriteCompileCommand(entry, { output: join(patchedDir, object), cc: ccWords, shadow: { sourceRoots, shadow: shadowRoot, depfile } });
      addReal(dirOf(rel));
      patched.realDirs.forEach(addReal);
      for (const dep of readDeps(entry) ?? []) addReal(dirOf(dep));
      jobsList.push({ tmpdir, unit: rel, display, side: 'original', command: original, output: join(originalDir, object), unshadow: (t) => t });
      jobsList.push({ tmpdir, unit: rel, display, side: 'patched', command: patched, output: join(patchedDir, object), leakCheck: { depfile, originals }, unshadow });
    });

    buildShadowTree(rootAbs, shadowRoot, realDirs, changes, directed);

    const controller = new AbortController();
    const onAbort = () => controller.abort();
    if (req.signal?.aborted) controller.abort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    let done = 0;
    const finished = new Set<CompileJob>();
    let failed: CompileJob | undefined;
    const run = (list: CompileJob[], pool: AbortController) =>
      runPool(
        list.map((job) => async (signal) => {
          try {
            await runCompile(job, signal);
          } catch (err) {
            if (!(err instanceof CancelledCompile)) failed ??= job;
            throw err;
          }
          finished.add(job);
          req.onProgress?.(++done, jobsList.length);
        }),
        jobs,
        pool,
      );
    try {
      try {
        await run(jobsList, controller);
      } catch (err) {
        if (directed.size === 0 || failed?.side !== 'patched' || req.signal?.aborted) throw err;
        // Again without the directives, the failed compile first: for diagnostics with the
        // patched files' own line numbers (or an object, should a directive have broken it).
        for (const rel of directed.keys()) writeFileSync(join(shadowRoot, rel), changes.get(rel)!);
        const again = jobsList.filter((job) => !finished.has(job));
        again.sort((a, b) => Number(b === failed) - Number(a === failed));
        const retry = new AbortController();
        const onAbortRetry = () => retry.abort();
        req.signal?.addEventListener('abort', onAbortRetry, { once: true });
        try {
          await run(again, retry);
        } finally {
          req.signal?.removeEventListener('abort', onAbortRetry);
        }
      }
    } catch (err) {
      if (req.signal?.aborted && err instanceof CancelledCompile) throw new CompileError(undefined, 'the build was cancelled');
      throw err;
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
    }
    if (req.signal?.aborted) throw new CompileError(undefined, 'the build was cancelled');

    return {
      originalDir,
      patchedDir,
      units: ordered.map((file) => ({ file, reason: selected.get(file)! })),
      warnings,
      dispose,
    };
  } catch (err) {
    dispose();
    throw err;
  }
}

/**
 * Makes the shadow tree: each directory of `realDirs` (relative to the source tree) is a
 * real directory whose entries are symbolic links to the original ones, except the
 * changed files (written with their patched text, with line directives where `directed`
 * has them; deleted ones left out) and the
 * directories that are real themselves.
 */
function buildShadowTree(rootAbs: string, shadowRoot: string, realDirs: Set<string>, changes: Map<string, string | null>, directed: Map<string, string>): void {
  const sorted = [...realDirs].sort((a, b) => a.length - b.length);
  for (const dir of sorted) mkdirSync(dir ? join(shadowRoot, dir) : shadowRoot, { recursive: true });
  for (const dir of sorted) {
    const original = dir ? join(rootAbs, dir) : rootAbs;
    let names: string[];
    try {
      names = readdirSync(original);
    } catch {
      continue; // a directory the patch creates
    }
    for (const name of names) {
      const rel = joinRel(dir, name);
      if (realDirs.has(rel) || changes.has(rel)) continue;
      symlinkSync(join(rootAbs, rel), join(shadowRoot, rel));
    }
  }
  for (const [rel, text] of changes) {
    if (text !== null) writeFileSync(join(shadowRoot, rel), directed.get(rel) ?? text);
  }
}
