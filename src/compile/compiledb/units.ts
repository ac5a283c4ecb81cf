import { basename } from 'node:path';
import { InputError } from '../../errors.js';
import type { CompileDbEntry } from './database.js';
import type { DependencyReader } from './dependencies.js';
import type { SourceTree } from './source-tree.js';

/*
 * Choosing the translation units a patch affects: those it changes, and those whose
 * dependency information (from the user's last build) names a header it changes.
 */

export interface CompileDbUnit {
  /** The source, relative to sourceDir. */
  file: string;
  reason: 'patched' | 'includes-patched-header';
}

interface UnitSelection {
  /** The database's unit for each source-relative path under the tree (the first entry of a file wins). */
  units: Map<string, CompileDbEntry>;
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
    for (const entry of entries) {
      const deps = dependencies.read(entry, names);
      if (deps !== null) anyDependencyInfo = true;
      if (!deps) continue;
      const hits = deps.filter((d) => changes.has(d) && !units.has(d));
      if (hits.length === 0) continue;
      hits.forEach((h) => named.add(h));
      const rel = tree.relative(entry.file);
      if (rel === undefined) outside.push(entry.file);
      else if (!selected.has(rel) && changes.get(rel) !== null) selected.set(rel, 'includes-patched-header');
    }
    for (const file of outside) warnings.push(`${file} includes a file ${patch} changes, but is outside ${tree.dir}: not compiled`);
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
  return { units, selected, warnings };
}
