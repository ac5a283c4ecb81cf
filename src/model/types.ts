import type { ArchBackend, ReferenceTarget, SectionCode, UndecodableRange } from '../arch/backend.js';
import type { ElfObject, ElfSymbol } from '../elf/types.js';

export type EdgeKind = 'call' | 'jump' | 'tail-call' | 'address';
export type PartEvidence = 'jump' | 'name' | 'section';

/** Where a reference lands, resolved as far as the object allows. */
export type Location =
  | { kind: 'function'; fn: FunctionInfo; offset: number }
  /** Outside any function: data, or code not covered by a sized symbol. */
  | { kind: 'section'; section: number; offset: number; symbol?: ElfSymbol; symbolOffset?: number }
  /** An undefined symbol: resolved by the linker or the module loader. */
  | { kind: 'external'; name: string; offset: number }
  /** SHN_ABS, SHN_COMMON and other symbols without a section of this object. */
  | { kind: 'absolute'; name: string; offset: number };

export interface Edge {
  kind: EdgeKind;
  /** A function of this object, or undefined for an external target. */
  target?: FunctionInfo;
  /** The target's name (for external targets, the undefined symbol). */
  targetName: string;
  /** Offset of the transfer's destination within the target. */
  targetOffset: number;
  /** Offset within the source function of the instruction that makes the reference. */
  from: number;
  /** How the reference was found: a relocation, a PC-relative field the assembler resolved, or a jump table. */
  via: 'relocation' | 'resolved' | 'jump-table';
}

export interface FunctionInfo {
  /** Position in ObjectModel.functions. */
  id: number;
  name: string;
  /**
   * 1-based position of this name among the object's local function symbols of the same
   * name, in symbol-table order (what `old_sympos` means to kallsyms); 0 when the name is unique.
   */
  sympos: number;
  /** Unique within the object: the name, with `,sympos` when the name repeats. */
  key: string;
  symbol: ElfSymbol;
  section: number;
  sectionName: string;
  offset: number;
  size: number;
  global: boolean;
  /** Other symbols at the same address and size (aliases). */
  aliases: string[];
  /** Set for parts: the family parent whose frame the part runs in. */
  parent?: FunctionInfo;
  partEvidence: PartEvidence[];
  parts: FunctionInfo[];
  edges: Edge[];
  /**
   * The decoded code of this function's section. The function's references, ascending by
   * field offset, are entries `firstReference` up to (not including) `endReference` of its columns.
   */
  code: SectionCode;
  firstReference: number;
  endReference: number;
  /**
   * The bytes of this function the decoder could not decode: ascending, disjoint ranges,
   * `offset` relative to the function's start, each clipped to the function. A range runs
   * from the first byte that did not decode to where decoding resumed (see
   * `SectionCode.undecodable`) or to the function's end. Relocations inside a range are
   * address references whatever the instruction was, so a function with ranges was not
   * fully modelled. Empty (one shared frozen array) for nearly every function.
   */
  undecodable: readonly UndecodableRange[];
  /** Where reference `i` (an index into `code`'s columns) lands. */
  target(i: number): Location;
  /**
   * Transfers to the kernel's helper thunks, which are not calls between functions: the
   * ftrace hook, returns through a return thunk, and indirect calls and jumps through the
   * indirect-branch thunks (which names are which: `ArchBackend.kernelThunk`).
   */
  thunks: { fentry: boolean; returns: number; indirectCalls: number; indirectJumps: number };
}

export interface ObjectModel {
  object: ElfObject;
  backend: ArchBackend;
  functions: FunctionInfo[];
  /** Functions by name (aliases included); more than one entry for repeated local names. */
  byName: Map<string, FunctionInfo[]>;
  code: Map<number, SectionCode>;
  warnings: string[];
  /** Resolves a reference target to the function, data or external symbol it reaches. */
  resolve(target: ReferenceTarget): Location;
  /** The function covering an offset of a section, without making a Location. */
  functionAt(section: number, offset: number): FunctionInfo | undefined;
}

/** The family root of a function: itself, or the parent it is a part of. */
export function familyRoot(fn: FunctionInfo): FunctionInfo {
  return fn.parent ?? fn;
}
