import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describeFsError, InputError, UsageError } from '../../errors.js';
import { splitCommandLine } from '../gcc.js';
import { scanArguments } from './command-words.js';

/*
 * The two options a source-tree build shares with single-file mode, with the meaning a
 * database of commands gives them: `--cflags` adds to each unit's own command, and
 * `--keep-objects` keeps both sides' objects under the tree's relative paths.
 */

/**
 * `--cflags` for a database build: compiler options appended to each unit's own command on
 * both sides (`-fno-inline`, `-DDEBUG`, `-I...`). Words that would change what the command
 * compiles or where it writes (an input file, `-o`, `-S`/`-E`, dependency-file
 * options) are refused: the command is the unit's, the output and dependency files ours.
 */
export function extraCompilerFlags(cflags: string | undefined): string[] {
  if (cflags === undefined) return [];
  const words = splitCommandLine(cflags);
  const refuse = (word: string) => {
    throw new UsageError(`--cflags with --source-dir adds compiler options to each unit's own command; '${word}' is not one it can add`);
  };
  for (const token of scanArguments(words)) {
    if (token.kind === 'input') refuse(token.value);
    if (token.kind === 'output') refuse('-o');
    if (token.kind === 'deps' || (token.kind === 'wp' && token.writes)) refuse('-M...');
    if (token.kind === 'dumpdir') refuse('-dumpdir');
    if (token.kind === 'keep' && ['-S', '-E'].includes(token.words[0])) refuse(token.words[0]);
  }
  return words;
}

/** The two sides' directories under a `--keep-objects` directory. */
function keptDirs(dir: string): { original: string; patched: string } {
  return { original: join(dir, 'original'), patched: join(dir, 'patched') };
}

/**
 * Checked before anything is compiled: `dir` may exist (it is made when missing), but its
 * `original/` and `patched/` must not hold files already, so that the two trees hold this
 * run's objects only and can be compared again as they are.
 */
export function checkKeepDir(dir: string): void {
  try {
    if (!statSync(dir).isDirectory()) throw new InputError(dir, 'is not a directory (--keep-objects wants a directory)');
  } catch (err) {
    if (err instanceof InputError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new InputError(dir, describeFsError(err));
  }
  for (const side of Object.values(keptDirs(dir))) {
    let names: string[];
    try {
      names = readdirSync(side);
    } catch {
      continue;
    }
    if (names.length > 0) throw new InputError(side, 'already holds files (an earlier run\'s?): --keep-objects wants a directory without original/ and patched/');
  }
}

/** Copies each object (a relative path) from the two built trees into `dir`'s original/ and patched/. */
export function keepObjects(dir: string, built: { original: string; patched: string }, objects: string[]): { original: string; patched: string } {
  const kept = keptDirs(dir);
  try {
    for (const object of objects) {
      for (const side of ['original', 'patched'] as const) {
        const to = join(kept[side], object);
        mkdirSync(dirname(to), { recursive: true });
        copyFileSync(join(built[side], object), to);
      }
    }
  } catch (err) {
    throw new InputError(dir, `cannot keep the objects: ${describeFsError(err)}`);
  }
  return kept;
}
