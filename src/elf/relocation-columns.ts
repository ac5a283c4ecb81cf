import { lowerBound } from '../sorted.js';
import type { RelocationTable } from './types.js';

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * ELF64 little-endian RELA entries read as 32-bit words of the file, where the host is
 * little-endian and the section is 4-byte aligned in memory (always, in practice): a kernel
 * tree's changed modules have millions of relocations, and one DataView read per field cost
 * several times as much. False, with nothing filled in for certain, when the words cannot
 * be used or an entry is out of range: the field-by-field reader then says which.
 */
export function readRela64Words(bytes: Uint8Array, offset: number, count: number, symbolCount: number, targetSize: number, columns: Columns, first: number): boolean {
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

export interface Columns {
  offset: Float64Array;
  type: Uint32Array;
  symbol: Uint32Array;
  addend: Float64Array;
}

export function newColumns(count: number): Columns {
  return { offset: new Float64Array(count), type: new Uint32Array(count), symbol: new Uint32Array(count), addend: new Float64Array(count) };
}

export function copyColumns(from: Columns, into: Columns, first: number): void {
  into.offset.set(from.offset, first);
  into.type.set(from.type, first);
  into.symbol.set(from.symbol, first);
  into.addend.set(from.addend, first);
}

/** The relocations of one section (all its relocation sections' entries), sorted by offset (stable). */
export function sortedTable(joined: Columns): RelocationTable {
  const count = joined.offset.length;
  let sorted = true;
  for (let i = 1; i < count; i++) if (joined.offset[i] < joined.offset[i - 1]) sorted = false;
  if (!sorted) {
    const order = stableOrder(joined.offset);
    const o = { offset: new Float64Array(count), type: new Uint32Array(count), symbol: new Uint32Array(count), addend: new Float64Array(count) };
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
