import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describeFsError, InputError } from '../../errors.js';
import { splitCommandLine } from '../gcc.js';

/*
 * Reading a compilation database (compile_commands.json, as bear and the kernel's
 * gen_compile_commands.py write it) into entries with absolute paths and the command as
 * words.
 */

export interface CompileDbEntry {
  /** Absolute. */
  directory: string;
  /** Absolute (resolved against directory). */
  file: string;
  /** The command as words (`arguments`, or `command` split like a shell would, on first use). */
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
    // The format wants an absolute directory; a relative one is taken relative to the database.
    const directory = resolve(base, e.directory);
    const entry = { directory, file: resolve(directory, e.file), index } as CompileDbEntry;
    if (Array.isArray(e.arguments)) {
      if (!e.arguments.every((a) => typeof a === 'string')) throw new InputError(path, `${where}: "arguments" holds a non-string`);
      if (e.arguments.length === 0) throw new InputError(path, `${where} has an empty command`);
      entry.argv = e.arguments as string[];
    } else if (typeof e.command === 'string') {
      // Split when first needed: a kernel's database has tens of thousands of commands of
      // two kilobytes each, and a patch of one file needs one of them (splitting them all
      // took seconds, most of it in the garbage collector).
      const command = e.command;
      let argv: string[] | undefined;
      Object.defineProperty(entry, 'argv', {
        enumerable: true,
        get: () => {
          if (argv) return argv;
          let words: string[];
          try {
            words = splitCommandLine(command);
          } catch (err) {
            throw new InputError(path, `${where}: cannot split "command": ${(err as InputError).problem ?? (err as Error).message}`);
          }
          if (words.length === 0) throw new InputError(path, `${where} has an empty command`);
          argv = words;
          return argv;
        },
      });
    } else {
      throw new InputError(path, `${where} has neither "arguments" nor "command"`);
    }
    if (typeof e.output === 'string' && e.output) entry.output = resolve(directory, e.output);
    return entry;
  });
}
