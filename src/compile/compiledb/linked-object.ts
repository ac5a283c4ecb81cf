import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { readLinkedObject, type LinkedObject } from '../../elf/linked-symbols.js';
import { InputError } from '../../errors.js';
import { VMLINUX } from '../../report/types.js';
import { compilerLength, scanArguments } from './command-words.js';
import type { CompileDbEntry } from './database.js';

/*
 * Where a klp_object of a source tree is linked: the file whose symbol table the kernel
 * counts `.old_sympos` in (src/derive/linked-positions.ts). The build tree is the original
 * build, the running kernel's, which is what `.old_sympos` is about.
 *
 * - a module `foo`: kbuild links its objects with `ld -r` into `foo.o` next to them
 *   (`fs/ext4/ext4.o`), and that plus `foo.mod.o` into `foo.ko`; `modules.order` at the
 *   build root lists the modules by that path (`fs/ext4/ext4.o`, `.ko` before 6.2). So:
 *   `modules.order`'s entry, else `foo.ko` then `foo.o` in the directory of a unit's object
 *   or one of its parents up to the build root (the directory the commands run in: the
 *   `O=` directory for an out-of-tree build). File names count as kbuild names modules:
 *   `-` and `,` as `_`. A `.ko`'s `.modinfo` `name=` must be the module's.
 * - vmlinux: `vmlinux` at the build root (or a parent of a unit's object): the linked
 *   executable, whose addresses give kallsyms' order (vmlinux.o, its `ld -r`, has none).
 * - or the file given with `--linked-object`, which wins.
 */

/** The units of one klp_object: their database entries, and whether they are module code. */
export interface KlpObjectUnits {
  name: string;
  kind: 'module' | 'vmlinux';
  entries: CompileDbEntry[];
}

export interface LinkedLookup {
  linked?: LinkedObject;
  /** The paths looked at, for the warning when none is there. */
  looked: string[];
  /** Files found but not usable (unreadable, another module), for that warning too. */
  rejected: string[];
}

/** kbuild's module name of a file: its base name without the extension, `-` and `,` as `_`. */
const moduleNameOfFile = (path: string): string =>
  basename(path)
    .replace(/\.(?:ko(?:\.(?:xz|zst|gz))?|o)$/, '')
    .replace(/[-,]/g, '_');

/** The klp_object a file given with `--linked-object` is for: `.modinfo` name, vmlinux, or its file name. */
function klpNameOfLinked(linked: LinkedObject): string {
  if (linked.moduleName) return linked.moduleName;
  if (basename(linked.path) === VMLINUX || !linked.relocatable) return VMLINUX;
  return moduleNameOfFile(linked.path);
}

/** Reads the files given with `--linked-object`, by the klp_object each is for (an unreadable one is an InputError). */
export function readGivenLinkedObjects(paths: readonly string[]): Map<string, LinkedObject> {
  const byName = new Map<string, LinkedObject>();
  for (const path of paths) {
    const linked = readLinkedObject(resolve(path));
    const name = klpNameOfLinked(linked);
    const earlier = byName.get(name);
    if (earlier) throw new InputError(path, `is for ${name}, as is ${earlier.path}: give one linked object per module`);
    byName.set(name, { ...linked, path });
  }
  return byName;
}

/** Looks for the linked object of `object` in the build tree its units were built in. */
export function findLinkedObject(object: KlpObjectUnits): LinkedLookup {
  const looked: string[] = [];
  const rejected: string[] = [];
  const seen = new Set<string>();
  const tryFile = (path: string): LinkedObject | undefined => {
    if (seen.has(path)) return undefined;
    seen.add(path);
    looked.push(path);
    if (!isFile(path)) return undefined;
    let linked: LinkedObject;
    try {
      linked = readLinkedObject(path);
    } catch (err) {
      rejected.push(`${path} (${err instanceof InputError ? err.problem ?? err.message : String(err)})`);
      return undefined;
    }
    if (object.kind === 'vmlinux' && linked.relocatable) {
      rejected.push(`${path} (relocatable: kallsyms orders vmlinux by address, which only the linked vmlinux has)`);
      return undefined;
    }
    if (object.kind === 'module' && linked.moduleName !== undefined && linked.moduleName !== object.name) {
      rejected.push(`${path} (module ${linked.moduleName})`);
      return undefined;
    }
    return linked;
  };

  const roots = [...new Set(object.entries.map((e) => e.directory))];
  if (object.kind === 'module') {
    for (const root of roots) {
      for (const listed of modulesOrder(root)) {
        if (moduleNameOfFile(listed) !== object.name) continue;
        const stem = join(root, listed).replace(/\.(?:ko|o)$/, '');
        const found = tryFile(`${stem}.ko`) ?? tryFile(`${stem}.o`);
        if (found) return { linked: found, looked, rejected };
      }
    }
  }
  for (const dir of searchDirs(object.entries)) {
    const names = object.kind === 'vmlinux' ? [VMLINUX] : filesOfModule(dir, object.name);
    for (const name of names) {
      const found = tryFile(join(dir, name));
      if (found) return { linked: found, looked, rejected };
    }
    // For the warning: where the file would have been.
    if (object.kind === 'module' && names.length === 0) looked.push(join(dir, `${object.name}.ko`));
  }
  return { looked, rejected };
}

/** `modules.order` at a build root: the modules' paths, relative to it. */
function modulesOrder(root: string): string[] {
  const path = join(root, 'modules.order');
  if (!existsSync(path)) return [];
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .map((line) => line.trim().replace(/^kernel\//, ''))
      .filter((line) => /\.(?:ko|o)$/.test(line));
  } catch {
    return [];
  }
}

/** The directories of the units' objects and their parents, up to the build root, deepest first. */
function searchDirs(entries: CompileDbEntry[]): string[] {
  const dirs: string[] = [];
  const add = (dir: string) => {
    if (!dirs.includes(dir)) dirs.push(dir);
  };
  for (const entry of entries) {
    const output = outputOf(entry);
    const root = entry.directory;
    let dir = output ? dirname(output) : dirname(entry.file);
    const inside = (d: string) => d === root || !relative(root, d).startsWith('..');
    if (inside(dir)) {
      for (;;) {
        add(dir);
        if (dir === root || dirname(dir) === dir) break;
        dir = dirname(dir);
      }
    } else add(dir);
    add(root);
  }
  return dirs;
}

/** The object a database entry's command writes (`-o`, or the entry's `output`), absolute. */
function outputOf(entry: CompileDbEntry): string | undefined {
  if (entry.output) return entry.output;
  const token = scanArguments(entry.argv.slice(compilerLength(entry.argv))).find((t) => t.kind === 'output');
  return token && token.kind === 'output' && token.value ? resolve(entry.directory, token.value) : undefined;
}

/** Files in `dir` that would be module `name`: `.ko` (plain or compressed) before `.o`. */
function filesOfModule(dir: string, name: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const of = (pattern: RegExp) => names.filter((n) => pattern.test(n) && moduleNameOfFile(n) === name).sort();
  return [...of(/\.ko$/), ...of(/\.ko\.(?:xz|zst|gz)$/), ...of(/\.o$/).filter((n) => !n.endsWith('.mod.o'))];
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

