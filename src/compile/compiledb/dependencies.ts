import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parseDependencyFile } from '../depfiles.js';
import { compilerLength, scanArguments } from './command-words.js';
import type { CompileDbEntry } from './database.js';
import type { SourceTree } from './source-tree.js';

/*
 * The dependency information the user's own build left next to its objects: which files
 * each unit of the database read. It tells which units include a header the patch
 * changes, and which directories of the shadow tree a unit reaches.
 */

interface CommandInfo {
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

/**
 * Reads the dependency information of database entries, and keeps what it found: a unit
 * is asked about when selecting units and again when laying out the shadow tree.
 */
export class DependencyReader {
  private readonly cache = new Map<CompileDbEntry, string[] | null>();
  /** The words of each dependency file read, as the compiler spelled them (`..` and all). */
  private readonly spelled = new Map<CompileDbEntry, string[]>();

  constructor(private readonly tree: SourceTree) {}

  /**
   * The source-relative files a unit's dependency information lists: null when the unit has
   * none; undefined when `mustMention` is given and the file names none of those base names
   * (a cheap test first: a kernel has tens of thousands of these files).
   */
  read(entry: CompileDbEntry, mustMention?: string[]): string[] | null | undefined {
    if (this.cache.has(entry)) return this.cache.get(entry);
    for (const file of describeEntry(entry).dependencyFiles) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      if (mustMention && !mustMention.some((name) => text.includes(name))) return undefined;
      const deps: string[] = [];
      const words = parseDependencyFile(text);
      this.spelled.set(entry, words);
      for (const word of words) {
        // Relative to where the compiler ran; the kernel's .cmd paths may be relative to the source tree.
        const rel = this.tree.relative(resolve(entry.directory, word)) ?? (isAbsolute(word) ? undefined : this.tree.relative(resolve(this.tree.root, word)));
        if (rel !== undefined) deps.push(rel);
      }
      this.cache.set(entry, deps);
      return deps;
    }
    this.cache.set(entry, null);
    return null;
  }

  /**
   * The files a unit's dependency information lists as the compiler spelled them
   * (relative to the entry's directory, or absolute): where they go up with `..`, the
   * shadow tree needs real directories.
   */
  spellings(entry: CompileDbEntry): string[] {
    this.read(entry);
    return this.spelled.get(entry) ?? [];
  }
}
