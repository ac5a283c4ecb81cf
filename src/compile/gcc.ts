import { copyFileSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CompileError, describeFsError, InputError, UsageError } from '../errors.js';
import { runCompiler } from './run.js';

/** Splits a command line the way a POSIX shell would for plain words and quotes (no expansions). */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) current += text[++i];
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`unbalanced ${quote} in '${text}'`);
  if (inWord) words.push(current);
  return words;
}

export interface CompilerSettings {
  /** The compiler command, possibly with a wrapper: `gcc`, `ccache gcc`, `distcc gcc`. */
  cc: string[];
  /** User flags; the flags stackonly always needs are added by compileSource. */
  cflags: string[];
}

/** `--cc`, else `$CC`, else `gcc`; `--cflags`, else `$CFLAGS`. */
export function compilerSettings(options: { cc?: string; cflags?: string }, env: NodeJS.ProcessEnv = process.env): CompilerSettings {
  const cc = splitCommandLine(options.cc ?? env.CC ?? 'gcc');
  if (cc.length === 0) throw new UsageError('the compiler command is empty');
  const cflags = splitCommandLine(options.cflags ?? env.CFLAGS ?? '');
  return { cc, cflags };
}

/** The flags a compile gets: the user's, -O2 when they name no level, and what the model needs. */
function effectiveFlags(cflags: string[]): string[] {
  const hasOptimisation = cflags.some((f) => /^-O([0-3sgz]|fast)?$/.test(f));
  return [...(hasOptimisation ? [] : ['-O2']), ...cflags, '-c', '-ffunction-sections', '-fdata-sections'];
}

export interface CompileRequest {
  /** The C file to compile (the user's, or a patched copy in a temporary directory). */
  source: string;
  /**
   * The directory the compile behaves as if run in: relative -I paths and quoted includes
   * resolve there. For a patched copy, the original source's directory.
   */
  directory: string;
  /**
   * The file name the object should record (STT_FILE, __FILE__): the original's base name,
   * so that the two builds differ only where the code does.
   */
  logicalName: string;
  output: string;
  /** Which side, for messages: "original" or "patched". */
  side: string;
  /** A scratch directory of this compile's own. */
  scratch: string;
  /** Stop the compile (Ctrl-C, or the other side failed). */
  signal?: AbortSignal;
  /** Write the files the compile reads to this file (make format, `-MD -MF`). */
  dependencies?: string;
}

/**
 * Fills the directory of a staged copy with symbolic links to the files next to the
 * source (a patched copy's own directory first, so that patched headers win; then the
 * directory the compile behaves as if run in). A quoted include then finds its file next
 * to the staged copy, through a path the prefix map turns into the one the original build
 * records: `__FILE__` in a sibling header is `x.h` on both sides, not an absolute path on
 * the patched one. gcc takes an included file's directory from the path it opened, so
 * nested quoted includes go on from there. Whatever cannot be linked is still found
 * through the -iquote directories.
 */
function linkSiblings(stage: string, directories: string[], exclude: string): void {
  const taken = new Set([exclude]);
  for (const dir of new Set(directories)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (taken.has(name)) continue;
      taken.add(name);
      try {
        symlinkSync(join(dir, name), join(stage, name));
      } catch {
        // Left to -iquote.
      }
    }
  }
}

/** Compiles one C source to an object, with gcc's diagnostics in the error when it fails. */
export async function compileSource(settings: CompilerSettings, request: CompileRequest): Promise<void> {
  try {
    if (!statSync(request.source).isFile()) throw new InputError(request.source, 'is not a regular file');
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(request.source, describeFsError(err));
  }
  const directory = resolve(request.directory);
  let input = resolve(request.source);
  const extra: string[] = [];
  if (basename(input) !== request.logicalName || dirname(input) !== directory) {
    // Compile a copy named like the original, and map its directory away, so that
    // __FILE__ strings and the STT_FILE symbol are those of the original build.
    const stage = join(request.scratch, 'src');
    mkdirSync(stage, { recursive: true });
    const staged = join(stage, request.logicalName);
    if (staged !== input) copyFileSync(input, staged);
    linkSiblings(stage, [dirname(input), directory], request.logicalName);
    input = staged;
    extra.push(`-iquote`, dirname(resolve(request.source)), `-iquote`, directory, `-ffile-prefix-map=${stage}/=`);
  } else {
    input = request.logicalName;
  }
  if (request.dependencies) extra.push('-MD', '-MF', resolve(request.dependencies));
  const [command, ...ccArgs] = settings.cc;
  const args = [...ccArgs, ...effectiveFlags(settings.cflags), ...extra, input, '-o', resolve(request.output)];
  const result = await runCompiler([command, ...args], { cwd: directory, tmpdir: join(request.scratch, 'tmp'), signal: request.signal });
  if (result.cancelled) throw new CompileError(request.source, `compile of the ${request.side} source was cancelled`);
  if (result.failed) {
    if (result.notFound) throw new CompileError(request.source, `cannot run the compiler '${command}': not found`);
    const diagnostics = result.output.replaceAll(request.scratch + '/src/', '').trimEnd();
    const status = result.exitCode !== undefined ? `exit status ${result.exitCode}` : (result.signal ?? 'failed');
    throw new CompileError(request.source, `${settings.cc.join(' ')} failed on the ${request.side} source (${status})`, diagnostics || undefined);
  }
}
