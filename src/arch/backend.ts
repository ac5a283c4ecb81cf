import type { ElfObject, RelocationTable } from '../elf/types.js';
import type { DecodedTwin, SectionCode, TransferKind } from './section-code.js';

/*
 * The interface between the architecture-independent program and an architecture's
 * backend (src/arch/<isa>/). Code outside src/arch imports from here and from index.ts
 * only; the decoded code's columns (section-code.ts) are re-exported here for it.
 */
export * from './section-code.js';

/** A constant that differs between two builds of a function and is passed to a call. */
export interface LineArgument {
  /** New value minus old value. */
  shift: number;
  /** The old value. */
  original: number;
  /** The argument register, by the architecture's own numbering. */
  register: number;
  /** The 0-based position of that register among the calling convention's integer arguments. */
  argument: number;
  /** Offset in the function of the instruction that loads the constant. */
  offset: number;
  /** Offset in the function of the call that receives it. */
  callOffset: number;
}

/** What a reader of one instruction needs to compare it across builds. */
export interface InstructionShape {
  length: number;
  branchField: number;
  branchSize: number;
}

/** One executable section, as a backend decodes it. */
export interface CodeSection {
  readonly index: number;
  readonly bytes: Uint8Array;
  /** Its relocations, by offset. */
  readonly relocations: RelocationTable;
  /**
   * Offsets where symbols start in it (any order, repeats allowed): linear decoding
   * restarts at each of them, and at the section's start.
   */
  readonly starts: readonly number[];
}

/**
 * What a kernel helper reached by a call or jump is, when it is one: the ftrace hook
 * (`ftrace`), a function return made through a thunk (`return`), or an indirect call or
 * jump made through a thunk (`indirect`). Transfers to these are counted, not edges.
 */
export type KernelThunk = 'ftrace' | 'return' | 'indirect';

/**
 * The layout of one of the kernel's tables that describe code from outside it
 * (`__jump_table`, `__ex_table`, `__bug_table`, ...). Each entry starts with a PC-relative
 * pointer to the instruction it is about, which tells the function it belongs to; the
 * generic code in model/special.ts reads entries through these fields only.
 */
export interface SpecialSectionLayout {
  /** Entry size in bytes. */
  size: number;
  /** A parallel table of fixed-size records, one per entry (ORC). */
  parallel?: { section: string; size: number };
  /** Bytes of the entry that hold a source line number, compared as a line shift. */
  line?: { offset: number; size: 2 | 4 };
  /** Bytes of the entry that hold its flags, shown with the line. */
  flags?: { offset: number; size: 2 | 4 };
  /** An alternative: where the replacement pointer and its length byte are. */
  replacement?: { pointer: number; length: number };
  /**
   * A static branch: the offset of the PC-relative field that holds where the entry's site
   * jumps when the branch is taken. The code holds a NOP there, so the entry is the jump.
   */
  jumpTarget?: number;
  /**
   * Entries written only where some state changes (ORC's unwind state): whether a
   * function's first instruction has one depends on how the function before it ended.
   */
  skipEntryAtStart?: boolean;
}

/** Special-section layouts by section name. */
export type SpecialSectionLayouts = Readonly<Record<string, Readonly<SpecialSectionLayout>>>;

/**
 * A backend's table of layouts with every field present on every layout, so that the code
 * reading them sees one object shape, not one per table.
 */
export function specialSectionLayouts(layouts: Record<string, SpecialSectionLayout>): SpecialSectionLayouts {
  const table: Record<string, SpecialSectionLayout> = {};
  for (const [name, l] of Object.entries(layouts)) {
    table[name] = Object.freeze({
      size: l.size,
      parallel: l.parallel,
      line: l.line,
      flags: l.flags,
      replacement: l.replacement,
      jumpTarget: l.jumpTarget,
      skipEntryAtStart: l.skipEntryAtStart ?? false,
    });
  }
  return Object.freeze(table);
}

