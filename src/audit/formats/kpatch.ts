import { InputError } from '../../errors.js';
import type { ElfObject } from '../../elf/types.js';
import type { LivepatchObject } from '../types.js';
import { newFunctionAt, SectionPointers, sectionNamed, stringAt, u64At } from './data.js';

/*
 * kpatch modules (kpatch-build, create-diff-object): one `.kpatch.funcs` section holding
 * an array of kpatch's kmod/patch/kpatch-patch.h
 *   struct kpatch_patch_func { unsigned long new_addr; +0  unsigned long new_size; +8
 *                              unsigned long old_addr; +16  unsigned long old_size; +24
 *                              unsigned long sympos; +32  char *name; +40  char *objname; +48 }
 * 56 bytes on x86-64, no terminator (the section's size counts them); new_addr, name and
 * objname are relocations. kpatch's patch hook turns them into klp_func/klp_object at load
 * time, grouped by objname ("vmlinux" for vmlinux). The struct has no stack-only field:
 * an entry with a name and no new_addr is read as one (the convention README "audit" states).
 */
const KPATCH_FUNC_SIZE = 56;
const NEW_ADDR = 0;
const SYMPOS = 32;
const NAME = 40;
const OBJNAME = 48;

export function readKpatch(object: ElfObject, warnings: string[]): LivepatchObject[] | undefined {
  const section = sectionNamed(object, '.kpatch.funcs');
  if (section === undefined) return undefined;
  const size = object.sections[section].size;
  if (size % KPATCH_FUNC_SIZE !== 0) {
    throw new InputError(object.path, `.kpatch.funcs is ${size} bytes, not a whole number of 56-byte struct kpatch_patch_func`);
  }
  const pointers = new SectionPointers(object, section);
  const byName = new Map<string, LivepatchObject>();
  for (let e = 0; e < size; e += KPATCH_FUNC_SIZE) {
    const name = stringAt(object, pointers.at(e + NAME));
    const objname = stringAt(object, pointers.at(e + OBJNAME));
    if (name === undefined || objname === undefined) {
      warnings.push(`${object.path}: .kpatch.funcs entry ${e / KPATCH_FUNC_SIZE} has no ${name === undefined ? 'name' : 'objname'}: skipped`);
      continue;
    }
    const key = objname === 'vmlinux' ? '' : objname;
    let target = byName.get(key);
    if (!target) byName.set(key, (target = { name: key || undefined, funcs: [], stackOnly: [] }));
    const sympos = u64At(object, section, e + SYMPOS);
    const newAddr = pointers.at(e + NEW_ADDR);
    if (newAddr) target.funcs.push({ oldName: name, oldSympos: sympos, ...newFunctionAt(object, newAddr) });
    else target.stackOnly.push({ oldName: name, oldSympos: sympos });
  }
  return [...byName.values()];
}
