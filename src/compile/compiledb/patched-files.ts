import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { describeFsError } from '../../elf/reader.js';
import { InputError, PatchError } from '../../errors.js';
import { withLineDirectives } from '../line-directives.js';
import { applyFilePatch, parseUnifiedDiff } from '../patch.js';
import type { SourceTree } from './source-tree.js';

/*
 * The patch applied in memory, file by file, against the source tree (which is never
 * modified). The patched files get `#line` directives after their changed regions
 * (line-directives.ts), so that the lines the patch did not touch keep their original
 * numbers in the patched objects; a file the patch creates gets none.
 */

export interface PatchedFiles {
  /** The patched text of every file the patch changes, by source-relative path (null: the patch deletes it). */
  changes: Map<string, string | null>;
  /** The same with `#line` directives, for the files that have an original and need them. */
  directed: Map<string, string>;
}

/** Applies the unified diff `patch` (paths relative to the tree: a/ b/ prefixes, or -p0). */
export function applyPatchToTree(patch: string, tree: SourceTree, lineDirectives: boolean): PatchedFiles {
  const filePatches = parseUnifiedDiff(readText(patch), patch);
  const changes = new Map<string, string | null>();
  const directed = new Map<string, string>();
  const locate = (name: string): string => {
    if (isAbsolute(name) || name.split('/').includes('..')) throw new PatchError(patch, `names ${name}, outside ${tree.dir}`);
    const clean = name.replace(/^(\.\/)+/, '');
    if (existsSync(join(tree.root, clean))) return clean;
    // Another -p1 prefix than a/ b/ (linux/, orig/): drop the first component.
    const stripped = clean.includes('/') ? clean.slice(clean.indexOf('/') + 1) : undefined;
    if (stripped && existsSync(join(tree.root, stripped))) return stripped;
    // A new file: where its directory exists.
    if (!existsSync(join(tree.root, dirname(clean))) && stripped && existsSync(join(tree.root, dirname(stripped)))) return stripped;
    return clean;
  };
  for (const fp of filePatches) {
    const oldRel = fp.oldPath !== undefined ? locate(fp.oldPath) : undefined;
    const newRel = fp.newPath !== undefined ? locate(fp.newPath) : undefined;
    if (oldRel === undefined && newRel === undefined) throw new PatchError(patch, 'a file in the patch has no name');
    let original = '';
    if (oldRel !== undefined) {
      if (!isFile(join(tree.root, oldRel))) throw new PatchError(patch, `changes ${oldRel}, which is not a file in ${tree.dir}`);
      original = readText(join(tree.root, oldRel));
    }
    const text = applyFilePatch(original, fp, join(tree.dir, oldRel ?? newRel!), patch);
    if (newRel !== undefined) changes.set(newRel, text);
    if (newRel !== undefined && oldRel !== undefined && lineDirectives) {
      const withLines = withLineDirectives(original, text);
      if (withLines !== text) directed.set(newRel, withLines);
    }
    if (oldRel !== undefined && oldRel !== newRel) changes.set(oldRel, null);
  }
  return { changes, directed };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(path, describeFsError(err));
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
