import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describeFsError, InputError } from '../errors.js';
import { withoutCompressionSuffix } from '../elf/compressed.js';

const OBJECT_FILE = /\.(?:o|ko|ko\.xz|ko\.zst|ko\.gz)$/;

/**
 * Every `.o` and `.ko` below a directory, by path relative to it (with `/` separators). A
 * compressed module (`.ko.xz`, `.ko.zst`, `.ko.gz`) is listed under its name without the
 * suffix, so that `foo.ko` on one side and `foo.ko.xz` on the other are one pair; should a
 * directory hold both, the uncompressed one counts. With `withCommands`, the paths of the
 * objects that have kbuild's saved command beside them (`.NAME.o.cmd`) are added to it.
 */
export function listObjects(root: string, withCommands?: Set<string>): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw new InputError(dir, describeFsError(err));
    }
    const names = new Set(withCommands ? entries.map((e) => e.name) : []);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if ((entry.isFile() || entry.isSymbolicLink()) && OBJECT_FILE.test(entry.name)) {
        const rel = relative(root, path).split(sep).join('/');
        const key = withoutCompressionSuffix(rel);
        if (key === rel || !found.has(key)) found.set(key, path);
        // kbuild's saved command of the object (src/tree/kbuild.ts), from the same listing.
        if (withCommands && key === rel && names.has(`.${entry.name}.cmd`)) withCommands.add(rel);
      }
    }
  };
  visit(root);
  return new Map([...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