/**
 * An architecture backend: everything that knows an instruction set and the kernel's
 * conventions on it. The model, the comparer and the derivation ask it and never name an
 * architecture (docs/architectures.md).
 *
 * Implementations must not throw on odd code: undecodable bytes are reported in
 * `SectionCode.undecodable`, and their relocations fall back to `address`.
 */
export interface ArchBackend {
  /** The architecture's name as `uname -m` spells it: a report's `arch`. */
  readonly name: string;
  /** The objects this backend reads: their e_machine, ELF class and byte order. */
  readonly machine: number;
  readonly elfClass: ElfObject['elfClass'];
  readonly endian: ElfObject['endian'];

  // Decoding an object.

  /**
   * Decodes an executable section into its references (calls, jumps, addresses), and the
   * ranges it could not decode. After bytes it cannot decode, decoding resumes at the next
   * point it can trust (see `SectionCode.undecodable`). With a twin, ranges whose bytes are
   * the same in both builds may be copied from it instead: the result must be the same.
   */
  decodeSection(section: CodeSection, twin?: DecodedTwin): SectionCode;
  /**
   * The longest instruction, in bytes: a range copied from a twin must have the same bytes
   * this far past its end too, so that no instruction decodes differently at the edge.
   */
  readonly maxInstructionLength: number;
  /**
   * How a relocation in a data section (a jump table, a function pointer) refers to code:
   * absolute (the target is symbol + addend) or PC-relative (the target is symbol + addend
   * + the distance from the table's base to the field, which only the table's user knows).
   * Undefined for relocations that are not addresses (sizes, TLS offsets).
   */
  dataReference(relocationType: number): { pcRelative: boolean; size: number } | undefined;

  // The kernel's conventions on this architecture.

  /**
   * What the external symbol `name` is when code reaches it by a `kind` transfer, if it is
   * one of the kernel's helper thunks (an `address` can only be the ftrace hook, taken to
   * call it indirectly).
   */
  kernelThunk(name: string, kind: TransferKind): KernelThunk | undefined;
  /** The kernel's tables about code, by section name (made with `specialSectionLayouts`). */
  readonly specialSections: SpecialSectionLayouts;
  /**
   * Kernel functions that take a source line number, and the 0-based position of that
   * parameter among their arguments: a differing constant passed there is a moved `__LINE__`.
   */
  readonly lineCallees: ReadonlyMap<string, number>;

  // Reading one function's instructions (comparing, explaining).

  /**
   * When two equally long bodies of a function (relocated fields masked) differ only in
   * constants loaded into argument registers just before a call, in the range of source
   * line numbers (what `__LINE__` arguments look like when a patch shifts the lines below
   * them): the difference (new - old) of each such constant. Otherwise undefined.
   */
  lineNumberShifts(a: Uint8Array, b: Uint8Array): LineArgument[] | undefined;
  /**
   * The instruction at `offset` (before `end`): its length, 0 when it does not decode; and
   * for a direct branch or call, where its displacement field is (offset within the
   * instruction, -1 for none) and its size. The answer may be reused by the next call:
   * read it before asking again.
   */
  instructionAt(code: Uint8Array, offset: number, end: number): InstructionShape;
  /**
   * For the call at `callOffset` of a function's bytes `code`: the instructions since the
   * previous call that load an address (a relocated constant) into an argument register, by
   * argument position, each at its offset in the function. What a call's pointer arguments
   * (a format string) are, as far as the plain loads show it.
   */
  addressArguments(code: Uint8Array, callOffset: number): Map<number, number>;
  /** The instruction as assembler text for people, as the platform's disassembler prints it. */
  instructionText(code: Uint8Array, offset: number, length: number, address: number): string;
  /** Whether that text depends on the instruction's address (a relative branch's target), or only on its bytes. */
  textDependsOnAddress(code: Uint8Array, offset: number, length: number): boolean;
}
