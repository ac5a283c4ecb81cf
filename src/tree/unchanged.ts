import { SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHN_LORESERVE, SHN_UNDEF, SHN_XINDEX, SHT_NOBITS, SHT_REL, SHT_RELA, SHT_STRTAB, SHT_SYMTAB, STT_SECTION, type ElfObject } from '../elf/types.js';
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

/** The relevant sections of both objects agree in name, type, size, flags and bytes. */
function sameSections(a: ElfObject, b: ElfObject): boolean {
  const sectionsA = a.sections.filter((s) => relevant(a, s.index));
  const sectionsB = b.sections.filter((s) => relevant(b, s.index));
  if (sectionsA.length !== sectionsB.length) return false;
  for (let i = 0; i < sectionsA.length; i++) {
    const sa = sectionsA[i];
    const sb = sectionsB[i];
    if (sa.name !== sb.name || sa.type !== sb.type || sa.size !== sb.size || sa.flags !== sb.flags) return false;
    if (sa.type !== SHT_NOBITS && !sameBytes(a.sectionData(sa.index), b.sectionData(sb.index))) return false;
  }
  return true;
}

/** The symbol table's raw entries, read without making an object per symbol. */
class RawSymbols {
  readonly count: number;
  private readonly view: DataView;
  private readonly names: Uint8Array;
  private readonly le: boolean;
  private readonly is64: boolean;

  constructor(object: ElfObject) {
    const symtab = object.sections.find((s) => s.type === SHT_SYMTAB);
    const strtab = symtab && object.sections[symtab.link];
    this.is64 = object.elfClass === 64;
    this.le = object.endian === 'little';
    const entsize = this.is64 ? 24 : 16;
    if (!symtab || !strtab || strtab.type !== SHT_STRTAB || symtab.size % entsize !== 0) throw new RangeError('no usable symbol table');
    const data = object.sectionData(symtab.index);
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.names = object.sectionData(strtab.index);
    this.count = symtab.size / entsize;
  }

  nameOffset(i: number): number {
    return this.view.getUint32(i * (this.is64 ? 24 : 16), this.le);
  }
  info(i: number): number {
    return this.view.getUint8(i * (this.is64 ? 24 : 16) + (this.is64 ? 4 : 12));
  }
  shndx(i: number): number {
    return this.view.getUint16(i * (this.is64 ? 24 : 16) + (this.is64 ? 6 : 14), this.le);
  }
  value(i: number): number {
    return this.is64 ? this.u64(i * 24 + 8) : this.view.getUint32(i * 16 + 4, this.le);
  }
  size(i: number): number {
    return this.is64 ? this.u64(i * 24 + 16) : this.view.getUint32(i * 16 + 8, this.le);
  }
  private u64(at: number): number {
    const lo = this.view.getUint32(at + (this.le ? 0 : 4), this.le);
    const hi = this.view.getUint32(at + (this.le ? 4 : 0), this.le);
    return hi * 0x1_0000_0000 + lo;
  }
  /** End of the name at `offset` (its terminating zero). */
  nameEnd(offset: number): number {
    const names = this.names;
    let end = offset;
    while (end < names.length && names[end] !== 0) end++;
    if (end >= names.length) throw new RangeError('unterminated name');
    return end;
  }
  sameName(i: number, other: RawSymbols, j: number): boolean {
    const x = this.nameOffset(i);
    const y = other.nameOffset(j);
    const endX = this.nameEnd(x);
    const endY = other.nameEnd(y);
    if (endX - x !== endY - y) return false;
    for (let k = 0; k < endX - x; k++) if (this.names[x + k] !== other.names[y + k]) return false;
    return true;
  }
  name(i: number): string {
    const offset = this.nameOffset(i);
    return Buffer.from(this.names.buffer, this.names.byteOffset + offset, this.nameEnd(offset) - offset).toString('latin1');
  }
}

/**
 * `sameCode` for objects parsed with `skipSymbols`: the symbol tables are compared entry by
 * entry from their bytes. Anything it cannot read is "not the same", and the full
 * comparison, which parses and checks everything, takes over.
 */
export function sameCodeQuick(a: ElfObject, b: ElfObject): boolean {
  if (!sameSections(a, b)) return false;
  try {
    const x = new RawSymbols(a);
    const y = new RawSymbols(b);
    if (x.count !== y.count) return false;
    for (let i = 0; i < x.count; i++) {
      const info = x.info(i);
      if (info !== y.info(i)) return false;
      if (!x.sameName(i, y, i) && normalizeName(x.name(i)) !== normalizeName(y.name(i))) return false;
      const rawA = x.shndx(i);
      const rawB = y.shndx(i);
      if (rawA === SHN_XINDEX || rawB === SHN_XINDEX) return false; // rare: leave it to the full comparison
      if ((rawA < SHN_LORESERVE && rawA >= a.sections.length) || (rawB < SHN_LORESERVE && rawB >= b.sections.length)) return false;
      if ((info & 0xf) === STT_SECTION && rawA === rawB) continue;
      const inA = rawA !== SHN_UNDEF && rawA < SHN_LORESERVE ? a.sections[rawA] : undefined;
      const inB = rawB !== SHN_UNDEF && rawB < SHN_LORESERVE ? b.sections[rawB] : undefined;
      if ((inA?.name ?? rawA) !== (inB?.name ?? rawB)) return false;
      if (inA && NOISE.test(inA.name)) continue;
      if (x.value(i) !== y.value(i) || x.size(i) !== y.size(i)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * A quick proof that two builds of an object have the same code: every code and read-only
 * section and its relocations byte for byte, and the symbols that code can refer to. When
 * it says no, the full comparison decides; it only saves modelling objects whose
 * differences lie in build IDs, signatures and version strings.
 */
export function sameCode(a: ElfObject, b: ElfObject): boolean {
  if (!sameSections(a, b)) return false;
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
