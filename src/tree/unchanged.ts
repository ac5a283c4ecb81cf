import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHN_UNDEF, SHT_NOBITS, SHT_REL, SHT_RELA, STT_SECTION, type ElfObject } from '../elf/types.js';
import { normalizeName } from '../compare/match.js';

/**
 * Sections whose content changes with every build and never reaches code: module signing
 * and version data (__versions and __kcrctab hold CRCs of exported types), notes, BTF,
 * the compiler's name.
 */
const NOISE = /^(\.modinfo|\.note\..*|\.comment|\.BTF.*|__versions|__kcrctab.*|\.gnu\.linkonce\.this_module|\.rela?(\.gnu\.linkonce\.this_module|__versions|__kcrctab.*|\.BTF.*))$/;

function relevant(object: ElfObject, index: number): boolean {
  const section = object.sections[index];
  if (NOISE.test(section.name)) return false;
  if (section.type === SHT_RELA || section.type === SHT_REL) return relevant(object, section.info);
  return (section.flags & SHF_ALLOC) !== 0 && ((section.flags & SHF_EXECINSTR) !== 0 || (section.flags & SHF_WRITE) === 0);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/**
 * A quick proof that two builds of an object have the same code: every code and read-only
 * section and its relocations byte for byte, and the symbols that code can refer to. When
 * it says no, the full comparison decides; it only saves modelling objects whose
 * differences lie in build IDs, signatures and version strings.
 */
export function sameCode(a: ElfObject, b: ElfObject): boolean {
  const sectionsA = a.sections.filter((s) => relevant(a, s.index));
  const sectionsB = b.sections.filter((s) => relevant(b, s.index));
  if (sectionsA.length !== sectionsB.length) return false;
  for (let i = 0; i < sectionsA.length; i++) {
    const sa = sectionsA[i];
    const sb = sectionsB[i];
    if (sa.name !== sb.name || sa.type !== sb.type || sa.size !== sb.size || sa.flags !== sb.flags) return false;
    if (sa.type !== SHT_NOBITS && !sameBytes(a.sectionData(sa.index), b.sectionData(sb.index))) return false;
  }
  // Relocations name symbols by index, so the symbol tables must agree entry for entry on
  // everything but symbols of the noisy sections (whose values move with version strings).
  if (a.symbols.length !== b.symbols.length) return false;
  for (let i = 0; i < a.symbols.length; i++) {
    const x = a.symbols[i];
    const y = b.symbols[i];
    if ((x.name !== y.name && normalizeName(x.name) !== normalizeName(y.name)) || x.type !== y.type || x.bind !== y.bind) return false;
    if (x.type === STT_SECTION && x.shndx === y.shndx) continue;
    const inA = x.shndx !== SHN_UNDEF && !x.reserved ? a.sections[x.shndx] : undefined;
    const inB = y.shndx !== SHN_UNDEF && !y.reserved ? b.sections[y.shndx] : undefined;
    if ((inA?.name ?? x.shndx) !== (inB?.name ?? y.shndx)) return false;
    if (inA && NOISE.test(inA.name)) continue;
    if (x.value !== y.value || x.size !== y.size) return false;
  }
  return true;
}
