import { SectionCodeBuilder, type ArchBackend, type SectionCode, type UndecodableRange } from '../arch/backend.js';
import { STB_LOCAL, type ElfSymbol } from '../elf/types.js';
import { functionEdges } from './edges.js';
import type { Locator } from './locator.js';
import type { Edge, FunctionInfo, Location, PartEvidence } from './types.js';

/** A jump from one function into another, found eagerly: evidence for parts, and an edge. */
export type Transfer = { from: FunctionInfo; kind: 'jump'; location: Location; at: number; via: Edge['via'] };
/** A code address a function takes: evidence for parts only, no edge. */
export type AddressTransfer = { from: FunctionInfo; kind: 'address'; location: Location };

/** The code of a function outside any decoded section: no references. */
const NO_CODE: SectionCode = new SectionCodeBuilder(-1, 0).finish();

export const NO_ALIASES: string[] = Object.freeze([]) as unknown as string[];
const NO_EVIDENCE: PartEvidence[] = Object.freeze([]) as unknown as PartEvidence[];
const NO_PARTS: FunctionInfo[] = Object.freeze([]) as unknown as FunctionInfo[];
const NO_TRANSFERS: Transfer[] = Object.freeze([]) as unknown as Transfer[];
export const NO_RANGES: readonly UndecodableRange[] = Object.freeze([]);

/** A function of the model; its edges and thunk counts are worked out on first use. */
export class FunctionRecord implements FunctionInfo {
  sympos = 0;
  key: string;
  readonly name: string;
  readonly section: number;
  readonly offset: number;
  readonly size: number;
  readonly global: boolean;
  // Most functions have no aliases, parts or jumps out: one shared empty array until they do
  // (hundreds of thousands of functions per tree, alive while their pair is compared).
  aliases: string[] = NO_ALIASES;
  parent?: FunctionInfo;
  partEvidence: PartEvidence[] = NO_EVIDENCE;
  parts: FunctionInfo[] = NO_PARTS;
  code: SectionCode = NO_CODE;
  undecodable: readonly UndecodableRange[] = NO_RANGES;
  firstReference = 0;
  endReference = 0;
  private locator?: Locator;
  private backend?: ArchBackend;
  /** Jumps into other functions, found eagerly: they are evidence for parts. */
  jumpsOut: Transfer[] = NO_TRANSFERS;
  private derived?: { edges: Edge[]; thunks: FunctionInfo['thunks'] };

  constructor(
    readonly id: number,
    readonly symbol: ElfSymbol,
    readonly sectionName: string,
  ) {
    this.name = symbol.name;
    this.key = symbol.name;
    this.section = symbol.shndx;
    this.offset = symbol.value;
    this.size = symbol.size;
    this.global = symbol.bind !== STB_LOCAL;
  }

  addJumpOut(transfer: Transfer): void {
    if (this.jumpsOut === NO_TRANSFERS) this.jumpsOut = [transfer];
    else this.jumpsOut.push(transfer);
  }

  attach(code: SectionCode, first: number, end: number, locator: Locator, backend: ArchBackend): void {
    this.code = code;
    this.firstReference = first;
    this.endReference = end;
    this.locator = locator;
    this.backend = backend;
  }

  target(i: number): Location {
    if (!this.locator) throw new RangeError('function has no references');
    return this.locator.referenceTarget(this.code, i);
  }

  get edges(): Edge[] {
    return (this.derived ??= this.derive()).edges;
  }

  get thunks(): FunctionInfo['thunks'] {
    return (this.derived ??= this.derive()).thunks;
  }

  /** Needs the parts of the whole object: call only after findParts. */
  private derive(): { edges: Edge[]; thunks: FunctionInfo['thunks'] } {
    return functionEdges(this, this.backend);
  }
}
