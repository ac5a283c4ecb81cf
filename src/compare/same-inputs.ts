import { SHF_EXECINSTR, SHN_LORESERVE, SHN_UNDEF, SHT_NOBITS, SHT_REL, SHT_RELA, SHT_STRTAB, SHT_SYMTAB, SHT_SYMTAB_SHNDX, STT_FUNC, type ElfObject } from '../elf/types.js';
import { backendFor } from '../arch/index.js';
import { specialSectionNames } from '../model/special.js';
import { normalizeName } from './match.js';

/**
 * Whether the full comparison of two builds of an object would find no difference, proven
 * from what that comparison reads without modelling either object. The comparison reads:
 * executable sections and their relocations; the symbols (names, types, bindings, sections,
 * values, sizes); the kernel's tables about code, by name; and data only where a relocation
 * leads to it. So a section may differ between the builds only if it is none of these:
 * not executable, not such a table, and no relocation (outside the differing sections
 * themselves) names a symbol in it: build IDs, `.modinfo`, `__versions`, BTF, CRC tables
 * and the like. Every other section must be byte-identical, and the symbol tables must agree
 * entry for entry (values and sizes only outside the differing sections; names exactly, or
 * up to `__COUNTER__`-style numbers for symbols that are not functions, which the comparison
 * does not report on).
 *
 * This is the comparison's own rule, not a second one: anything it cannot prove goes to the
 * full comparison, and test/kernel-modules.test.ts checks it against that comparison. It
 * reads the symbol tables in place, so it works on objects parsed without symbols.
 */
export function sameComparisonInputs(a: ElfObject, b: ElfObject): boolean {
  if (a.machine !== b.machine || a.elfClass !== b.elfClass || a.endian !== b.endian || a.sections.length !== b.sections.length) return false;
  // Section names the comparison reads by name, whatever refers to them.
  const readByName = specialSectionNames(backendFor(a));
  const differing = new Uint8Array(a.sections.length);
  for (let i = 0; i < a.sections.length; i++) {
    const x = a.sections[i];
    const y = b.sections[i];
    if (x.name !== y.name || x.type !== y.type || x.flags !== y.flags || x.link !== y.link || x.info !== y.info) return false;
    if (x.size === y.size && (x.type === SHT_NOBITS || sameBytes(a.sectionData(i), b.sectionData(i)))) continue;
    // Names and symbols are compared entry by entry below; their tables' bytes may differ.
    if (x.type === SHT_SYMTAB || x.type === SHT_STRTAB) continue;
    if (x.flags & SHF_EXECINSTR || readByName.has(x.name)) return false;
    differing[i] = 1;
  }
  // Relocations of a differing section belong to it; any other relocation section must be
  // identical (checked above) and must not lead into a differing section.
  for (let i = 0; i < a.sections.length; i++) {
    const section = a.sections[i];
    if (section.type !== SHT_RELA && section.type !== SHT_REL) continue;
    if (differing[i] && !differing[section.info]) return false;
  }
  const x = RawSymbols.of(a);
  const y = RawSymbols.of(b);
  if (!x || !y || x.count !== y.count || !symbolsAgree(a, x, y, differing)) return false;
  // The relocation sections outside the differing ones are identical in both objects and
  // so are the symbols' sections: one side tells whether any leads into a differing section.
  const inDiffering = new Uint8Array(x.count);
  let any = false;
  for (let i = 0; i < x.count; i++) {
    const shndx = x.shndx(i);
    if (shndx !== SHN_UNDEF && shndx < SHN_LORESERVE && differing[shndx]) {
      inDiffering[i] = 1;
      any = true;
    }
  }
  return !any || !relocationsReach(a, differing, inDiffering);
}

