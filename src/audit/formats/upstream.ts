import { InputError } from '../../errors.js';
import { SHF_ALLOC, SHF_EXECINSTR, type ElfObject } from '../../elf/types.js';
import type { LivepatchObject, PatchedFunc, StackOnlyEntry } from '../types.js';
import { newFunctionAt, objectSymbolAt, SectionPointers, stringAt, u64At, u8At, type Pointee } from './data.js';
import { arrayEntries, type ArrayShape } from './struct-array.js';

/*
 * Livepatch modules built with kbuild from C that fills in the kernel's own structures
 * (samples/livepatch/livepatch-sample.c): a static `struct klp_patch` whose `objs` is an
 * array of `struct klp_object`, each with a `funcs` array of `struct klp_func`.
 *
 * Field offsets (x86-64), checked against Linux 6.1's include/linux/livepatch.h (Debian's
 * linux-source-6.1, 6.1.192): only the leading "external" fields are read, the internal
 * ones after them vary with the configuration and are never read.
 *   struct klp_func   { const char *old_name; +0  void *new_func; +8  unsigned long old_sympos; +16
 *                       (kernel/6.1/0001-*.patch adds) const char *new_name; +24  bool stack_only; +32 }
 *   struct klp_object { const char *name; +0  struct klp_func *funcs; +8  struct klp_callbacks callbacks; +16 (4 pointers) }
 *   struct klp_patch  { struct module *mod; +0  struct klp_object *objs; +8 }
 * Without the kernel patch, +24 and +32 are `old_func` and `kobj.name`: NULL in the static
 * image, so the stack-only fields read as absent there.
 */
const FUNC_OLD_NAME = 0;
const FUNC_NEW_FUNC = 8;
const FUNC_OLD_SYMPOS = 16;
const FUNC_NEW_NAME = 24;
const FUNC_STACK_ONLY = 32;
const OBJ_NAME = 0;
const OBJ_FUNCS = 8;
const OBJ_CALLBACKS = [16, 24, 32, 40];
const PATCH_MOD = 0;
const PATCH_OBJS = 8;

/** Sections that may hold the initialized structures: allocated data with relocations. */
function dataSections(object: ElfObject): number[] {
  const targets = new Set(object.relocationSections.map((r) => r.target));
  return object.sections.filter((s) => targets.has(s.index) && (s.flags & SHF_ALLOC) !== 0 && (s.flags & SHF_EXECINSTR) === 0).map((s) => s.index);
}

class Reader {
  private readonly pointers = new Map<number, SectionPointers>();

  constructor(
    readonly object: ElfObject,
    readonly warnings: string[],
  ) {}

  pointersOf(section: number): SectionPointers {
    let p = this.pointers.get(section);
    if (!p) this.pointers.set(section, (p = new SectionPointers(this.object, section)));
    return p;
  }

  ptr(section: number, offset: number): Pointee | undefined {
    return this.pointersOf(section).at(offset);
  }

  private sizeOf(section: number, offset: number): number | undefined {
    return objectSymbolAt(this.object, section, offset)?.size;
  }

  /** A `klp_func` array: its entries' offsets. */
  funcEntries(section: number, start: number): number[] {
    const o = this.object;
    const shape: ArrayShape = {
      pointerFields: [FUNC_OLD_NAME, FUNC_NEW_FUNC, FUNC_NEW_NAME],
      keyField: FUNC_OLD_NAME,
      isKey: (off) => stringAt(o, this.ptr(section, off)) !== undefined,
      isEmpty: (e) =>
        !this.ptr(section, e + FUNC_OLD_NAME) &&
        !this.ptr(section, e + FUNC_NEW_FUNC) &&
        u64At(o, section, e + FUNC_OLD_SYMPOS) === 0 &&
        !this.ptr(section, e + FUNC_NEW_NAME) &&
        u8At(o, section, e + FUNC_STACK_ONLY) === 0,
    };
    return this.entries('klp_func', section, start, shape);
  }

  /** A `klp_object` array: its entries' offsets. */
  objectEntries(section: number, start: number): number[] {
    const shape: ArrayShape = {
      pointerFields: [OBJ_NAME, OBJ_FUNCS, ...OBJ_CALLBACKS],
      keyField: OBJ_FUNCS,
      isKey: (off) => this.ptr(section, off)?.kind === 'local',
      isEmpty: (e) => !this.ptr(section, e + OBJ_NAME) && !this.ptr(section, e + OBJ_FUNCS),
    };
    return this.entries('klp_object', section, start, shape);
  }

