import type { ElfObject } from '../elf/types.js';

/**
 * What an instruction does to control flow, as far as the function model cares.
 * `call` and `jump` are direct transfers; the model later decides whether a jump is
 * a jump into a part or a tail call, which needs knowledge of the whole object.
 */
export type TransferKind = 'call' | 'jump' | 'address';

/** A constant that differs between two builds of a function and is passed to a call. */
export interface LineArgument {
  /** New value minus old value. */
  shift: number;
  /** The argument register, by the architecture's own numbering. */
  register: number;
  /** Offset in the function of the call that receives it. */
  callOffset: number;
}

/** A location in the object: a symbol plus addend, or a section plus offset. */
export type ReferenceTarget =
  | { kind: 'symbol'; symbol: number; addend: number }
  | { kind: 'section'; section: number; offset: number };

/**
 * One reference made by code in an executable section: either a relocated field or a
 * PC-relative field the assembler already resolved (same-section branches and
 * RIP-relative operands in objects built without -ffunction-sections).
 */
export interface CodeReference {
  /** Offset in the section of the first byte of the referencing instruction. */
  insnOffset: number;
  /** Offset in the section of the relocated or PC-relative field, and its size. */
  fieldOffset: number;
  fieldSize: number;
  kind: TransferKind;
  /** Conditional jumps can tail-call too (gcc emits `jcc func` for sibling calls). */
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

export interface SectionCode {
  /** How many instructions were decoded. */
  instructionCount: number;
  /** Every reference, ascending by field offset. */
  references: CodeReference[];
  /** Byte ranges that the decoder could not decode (data in code, or unknown opcodes). */
  undecodable: { offset: number; length: number }[];
}

/**
 * An architecture backend: turns the bytes and relocations of one executable section into
 * classified references. Implementations must not throw on odd code: undecodable bytes
 * are reported in `undecodable`, and their relocations fall back to `address`.
 */
export interface ArchBackend {
  readonly name: string;
  readonly machine: number;
  /**
   * Decode an executable section. `starts` are the offsets where symbols begin, to
   * resynchronise linear decoding at every function entry.
   */
  scanSection(object: ElfObject, sectionIndex: number, starts: readonly number[]): SectionCode;
  /**
   * How a relocation in a data section (a jump table, a function pointer) refers to code:
   * absolute (the target is symbol + addend) or PC-relative (the target is symbol + addend
   * + the distance from the table's base to the field, which only the table's user knows).
   * Undefined for relocations that are not addresses (sizes, TLS offsets).
   */
  dataReference(relocationType: number): { pcRelative: boolean; size: number } | undefined;
  /**
   * When two equally long bodies of a function (relocated fields masked) differ only in
   * constants loaded into argument registers just before a call, in the range of source
   * line numbers (what `__LINE__` arguments look like when a patch shifts the lines below
   * them): the difference (new - old) of each such constant. Otherwise undefined.
   */
  lineNumberShifts(a: Uint8Array, b: Uint8Array): LineArgument[] | undefined;
  /** Name of a relocation type, for messages. */
  relocationName(type: number): string;
}