/** Whether a relocation outside the differing sections names one of the marked symbols (read in place). */
function relocationsReach(object: ElfObject, differing: Uint8Array, marked: Uint8Array): boolean {
  const le = object.endian === 'little';
  const is64 = object.elfClass === 64;
  for (const section of object.sections) {
    if ((section.type !== SHT_RELA && section.type !== SHT_REL) || differing[section.info]) continue;
    const entry = is64 ? (section.type === SHT_RELA ? 24 : 16) : section.type === SHT_RELA ? 12 : 8;
    const data = object.sectionData(section.index);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    // r_info's symbol index: the high word of a 64-bit r_info, the top 24 bits of a 32-bit one.
    const at = is64 ? (le ? 12 : 8) : 4;
    for (let off = 0; off + entry <= data.length; off += entry) {
      const symbol = is64 ? view.getUint32(off + at, le) : view.getUint32(off + at, le) >>> 8;
      if (symbol >= marked.length || marked[symbol]) return true;
    }
  }
  return false;
}

/**
 * The symbol table read in place, entry by entry: most pairs of a rebuilt tree are settled
 * here, and making an object of each of their symbols would cost more than the proof.
 * Anything unusual (extended section indices, a name outside the string table) makes it
 * decline, and the full comparison, which reads and checks everything, takes over.
 */
class RawSymbols {
  /** Index of the string table's last NUL: a name is terminated when it starts at or before it. */
  private readonly lastNul: number;

  private constructor(
    private readonly view: DataView,
    private readonly names: Uint8Array,
    private readonly entry: number,
    private readonly le: boolean,
    readonly count: number,
  ) {
    let last = names.length - 1;
    while (last >= 0 && names[last] !== 0) last--;
    this.lastNul = last;
  }

  static of(object: ElfObject): RawSymbols | undefined {
    const symtab = object.sections.find((s) => s.type === SHT_SYMTAB);
    if (!symtab) return undefined;
    const strtab = object.sections[symtab.link];
    const entry = object.elfClass === 64 ? 24 : 16;
    if (!strtab || strtab.type !== SHT_STRTAB || symtab.size % entry !== 0) return undefined;
    if (object.sections.some((s) => s.type === SHT_SYMTAB_SHNDX)) return undefined;
    const data = object.sectionData(symtab.index);
    const symbols = new RawSymbols(new DataView(data.buffer, data.byteOffset, data.byteLength), object.sectionData(strtab.index), entry, object.endian === 'little', symtab.size / entry);
    for (let i = 0; i < symbols.count; i++) {
      if (symbols.nameOffset(i) > symbols.lastNul) return undefined;
      const shndx = symbols.shndx(i);
      if (shndx !== SHN_UNDEF && shndx < SHN_LORESERVE && shndx >= object.sections.length) return undefined;
    }
    return symbols;
  }

  private get is64(): boolean {
    return this.entry === 24;
  }
  nameOffset(i: number): number {
    return this.view.getUint32(i * this.entry, this.le);
  }
  info(i: number): number {
    return this.view.getUint8(i * this.entry + (this.is64 ? 4 : 12));
  }
  other(i: number): number {
    return this.view.getUint8(i * this.entry + (this.is64 ? 5 : 13));
  }
  shndx(i: number): number {
    return this.view.getUint16(i * this.entry + (this.is64 ? 6 : 14), this.le);
  }
  /** Value and size as one comparable pair of words (exact for 64-bit fields too). */
  sameValueAndSize(i: number, other: RawSymbols): boolean {
    const at = i * this.entry + (this.is64 ? 8 : 4);
    for (let k = 0; k < (this.is64 ? 16 : 8); k += 4) if (this.view.getUint32(at + k, this.le) !== other.view.getUint32(at + k, other.le)) return false;
    return true;
  }
  /** End of symbol i's name in the string table (its NUL: every name was checked to have one). */
  nameEnd(i: number): number {
    const names = this.names;
    let end = this.nameOffset(i);
    while (names[end] !== 0) end++;
    return end;
  }
  name(i: number): string {
    return Buffer.from(this.names.buffer, this.names.byteOffset + this.nameOffset(i), this.nameEnd(i) - this.nameOffset(i)).toString('latin1');
  }
  /** The same bytes, up to and with the NUL of both. */
  sameName(i: number, other: RawSymbols): boolean {
    const a = this.names;
    const b = other.names;
    for (let x = this.nameOffset(i), y = other.nameOffset(i); ; x++, y++) {
      const c = a[x];
      if (c !== b[y]) return false;
      if (c === 0) return true;
    }
  }
  /**
   * True when the names are the same once normalizeName has replaced their numbers (read
   * from the bytes, without making either name); false when that takes normalizeName itself.
   */
  sameUpToNumbers(i: number, other: RawSymbols): boolean {
    return sameUpToNumbers(this.names, this.nameOffset(i), other.names, other.nameOffset(i));
  }
}

