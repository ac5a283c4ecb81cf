/** ELF constants and the shapes the reader produces. Numbers follow the gABI. */

export const ET_REL = 1;

export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_GROUP = 17;
export const SHT_SYMTAB_SHNDX = 18;

export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const SHF_MERGE = 0x10;
export const SHF_STRINGS = 0x20;

export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;

export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;

export const GRP_COMDAT = 1;

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

export interface ElfSymbol {
  index: number;
  name: string;
  value: number;
  size: number;
  type: number;
  bind: number;
  visibility: number;
  /** Section index after resolving SHN_XINDEX through SHT_SYMTAB_SHNDX; reserved values (SHN_ABS, SHN_COMMON) kept as is. */
  shndx: number;
  /**
   * True when `shndx` is such a reserved value (st_shndx in SHN_LORESERVE..SHN_HIRESERVE
   * other than SHN_XINDEX) rather than a section index. In an object with more than
   * 0xff00 sections the same numbers are also real section indices (a symbol in section
   * 0xfff1 has shndx 0xfff1, like an SHN_ABS one): test this flag, not the number.
   * The reader always sets it; optional only so that hand-made test symbols need not.
   */
  reserved?: boolean;
  /** Name of the STT_FILE symbol that scopes this local symbol, if any. */
  file?: string;
}

export interface ElfRelocation {
  offset: number;
  type: number;
  symbol: number;
  /** Explicit for SHT_RELA; for SHT_REL the field is read by the architecture backend. */
  addend: number;
}

/**
 * Relocations of one section in columns, ascending by offset: what the hot paths read.
 * Typed arrays keep hundreds of thousands of entries out of the garbage collector's way.
 */
export interface RelocationTable {
  readonly count: number;
  readonly offset: Float64Array;
  readonly type: Uint32Array;
  readonly symbol: Uint32Array;
  readonly addend: Float64Array;
  /** Index of the first entry at or after `offset`. */
  lowerBound(offset: number): number;
}

export interface ElfRelocationSection {
  /** Index of the SHT_REL/SHT_RELA section itself. */
  index: number;
  /** Section the relocations apply to (sh_info). */
  target: number;
  explicitAddends: boolean;
  readonly relocations: ElfRelocation[];
}

export interface ElfGroup {
  index: number;
  flags: number;
  /** Signature symbol index (sh_info of the group section). */
  signature: number;
  members: number[];
}

export interface ElfObject {
  path: string;
  elfClass: 32 | 64;
  endian: 'little' | 'big';
  type: number;
  machine: number;
  sections: ElfSection[];
  symbols: ElfSymbol[];
  relocationSections: ElfRelocationSection[];
  groups: ElfGroup[];
  /** Relocation sections by the index of the section they apply to. */
  relocationsFor(sectionIndex: number): ElfRelocation[];
  /** The relocations that apply to a section, in columns, sorted by offset. */
  relocationTable(sectionIndex: number): RelocationTable;
  /** A view (no copy) of a section's bytes; empty for SHT_NOBITS. */
  sectionData(sectionIndex: number): Uint8Array;
  /** Size of the whole file, for reporting. */
  fileSize: number;
  /**
   * For an object parsed with `skipSymbols`: the same object with its symbols read (and
   * checked), reusing the section table already parsed.
   */
  withSymbols?(): ElfObject;
}
