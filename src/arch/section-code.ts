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

/** Collects a section's references into columns; backends push in any order. */
export class SectionCodeBuilder {
  private n = 0;
  private insnOffset: Uint32Array;
  private fieldOffset: Uint32Array;
  private fieldSize: Uint8Array;
  private kind: Uint8Array;
  private conditional: Uint8Array;
  private symbol: Int32Array;
  private value: Float64Array;
  private relocationType: Int32Array;
  /** Pushed in ascending order of offset (decoding and twin copies both go up the section). */
  readonly undecodable: UndecodableRange[] = [];
  instructionCount = 0;

  constructor(
    readonly section: number,
    expected: number,
  ) {
    const capacity = Math.max(16, expected);
    this.insnOffset = new Uint32Array(capacity);
    this.fieldOffset = new Uint32Array(capacity);
    this.fieldSize = new Uint8Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.conditional = new Uint8Array(capacity);
    this.symbol = new Int32Array(capacity);
    this.value = new Float64Array(capacity);
    this.relocationType = new Int32Array(capacity);
  }

  push(insnOffset: number, fieldOffset: number, fieldSize: number, kind: number, conditional: boolean, symbol: number, value: number, relocationType: number): void {
    if (this.n === this.insnOffset.length) this.grow();
    const i = this.n++;
    this.insnOffset[i] = insnOffset;
    this.fieldOffset[i] = fieldOffset;
    this.fieldSize[i] = fieldSize;
    this.kind[i] = kind;
    this.conditional[i] = conditional ? 1 : 0;
    this.symbol[i] = symbol;
    this.value[i] = value;
    this.relocationType[i] = relocationType;
  }

  get count(): number {
    return this.n;
  }

  /** Drops the references pushed since `count` was `n`. */
  truncate(n: number): void {
    this.n = Math.min(this.n, n);
  }

  private grow(): void {
    const size = this.insnOffset.length * 2;
    const bigger = <T extends Uint32Array | Uint8Array | Int32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.insnOffset = bigger(this.insnOffset);
    this.fieldOffset = bigger(this.fieldOffset);
    this.fieldSize = bigger(this.fieldSize);
    this.kind = bigger(this.kind);
    this.conditional = bigger(this.conditional);
    this.symbol = bigger(this.symbol);
    this.value = bigger(this.value);
    this.relocationType = bigger(this.relocationType);
  }

  finish(): SectionCode {
    const n = this.n;
    let columns = {
      insnOffset: this.insnOffset.subarray(0, n),
      fieldOffset: this.fieldOffset.subarray(0, n),
      fieldSize: this.fieldSize.subarray(0, n),
      kind: this.kind.subarray(0, n),
      conditional: this.conditional.subarray(0, n),
      symbol: this.symbol.subarray(0, n),
      value: this.value.subarray(0, n),
      relocationType: this.relocationType.subarray(0, n),
    };
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) if (columns.fieldOffset[i] < columns.fieldOffset[i - 1]) sorted = false;
    if (!sorted) {
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => columns.fieldOffset[a] - columns.fieldOffset[b] || a - b);
      const permute = <T extends Uint32Array | Uint8Array | Int32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(n);
        for (let i = 0; i < n; i++) b[i] = a[order[i]];
        return b;
      };
      columns = {
        insnOffset: permute(columns.insnOffset),
        fieldOffset: permute(columns.fieldOffset),
        fieldSize: permute(columns.fieldSize),
        kind: permute(columns.kind),
        conditional: permute(columns.conditional),
        symbol: permute(columns.symbol),
        value: permute(columns.value),
        relocationType: permute(columns.relocationType),
      };
    }
    const section = this.section;
    return {
      section,
      instructionCount: this.instructionCount,
      count: n,
      ...columns,
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
