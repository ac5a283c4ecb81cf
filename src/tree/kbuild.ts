import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { compilerLength, moduleOfCommand, scanArguments } from '../compile/compiledb/command-words.js';
import type { CompileDbEntry } from '../compile/compiledb/database.js';
import { splitCommandLine } from '../compile/gcc.js';
import { VMLINUX } from '../report/types.js';

/*
 * A tree that kbuild built (what a kpatch-style pipeline has after building a kernel twice)
 * keeps, beside each object, the command that made it: `.NAME.o.cmd`, `.NAME.ko.cmd`
 * (`savedcmd_TARGET := COMMAND`; `cmd_TARGET` before 6.3). It tells a unit, compiled from
 * a source, from an object kbuild linked out of others with `ld -r`: a module's `NAME.o`
 * (its units), its `NAME.ko` (that and `NAME.mod.o`), `vmlinux.o` (the built-in archives).
 * A unit's command names its klp_object: `-DMODULE -DKBUILD_MODNAME=...` a module, anything
 * else vmlinux; one without `-D__KERNEL__` is the build's own program (modpost, objtool),
 * no kernel code.
 *
 * A linked object repeats its members' code. Compared beside them, every changed function
 * would be listed twice, and the units of a module under vmlinux, the klp_object of an
 * object that is not a module: a livepatch built from that would not load. So a linked
 * object that each build linked of objects all in its own tree is not compared; its
 * members are, each named by its command, and `.old_sympos` is counted in the linked
 * module or vmlinux (src/compile/compiledb/linked-positions.ts), as `--source-dir` does
 * it. The build's own programs' objects are not compared at all.
 */

/** A unit of a kbuild tree: its command as a compilation database entry would hold it, and its klp_object. */
export interface KbuildUnit {
  entry: CompileDbEntry;
  /** `-DMODULE`: its code goes into a module, named `modname`; else into vmlinux. */
  module: boolean;
  modname?: string;
}

export interface KbuildTree {
  /** Units with a compile command, by relative path (the original tree's commands). */
  units: Map<string, KbuildUnit>;
  /** Linked objects not compared, because all their members are. */
  linkedFromMembers: Set<string>;
  /**
   * Objects of the build's own programs (modpost, objtool, kconfig: compiled without
   * `-D__KERNEL__`), on both sides: no part of the kernel, so not compared.
   */
  hostObjects: Set<string>;
  /**
   * Linked objects that are compared (members missing from a tree) and whose units are all
   * of one module, with its name: a module's `ld -r` object has no `.modinfo` name yet.
   */
  linkedModules: Map<string, string>;
}

/** What kbuild's saved commands say about the objects of two trees (see the comment at the top). */
export function readKbuildTrees(
  originalDir: string,
  patchedDir: string,
  trees: { original: ReadonlySet<string>; patched: ReadonlySet<string> },
  withCommands: ReadonlySet<string>,
): KbuildTree {
  const units = new Map<string, KbuildUnit>();
  const linkedFromMembers = new Set<string>();
  const linkedModules = new Map<string, string>();
  const hostObjects = new Set<string>();
  if (withCommands.size === 0) return { units, linkedFromMembers, hostObjects, linkedModules };
  const original = new BuildSide(originalDir, trees.original, withCommands);
  const patched = new BuildSide(patchedDir, trees.patched, withCommands);
  for (const path of trees.original) {
    if (!trees.patched.has(path)) continue;
    const command = original.command(path);
    if (command?.kind === 'compile') units.set(path, command.unit);
    if (command?.kind === 'host' && patched.command(path)?.kind === 'host') hostObjects.add(path);
    if (command?.kind !== 'link') continue;
    // Left out when each build linked it of objects that are all in its tree (a unit added
    // to the module or taken out of it is listed on its side), so that its code is theirs.
    if (patched.command(path)?.kind === 'link' && original.covered(path) && patched.covered(path)) linkedFromMembers.add(path);
    else {
      const name = original.moduleOf(path);
      if (name !== undefined) linkedModules.set(path, name);
    }
  }
  return { units, linkedFromMembers, hostObjects, linkedModules };
}

/** One build's objects and their saved commands, read on first use. */
class BuildSide {
  private readonly commands = new Map<string, SavedCommand | undefined>();
  private readonly coveredLinks = new Map<string, boolean>();

  constructor(
    private readonly dir: string,
    private readonly objects: ReadonlySet<string>,
    private readonly withCommands: ReadonlySet<string>,
  ) {}

  command(path: string): SavedCommand | undefined {
    if (!this.commands.has(path)) this.commands.set(path, this.objects.has(path) && this.withCommands.has(path) ? readSavedCommand(this.dir, path) : undefined);
    return this.commands.get(path);
  }

  /** A link whose members are all objects of this tree, links among them covered in turn. */
  covered(path: string, depth = 0): boolean {
    const known = this.coveredLinks.get(path);
    if (known !== undefined) return known;
    this.coveredLinks.set(path, false); // a link of itself (it cannot be) is not covered
    const command = this.command(path);
    const members = command?.kind === 'link' ? command.members : undefined;
    const result = members !== undefined && members.length > 0 && depth < MAX_LINK_DEPTH && members.every((m) => this.objects.has(m) && (this.command(m)?.kind !== 'link' || this.covered(m, depth + 1)));
    this.coveredLinks.set(path, result);
    return result;
  }

