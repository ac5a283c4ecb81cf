import { KIND_ADDRESS } from '../arch/backend.js';
import type { FunctionInfo, Location, ObjectModel } from '../model/types.js';
import { entryFlags, entryLine, entryTargets, type SpecialEntries, type SpecialTable } from '../model/special.js';
import type { ReferenceCanon, FunctionNamer } from './canon.js';
import { Listing } from './listing.js';
import type { CodeComparer, FunctionDifference, LineEvidence, LineShift, NoiseString } from './code.js';

export type DifferenceKind = 'instruction' | 'constant' | 'string' | 'callee' | 'relocation' | 'special-section' | 'part' | 'undecodable';

/** Where a difference lies on one side, and what is there. */
export interface DifferenceSide {
  symbol: string;
  /** Offset in `symbol`. */
  offset: number;
  /** Assembler text, the number, the string, the entry or the name. */
  value: string | number;
  /** For a constant in code: the instruction that holds it, as assembler text. */
  instruction?: string;
  /**
   * Assembler text still to be made, for `value` or `instruction`: the instruction's bytes
   * (hex), its address, and what follows the text (` # target`). Made by
   * `fillAssemblerText` (src/report/assembler-text.ts), in the thread that writes the
   * report, so that worker threads need not each load and warm up the disassembler.
   */
  encoded?: EncodedInstruction;
}

export interface EncodedInstruction {
  bytes: string;
  address: number;
  suffix: string;
  into: 'value' | 'instruction';
}

/** One thing that differs between the builds, so that a person can check a verdict. */
export interface Difference {
  kind: DifferenceKind;
  original: DifferenceSide | null;
  patched: DifferenceSide | null;
  /** For a constant taken for a moved line number: the proof. */
  evidence?: LineEvidence;
}

/** At most this many differences per function family: enough to check a verdict, not a listing. */
const MAX_DIFFERENCES = 6;

/** How far ahead alignment looks for the next instruction the two sides share. */
const LOOKAHEAD = 32;

/**
 * Explains verdicts: for a changed, line-shifted or build-noise function, what differs, on
 * each side, in the words of the machine code (the two instructions as the disassembler
 * prints them, the constant, the string, the table entry).
 */
export class DifferenceFinder {
  constructor(
    private readonly comparer: CodeComparer,
    private readonly toPatched: Map<FunctionInfo, FunctionInfo>,
  ) {}

  /** The differences of a matched pair of functions (not their parts). */
  pair(o: FunctionInfo, p: FunctionInfo, difference: FunctionDifference | undefined, limit = MAX_DIFFERENCES): Difference[] {
    const out: Difference[] = [];
    const skip = new Set<number>();
    for (const line of difference?.lineShifts ?? []) {
      if (out.length >= limit) return out;
      out.push(this.lineDifference(o, p, line));
      if (!line.table) skip.add(line.offset);
    }
    for (const noise of difference?.noise ?? []) {
      if (out.length >= limit) return out;
      out.push(noiseDifference(o, p, noise));
      skip.add(noise.offset);
    }
    // Ranges at the same offset on both sides are one difference: code the decoder could not read.
    const offsets = [...new Set([...o.undecodable, ...p.undecodable].map((r) => r.offset))].sort((x, y) => x - y);
    for (const offset of offsets) {
      if (out.length >= limit) return out;
      const x = o.undecodable.find((r) => r.offset === offset);
      const y = p.undecodable.find((r) => r.offset === offset);
      out.push({ kind: 'undecodable', original: x ? undecodableSide(o, this.comparer.original, x) : null, patched: y ? undecodableSide(p, this.comparer.patched, y) : null });
    }
    if (out.length >= limit) return out;
    const reasons = difference?.reasons ?? [];
    if (reasons.some((r) => r !== 'special section' && r !== 'part')) {
      let code = this.code(o, p, skip, limit - out.length, true);
      // Branches inside a function are compared by masked displacement to align code that
      // moved; when that hides the change, the change is a branch target.
      if (code.length === 0) code = this.code(o, p, skip, limit - out.length, false);
      out.push(...code);
    }
    if (reasons.includes('special section') && out.length < limit) out.push(...this.special(o, p, limit - out.length));
    return out;
  }

  private lineDifference(o: FunctionInfo, p: FunctionInfo, line: LineShift): Difference {
    const difference = lineDifference(o, p, line);
    if (!line.table) {
      difference.original!.encoded = this.instructionAt(o, this.comparer.original, line.offset);
      difference.patched!.encoded = this.instructionAt(p, this.comparer.patched, line.offset);
    }
    return difference;
  }

