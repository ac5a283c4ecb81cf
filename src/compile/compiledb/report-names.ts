import { isAbsolute, join } from 'node:path';
import type { TreeReport } from '../../report/types.js';

/*
 * A source-tree build compares objects that live in a temporary directory, removed when the
 * run ends: the report must not name them. Each object is named instead by its unit, the
 * source in the user's tree: `<tree>/fs/ext4/inode.c` on the original side and
 * `<tree>/fs/ext4/inode.c + fix.patch` on the patched side, as the report's top level names
 * the tree. (With --keep-objects the objects are compared where they are kept, and the
 * report names those files as they are.)
 */

export interface UnitNaming {
  /** Where the objects were compared. */
  originalDir: string;
  patchedDir: string;
  /** How the two sides of each unit are named instead, by the object's relative path. */
  units: { object: string; original: string; patched: string }[];
}

/** The report with every path into originalDir or patchedDir replaced by its unit's name (or, failing that, the object's relative path). */
export function nameUnitObjects(report: TreeReport, naming: UnitNaming): TreeReport {
  const exact: [string, string][] = [];
  for (const unit of naming.units) {
    exact.push([`${naming.originalDir}/${unit.object}`, unit.original], [`${naming.patchedDir}/${unit.object}`, unit.patched]);
  }
  // Longest first, so that no path is cut by a shorter one it starts with.
  exact.sort((a, b) => b[0].length - a[0].length);
  const rename = (text: string): string => {
    if (!text.includes(naming.originalDir) && !text.includes(naming.patchedDir)) return text;
    let out = text;
    for (const [from, to] of exact) out = out.split(from).join(to);
    return out.split(`${naming.originalDir}/`).join('').split(`${naming.patchedDir}/`).join('');
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return rename(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, walk(v)]));
    }
    return value;
  };
  return walk(report) as TreeReport;
}

/** The naming of a build's units: `<tree>/<source>` and `<tree>/<source> + <patches>`. */
export function unitNaming(
  built: { originalDir: string; patchedDir: string; units: { file: string; object: string }[] },
  sourceDir: string,
  patches: readonly string[],
): UnitNaming {
  const units = built.units.map((unit) => {
    const original = isAbsolute(unit.file) ? unit.file : join(sourceDir, unit.file);
    return { object: unit.object, original, patched: `${original} + ${patches.join(' + ')}` };
  });
  return { originalDir: built.originalDir, patchedDir: built.patchedDir, units };
}
