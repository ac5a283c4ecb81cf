import type { RelocationTable } from '../elf/types.js';
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
 * range. Returns the index of the first relocation after the range, or -1 (and adds
 * nothing) when the relocations do not line up, or an instruction runs past the range:
 * then the range is decoded.
 */
export function copyTwinRange(
  twin: DecodedTwin,
  from: number,
  start: number,
  end: number,
  table: RelocationTable,
  r: number,
  out: SectionCodeBuilder,
  cursor: TwinCursor,
): number {
  const delta = start - from;
  const fromEnd = from + (end - start);
  // Columns in locals: most ranges of a tree's sections are copied, reference by reference.
  const a = twin.code;
  const twinInsn = a.insnOffset;
  const twinField = a.fieldOffset;
  const twinSize = a.fieldSize;
  const twinKind = a.kind;
  const twinConditional = a.conditional;
  const twinType = a.relocationType;
  const twinValue = a.value;
  const rel = twin.relocations;
  const twinRelocationCount = rel.count;
  const twinRelocationOffset = rel.offset;
  const twinRelocationType = rel.type;
  const twinRelocationAddend = rel.addend;
  const relocationCount = table.count;
  const relocationOffset = table.offset;
  const relocationType = table.type;
  const relocationSymbol = table.symbol;
  const relocationAddend = table.addend;
  // References are sorted by field, and a field lies in its instruction: those of the range
  // are among the ones with a field from `from` up to an instruction's length after its end.
  const twinCount = a.count;
  const first = seek(twinField, twinCount, from, cursor.reference);
  let next = first;
  while (next < twinCount && twinField[next] < fromEnd) next++;
  let last = next;
  while (last < twinCount && twinField[last] < fromEnd + 16) last++;
  const columns = out.reserve(last - first);
  const insnOut = columns.insnOffset;
  const fieldOut = columns.fieldOffset;
  const sizeOut = columns.fieldSize;
  const kindOut = columns.kind;
  const conditionalOut = columns.conditional;
  const symbolOut = columns.symbol;
  const valueOut = columns.value;
  const typeOut = columns.relocationType;
  const mark = out.count;
  let n = mark;
  let ra = seek(twinRelocationOffset, twinRelocationCount, from, cursor.relocation);
  for (let k = first; k < last; k++) {
    const insn = twinInsn[k];
    if (insn < from || insn >= fromEnd) continue;
    const field = twinField[k];
    const size = twinSize[k];
    if (field + size > fromEnd) return -1;
    const type = twinType[k];
    insnOut[n] = insn + delta;
    fieldOut[n] = field + delta;
    sizeOut[n] = size;
    kindOut[n] = twinKind[k];
    conditionalOut[n] = twinConditional[k];
    typeOut[n] = type;
    if (type < 0) {
      symbolOut[n] = -1;
      valueOut[n] = twinValue[k] + delta;
      n++;
      continue;
    }
    while (r < relocationCount && relocationType[r] === 0 && relocationOffset[r] < end) r++;
    while (ra < twinRelocationCount && twinRelocationOffset[ra] < field) ra++;
    if (
      r >= relocationCount ||
      relocationOffset[r] !== field + delta ||
      relocationType[r] !== type ||
      ra >= twinRelocationCount ||
      twinRelocationOffset[ra] !== field ||
      twinRelocationType[ra] !== type
    ) {
      return -1;
    }
    // What the decoder added to the addend (the field's distance to the instruction's end).
    const correction = twinValue[k] - twinRelocationAddend[ra];
    symbolOut[n] = relocationSymbol[r];
    valueOut[n] = relocationAddend[r] + correction;
    n++;
    r++;
  }
  while (r < relocationCount && relocationOffset[r] < end) {
    if (relocationType[r] !== 0) return -1;
    r++;
  }
  // The twin's undecodable ranges in the range, moved with it: decoding stopped and resumed
  // at the same places, as those depend only on the bytes and the relocations' places.
  const gaps = a.undecodable;
  if (gaps.length > 0) {
    const firstGap = firstRangeEndingAfter(gaps, from);
    let lastGap = firstGap;
    while (lastGap < gaps.length && gaps[lastGap].offset < fromEnd) lastGap++;
    // Ranges never cross a symbol start, where decoding restarts; were one to, decode.
    if (lastGap > firstGap && (gaps[firstGap].offset < from || gaps[lastGap - 1].offset + gaps[lastGap - 1].length > fromEnd)) return -1;
    for (let g = firstGap; g < lastGap; g++) out.undecodable.push({ offset: gaps[g].offset + delta, length: gaps[g].length });
  }
  out.added(n - mark);
  cursor.reference = next;
  cursor.relocation = ra;
  return r;
}

/**
 * Where the last copy from a twin's section ended, in its references and its relocations:
 * ranges are copied in the order of the section, mostly from ranges in the same order in
 * the twin, so the next copy starts there or a few entries on. Only a hint: any value
 * gives the same copies.
 */
export class TwinCursor {
  reference = 0;
  relocation = 0;
}

/** Entries seek looks at one by one from its hint before it searches by halves. */
const SEEK_STEPS = 8;

/**
 * Index of the first of the first `count` ascending `values` at or after `x` (`count` if
 * none), looked for from `hint` on when the answer cannot lie before it. A binary search
 * costs a twin copy more than the copying (about 17 steps whose branches no predictor
 * can guess, three times per range): the cursor's hint is usually the answer.
 */
function seek(values: Uint32Array | Float64Array, count: number, x: number, hint: number): number {
  let lo = 0;
  if (hint <= count && (hint === 0 || values[hint - 1] < x)) {
    const stop = Math.min(count, hint + SEEK_STEPS);
    for (lo = hint; lo < stop; lo++) if (values[lo] >= x) return lo;
  }
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
