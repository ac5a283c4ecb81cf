import { InputError } from '../../errors.js';
import type { ElfObject } from '../../elf/types.js';
import type { LivepatchObject } from '../types.js';
import { newFunctionAt, SectionPointers, sectionNamed, stringAt, u32At, u64At } from './data.js';

/*
 * Modules made by the kernel's klp-build (`objtool klp diff`, Linux 6.19+), from
 * include/linux/livepatch_external.h:
 *   struct klp_func_ext   { const char *old_name; +0  void *new_func; +8  unsigned long sympos; +16 }   24 bytes
 *   struct klp_object_ext { const char *name; +0  struct klp_func_ext *funcs; +8
 *                           struct klp_callbacks callbacks; +16 (40 bytes)  unsigned int nr_funcs; +56 }   64 bytes
 * in `.init.klp_funcs` / `.init.klp_objects` (`__klp_funcs` / `__klp_objects` before
 * 6.19's rename). Each section is the array alone, without a terminator: scripts/livepatch/
 * init.c counts the objects by the section's size. Later series drop `callbacks` (nr_funcs
 * at +16, 24 bytes): either way nr_funcs is the last field, 8 bytes before the end of the
 * structure, whose size is the section's size over the number of `funcs` pointers (every
 * object has one). The struct has no stack-only field: an entry with an old_name and no
 * new_func is read as one.
 */
const FUNC_EXT_OLD_NAME = 0;
const FUNC_EXT_NEW_FUNC = 8;
const FUNC_EXT_SYMPOS = 16;
const FUNC_EXT_SIZE = 24;
const OBJ_EXT_NAME = 0;
const OBJ_EXT_FUNCS = 8;
/** nr_funcs, counted back from the end of struct klp_object_ext. */
const OBJ_EXT_NR_FUNCS_FROM_END = 8;

export function readKlpBuild(object: ElfObject, warnings: string[]): LivepatchObject[] | undefined {
  const objectsSection = sectionNamed(object, '.init.klp_objects', '__klp_objects');
  const funcsSection = sectionNamed(object, '.init.klp_funcs', '__klp_funcs');
  if (objectsSection === undefined && funcsSection === undefined) return undefined;
  if (objectsSection === undefined || funcsSection === undefined) {
    throw new InputError(object.path, `has ${objectsSection === undefined ? 'klp_funcs but no klp_objects' : 'klp_objects but no klp_funcs'} section: not a complete klp-build module`);
  }
  const size = object.sections[objectsSection].size;
  const pointers = new SectionPointers(object, objectsSection);
  const funcsPointers = pointers.offsets().filter((o) => {
    const p = pointers.at(o);
    return p?.kind === 'local' && p.section === funcsSection;
  });
  if (funcsPointers.length === 0) return [];
  const stride = size / funcsPointers.length;
  if (!Number.isInteger(stride) || stride % 8 !== 0 || funcsPointers.some((o, i) => o !== i * stride + OBJ_EXT_FUNCS)) {
    throw new InputError(object.path, `${object.sections[objectsSection].name}: ${funcsPointers.length} funcs pointers in ${size} bytes do not make an array of struct klp_object_ext`);
  }
  const funcPointers = new SectionPointers(object, funcsSection);
  const objects: LivepatchObject[] = [];
  for (let e = 0; e < size; e += stride) {
    const namePointer = pointers.at(e + OBJ_EXT_NAME);
    const name = stringAt(object, namePointer);
    const funcs = pointers.at(e + OBJ_EXT_FUNCS);
    const nrFuncs = u32At(object, objectsSection, e + stride - OBJ_EXT_NR_FUNCS_FROM_END);
    const target: LivepatchObject = { name: name === 'vmlinux' ? undefined : name, funcs: [], stackOnly: [] };
    objects.push(target);
    if (funcs?.kind !== 'local') continue;
    const end = funcs.offset + nrFuncs * FUNC_EXT_SIZE;
    if (end > object.sections[funcsSection].size) {
      warnings.push(`${object.path}: klp_object_ext ${name ?? 'vmlinux'} counts ${nrFuncs} functions, past the end of its funcs section: read up to the end`);
    }
    for (let f = funcs.offset; f < Math.min(end, object.sections[funcsSection].size); f += FUNC_EXT_SIZE) {
      const oldName = stringAt(object, funcPointers.at(f + FUNC_EXT_OLD_NAME));
      const sympos = u64At(object, funcsSection, f + FUNC_EXT_SYMPOS);
      const newFunc = funcPointers.at(f + FUNC_EXT_NEW_FUNC);
      if (oldName === undefined) warnings.push(`${object.path}: klp_func_ext at +0x${f.toString(16)} has no old_name: skipped`);
      else if (newFunc) target.funcs.push({ oldName, oldSympos: sympos, ...newFunctionAt(object, newFunc) });
      else target.stackOnly.push({ oldName, oldSympos: sympos });
    }
  }
  return objects;
}
