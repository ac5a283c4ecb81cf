import { lowerBound } from '../sorted.js';
import { describeSection, type FileView } from './file-view.js';
import { SHT_NOBITS, SHT_RELA, type ElfRelocation, type ElfRelocationSection, type ElfSection, type RelocationTable } from './types.js';

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * ELF64 little-endian RELA entries read as 32-bit words of the file, where the host is
 * little-endian and the section is 4-byte aligned in memory (always, in practice): a kernel
 * tree's changed modules have millions of relocations, and one DataView read per field cost
 * several times as much. False, with nothing filled in for certain, when the words cannot
 * be used or an entry is out of range: the field-by-field reader then says which.
 */
function readRela64Words(bytes: Uint8Array, offset: number, count: number, symbolCount: number, targetSize: number, columns: Columns, first: number): boolean {
  if (!HOST_LITTLE_ENDIAN || (bytes.byteOffset + offset) % 4 !== 0) return false;
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + offset, count * 6);
  const { offset: offsets, type, symbol, addend } = columns;
  for (let i = first, w = 0; i < first + count; i++, w += 6) {
    const offsetHigh = words[w + 1];
    const at = offsetHigh === 0 ? words[w] : offsetHigh * 0x1_0000_0000 + words[w];
    const sym = words[w + 3];
    if (sym >= symbolCount || at >= targetSize) return false;
    offsets[i] = at;
    type[i] = words[w + 2];
    symbol[i] = sym;
    addend[i] = (words[w + 5] | 0) * 0x1_0000_0000 + words[w + 4];
  }
  return true;
}

interface Columns {
  offset: Float64Array;
  type: Uint32Array;
  symbol: Uint32Array;
  addend: Float64Array;
}

/**
 * Four columns over one buffer: a typed array's own backing store costs more to allocate
 * than the entries of a small section take to read, and a module has thousands of them.
 */
function newColumns(count: number): Columns {
  const buffer = new ArrayBuffer(count * 24);
  return {
    offset: new Float64Array(buffer, 0, count),
    addend: new Float64Array(buffer, count * 8, count),
    type: new Uint32Array(buffer, count * 16, count),
    symbol: new Uint32Array(buffer, count * 20, count),
  };
}

function copyColumns(from: Columns, into: Columns, first: number): void {
  into.offset.set(from.offset, first);
  into.type.set(from.type, first);
  into.symbol.set(from.symbol, first);
  into.addend.set(from.addend, first);
}

/** The relocations of one section (all its relocation sections' entries), sorted by offset (stable). */
function sortedTable(joined: Columns): RelocationTable {
  const count = joined.offset.length;
  let sorted = true;
  for (let i = 1; i < count; i++) if (joined.offset[i] < joined.offset[i - 1]) sorted = false;
  if (!sorted) {
    const order = stableOrder(joined.offset);
    const o = newColumns(count);
    for (let to = 0; to < count; to++) {
      const from = order[to];
      o.offset[to] = joined.offset[from];
      o.type[to] = joined.type[from];
      o.symbol[to] = joined.symbol[from];
      o.addend[to] = joined.addend[from];
    }
    joined = o;
  }
  const offsets = joined.offset;
  return {
    count,
    ...joined,
    lowerBound: (offset: number): number => lowerBound(offsets, offset),
  };
}

/**
 * The indices of `offsets` in ascending order of offset, equal offsets in index order. The
 * offsets lie inside a section of the file, so `offset * count + index` is an exact double
 * for any real file, and a native sort of those keys takes a fraction of the time of a sort
 * with a comparator (millions of entries: relocation sections joined for one target).
 */
function stableOrder(offsets: Float64Array): ArrayLike<number> {
  const count = offsets.length;
  let max = 0;
  for (let i = 0; i < count; i++) if (offsets[i] > max) max = offsets[i];
  if ((max + 1) * count > Number.MAX_SAFE_INTEGER) {
    return Array.from({ length: count }, (_, i) => i).sort((a, b) => offsets[a] - offsets[b] || a - b);
  }
  const keys = new Float64Array(count);
  for (let i = 0; i < count; i++) keys[i] = offsets[i] * count + i;
  keys.sort();
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = keys[i] % count;
  return order;
}

/**
 * One SHT_REL/SHT_RELA section, checked by the reader. Its entries are decoded on first
 * use: tree mode proves most objects unchanged from the raw section bytes and never needs
 * them. Their errors are ElfErrors all the same.
 */
export class RelocationSection implements ElfRelocationSection {
  readonly index: number;
  readonly target: number;
  readonly explicitAddends: boolean;
  readonly count: number;
  private decoded: Columns | undefined;
  private objects: ElfRelocation[] | undefined;

  constructor(
    private readonly file: FileView,
    private readonly section: ElfSection,
    private readonly targetSection: ElfSection,
    private readonly is64: boolean,
    private readonly symbolCount: number,
  ) {
    this.index = section.index;
    this.target = section.info;
    this.explicitAddends = section.type === SHT_RELA;
    this.count = section.size / this.entrySize;
  }