  private entries(what: string, section: number, start: number, shape: ArrayShape): number[] {
    const size = this.sizeOf(section, start);
    const found = arrayEntries(this.pointersOf(section), start, shape, size);
    if (found.stride === undefined && found.entries.length === 1 && size === undefined) {
      this.warnings.push(`${this.object.path}: no symbol gives the size of the ${what} array at ${this.object.sections[section].name}+0x${start.toString(16)}, and its pointers do not tell its stride: read as one entry`);
    }
    return found.entries;
  }

  /** Whether a pointer leads to what a `klp_object` array's first `funcs` would: a `klp_func` with a name. */
  looksLikeObjects(objs: Pointee | undefined): boolean {
    if (objs?.kind !== 'local') return false;
    const funcs = this.ptr(objs.section, objs.offset + OBJ_FUNCS);
    if (funcs?.kind !== 'local') return false;
    return stringAt(this.object, this.ptr(funcs.section, funcs.offset + FUNC_OLD_NAME) ?? this.ptr(funcs.section, funcs.offset + FUNC_NEW_NAME)) !== undefined;
  }

  readFuncs(section: number, start: number): { funcs: PatchedFunc[]; stackOnly: StackOnlyEntry[] } {
    const o = this.object;
    const funcs: PatchedFunc[] = [];
    const stackOnly: StackOnlyEntry[] = [];
    for (const e of this.funcEntries(section, start)) {
      const oldName = stringAt(o, this.ptr(section, e + FUNC_OLD_NAME));
      const oldSympos = u64At(o, section, e + FUNC_OLD_SYMPOS);
      const newFunc = this.ptr(section, e + FUNC_NEW_FUNC);
      if (u8At(o, section, e + FUNC_STACK_ONLY) !== 0) {
        // kernel/6.1/0001-*.patch: the new code may be given by new_func instead of new_name.
        const newName = stringAt(o, this.ptr(section, e + FUNC_NEW_NAME));
        stackOnly.push({ oldName, oldSympos, ...(newName !== undefined ? { newName } : {}), ...(newFunc ? newFunctionAt(o, newFunc) : {}) });
      } else if (oldName !== undefined) {
        funcs.push({ oldName, oldSympos, ...newFunctionAt(o, newFunc) });
      } else {
        this.warnings.push(`${o.path}: a klp_func at ${o.sections[section].name}+0x${e.toString(16)} has no old_name and is not stack_only: skipped`);
      }
    }
    return { funcs, stackOnly };
  }
}

/** The `klp_patch` structures: a pointer to `__this_module` followed by one to a `klp_object` array. */
function findPatches(reader: Reader): { section: number; offset: number }[] {
  const found: { section: number; offset: number }[] = [];
  for (const section of dataSections(reader.object)) {
    const pointers = reader.pointersOf(section);
    for (const off of pointers.offsets()) {
      const mod = pointers.at(off);
      const name = mod?.kind === 'external' ? mod.name : mod?.symbol?.name;
      if (name !== '__this_module') continue;
      const start = off - PATCH_MOD;
      if (reader.looksLikeObjects(pointers.at(start + PATCH_OBJS))) found.push({ section, offset: start });
    }
  }
  return found;
}

/** The objects of an upstream-style livepatch module, or undefined when it has no `klp_patch`. */
export function readUpstream(object: ElfObject, warnings: string[]): LivepatchObject[] | undefined {
  const reader = new Reader(object, warnings);
  const patches = findPatches(reader);
  if (patches.length === 0) return undefined;
  if (patches.length > 1) warnings.push(`${object.path}: ${patches.length} klp_patch structures found: all are read`);
  const objects: LivepatchObject[] = [];
  for (const patch of patches) {
    const objs = reader.ptr(patch.section, patch.offset + PATCH_OBJS);
    if (objs?.kind !== 'local') continue;
    for (const e of reader.objectEntries(objs.section, objs.offset)) {
      const name = reader.ptr(objs.section, e + OBJ_NAME);
      const objectName = name ? stringAt(object, name) : undefined;
      if (name && objectName === undefined) throw new InputError(object.path, `klp_object at ${object.sections[objs.section].name}+0x${e.toString(16)}: its name is not a string`);
      const funcs = reader.ptr(objs.section, e + OBJ_FUNCS);
      if (funcs?.kind !== 'local') {
        warnings.push(`${object.path}: klp_object ${objectName ?? 'vmlinux'} has no funcs`);
        objects.push({ name: objectName, funcs: [], stackOnly: [] });
        continue;
      }
      objects.push({ name: objectName, ...reader.readFuncs(funcs.section, funcs.offset) });
    }
  }
  return objects;
}
