import { basename } from 'node:path';
import { InputError } from '../../errors.js';
import type { CompileDbEntry } from './database.js';
import type { DependencyReader } from './dependencies.js';
import { type SourceTree, underRoots } from './source-tree.js';

/*
 * Choosing the translation units a patch affects: those it changes, and those whose
 * dependency information (from the user's last build) names a header it changes.
 */

export interface CompileDbUnit {
  /**
   * The source, relative to sourceDir; a source outside it (generated into the build
   * directory of an `O=` build) by its absolute path.
   */
  file: string;
  reason: 'patched' | 'includes-patched-header';
  /** Its object under originalDir and patchedDir: the source's path (in the tree, or in its build directory) with `.o`. */
  object: string;
}

interface UnitSelection {
  /**
   * The database's unit for each source-relative path under the tree (the first entry of a
   * file wins), and for each selected source outside it, by its path in its build directory.
   */
  units: Map<string, CompileDbEntry>;
  /** The selected units that lie outside the tree: generated sources in a build directory (`O=`). */
  generated: Set<string>;
  /** The units to build, and why. */
  selected: Map<string, CompileDbUnit['reason']>;
  warnings: string[];
}

interface SelectionInput {
  entries: CompileDbEntry[];
  /** The patched text of every file the patch changes (null: deleted); see PatchedFiles. */
  changes: Map<string, string | null>;
  tree: SourceTree;
  dependencies: DependencyReader;
  /** The patch and the database, as messages name them. */
  patch: string;
  database: string;
}

/** A patch that selects no unit at all is an InputError naming the patch. */
export function selectUnits({ entries, changes, tree, dependencies, patch, database }: SelectionInput): UnitSelection {
  const units = new Map<string, CompileDbEntry>();
  const duplicates = new Set<string>();
  for (const entry of entries) {
    const rel = tree.relative(entry.file);
    if (rel === undefined) continue;
    if (units.has(rel)) duplicates.add(rel);
    else units.set(rel, entry);
  }

  const warnings: string[] = [];
  const generatedKeys = new Set<string>();
  const selected = new Map<string, CompileDbUnit['reason']>();
  for (const [rel, text] of changes) {
    if (!units.has(rel)) continue;
    if (text === null) warnings.push(`${patch} deletes ${rel}: it is not compiled`);
    else selected.set(rel, 'patched');
  }

  // Dependency information: which units read the other changed files.
  const others = [...changes.keys()].filter((rel) => !units.has(rel));
  const named = new Set<string>();
  let anyDependencyInfo = false;
  if (others.length > 0) {
    const names = [...new Set(others.map((rel) => basename(rel)))];
    const outside: string[] = [];
    const generated = new Map<string, CompileDbEntry>();
    for (const entry of entries) {
      const deps = dependencies.read(entry, names);
      if (deps !== null) anyDependencyInfo = true;
      if (!deps) continue;
      const hits = deps.filter((d) => changes.has(d) && !units.has(d));
      if (hits.length === 0) continue;
      hits.forEach((h) => named.add(h));
      const rel = tree.relative(entry.file);
      if (rel === undefined) {
        // A source the build generated (an O= build's directory, outside the tree): it
        // compiles as it is on both sides, against the patched headers on the patched one.
        const key = underRoots(entry.file, [entry.directory])?.rel;
        if (!key || units.has(key)) outside.push(entry.file);
        else if (!generated.has(key)) generated.set(key, entry); // a second entry of the file: the first wins
      } else if (!selected.has(rel) && changes.get(rel) !== null) selected.set(rel, 'includes-patched-header');
    }
    for (const file of outside) warnings.push(`${file} includes a file ${patch} changes, but is outside ${tree.dir} and its build directory: not compiled`);
    for (const [key, entry] of generated) {
      units.set(key, entry);
      selected.set(key, 'includes-patched-header');
      generatedKeys.add(key);
    }
  }
  const unnamed = others.filter((rel) => !named.has(rel));
  if (selected.size === 0) {
    throw new InputError(
      patch,
      `changes no translation unit of ${database}: ${[...changes.keys()].join(', ')} ${changes.size === 1 ? 'is' : 'are'} compiled by no entry, and no dependency information names ${changes.size === 1 ? 'it' : 'them'}`,
    );
  }
  const hint = anyDependencyInfo ? '' : ' (no unit of the database has dependency information: build the tree first)';
  for (const rel of unnamed) warnings.push(`${patch} changes ${rel}, but no dependency information names it: no unit selected for it${hint}`);
  for (const rel of selected.keys()) {
    if (duplicates.has(rel)) warnings.push(`${database} has several entries for ${rel}: the first one is used`);
  }
  return { units, generated: generatedKeys, selected, warnings };
}
