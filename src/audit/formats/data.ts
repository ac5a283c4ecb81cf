import { SHF_EXECINSTR, SHN_UNDEF, STT_FUNC, STT_NOTYPE, STT_OBJECT, STT_SECTION, type ElfObject, type ElfSymbol } from '../../elf/types.js';

/*
 * Reading initialized C data out of a relocatable module: the pointers of a livepatch's
 * structures are zero in the section's bytes and live in its relocations, so a field is
 * read as "the relocation at this offset, and where it points".
 */

/** Where a pointer field points, as the relocation says. */
export type Pointee =
  | { kind: 'local'; section: number; offset: number; symbol?: ElfSymbol }
  /** An undefined symbol (resolved when the module is loaded). */
  | { kind: 'external'; name: string };

/** The pointer fields of one section: its relocations by the offset they patch. */
export class SectionPointers {
  private readonly byOffset = new Map<number, Pointee>();

  constructor(
    readonly object: ElfObject,
    readonly section: number,
  ) {
    const table = object.relocationTable(section);
    for (let i = 0; i < table.count; i++) {
      const symbol = object.symbols[table.symbol[i]];
      if (!symbol) continue;
      this.byOffset.set(table.offset[i], pointee(symbol, table.addend[i]));
    }
  }

  at(offset: number): Pointee | undefined {
    return this.byOffset.get(offset);
  }

  /** The offsets that hold a pointer, ascending. */
  offsets(): number[] {
    return [...this.byOffset.keys()].sort((a, b) => a - b);
  }
}

function pointee(symbol: ElfSymbol, addend: number): Pointee {
  if (symbol.shndx === SHN_UNDEF || symbol.reserved) return { kind: 'external', name: symbol.name };
  if (symbol.type === STT_SECTION) return { kind: 'local', section: symbol.shndx, offset: addend };
  return { kind: 'local', section: symbol.shndx, offset: symbol.value + addend, symbol };
}

/** The NUL-terminated string a pointer points to; undefined when it points to no string. */
export function stringAt(object: ElfObject, p: Pointee | undefined): string | undefined {
  // Code is no string (a function's bytes end in a NUL somewhere too).
  if (p?.kind !== 'local' || (object.sections[p.section].flags & SHF_EXECINSTR) !== 0) return undefined;
  const data = object.sectionData(p.section);
  if (p.offset < 0 || p.offset >= data.length) return undefined;
  const end = data.indexOf(0, p.offset);
  if (end < 0) return undefined;
  return Buffer.from(data.subarray(p.offset, end)).toString('latin1');
}

/**
 * The name of the function a pointer points to: the symbol the relocation names, or (for a
 * relocation against the section, as the assembler makes them for local symbols) the
 * function symbol at that place.
 */
function functionNameAt(object: ElfObject, p: Pointee | undefined): string | undefined {
  if (!p) return undefined;
  if (p.kind === 'external') return p.name;
  if (p.symbol && (p.symbol.type === STT_FUNC || p.symbol.type === STT_NOTYPE)) return p.symbol.name;
  let best: ElfSymbol | undefined;
  for (const s of object.symbols) {
    if (s.shndx !== p.section || s.value !== p.offset || s.reserved || !s.name) continue;
    if (s.type === STT_FUNC) return s.name;
    if (s.type === STT_NOTYPE && !best) best = s;
  }
  return best?.name;
}

/** Where a pointer points when that is in the module's own code. */
function codeAddressAt(object: ElfObject, p: Pointee | undefined): { section: number; offset: number } | undefined {
  if (p?.kind !== 'local' || (object.sections[p.section]?.flags & SHF_EXECINSTR) === 0) return undefined;
  return { section: p.section, offset: p.offset };
}

/** The function a `new_func` pointer names: its name, and its place when it is the module's own code. */
export function newFunctionAt(object: ElfObject, p: Pointee | undefined): { newFunc?: string; newCode?: { section: number; offset: number } } {
  const newFunc = functionNameAt(object, p);
  const newCode = codeAddressAt(object, p);
  return { ...(newFunc !== undefined ? { newFunc } : {}), ...(newCode ? { newCode } : {}) };
}

/** The data symbol (an array's name, with its size) that starts where a pointer points. */
export function objectSymbolAt(object: ElfObject, section: number, offset: number): ElfSymbol | undefined {
  return object.symbols.find((s) => s.type === STT_OBJECT && s.shndx === section && s.value === offset && s.size > 0 && !s.reserved);
}

/** An unsigned 64-bit little-endian field (an `unsigned long`), as a number. */
export function u64At(object: ElfObject, section: number, offset: number): number {
  const data = object.sectionData(section);
  if (offset + 8 > data.length) return 0;
  return Number(new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(offset, true));
}

export function u32At(object: ElfObject, section: number, offset: number): number {
  const data = object.sectionData(section);
  if (offset + 4 > data.length) return 0;
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(offset, true);
}

export function u8At(object: ElfObject, section: number, offset: number): number {
  const data = object.sectionData(section);
  return offset < data.length ? data[offset] : 0;
}

export function sectionNamed(object: ElfObject, ...names: string[]): number | undefined {
  for (const name of names) {
    const found = object.sections.find((s) => s.name === name);
    if (found) return found.index;
  }
  return undefined;
}
