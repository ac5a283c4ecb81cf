import { InputError } from '../../errors.js';
import { kernelRelease, modinfoValue, moduleName } from '../../elf/modinfo.js';
import { openObject } from '../../elf/open.js';
import type { ElfObject } from '../../elf/types.js';
import type { LivepatchFormat, LivepatchModule, LivepatchObject } from '../types.js';
import { readKlpBuild } from './klp-build.js';
import { readKpatch } from './kpatch.js';
import { readUpstream } from './upstream.js';

const EM_X86_64 = 62;

/**
 * The readers, most specific first: kpatch and klp-build modules are told by their own
 * sections; an upstream-style module by its klp_patch structure, which a kpatch or
 * klp-build module only builds at load time.
 */
const READERS: [LivepatchFormat, (object: ElfObject, warnings: string[]) => LivepatchObject[] | undefined][] = [
  ['kpatch', readKpatch],
  ['klp-build', readKlpBuild],
  ['upstream', readUpstream],
];

/** A built livepatch module's objects and functions, in whichever format it is. */
export function readLivepatch(path: string): LivepatchModule {
  const object = openObject(path);
  // The readers know x86-64's layouts only (pointers 8 bytes, little-endian).
  if (object.machine !== EM_X86_64 || object.elfClass !== 64) throw new InputError(path, 'audit reads x86-64 livepatch modules only');
  const warnings: string[] = [];
  for (const [format, read] of READERS) {
    const objects = read(object, warnings);
    if (objects === undefined) continue;
    if (modinfoValue(object, 'livepatch') !== 'Y') warnings.push(`${path}: has ${format} livepatch structures but no livepatch=Y in .modinfo`);
    return { path, object, format, moduleName: moduleName(object), release: kernelRelease(object), objects, warnings };
  }
  const tagged = modinfoValue(object, 'livepatch') === 'Y';
  throw new InputError(
    path,
    tagged
      ? 'is tagged livepatch=Y but has no klp_patch, .kpatch.funcs or klp_objects section that audit can read'
      : 'is not a livepatch module (no livepatch=Y in .modinfo, no klp_patch, .kpatch.funcs or klp_objects)',
  );
}
