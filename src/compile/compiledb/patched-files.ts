import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { describeFsError, InputError, PatchError } from '../../errors.js';
import { withLineDirectives } from '../line-directives.js';
import { applyPatchSeries, type FilePatch } from '../patch.js';
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
  /**
   * The same with `#line` directives, for the files that have an original and need them;
   * worked out on the first call (tens of milliseconds for a large file), so that the
   * original side's compiles need not wait for it.
   */
  directed(): Map<string, string>;
}

/**
 * Applies the patches, in order, to the tree (in memory). Paths are relative to the tree:
 * git's a/ b/ prefixes are stripped, other names are taken as they are and, failing that,
 * without their first component (`linux/`, `orig/`); with `strip` (`-pN`), exactly N
 * leading components go.
 */
export function applyPatchToTree(patches: readonly FilePatch[], tree: SourceTree, lineDirectives: boolean): PatchedFiles {
  const isFile = (rel: string) => {
    try {
      return statSync(join(tree.root, rel)).isFile();
    } catch {
      return false;
    }
  };
  const isDir = (rel: string) => {
    try {
      return statSync(join(tree.root, rel)).isDirectory();
    } catch {
      return false;
    }
  };
  const locate = (fp: FilePatch, name: string, exists: (rel: string) => boolean): string => {
    if (isAbsolute(name) || name.split('/').includes('..')) throw new PatchError(fp.patchFile, `names ${name}, outside ${tree.dir}`);
    const clean = name.replace(/^(\.\/)+/, '');
    if (fp.exactPaths || exists(clean)) return clean;
    // Another -p1 prefix than a/ b/ (linux/, orig/): drop the first component.
    const stripped = clean.includes('/') ? clean.slice(clean.indexOf('/') + 1) : undefined;
    if (stripped && exists(stripped)) return stripped;
    // A new file: where its directory exists.
    if (!isDir(dirname(clean)) && stripped && isDir(dirname(stripped))) return stripped;
    return clean;
  };
  const applied = applyPatchSeries(patches, {
    resolve: (fp, exists) => {
      if (fp.oldPath === undefined && fp.newPath === undefined) throw new PatchError(fp.patchFile, 'has hunks that name no file (no --- and +++ lines)');
      return {
        old: fp.oldPath !== undefined ? locate(fp, fp.oldPath, exists) : undefined,
        new: fp.newPath !== undefined ? locate(fp, fp.newPath, exists) : undefined,
      };
    },
    read: (rel) => (isFile(rel) ? readText(join(tree.root, rel)) : undefined),
    display: (rel) => join(tree.dir, rel),
  });
  let directed: Map<string, string> | undefined;
  const directedFiles = () => {
    if (directed) return directed;
    directed = new Map();
    if (!lineDirectives) return directed;
    for (const [rel, text] of applied.changes) {
      const original = applied.originals.get(rel);
      if (text === null || original === undefined) continue;
      const withLines = withLineDirectives(original, text);
      if (withLines !== text) directed.set(rel, withLines);
    }
    return directed;
  };
  return { changes: applied.changes, directed: directedFiles };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(path, describeFsError(err));
  }
}