  /** The one module whose units a link holds (through the links it holds), if there is one. */
  moduleOf(path: string, depth = 0): string | undefined {
    const command = this.command(path);
    if (command?.kind === 'compile') return command.unit.module ? klpObjectOfUnit(command.unit) : undefined;
    if (command?.kind !== 'link' || !command.members?.length || depth >= MAX_LINK_DEPTH) return undefined;
    const names = new Set(command.members.map((m) => this.moduleOf(m, depth + 1)));
    return names.size === 1 ? [...names][0] : undefined;
  }
}

/** Links of links kbuild makes: vmlinux.o of vmlinux.a of built-in.a, a .ko of its ld -r object. */
const MAX_LINK_DEPTH = 8;

type SavedCommand = { kind: 'compile'; unit: KbuildUnit } | { kind: 'link'; members?: string[] } | { kind: 'host' } | { kind: 'other' };

/**
 * The saved command of object `path` (relative to `treeDir`), or nothing when there is no
 * readable one. The build root, where the command ran and its relative paths start, is the
 * object's directory less the directories the command's target names it under: the tree
 * given may be the build root or a directory inside it.
 */
function readSavedCommand(treeDir: string, path: string): SavedCommand | undefined {
  const object = join(treeDir, path);
  const text = firstLine(join(dirname(object), `.${basename(object)}.cmd`));
  if (text === undefined) return undefined;
  const line = /^(?:saved)?cmd_(\S+)\s*:=\s*(.*)$/.exec(text);
  if (!line) return undefined;
  const [, target, command] = line;
  const root = buildRoot(object, target);
  if (root === undefined) return undefined;
  let words: string[];
  try {
    words = firstCommand(splitCommandLine(command));
  } catch {
    return undefined;
  }
  if (words.length === 0) return undefined;
  const tool = basename(words[0]);
  // ld, ld.bfd, ld.lld, x86_64-linux-gnu-ld (a cross build's).
  if (/^(?:.*-)?ld(?:\.(?:bfd|gold|lld))?$/.test(tool)) {
    if (!words.includes('-r') && !words.includes('--relocatable')) return { kind: 'other' };
    return { kind: 'link', members: linkMembers(words.slice(1), root, treeDir) };
  }
  const args = words.slice(compilerLength(words));
  const tokens = scanArguments(args);
  const compiles = words.includes('-c') && tokens.some((t) => t.kind === 'input');
  if (!compiles) return { kind: 'other' };
  // kbuild defines __KERNEL__ for all kernel code (KBUILD_CPPFLAGS), never for the build's own tools.
  if (!definesKernel(args)) return { kind: 'host' };
  const source = tokens.find((t) => t.kind === 'input');
  const file = source && source.kind === 'input' ? resolve(root, source.value) : object;
  const { module, modname } = moduleOfCommand(args);
  const entry: CompileDbEntry = { directory: root, file, argv: words, output: object, index: -1 };
  return { kind: 'compile', unit: { entry, module, ...(modname !== undefined ? { modname } : {}) } };
}

/**
 * A regular file's bytes, when it has at most MAX_LIST_FILE of them: a command's `@file`
 * and a thin archive list paths (the kernel's vmlinux.a is a few hundred kilobytes); what
 * a saved command names may be anything (a FIFO, a device) and is not read then.
 */
function smallFile(path: string): Buffer | undefined {
  try {
    const st = statSync(path);
    return st.isFile() && st.size <= MAX_LIST_FILE ? readFileSync(path) : undefined;
  } catch {
    return undefined;
  }
}

const MAX_LIST_FILE = 64 * 1024 * 1024;

/** Whether a command defines `__KERNEL__` (`-D__KERNEL__`, `-D __KERNEL__`, `=value`); a later `-U` undoes it. */
function definesKernel(args: readonly string[]): boolean {
  let defined = false;
  for (let i = 0; i < args.length; i++) {
    let word = args[i];
    if (word === '-D' || word === '-U') word += args[++i] ?? '';
    if (!word.startsWith('-D') && !word.startsWith('-U')) continue;
    if (word.slice(2).split('=')[0] === '__KERNEL__') defined = word.startsWith('-D');
  }
  return defined;
}

/**
 * The first line of a file, read a block at a time: a unit's `.cmd` file goes on with the
 * hundreds of headers it depended on (tens of kilobytes), and a kernel tree has thousands.
 */