  private instructionAt(fn: FunctionInfo, model: ObjectModel, offset: number): EncodedInstruction {
    const bytes = model.object.sectionData(fn.section).subarray(fn.offset, fn.offset + fn.size);
    const length = model.backend.instructionAt(bytes, offset, bytes.length).length;
    return { bytes: Buffer.from(bytes.subarray(offset, offset + length)).toString('hex'), address: offset, suffix: '', into: 'instruction' };
  }

  /** A family's differences: the parent's, each matched part's, and parts that appeared or vanished. */
  family(o: FunctionInfo, p: FunctionInfo, differences: Map<FunctionInfo, FunctionDifference>): Difference[] {
    const out = this.pair(o, p, differences.get(o));
    for (const op of o.parts) {
      if (out.length >= MAX_DIFFERENCES) break;
      const pp = this.toPatched.get(op);
      if (pp && pp.parent === p) out.push(...this.pair(op, pp, differences.get(op), MAX_DIFFERENCES - out.length));
      else out.push({ kind: 'part', original: { symbol: op.name, offset: 0, value: op.name }, patched: pp ? { symbol: pp.name, offset: 0, value: pp.parent ? `part of ${pp.parent.name}` : 'a function of its own' } : null });
    }
    const fromOriginal = new Set(o.parts.map((op) => this.toPatched.get(op)));
    for (const pp of p.parts) {
      if (out.length >= MAX_DIFFERENCES) break;
      if (!fromOriginal.has(pp)) out.push({ kind: 'part', original: null, patched: { symbol: pp.name, offset: 0, value: pp.name } });
    }
    return out.slice(0, MAX_DIFFERENCES);
  }

  /** Whether instruction `i` of `a` and `j` of `b` are the same by the comparison's rules. */
  private same(a: Listing, i: number, b: Listing, j: number, maskBranches: boolean): boolean {
    return this.why(a, i, b, j, maskBranches) === undefined;
  }

  /** What makes two instructions differ: undefined when they do not. */
  private why(a: Listing, i: number, b: Listing, j: number, maskBranches: boolean): 'instruction' | 'callee' | 'string' | 'constant' | 'relocation' | undefined {
    const length = a.lengths[i];
    if (length !== b.lengths[j] || a.undecodable[i] !== b.undecodable[j]) return 'instruction';
    const refsA = a.endRef[i] - a.firstRef[i];
    if (refsA !== b.endRef[j] - b.firstRef[j]) return 'instruction';
    const codeA = a.fn.code;
    const codeB = b.fn.code;
    const startA = a.starts[i];
    const startB = b.starts[j];
    // Bytes outside relocated fields (and, for alignment, outside in-function branch displacements).
    for (let k = 0; k < length; k++) {
      if (a.bytes[startA + k] === b.bytes[startB + k]) continue;
      if (maskBranches && refsA === 0 && a.branchField[i] >= 0 && k >= a.branchField[i] && k < a.branchField[i] + a.branchSize[i]) continue;
      let masked = false;
      for (let r = a.firstRef[i]; r < a.endRef[i] && !masked; r++) {
        const from = codeA.fieldOffset[r] - a.fn.offset - startA;
        if (k >= from && k < from + codeA.fieldSize[r]) masked = true;
      }
      if (!masked) return 'instruction';
    }
    for (let r = 0; r < refsA; r++) {
      const ra = a.firstRef[i] + r;
      const rb = b.firstRef[j] + r;
      if (codeA.fieldOffset[ra] - a.fn.offset - startA !== codeB.fieldOffset[rb] - b.fn.offset - startB || codeA.kind[ra] !== codeB.kind[rb]) return 'instruction';
      if (this.comparer.sameReference(a.fn, ra, b.fn, rb)) continue;
      const ca = this.comparer.originalCanon.canonical(a.fn.target(ra), this.comparer.nameOriginal);
      const cb = this.comparer.patchedCanon.canonical(b.fn.target(rb), this.comparer.namePatched);
      if (ca.text === cb.text) continue;
      if (ca.kind === 'string' && cb.kind === 'string') return 'string';
      if (ca.kind === 'constant' && cb.kind === 'constant') return 'constant';
      if (codeA.kind[ra] !== KIND_ADDRESS && codeB.kind[rb] !== KIND_ADDRESS) return 'callee';
      return 'relocation';
    }
    return undefined;
  }