  private get entrySize(): number {
    return this.is64 ? (this.explicitAddends ? 24 : 16) : this.explicitAddends ? 12 : 8;
  }

  /** The entries in columns, in file order. */
  columns(): Columns {
    return (this.decoded ??= this.decodeInto(newColumns(this.count), 0));
  }

  /**
   * The entries written into `into` from entry `first` on: a target's several relocation
   * sections fill one set of columns, not a set each to be joined and dropped.
   */
  columnsInto(into: Columns, first: number): void {
    if (this.decoded) copyColumns(this.decoded, into, first);
    else this.decodeInto(into, first);
  }

  get relocations(): ElfRelocation[] {
    if (!this.objects) {
      const c = this.columns();
      const objects: ElfRelocation[] = new Array(this.count);
      for (let i = 0; i < this.count; i++) objects[i] = { offset: c.offset[i], type: c.type[i], symbol: c.symbol[i], addend: c.addend[i] };
      this.objects = objects;
    }
    return this.objects;
  }

  private decodeInto(columns: Columns, first: number): Columns {
    const { file, section, is64, symbolCount, count } = this;
    const rela = this.explicitAddends;
    const entsize = this.entrySize;
    // Callers read the bytes a relocation patches: an entry outside its section is corrupt.
    const target = this.targetSection;
    const targetSize = target.type === SHT_NOBITS ? 0 : target.size;
    if (is64 && rela && file.le && readRela64Words(file.bytes, section.offset, count, symbolCount, targetSize, columns, first)) return columns;
    for (let i = 0; i < count; i++) {
      const at = section.offset + i * entsize;
      let offset: number, symbol: number, rtype: number, addend = 0;
      if (is64) {
        offset = file.u64(at);
        const infoLo = file.u32(at + (file.le ? 8 : 12));
        const infoHi = file.u32(at + (file.le ? 12 : 8));
        symbol = infoHi;
        rtype = infoLo;
        if (rela) addend = file.i64(at + 16);
      } else {
        offset = file.u32(at);
        const info = file.u32(at + 4);
        symbol = info >>> 8;
        rtype = info & 0xff;
        if (rela) addend = file.i32(at + 8);
      }
      if (symbol >= symbolCount) file.fail(`${describeSection(section)}: relocation ${i} refers to symbol ${symbol}, but there are ${symbolCount}`);
      if (offset >= targetSize) file.fail(`${describeSection(section)}: relocation ${i} at offset 0x${offset.toString(16)} lies outside ${describeSection(target)} (size 0x${targetSize.toString(16)})`);
      columns.offset[first + i] = offset;
      columns.type[first + i] = rtype;
      columns.symbol[first + i] = symbol;
      columns.addend[first + i] = addend;
    }
    return columns;
  }
}

/**
 * An object's relocations by the section they apply to, gathered when first asked for: an
 * object may have tens of thousands of relocation sections and targets, and a search of
 * all of them per target is quadratic.
 */
export class RelocationIndex {
  private byTarget: Map<number, RelocationSection[]> | undefined;
  private readonly lists = new Map<number, ElfRelocation[]>();
  private readonly tables = new Map<number, RelocationTable>();

  constructor(private readonly sections: readonly RelocationSection[]) {}

  private parts(target: number): RelocationSection[] | undefined {
    if (!this.byTarget) {
      const byTarget = new Map<number, RelocationSection[]>();
      for (const rs of this.sections) {
        const list = byTarget.get(rs.target);
        if (list) list.push(rs);
        else byTarget.set(rs.target, [rs]);
      }
      this.byTarget = byTarget;
    }
    return this.byTarget.get(target);
  }

  /**
   * Two relocation sections for one target are legal: their entries are joined once, into
   * one array of the total length (not by repeated concat, quadratic in the number of
   * sections, nor with push(...), which overflows the call stack past ~100k entries).
   */
  relocationsFor(target: number): ElfRelocation[] {
    let list = this.lists.get(target);
    if (!list) {
      const parts = this.parts(target);
      if (!parts) list = [];
      else if (parts.length === 1) list = parts[0].relocations;
      else {
        list = new Array(parts.reduce((n, rs) => n + rs.count, 0));
        let at = 0;
        for (const rs of parts) for (const r of rs.relocations) list[at++] = r;
      }
      this.lists.set(target, list);
    }
    return list;
  }

  table(target: number): RelocationTable {
    let table = this.tables.get(target);
    if (!table) {
      const parts = this.parts(target) ?? [];
      let joined: Columns;
      if (parts.length === 1) joined = parts[0].columns();
      else {
        joined = newColumns(parts.reduce((n, rs) => n + rs.count, 0));
        let at = 0;
        for (const rs of parts) {
          rs.columnsInto(joined, at);
          at += rs.count;
        }
      }
      table = sortedTable(joined);
      this.tables.set(target, table);
    }
    return table;
  }
}
