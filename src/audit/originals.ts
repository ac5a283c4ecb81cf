import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describeFsError, InputError } from '../errors.js';
import { withoutCompressionSuffix } from '../elf/compressed.js';
import { moduleName } from '../elf/modinfo.js';
import { openObject } from '../elf/open.js';
import type { ElfObject } from '../elf/types.js';
import { listObjects } from '../tree/walk.js';

/** The klp_object name of vmlinux in messages and reports. */
export const VMLINUX_NAME = 'vmlinux';

export interface OriginalObject {
  path: string;
  object: ElfObject;
}

/** A module's name as kbuild derives it from its file name: `nf-nat.ko.xz` is `nf_nat`. */
function nameFromFile(path: string): string {
  return basename(withoutCompressionSuffix(path)).replace(/\.(?:ko|o)$/, '').replace(/-/g, '_');
}

/**
 * Where `--original` finds the objects a livepatch patches: directories (a module tree, and
 * a `vmlinux` at their top), and single files, each a module (by its `.modinfo` name) or,
 * when it is not a module, vmlinux.
 */
export class Originals {
  private readonly files: OriginalObject[] = [];
  private readonly dirs: { dir: string; objects: Map<string, string> }[] = [];
  private readonly opened = new Map<string, OriginalObject>();

  constructor(paths: readonly string[]) {
    for (const path of paths) {
      let isDir: boolean;
      try {
        isDir = statSync(path).isDirectory();
      } catch (err) {
        throw new InputError(path, describeFsError(err));
      }
      if (isDir) this.dirs.push({ dir: path, objects: listObjects(path) });
      else this.files.push(this.open(path));
    }
  }

  private open(path: string): OriginalObject {
    let found = this.opened.get(path);
    if (!found) {
      let object: ElfObject;
      try {
        object = openObject(path);
      } catch (err) {
        // A kernel build's vmlinux is linked: its code no longer says what it was made of.
        if (err instanceof InputError && /is an executable/.test(err.message)) {
          throw new InputError(path, `is an executable (a linked vmlinux): audit reads relocatable objects; give vmlinux.o, which kbuild leaves beside vmlinux in the build tree`);
        }
        throw err;
      }
      this.opened.set(path, (found = { path, object }));
    }
    return found;
  }

  /** The original object of a klp_object (undefined name: vmlinux); an InputError naming it when there is none. */
  find(name: string | undefined): OriginalObject {
    const found = name === undefined ? this.vmlinux() : this.module(name);
    if (found) return found;
    const where = [...this.dirs.map((d) => `under ${d.dir}`), ...this.files.map((f) => f.path)].join(', ');
    const what = name === undefined ? 'vmlinux (a vmlinux file, or a non-module object given as a file)' : `module ${name} (by .modinfo name or file name)`;
    throw new InputError(undefined, `no original object for klp_object ${name ?? VMLINUX_NAME}: no ${what} in --original ${where || '(none given)'}`);
  }

  private vmlinux(): OriginalObject | undefined {
    const file = this.files.find((f) => basename(f.path) === VMLINUX_NAME || moduleName(f.object) === undefined);
    if (file) return file;
    for (const { dir } of this.dirs) {
      // A kernel build tree has both: vmlinux.o is what vmlinux was linked from, and readable.
      for (const name of [`${VMLINUX_NAME}.o`, VMLINUX_NAME]) {
        const path = join(dir, name);
        if (existsSync(path)) return this.open(path);
      }
    }
    return undefined;
  }

  private module(name: string): OriginalObject | undefined {
    // A file given says which module it is; a unit object without `name=` (kbuild adds it
    // at modpost) is taken by its file name.
    const file = this.files.find((f) => moduleName(f.object) === name) ?? this.files.find((f) => moduleName(f.object) === undefined && nameFromFile(f.path) === name);
    if (file) return file;
    for (const { objects } of this.dirs) {
      // The file name first: kbuild names a module after its file, so only its candidates are
      // opened; then, for a module renamed by its Makefile, every module's .modinfo.
      const paths = [...objects.values()];
      for (const path of paths.filter((p) => nameFromFile(p) === name)) {
        const candidate = this.open(path);
        const declared = moduleName(candidate.object);
        if (declared === undefined || declared === name) return candidate;
      }
      for (const path of paths.filter((p) => /\.ko(?:\.\w+)?$/.test(p) && nameFromFile(p) !== name)) {
        const candidate = openObject(path, { skipSymbols: true });
        if (moduleName(candidate) === name) return this.open(path);
      }
    }
    return undefined;
  }
}