  /** Instructions that differ: common prefix and suffix set aside, the middle aligned. */
  private code(o: FunctionInfo, p: FunctionInfo, skip: Set<number>, limit: number, maskBranches: boolean): Difference[] {
    const a = new Listing(o, this.comparer.original);
    const b = new Listing(p, this.comparer.patched);
    try {
      return this.differingInstructions(a, b, skip, limit, maskBranches);
    } finally {
      a.release();
      b.release();
    }
  }

  private differingInstructions(a: Listing, b: Listing, skip: Set<number>, limit: number, maskBranches: boolean): Difference[] {
    const sameHere = (i: number, j: number) => (skip.has(a.starts[i]) && a.starts[i] === b.starts[j]) || this.same(a, i, b, j, maskBranches);
    const pairs = align(a, b, sameHere, limit);
    const out: Difference[] = [];
    for (const [i, j] of pairs) {
      if (out.length >= limit) break;
      if (i !== undefined && j !== undefined && sameHere(i, j)) continue;
      const kind = i !== undefined && j !== undefined ? this.why(a, i, b, j, maskBranches) ?? 'instruction' : 'instruction';
      out.push({
        kind: a.undecodable[i ?? -1] || b.undecodable[j ?? -1] ? 'undecodable' : kind,
        original: i === undefined ? null : this.side(a, i, kind, this.comparer.originalCanon, this.comparer.nameOriginal),
        patched: j === undefined ? null : this.side(b, j, kind, this.comparer.patchedCanon, this.comparer.namePatched),
      });
    }
    return out;
  }

  private side(listing: Listing, i: number, kind: DifferenceKind, canon: ReferenceCanon, namer: FunctionNamer): DifferenceSide {
    const { fn, bytes } = listing;
    const at = listing.starts[i];
    const targets: string[] = [];
    let first: { kind: string; text: string } | undefined;
    for (let r = listing.firstRef[i]; r < listing.endRef[i]; r++) {
      const location = fn.target(r);
      const c = canon.canonical(location, namer);
      first ??= c;
      targets.push(describeLocation(location, c.text));
    }
    if (kind === 'string' && first) return { symbol: fn.name, offset: at, value: first.text.slice(2) };
    if (kind === 'callee' && targets.length > 0) return { symbol: fn.name, offset: at, value: targets[0] };
    const suffix = targets.length > 0 ? ` # ${targets.join(', ')}` : '';
    if (listing.undecodable[i]) {
      const shown = Array.from(bytes.subarray(at, at + Math.min(listing.lengths[i], 16)), (x) => `0x${x.toString(16).padStart(2, '0')}`);
      return { symbol: fn.name, offset: at, value: `.byte ${shown.join(',')}${suffix}` };
    }
    const encoded: EncodedInstruction = { bytes: Buffer.from(bytes.subarray(at, at + listing.lengths[i])).toString('hex'), address: at, suffix, into: 'value' };
    return { symbol: fn.name, offset: at, value: '', encoded };
  }

  /** Kernel table entries of the two functions that differ. */
  private special(o: FunctionInfo, p: FunctionInfo, limit: number): Difference[] {
    const { original: a, patched: b } = this.comparer.specialTables();
    const listA = entriesOf(a, o.id);
    const listB = entriesOf(b, p.id);
    const out: Difference[] = [];
    const count = Math.max(listA.length, listB.length);
    for (let k = 0; k < count && out.length < limit; k++) {
      const x = listA[k];
      const y = listB[k];
      const textX = x && describeEntry(x.table, x.index, this.comparer.original, this.comparer.originalCanon, this.comparer.nameOriginal);
      const textY = y && describeEntry(y.table, y.index, this.comparer.patched, this.comparer.patchedCanon, this.comparer.namePatched);
      if (x && y && x.table.site[x.index] === y.table.site[y.index] && textX === textY) continue;
      out.push({
        kind: 'special-section',
        original: x ? { symbol: o.name, offset: x.table.site[x.index], value: textX! } : null,
        patched: y ? { symbol: p.name, offset: y.table.site[y.index], value: textY! } : null,
      });
    }
    return out;
  }
}

/**
 * Pairs the instructions of two functions that differ, in order, until `limit` pairs:
 * where the two sides stop agreeing, the nearest point within LOOKAHEAD where they agree
 * again decides which instructions were replaced, removed or inserted. Evidence, not a
 * minimal edit script: it stops after the first few differences.
 */
