import type { RelocationTable } from '../elf/types.js';

/**
 * What an instruction does to control flow, as far as the function model cares.
 * `call` and `jump` are direct transfers; the model later decides whether a jump is
 * a jump into a part or a tail call, which needs knowledge of the whole object.
 */
export type TransferKind = 'call' | 'jump' | 'address';

/** A location in the object: a symbol plus addend, or a section plus offset. */
export type ReferenceTarget =
  | { kind: 'symbol'; symbol: number; addend: number }
  | { kind: 'section'; section: number; offset: number };

/**
 * One reference made by code in an executable section: either a relocated field or a
 * PC-relative field the assembler already resolved (same-section branches and
 * PC-relative operands in objects built without -ffunction-sections).
 */
interface CodeReference {
  /** Offset in the section of the first byte of the referencing instruction. */
  insnOffset: number;
  /** Offset in the section of the relocated or PC-relative field, and its size. */
  fieldOffset: number;
  fieldSize: number;
  kind: TransferKind;
  /** Conditional jumps can tail-call too (gcc emits conditional sibling calls). */
  conditional: boolean;
  /**
   * Where control or the address goes. For a relocation: the relocation's symbol with the
   * addend corrected to point at the referenced byte (for PC-relative fields, the distance
   * from the field to the end of the instruction is added back).
   */
  target: ReferenceTarget;
  /** The type of the relocation behind this reference; undefined for a field the assembler resolved. */
  relocationType?: number;
}

/** Bytes the decoder could not decode: `length` bytes from `offset`. */
export interface UndecodableRange {
  readonly offset: number;
  readonly length: number;
}

/** Codes of `TransferKind` in the `kind` column of `SectionCode`. */
export const TRANSFER_KINDS: readonly TransferKind[] = ['call', 'jump', 'address'];
export const KIND_CALL = 0;
export const KIND_JUMP = 1;
export const KIND_ADDRESS = 2;

/**
 * The same section of another build, already decoded, for ranges whose bytes are the same
 * in both: their references are copied (moved by the ranges' distance) instead of decoded
 * again. Comparing two builds of a kernel module, most functions are such ranges.
 */
export interface DecodedTwin {
  /** The twin's decoded section and its relocations. */
  code: SectionCode;
  relocations: RelocationTable;
  /** Start of the twin's range with the same bytes as [start, end) here, if there is one. */
  rangeFor(start: number, end: number): number | undefined;
}

/**
 * The references of one executable section, ascending by field offset, in columns: kernel
 * objects have hundreds of thousands of them, and one object each would cost more to make
 * and collect than the decoding that finds them.
 */
export interface SectionCode {
  readonly section: number;
  /** How many instructions were decoded. */
  readonly instructionCount: number;
  /** How many references; every column has this many entries. */
  readonly count: number;
  readonly insnOffset: Uint32Array;
  readonly fieldOffset: Uint32Array;
  readonly fieldSize: Uint8Array;
  /** KIND_CALL, KIND_JUMP or KIND_ADDRESS. */
  readonly kind: Uint8Array;
  /** 1 for a conditional jump. */
  readonly conditional: Uint8Array;
  /**
   * The relocation's symbol, or -1 for a field the assembler resolved: its target is then
   * `value` as an offset in this same section.
   */
  readonly symbol: Int32Array;
  /** With a symbol: the addend, corrected as `CodeReference.target` says; else the section offset. */
  readonly value: Float64Array;
  /** The relocation type, or -1 for a field the assembler resolved. */
  readonly relocationType: Int32Array;
  /**
   * Byte ranges the decoder could not decode (data in code, or unknown opcodes), ascending
   * and disjoint, offsets in the section. Each runs from the first byte that did not decode
   * to where decoding resumed: the next point it could trust (an instruction start that puts
   * a relocatable field on a relocation, the target of a branch decoded before it in the same
   * range) or else the next symbol. Relocations inside one are address references.
   */
  readonly undecodable: readonly UndecodableRange[];
  /** Reference `i` as an object, for readers that want one (tests, tools); the model uses the columns. */
  reference(i: number): CodeReference;
}

/** The columns of `SectionCode`, as a builder fills them. */
export interface Columns {
  insnOffset: Uint32Array;
  fieldOffset: Uint32Array;
  fieldSize: Uint8Array;
  kind: Uint8Array;
  conditional: Uint8Array;
  symbol: Int32Array;
  value: Float64Array;
  relocationType: Int32Array;
}

/** Bytes of one reference over all columns. */
const BYTES_PER_REFERENCE = 8 + 4 + 4 + 4 + 4 + 1 + 1 + 1;

/**
 * Columns for `capacity` references in one buffer, the widest first so that every column
 * is aligned: one allocation instead of eight. Each typed array with a buffer of its own
 * costs V8 a trip to the allocator and external-memory bookkeeping (about 0.6 µs, measured),
 * and a kernel tree has tens of thousands of executable sections.
 */
function newColumns(capacity: number): Columns {
  return columnsIn(new ArrayBuffer(capacity * BYTES_PER_REFERENCE), capacity, capacity);
}

