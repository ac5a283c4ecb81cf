import { realpathSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { InputError } from '../../errors.js';
import { compilerLength, scanArguments } from './command-words.js';
import type { CompileDbEntry } from './database.js';
import { directoriesLeftUpwards, underRoots } from './source-tree.js';

/*
 * Rewriting a database command for our own build. Both sides drop the dependency-file
 * options and write their object into our temporary directory, so nothing is written
 * into the user's tree.
 *
 * The patched side runs in the shadow tree (shadow-tree.ts). Paths in the command that
 * name the source tree absolutely are moved into the shadow (relative ones already
 * resolve there, since the compile runs in the shadow copy of the entry's directory), and
 * `-fmacro-prefix-map=<shadow>=<source dir>` (and its -fdebug- twin) maps them back, so
 * `__FILE__` strings and debug paths are those of the original build. The user's own
 * prefix maps get a twin for the shadow spelling.
 */

/** How the patched side sees the source tree. */
interface ShadowSpace {
  /** The spellings of the source directory (SourceTree.roots). */
  sourceRoots: string[];
  /** The root of the shadow tree. */
  shadow: string;
}

interface RewriteOptions {
  /** Where the object goes (absolute). */
  output: string;
  /** Replaces the compiler word(s). */
  cc?: string[];
  /** Words appended to the command's own (`--cflags`): read like the command's, so their paths move into the shadow too. */
  extra?: string[];
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

/**
 * Rewrites one database command for our build: the output into `options.output`, the
 * dependency options (-MD, -MMD, -MF, -MT, -MQ, and those inside -Wp,) dropped,
 * `-save-temps` kept next to the object, `--cc` in place of the compiler, everything else
 * in order, then `options.extra`. With `options.shadow`, the command is moved into the
 * shadow tree (see the top of this file, and shadow-tree.ts).
 */
export function rewriteCompileCommand(entry: Pick<CompileDbEntry, 'argv' | 'directory' | 'file'>, options: RewriteOptions): RewrittenCommand {
  const split = compilerLength(entry.argv);
  let compiler = entry.argv.slice(0, split);
  if (options.cc) compiler = options.cc;
  else if (compiler[0].includes('/') && !isAbsolute(compiler[0])) compiler = [resolve(entry.directory, compiler[0]), ...compiler.slice(1)];
  const tokens = scanArguments([...entry.argv.slice(split), ...(options.extra ?? [])]);
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
    if (shadow) for (const dir of directoriesLeftUpwards(value, entry.directory, shadow.sourceRoots)) realDirs.add(dir);
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
    // twins) still apply first where they match. Macro and debug maps, not
    // -ffile-prefix-map: gcc lets any -ffile-prefix-map win over every -fmacro-prefix-map
    // wherever they stand, so ours would beat the twin of a kernel's
    // `-fmacro-prefix-map=$(srctree)/=` and put absolute paths in __FILE__ (an O= build).
    for (const [from, to] of maps) front.push(`-fmacro-prefix-map=${from}=${to}`, `-fdebug-prefix-map=${from}=${to}`);
    args.push('-MD', '-MF', shadow.depfile);
  }
  return { argv: [...compiler, ...front, ...args], compilerWords: compiler.length, cwd, realDirs: [...realDirs] };
}