function align(a: Listing, b: Listing, same: (i: number, j: number) => boolean, limit: number): [number | undefined, number | undefined][] {
  const pairs: [number | undefined, number | undefined][] = [];
  let i = 0;
  let j = 0;
  while ((a.has(i) || b.has(j)) && pairs.length < limit) {
    if (a.has(i) && b.has(j) && same(i, j)) {
      i++;
      j++;
      continue;
    }
    // The nearest (x, y) ahead with x + y smallest where the sides agree again.
    let resync: [number, number] | undefined;
    for (let d = 1; d <= 2 * LOOKAHEAD && !resync; d++) {
      for (let x = Math.max(0, d - LOOKAHEAD); x <= Math.min(d, LOOKAHEAD) && !resync; x++) {
        const y = d - x;
        if (a.has(i + x) && b.has(j + y) && same(i + x, j + y)) resync = [x, y];
      }
    }
    const [x, y] = resync ?? [Math.max(0, a.count() - i), Math.max(0, b.count() - j)];
    for (let k = 0; k < Math.max(x, y) && pairs.length < limit; k++) pairs.push([k < x ? i + k : undefined, k < y ? j + k : undefined]);
    i += x;
    j += y;
  }
  return pairs;
}

function entriesOf(entries: SpecialEntries, id: number): { table: SpecialTable; index: number }[] {
  const out: { table: SpecialTable; index: number }[] = [];
  for (let i = entries.start[id]; i < entries.start[id + 1]; i++) out.push({ table: entries.tables[entries.table[i]], index: entries.index[i] });
  return out;
}

/** A table entry for people: its table, its own bytes (line and flags for __bug_table), and what it points to. */
function describeEntry(table: SpecialTable, index: number, model: ObjectModel, canon: ReferenceCanon, namer: FunctionNamer): string {
  const size = table.layout.size;
  const at = index * size;
  const data = table.data;
  let text: string;
  const line = entryLine(table, index);
  const flags = entryFlags(table, index);
  if (line !== undefined && flags !== undefined) {
    text = `${table.name}: line ${line}, flags 0x${flags.toString(16)}`;
  } else {
    text = `${table.name}: ${Buffer.from(data.subarray(at, at + size)).toString('hex')}`;
    if (table.parallel && table.layout.parallel) {
      const ps = table.layout.parallel.size;
      text += ` ${table.layout.parallel.section} ${Buffer.from(table.parallel.subarray(index * ps, index * ps + ps)).toString('hex')}`;
    }
  }
  const targets = entryTargets(table, index, model).map((t) => `+${t.at}: ${describeLocation(t.location, canon.canonical(t.location, namer).text)}`);
  return targets.length > 0 ? `${text} (${targets.join(', ')})` : text;
}

/** A reference target for people: a function and offset, a symbol, a string, or constant bytes. */
export function describeLocation(location: Location, canonical: string): string {
  const plus = (offset: number) => (offset === 0 ? '' : offset > 0 ? `+0x${offset.toString(16)}` : `-0x${(-offset).toString(16)}`);
  switch (location.kind) {
    case 'function':
      return `${location.fn.name}${plus(location.offset)}`;
    case 'external':
    case 'absolute':
      return `${location.name}${plus(location.offset)}`;
    case 'section':
      if (canonical.startsWith('S:')) return JSON.stringify(canonical.slice(2));
      if (location.symbol && location.symbol.name && canonical.startsWith('D:')) return `${location.symbol.name}${plus(location.symbolOffset ?? 0)}`;
      return canonical.length > 80 ? `${canonical.slice(0, 77)}...` : canonical;
  }
}

function lineDifference(o: FunctionInfo, p: FunctionInfo, line: LineShift): Difference {
  return {
    kind: line.table ? 'special-section' : 'constant',
    original: { symbol: o.name, offset: line.offset, value: line.original },
    patched: { symbol: p.name, offset: line.offset, value: line.original + line.shift },
    ...(line.evidence ? { evidence: line.evidence } : {}),
  };
}

function noiseDifference(o: FunctionInfo, p: FunctionInfo, noise: NoiseString): Difference {
  return { kind: 'string', original: { symbol: o.name, offset: noise.offset, value: noise.original }, patched: { symbol: p.name, offset: noise.offset, value: noise.patched } };
}

function undecodableSide(fn: FunctionInfo, model: ObjectModel, range: { offset: number; length: number }): DifferenceSide {
  const start = fn.offset + range.offset;
  const bytes = model.object.sectionData(fn.section).subarray(start, start + Math.min(range.length, 16));
  return { symbol: fn.name, offset: range.offset, value: `${range.length} undecodable byte(s): ${Buffer.from(bytes).toString('hex')}${range.length > 16 ? '...' : ''}` };
}