/** The first `count` references of the columns that newColumns(capacity) made in `buffer`. */
function columnsIn(buffer: ArrayBufferLike, capacity: number, count: number): Columns {
  return {
    value: new Float64Array(buffer, 0, count),
    insnOffset: new Uint32Array(buffer, 8 * capacity, count),
    fieldOffset: new Uint32Array(buffer, 12 * capacity, count),
    symbol: new Int32Array(buffer, 16 * capacity, count),
    relocationType: new Int32Array(buffer, 20 * capacity, count),
    fieldSize: new Uint8Array(buffer, 24 * capacity, count),
    kind: new Uint8Array(buffer, 25 * capacity, count),
    conditional: new Uint8Array(buffer, 26 * capacity, count),
  };
}

/** Copies references [0, count) of `from` to `to`, reference `order[i]` to place i (i itself without `order`). */
function copyColumns(from: Columns, to: Columns, count: number, order?: readonly number[]): void {
  for (let i = 0; i < count; i++) {
    const j = order === undefined ? i : order[i];
    to.insnOffset[i] = from.insnOffset[j];
    to.fieldOffset[i] = from.fieldOffset[j];
    to.fieldSize[i] = from.fieldSize[j];
    to.kind[i] = from.kind[j];
    to.conditional[i] = from.conditional[j];
    to.symbol[i] = from.symbol[j];
    to.value[i] = from.value[j];
    to.relocationType[i] = from.relocationType[j];
  }
}

/** Collects a section's references into columns; backends push in any order. */
export class SectionCodeBuilder {
  private n = 0;
  private capacity: number;
  private columns: Columns;
  /** Pushed in ascending order of offset (decoding and twin copies both go up the section). */
  readonly undecodable: UndecodableRange[] = [];
  instructionCount = 0;

  /** `expected`: how many references the section will likely have (more is fine). */
  constructor(
    readonly section: number,
    expected: number,
  ) {
    this.capacity = Math.max(16, expected);
    this.columns = newColumns(this.capacity);
  }

  push(insnOffset: number, fieldOffset: number, fieldSize: number, kind: number, conditional: boolean, symbol: number, value: number, relocationType: number): void {
    if (this.n === this.capacity) this.grow(1);
    const i = this.n++;
    const c = this.columns;
    c.insnOffset[i] = insnOffset;
    c.fieldOffset[i] = fieldOffset;
    c.fieldSize[i] = fieldSize;
    c.kind[i] = kind;
    c.conditional[i] = conditional ? 1 : 0;
    c.symbol[i] = symbol;
    c.value[i] = value;
    c.relocationType[i] = relocationType;
  }

  get count(): number {
    return this.n;
  }

  /** Drops the references pushed since `count` was `n`. */
  truncate(n: number): void {
    this.n = Math.min(this.n, n);
  }

  /**
   * The columns, with room for `extra` references from index `count` on: for callers that
   * write many references in place, and then add them with `added`. A twin's ranges are
   * copied so, without push's test for room and its reading of every column per reference.
   */
  reserve(extra: number): Columns {
    if (this.n + extra > this.capacity) this.grow(extra);
    return this.columns;
  }

  /** Counts `count` more references, written in the columns `reserve` gave after those before. */
  added(count: number): void {
    this.n += count;
  }

  /** Doubles the capacity until there is room for `extra` more references. */
  private grow(extra: number): void {
    let capacity = this.capacity * 2;
    while (this.n + extra > capacity) capacity *= 2;
    const bigger = newColumns(capacity);
    copyColumns(this.columns, bigger, this.n);
    this.capacity = capacity;
    this.columns = bigger;
  }

  /** The section's code: its columns are views of the first `count` references, sorted by field. */
  finish(): SectionCode {
    const n = this.n;
    const pushed = this.columns;
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) if (pushed.fieldOffset[i] < pushed.fieldOffset[i - 1]) sorted = false;
    let columns: Columns;
    if (sorted) columns = columnsIn(pushed.value.buffer, this.capacity, n);
    else {
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => pushed.fieldOffset[a] - pushed.fieldOffset[b] || a - b);
      columns = newColumns(n);
      copyColumns(pushed, columns, n, order);
    }
    const section = this.section;
    return {
      section,
      instructionCount: this.instructionCount,
      count: n,
      insnOffset: columns.insnOffset,
      fieldOffset: columns.fieldOffset,
      fieldSize: columns.fieldSize,
      kind: columns.kind,
      conditional: columns.conditional,
      symbol: columns.symbol,
      value: columns.value,
      relocationType: columns.relocationType,
      undecodable: this.undecodable,
      reference(i: number): CodeReference {
        const symbol = columns.symbol[i];
        const type = columns.relocationType[i];
        return {
          insnOffset: columns.insnOffset[i],
          fieldOffset: columns.fieldOffset[i],
          fieldSize: columns.fieldSize[i],
          kind: TRANSFER_KINDS[columns.kind[i]],
          conditional: columns.conditional[i] === 1,
          target: symbol >= 0 ? { kind: 'symbol', symbol, addend: columns.value[i] } : { kind: 'section', section, offset: columns.value[i] },
          ...(type >= 0 ? { relocationType: type } : {}),
        };
      },
    };
  }
}
