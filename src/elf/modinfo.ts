import type { ElfObject } from './types.js';

/** The `key=value` entries of a kernel module's `.modinfo`, in order; empty for other objects. */
function modinfo(object: ElfObject): [string, string][] {
  const section = object.sections.find((s) => s.name === '.modinfo');
  if (!section) return [];
  const text = Buffer.from(object.sectionData(section.index)).toString('latin1');
  const entries: [string, string][] = [];
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) entries.push([entry.slice(0, eq), entry.slice(eq + 1)]);
  }
  return entries;
}

/** `name=` from a module's .modinfo: the name its klp_object needs. */
export function moduleName(object: ElfObject): string | undefined {
  return modinfo(object).find(([key]) => key === 'name')?.[1];
}

/** The kernel release a module was built for: the first word of `vermagic=` (`6.1.0-54-amd64`). */
export function kernelRelease(object: ElfObject): string | undefined {
  const vermagic = modinfo(object).find(([key]) => key === 'vermagic')?.[1];
  const release = vermagic?.trim().split(/\s+/)[0];
  return release ? release : undefined;
}

/** The value of one `.modinfo` key (`livepatch` is `Y` in a livepatch module), if present. */
export function modinfoValue(object: ElfObject, key: string): string | undefined {
  return modinfo(object).find(([k]) => k === key)?.[1];
}