function firstLine(path: string): string | undefined {
  let fd: number;
  try {
    // Without blocking: a FIFO named like a .cmd file would wait for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const chunks: Buffer[] = [];
    let position = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(FIRST_LINE_BLOCK);
      const n = readSync(fd, chunk, 0, chunk.length, position);
      const end = chunk.subarray(0, n).indexOf(0x0a);
      chunks.push(chunk.subarray(0, end >= 0 ? end : n));
      position += n;
      if (end >= 0 || n === 0 || position > MAX_COMMAND_LINE) return Buffer.concat(chunks).toString('utf8');
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

const FIRST_LINE_BLOCK = 16 * 1024;
/** Longer than any command kbuild writes (the kernel's own are a few kilobytes). */
const MAX_COMMAND_LINE = 1024 * 1024;

/** The directory a command with this target ran in, for the object at `object`; undefined when they do not fit. */
function buildRoot(object: string, target: string): string | undefined {
  if (isAbsolute(target)) return resolve(target) === resolve(object) ? dirname(object) : undefined;
  const parts = target.split('/').filter((p) => p !== '' && p !== '.');
  let dir = resolve(object);
  const own = dir.split(sep);
  if (own.length <= parts.length || own.slice(-parts.length).join('/') !== parts.join('/')) return undefined;
  for (let i = 0; i < parts.length; i++) dir = dirname(dir);
  return dir;
}

/** The words of the first command of a shell line (`gcc ... ; objtool ...`, `ld ...; true`). */
function firstCommand(words: string[]): string[] {
  const out: string[] = [];
  for (const word of words) {
    if (word === ';' || word === '&&' || word === '||' || word === '|') break;
    if (word.endsWith(';')) {
      if (word.length > 1) out.push(word.slice(0, -1));
      break;
    }
    out.push(word);
  }
  return out;
}

/** ld's options that take the next word as their value. */
const LD_VALUE_OPTIONS = new Set(['-o', '-m', '-T', '-z', '-e', '-L', '-l', '-soname', '-Map', '--script', '--output', '-u', '-y']);

/**
 * The objects an `ld -r` links, relative to the tree, in order: `.o` inputs, those listed
 * in `@file` (kbuild's `NAME.mod`), and the members of thin archives (`vmlinux.a`, each
 * directory's `built-in.a`, themselves thin archives of units). Undefined when an input is
 * outside the tree or cannot be read: the link's members are then not known.
 */
function linkMembers(args: string[], root: string, treeDir: string): string[] | undefined {
  const members: string[] = [];
  const inTree = (path: string): string | undefined => {
    const rel = relative(treeDir, path);
    return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? undefined : rel.split(sep).join('/');
  };
  // Archives met on the way: one that lists itself, or a loop of them, is read once.
  const archives = new Set<string>();
  const add = (path: string): boolean => {
    if (path.endsWith('.a')) {
      if (archives.has(path)) return true;
      archives.add(path);
      const listed = thinArchiveMembers(path);
      if (!listed) return false;
      return listed.every(add);
    }
    if (!/\.o$|\.ko$/.test(path)) return true;
    const rel = inTree(path);
    if (rel === undefined) return false;
    members.push(rel);
    return true;
  };
  for (let i = 0; i < args.length; i++) {
    const word = args[i];
    if (LD_VALUE_OPTIONS.has(word)) {
      i++;
      continue;
    }
    if (word.startsWith('@')) {
      const text = smallFile(resolve(root, word.slice(1)));
      if (text === undefined) return undefined;
      const listed = text.toString('utf8').split(/\s+/).filter(Boolean);
      if (!listed.every((p) => add(resolve(root, p)))) return undefined;
      continue;
    }
    if (word.startsWith('-')) continue;
    if (!add(resolve(root, word))) return undefined;
  }
  return members;
}

/**
 * The member paths of a GNU thin archive (`!<thin>`), resolved against its directory, or
 * undefined for any other file: a regular archive holds copies, not the tree's objects.
 */
function thinArchiveMembers(path: string): string[] | undefined {
  const bytes = smallFile(path);
  if (bytes === undefined || bytes.toString('latin1', 0, 8) !== '!<thin>\n') return undefined;
  const members: string[] = [];
  let longNames = '';
  let at = 8;
  while (at + 60 <= bytes.length) {
    const name = bytes.toString('latin1', at, at + 16).trimEnd();
    const size = Number.parseInt(bytes.toString('latin1', at + 48, at + 58).trim(), 10);
    if (!Number.isFinite(size) || size < 0) return undefined;
    const data = at + 60;
    // The symbol table and the long-name table are the only members stored in a thin archive.
    const stored = name === '/' || name === '//' || name === '/SYM64/';
    if (name === '//') longNames = bytes.toString('latin1', data, data + size);
    else if (!stored) {
      let member: string | undefined;
      const long = /^\/(\d+)$/.exec(name);
      if (long) {
        const start = Number(long[1]);
        const end = longNames.indexOf('/\n', start);
        member = end < 0 ? undefined : longNames.slice(start, end);
      } else member = name.endsWith('/') ? name.slice(0, -1) : name;
      if (member === undefined) return undefined;
      members.push(resolve(dirname(path), member));
    }
    at = data + (stored ? size + (size & 1) : 0);
  }
  return members;
}

/** The klp_object of a unit: its module, or vmlinux (`objectName` where given). */
export function klpObjectOfUnit(unit: KbuildUnit, objectName?: string): string {
  if (!unit.module) return objectName ?? VMLINUX;
  return unit.modname ?? basename(unit.entry.output ?? unit.entry.file).replace(/\.[^.]*$/, '').replace(/-/g, '_');
}
