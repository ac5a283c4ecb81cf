import { applyPatch, parsePatch, type StructuredPatch } from 'diff';
import { PatchError } from '../errors.js';

export interface FilePatch {
  /** Path from the patch header with a/ b/ prefixes removed, or undefined for /dev/null. */
  oldPath?: string;
  newPath?: string;
  patch: StructuredPatch;
}

function stripPrefix(name: string | undefined): string | undefined {
  if (!name || name === '/dev/null') return undefined;
  const clean = name.replace(/\t.*$/, '').trim();
  return /^[ab]\//.test(clean) ? clean.slice(2) : clean;
}

/** Parses a unified diff; an empty or unreadable patch is an error naming the patch file. */
export function parseUnifiedDiff(text: string, patchFile: string): FilePatch[] {
  let patches: StructuredPatch[];
  try {
    patches = parsePatch(text);
  } catch (err) {
    throw new PatchError(patchFile, `not a unified diff: ${(err as Error).message}`);
  }
  const withHunks = patches.filter((p) => p.hunks.length > 0);
  if (withHunks.length === 0) throw new PatchError(patchFile, 'contains no hunks (not a unified diff?)');
  return withHunks.map((patch) => ({ oldPath: stripPrefix(patch.oldFileName), newPath: stripPrefix(patch.newFileName), patch }));
}

function describeHunk(patch: StructuredPatch, index: number): string {
  const hunk = patch.hunks[index];
  const header = `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`;
  return [header, ...hunk.lines].join('\n');
}

/**
 * Applies one file's patch to its text. Hunks must match exactly (no fuzz), as patch(1)
 * would apply them by default; offsets are tolerated. On failure, the error names the first
 * hunk that does not apply and shows it.
 */
export function applyFilePatch(source: string, filePatch: FilePatch, sourceName: string, patchFile: string): string {
  const result = applyPatch(source, filePatch.patch);
  if (result !== false) return result;
  for (let i = 0; i < filePatch.patch.hunks.length; i++) {
    const single: StructuredPatch = { ...filePatch.patch, hunks: [filePatch.patch.hunks[i]] };
    if (applyPatch(source, single) === false) {
      throw new PatchError(
        patchFile,
        `hunk ${i + 1} of ${filePatch.patch.hunks.length} does not apply to ${sourceName}`,
        describeHunk(filePatch.patch, i),
      );
    }
  }
  throw new PatchError(patchFile, `hunks do not apply to ${sourceName} together (each applies alone; they overlap)`);
}
