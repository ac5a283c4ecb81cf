import type { SectionPointers } from './data.js';

/*
 * A static array of C structures (klp_func[], klp_object[]) read without knowing the
 * structure's size: only the first fields are the interface, the rest is the kernel's
 * internal state, whose size depends on the kernel's configuration (struct kobject grows
 * with CONFIG_DEBUG_KOBJECT_RELEASE). The size is found in the object instead: from the
 * array's symbol (gcc gives static arrays a sized STT_OBJECT symbol, and kbuild keeps it),
 * or else from where consecutive entries' pointers are.
 */

export interface ArrayShape {
  /** Offsets, within an entry, of its pointer fields (those that may have a relocation). */
  pointerFields: readonly number[];
  /** The field whose pointer marks each entry (the one entries always have), and what it points to. */
  keyField: number;
  isKey(offset: number): boolean;
  /** Whether the entry at this offset is the terminator (all its interface fields zero). */
  isEmpty(entry: number): boolean;
}

/** The offsets of the entries before the terminator, and the stride found. */
export interface ArrayEntries {
  entries: number[];
  stride?: number;
}

/**
 * An array of `size` bytes holds n entries, the last one the terminator. The stride is
 * the one for which every entry but the last has some field set, the last has none, and
 * every pointer inside the array is at a pointer field of its entry: a wrong guess puts a
 * real entry's pointers at offsets no field has.
 */
function fromSize(pointers: SectionPointers, start: number, size: number, shape: ArrayShape): ArrayEntries | undefined {
  // A symbol's size is the object's word: one past its section says nothing of the array.
  if (!Number.isSafeInteger(size) || size <= 0 || start + size > pointers.object.sectionData(pointers.section).length) return undefined;
  const inside = pointers.offsets().filter((o) => o >= start && o < start + size);
  const least = Math.max(...shape.pointerFields) + 8;
  for (let n = 2; n <= size / least; n++) {
    if (size % n !== 0 || (size / n) % 8 !== 0) continue;
    const stride = size / n;
    if (!shape.isEmpty(start + (n - 1) * stride)) continue;
    let e = start;
    while (e < start + (n - 1) * stride && !shape.isEmpty(e)) e += stride;
    if (e < start + (n - 1) * stride) continue;
    if (!inside.every((o) => shape.pointerFields.includes((o - start) % stride))) continue;
    return { entries: Array.from({ length: n - 1 }, (_, i) => start + i * stride), stride };
  }
  return undefined;
}

/** Whether the array at `start` with this stride has its pointers only where its entries' pointer fields are, up to its terminator. */
function walk(pointers: SectionPointers, start: number, stride: number, shape: ArrayShape): number[] | undefined {
  const entries: number[] = [];
  for (let e = start; !shape.isEmpty(e); e += stride) entries.push(e);
  const end = start + (entries.length + 1) * stride;
  const inside = pointers.offsets().filter((o) => o >= start && o < end);
  return inside.every((o) => shape.pointerFields.includes((o - start) % stride)) ? entries : undefined;
}

/**
 * Without a size: the entries' key pointers. The stride is a distance from the first key to
 * a later one (at least the interface fields' extent): the first such distance with which
 * the array's pointers all fall on its entries' pointer fields, up to an empty entry. Keys
 * of the arrays that follow in the section give wrong distances, which fail that test.
 * Undefined when none passes: an array of one entry, or one this cannot tell.
 */
function fromKeys(pointers: SectionPointers, start: number, shape: ArrayShape): ArrayEntries | undefined {
  if (shape.isEmpty(start)) return { entries: [] };
  const keys = pointers.offsets().filter((o) => o >= start + shape.keyField && shape.isKey(o));
  const least = Math.max(...shape.pointerFields) + 8;
  if (keys[0] === start + shape.keyField) {
    for (const key of keys.slice(1)) {
      const stride = key - keys[0];
      if (stride < least || stride % 8 !== 0) continue;
      const entries = walk(pointers, start, stride, shape);
      if (entries) return { entries, stride };
    }
  }
  return undefined;
}

/**
 * The entries of the array at `start`; `size` is its symbol's size when it has one. When
 * neither way tells the stride, only the first entry is read, and `stride` is undefined.
 */
export function arrayEntries(pointers: SectionPointers, start: number, shape: ArrayShape, size?: number): ArrayEntries {
  return (size !== undefined ? fromSize(pointers, start, size, shape) : undefined) ?? fromKeys(pointers, start, shape) ?? { entries: [start] };
}