const UNIQUE_ID = Buffer.from('__UNIQUE_ID_', 'latin1');
const DOT = 0x2e;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function startsWithUniqueId(names: Uint8Array, at: number): boolean {
  for (let k = 0; k < UNIQUE_ID.length; k++) if (names[at + k] !== UNIQUE_ID[k]) return false;
  return true;
}

/**
 * Whether normalizeName (compare/match.ts) replaces the run of digits [from, to) of the name
 * starting at `start` with `N`: the first run of a `__UNIQUE_ID_` name (that prefix has no
 * digits), and every run between a dot and a dot or the name's end.
 */
function replacedRun(names: Uint8Array, start: number, from: number, to: number, firstRun: boolean): boolean {
  if (firstRun && startsWithUniqueId(names, start)) return true;
  return from > start && names[from - 1] === DOT && (names[to] === 0 || names[to] === DOT);
}

/**
 * Two NUL-terminated names compared as normalizeName would leave them: each run of digits
 * it replaces in both names matches any other such run; everything else must be the same
 * bytes. True only when that proves the normalized names equal; false when the names
 * differ otherwise (a run replaced in one name only, a literal `N`), for normalizeName
 * itself to decide.
 */
export function sameUpToNumbers(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number): boolean {
  let x = aStart;
  let y = bStart;
  let xRuns = 0;
  let yRuns = 0;
  for (;;) {
    const c = a[x];
    const d = b[y];
    if (isDigit(c) && isDigit(d)) {
      let xEnd = x + 1;
      while (isDigit(a[xEnd])) xEnd++;
      let yEnd = y + 1;
      while (isDigit(b[yEnd])) yEnd++;
      const xReplaced = replacedRun(a, aStart, x, xEnd, xRuns++ === 0);
      const yReplaced = replacedRun(b, bStart, y, yEnd, yRuns++ === 0);
      if (xReplaced !== yReplaced) return false;
      if (!xReplaced) {
        if (xEnd - x !== yEnd - y) return false;
        for (let k = 0; k < xEnd - x; k++) if (a[x + k] !== b[y + k]) return false;
      }
      x = xEnd;
      y = yEnd;
      continue;
    }
    if (c !== d) return false;
    if (c === 0) return true;
    x++;
    y++;
  }
}

function symbolsAgree(a: ElfObject, x: RawSymbols, y: RawSymbols, differing: Uint8Array): boolean {
  for (let i = 0; i < x.count; i++) {
    const info = x.info(i);
    const shndx = x.shndx(i);
    if (info !== y.info(i) || x.other(i) !== y.other(i) || shndx !== y.shndx(i)) return false;
    const inSection = shndx !== SHN_UNDEF && shndx < SHN_LORESERVE;
    if (!x.sameName(i, y)) {
      const inCode = inSection && (a.sections[shndx].flags & SHF_EXECINSTR) !== 0;
      if ((info & 0xf) === STT_FUNC || inCode) return false;
      if (!x.sameUpToNumbers(i, y) && normalizeName(x.name(i)) !== normalizeName(y.name(i))) return false;
    }
    if (inSection && differing[shndx]) continue;
    if (!x.sameValueAndSize(i, y)) return false;
  }
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  // The reader's section views are Buffers already: no wrapper needed for them.
  return asBuffer(a).equals(asBuffer(b));
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
