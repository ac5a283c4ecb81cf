import type { RelocationTable } from '../elf/types.js';
import { lowerBound } from '../sorted.js';
import type { DecodedTwin, SectionCodeBuilder, UndecodableRange } from './section-code.js';

/*
 * What every backend's `decodeSection` does the same way, whatever the instruction set:
 * where linear decoding restarts, and copying the references of a range whose bytes the
 * twin has from the twin's decoded section.
 */

/**
 * Copies the references of the twin's range starting at `from` into [start, end) of this
 * section, whose bytes are the same: relocated ones take this section's relocation (same
 * place, same type) with the twin's correction to the addend, resolved ones move with the
 * range. Returns the index of the first relocation after the range, or -1 (and pushes
 * nothing) when the relocations do not line up, or an instruction runs past the range:
 * then the range is decoded.
 */
export function copyTwinRange(twin: DecodedTwin, from: number, start: number, end: number, table: RelocationTable, r: number, out: SectionCodeBuilder): number {
  const a = twin.code;
  const rel = twin.relocations;
  const delta = start - from;
  const fromEnd = from + (end - start);
  const mark = out.count;
  const fail = () => {
    out.truncate(mark);
    return -1;
  };
  // References are sorted by field, and a field lies in its instruction: start at `from`.
  let ra = rel.lowerBound(from);
  for (let k = lowerBound(a.fieldOffset, from); k < a.count && a.fieldOffset[k] < fromEnd + 16; k++) {
    const insn = a.insnOffset[k];
    if (insn < from || insn >= fromEnd) continue;
    if (a.fieldOffset[k] + a.fieldSize[k] > fromEnd) return fail();
    if (a.relocationType[k] < 0) {
      out.push(insn + delta, a.fieldOffset[k] + delta, a.fieldSize[k], a.kind[k], a.conditional[k] === 1, -1, a.value[k] + delta, -1);
      continue;
    }
    while (r < table.count && table.type[r] === 0 && table.offset[r] < end) r++;
    while (ra < rel.count && rel.offset[ra] < a.fieldOffset[k]) ra++;
    if (r >= table.count || table.offset[r] !== a.fieldOffset[k] + delta || table.type[r] !== a.relocationType[k]) return fail();
    if (ra >= rel.count || rel.offset[ra] !== a.fieldOffset[k] || rel.type[ra] !== a.relocationType[k]) return fail();
    // What the decoder added to the addend (the field's distance to the instruction's end).
    const correction = a.value[k] - rel.addend[ra];
    out.push(insn + delta, a.fieldOffset[k] + delta, a.fieldSize[k], a.kind[k], a.conditional[k] === 1, table.symbol[r], table.addend[r] + correction, table.type[r]);
    r++;
  }
  while (r < table.count && table.offset[r] < end) {
    if (table.type[r] !== 0) return fail();
    r++;
  }
  // The twin's undecodable ranges in the range, moved with it: decoding stopped and resumed
  // at the same places, as those depend only on the bytes and the relocations' places.
  const gaps = a.undecodable;
  if (gaps.length > 0) {
    const first = firstRangeEndingAfter(gaps, from);
    let last = first;
    while (last < gaps.length && gaps[last].offset < fromEnd) last++;
    // Ranges never cross a symbol start, where decoding restarts; were one to, decode.
    if (last > first && (gaps[first].offset < from || gaps[last - 1].offset + gaps[last - 1].length > fromEnd)) return fail();
    for (let g = first; g < last; g++) out.undecodable.push({ offset: gaps[g].offset + delta, length: gaps[g].length });
  }
  return r;
}

/** Index of the first of the ascending, disjoint `ranges` that ends after `offset`. */
export function firstRangeEndingAfter(ranges: readonly UndecodableRange[], offset: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid].offset + ranges[mid].length <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where linear decoding restarts: every symbol start in the section, and its beginning. */
export function sortedUniqueStarts(starts: readonly number[], size: number): Float64Array {
  const sorted = new Float64Array(starts.length + 1);
  sorted[0] = 0;
  for (let i = 0; i < starts.length; i++) sorted[i + 1] = starts[i];
  sorted.sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) {
    const s = sorted[i];
    if (s < 0 || s >= size || (n > 0 && sorted[n - 1] === s)) continue;
    sorted[n++] = s;
  }
  return sorted.subarray(0, n);
}
