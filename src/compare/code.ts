import { createHash } from 'node:crypto';
import { KIND_ADDRESS, TRANSFER_KINDS, type SectionCode } from '../arch/backend.js';
import { SHF_MERGE, SHF_STRINGS, SHN_UNDEF, STT_SECTION, type ElfSymbol } from '../elf/types.js';
import type { FunctionInfo, Location, ObjectModel } from '../model/types.js';
import { normalizeName } from './match.js';
import { entryLine, entryTargets, replacementBytes, sameEntryBytes, specialEntries, type SpecialEntries } from '../model/special.js';
import { maskedBytes, ReferenceCanon, type FunctionNamer } from './canon.js';
import { LineArgumentEvidence } from './line-evidence.js';

export type ChangeReason = 'code' | 'relocation' | 'string literal' | 'constant' | 'part' | 'special section' | 'undecodable';

/** The same build stamp (the kernel release) as each build spells it. */
export interface BuildStamp {
  original: string;
  patched: string;
}

/** A string literal that differs only by build stamps. */
export interface NoiseString {
  /** Offset in each function of the instruction that refers to it. */
  offset: number;
  original: string;
  patched: string;
}

const compareRanges = Buffer.prototype.compare;

/** Byte-for-byte equality of two ranges, without making views of them (memcmp, not a loop here). */
function sameRange(a: Uint8Array, from: number, b: Uint8Array, at: number, length: number): boolean {
  if (from + length > a.length || at + length > b.length) return false;
  return compareRanges.call(a, b, at, at + length, from, from + length) === 0;
}

/**
 * Each symbol of an object that names something outside it (undefined), by a number for
 * its name that is the same on both sides; -1 for every other symbol. References to other
 * objects are most of kernel code's: compared as two numbers, without reaching for the two
 * symbols' objects.
 */
class ExternalNames {
  private readonly ids = new Map<string, number>();

  column(symbols: readonly ElfSymbol[]): Int32Array {
    const out = new Int32Array(symbols.length).fill(-1);
    for (let s = 0; s < symbols.length; s++) {
      const symbol = symbols[s];
      if (symbol.shndx !== SHN_UNDEF) continue;
      let id = this.ids.get(symbol.name);
      if (id === undefined) this.ids.set(symbol.name, (id = this.ids.size));
      out[s] = id;
    }
    return out;
  }
}

/** The common case, settled without canonical forms or Locations: the same undefined symbol and addend. */
function sameExternal(a: SectionCode, i: number, b: SectionCode, j: number, externalA: Int32Array, externalB: Int32Array): boolean {
  const x = a.symbol[i];
  const y = b.symbol[j];
  if (x < 0 || y < 0 || x >= externalA.length || y >= externalB.length) return false;
  const name = externalA[x];
  return name >= 0 && name === externalB[y] && a.value[i] === b.value[j];
}

export class CodeComparer {
  readonly originalCanon: ReferenceCanon;
  readonly patchedCanon: ReferenceCanon;
  /** What the original code says about constants that moved like line numbers. */
  readonly lineEvidence: LineArgumentEvidence;
  private readonly prints = new Map<FunctionInfo, string>();
  /** ExternalNames columns of the two objects' symbols. */
  private readonly externalOriginal: Int32Array;
  private readonly externalPatched: Int32Array;

  constructor(
    readonly original: ObjectModel,
    readonly patched: ObjectModel,
    /** Build stamps: a string that differs only by these is build noise, not a change. */
    private readonly stamps: readonly BuildStamp[] = [],
  ) {
    const externals = new ExternalNames();
    this.externalOriginal = externals.column(original.object.symbols);
    this.externalPatched = externals.column(patched.object.symbols);
    this.originalCanon = new ReferenceCanon(original);
    this.patchedCanon = new ReferenceCanon(patched);
    this.originalCanon.keepTextsOf(this.nameOriginal);
    this.patchedCanon.keepTextsOf(this.namePatched);
    this.lineEvidence = new LineArgumentEvidence(original, this.originalCanon, this.nameOriginal);
  }

  /**
   * The common cases of two references reaching the same thing, settled without building
   * canonical strings: the same (matched) function at the same offset, the same external or
   * named data symbol, the same string. False means "look closer", not "different".
   */
  private surelySame(a: Location, b: Location): boolean {
    if (a.kind === 'function' && b.kind === 'function') return this.patchedIdOf[a.fn.id] === b.fn.id && a.offset === b.offset;
    if ((a.kind === 'external' && b.kind === 'external') || (a.kind === 'absolute' && b.kind === 'absolute')) return a.name === b.name && a.offset === b.offset;
    if (a.kind !== 'section' || b.kind !== 'section') return false;
    if (a.symbol && b.symbol && a.symbol.type !== STT_SECTION && b.symbol.type !== STT_SECTION) {
      return a.symbolOffset === b.symbolOffset && (a.symbol.name === b.symbol.name || normalizeName(a.symbol.name) === normalizeName(b.symbol.name));
    }
    const sa = this.original.object.sections[a.section];
    const sb = this.patched.object.sections[b.section];
    const strings = SHF_MERGE | SHF_STRINGS;
    if ((sa.flags & strings) !== strings || (sb.flags & strings) !== strings || sa.entsize > 1 || sb.entsize > 1) return false;
    const da = this.original.object.sectionData(a.section);
    const db = this.patched.object.sectionData(b.section);
    let i = a.offset;
    let j = b.offset;
    while (i < da.length && j < db.length && da[i] === db[j]) {
      if (da[i] === 0) return true;
      i++;
      j++;
    }
    return false;
  }

  /** Whether reference `i` of `o` and `j` of `p` reach the same thing, by the comparison's rules. */
  sameReference(o: FunctionInfo, i: number, p: FunctionInfo, j: number): boolean {
    if (sameExternal(o.code, i, p.code, j, this.externalOriginal, this.externalPatched)) return true;
    const ta = o.target(i);
    const tb = p.target(j);
    if (this.surelySame(ta, tb)) return true;
    return this.originalCanon.canonical(ta, this.nameOriginal).text === this.patchedCanon.canonical(tb, this.namePatched).text;
  }

  private toPatched = new Map<FunctionInfo, FunctionInfo>();
  /** The matching by function id: the patched id of each original function, -1 when unmatched. */
  private patchedIdOf = new Int32Array(0);
  private readonly reasons = new Set<ChangeReason>();
  private readonly noise: NoiseString[] = [];
  private readonly lineShifts: LineShift[] = [];
  private specialOriginal?: SpecialEntries;
  private specialPatched?: SpecialEntries;

  /** Every function's entries in the kernel's tables about code, on each side; read once. */
  specialTables(): { original: SpecialEntries; patched: SpecialEntries } {
    this.specialOriginal ??= specialEntries(this.original);
    this.specialPatched ??= specialEntries(this.patched);
    return { original: this.specialOriginal, patched: this.specialPatched };
  }

  /**
   * The kernel's tables about a function's code (static branches, alternatives, exception
   * fixups, static calls, BUG sites, ORC) entry by entry; a __bug_table line that moved is
   * a line shift, like a __LINE__ argument.
   */
  private compareSpecial(o: FunctionInfo, p: FunctionInfo, nameOriginal: FunctionNamer, namePatched: FunctionNamer): SpecialDifference {
    const { original: a, patched: b } = this.specialTables();
    const first = a.start[o.id];
    const count = a.start[o.id + 1] - first;
    const firstB = b.start[p.id];
    if (count !== b.start[p.id + 1] - firstB) return 'changed';
    let shifts: LineShift[] | undefined;
    for (let k = 0; k < count; k++) {
      const run = sameEntryRun(a, first + k, b, firstB + k, count - k);
      if (run > 0) {
        k += run - 1;
        continue;
      }
      const x = a.tables[a.table[first + k]];
      const y = b.tables[b.table[firstB + k]];
      const ix = a.index[first + k];
      const iy = b.index[firstB + k];
      if (x.name !== y.name || x.site[ix] !== y.site[iy] || !sameEntryBytes(x, ix, y, iy)) return 'changed';
      const extraX = x.firstRelocation[ix + 1] - x.firstRelocation[ix];
      const extraY = y.firstRelocation[iy + 1] - y.firstRelocation[iy];
      if (extraX !== extraY) return 'changed';
      if (extraX > 1) {
        const tx = entryTargets(x, ix, this.original);
        const ty = entryTargets(y, iy, this.patched);
        for (let t = 0; t < tx.length; t++) {
          if (tx[t].at !== ty[t].at || tx[t].type !== ty[t].type) return 'changed';
          const rx = replacementBytes(x, ix, tx[t], this.original);
          const ry = replacementBytes(y, iy, ty[t], this.patched);
          if (rx || ry) {
            if (!rx || !ry || !Buffer.from(rx).equals(Buffer.from(ry))) return 'changed';
            continue;
          }
          if (this.surelySame(tx[t].location, ty[t].location)) continue;
          if (this.originalCanon.describe(tx[t].location, nameOriginal).text !== this.patchedCanon.describe(ty[t].location, namePatched).text) return 'changed';
        }
      }
      const lx = entryLine(x, ix);
      const ly = entryLine(y, iy);
      if (lx !== ly) (shifts ??= []).push({ shift: ly! - lx!, original: lx!, callee: '', argument: -1, table: x.name, offset: x.site[ix], callOffset: -1 });
    }
    return shifts ?? NO_SHIFTS;
  }

  /** Content identity with compiler numbers normalized: used to pair renamed clones. */
  fingerprint = (fn: FunctionInfo, model: ObjectModel): string => {
    let print = this.prints.get(fn);
    if (print) return print;
    const canon = model === this.original ? this.originalCanon : this.patchedCanon;
    const hash = createHash('sha1');
    hash.update(maskedBytes(model, fn));
    const namer: FunctionNamer = (target) => (target === fn ? '<self>' : normalizeName(target.name));
    const code = fn.code;
    for (let i = fn.firstReference; i < fn.endReference; i++) {
      hash.update(`${code.fieldOffset[i] - fn.offset}${TRANSFER_KINDS[code.kind[i]]}${canon.canonical(fn.target(i), namer).text}\n`);
    }
    print = hash.digest('hex');
    this.prints.set(fn, print);
    return print;
  };

  /**
   * Why two matched functions differ, or nothing when they do not. Function targets are
   * compared through the matching, so a call to a renamed clone is no change.
   */
  /** Original functions are named by their patched match, so that a renamed clone is the same target. */
  readonly nameOriginal: FunctionNamer = (fn) => {
    const mapped = this.toPatched.get(fn);
    return mapped ? mapped.key : `\0original:${fn.key}`;
  };
  readonly namePatched: FunctionNamer = (fn) => fn.key;

  compare(o: FunctionInfo, p: FunctionInfo, toPatched: Map<FunctionInfo, FunctionInfo>): FunctionDifference {
    if (this.toPatched !== toPatched) {
      // Original functions are named by their match: a new matching names them anew.
      this.toPatched = toPatched;
      this.patchedIdOf = new Int32Array(this.original.functions.length).fill(-1);
      for (const [x, y] of toPatched) this.patchedIdOf[x.id] = y.id;
      this.originalCanon.forgetNamedTexts();
    }
    // Most pairs differ in nothing: one set and list, emptied for each, instead of new ones.
    const reasons = this.reasons;
    reasons.clear();
    const noise = this.noise;
    noise.length = 0;
    let maskedDiffer: [Uint8Array, Uint8Array] | undefined;
    const count = o.endReference - o.firstReference;
    if (o.size !== p.size || count !== p.endReference - p.firstReference) reasons.add('code');
    else {
      if (!sameRange(this.original.object.sectionData(o.section), o.offset, this.patched.object.sectionData(p.section), p.offset, o.size)) {
        const a = maskedBytes(this.original, o);
        const b = maskedBytes(this.patched, p);
        if (!Buffer.from(a).equals(Buffer.from(b))) maskedDiffer = [a, b];
      }
    }
    if (!reasons.has('code')) this.compareReferences(o, p, reasons, noise);
    const lineShifts = this.lineShifts;
    lineShifts.length = 0;
    if (maskedDiffer && !reasons.has('code')) {
      const args = reasons.size === 0 ? this.original.backend.lineNumberShifts(maskedDiffer[0], maskedDiffer[1]) : undefined;
      if (args) {
        for (const a of args) lineShifts.push({ shift: a.shift, original: a.original, callee: calleeAt(o, a.callOffset), argument: a.argument, offset: a.offset, callOffset: a.callOffset });
      } else reasons.add('code');
    }
    if (!reasons.has('code')) {
      const special = this.compareSpecial(o, p, this.nameOriginal, this.namePatched);
      if (special === 'changed') reasons.add('special section');
      else lineShifts.push(...special);
    }
    // Code the decoder could not read may hide any reference: only the same bytes and the
    // same relocations prove it unchanged.
    if ((o.undecodable.length > 0 || p.undecodable.length > 0) && !this.sameBytesAndRelocations(o, p)) reasons.add('undecodable');
    if (reasons.size === 0 && (lineShifts.length > 0 || noise.length > 0)) {
      return { reasons: [], ...(lineShifts.length > 0 ? { lineShifts: [...lineShifts] } : {}), ...(noise.length > 0 ? { noise: [...noise] } : {}) };
    }
    if (reasons.size === 0) return NO_DIFFERENCE;
    if (reasons.has('code')) this.addMovedReferenceReasons(o, p, reasons);
    return { reasons: [...reasons] };
  }

  /** The same bytes, and relocations of the same types, symbol names and addends at the same offsets. */
  private sameBytesAndRelocations(o: FunctionInfo, p: FunctionInfo): boolean {
    if (o.size !== p.size) return false;
    if (!sameRange(this.original.object.sectionData(o.section), o.offset, this.patched.object.sectionData(p.section), p.offset, o.size)) return false;
    const ta = this.original.object.relocationTable(o.section);
    const tb = this.patched.object.relocationTable(p.section);
    let i = ta.lowerBound(o.offset);
    let j = tb.lowerBound(p.offset);
    const symbolsA = this.original.object.symbols;
    const symbolsB = this.patched.object.symbols;
    for (; i < ta.count && ta.offset[i] < o.offset + o.size; i++, j++) {
      if (j >= tb.count || tb.offset[j] >= p.offset + p.size) return false;
      if (ta.offset[i] - o.offset !== tb.offset[j] - p.offset || ta.type[i] !== tb.type[j] || ta.addend[i] !== tb.addend[j]) return false;
      if (symbolsA[ta.symbol[i]]?.name !== symbolsB[tb.symbol[j]]?.name) return false;
    }
    return j >= tb.count || tb.offset[j] >= p.offset + p.size;
  }

  /** A string that becomes the other build's by putting each stamp in place of its old spelling. */
  private onlyStampsDiffer(a: string, b: string): boolean {
    if (this.stamps.length === 0) return false;
    let text = a;
    for (const stamp of this.stamps) text = text.split(stamp.original).join(stamp.patched);
    return text === b;
  }

  /** References of the same code, paired by position: why the ones that differ do. */
  private compareReferences(o: FunctionInfo, p: FunctionInfo, reasons: Set<ChangeReason>, noise: NoiseString[]): void {
    const externalA = this.externalOriginal;
    const externalB = this.externalPatched;
    const a = o.code;
    const b = p.code;
    const count = o.endReference - o.firstReference;
    for (let k = 0; k < count; k++) {
      const i = o.firstReference + k;
      const j = p.firstReference + k;
      if (a.fieldOffset[i] - o.offset !== b.fieldOffset[j] - p.offset || a.kind[i] !== b.kind[j] || a.fieldSize[i] !== b.fieldSize[j]) {
        reasons.add('code');
        return;
      }
      if (sameExternal(a, i, b, j, externalA, externalB)) continue;
      const ta = o.target(i);
      const tb = p.target(j);
      if (this.surelySame(ta, tb)) continue;
      const ca = this.originalCanon.canonical(ta, this.nameOriginal);
      const cb = this.patchedCanon.canonical(tb, this.namePatched);
      if (ca.text === cb.text) continue;
      if (ca.kind === 'string' && cb.kind === 'string') {
        // Canonical string texts are `S:` and the literal.
        if (this.onlyStampsDiffer(ca.text.slice(2), cb.text.slice(2))) noise.push({ offset: a.insnOffset[i] - o.offset, original: ca.text.slice(2), patched: cb.text.slice(2) });
        else reasons.add('string literal');
      } else if (ca.kind === 'constant' && cb.kind === 'constant') reasons.add('constant');
      else reasons.add('relocation');
    }
  }

  /**
   * The code moved, so references cannot be paired by position: say what the function
   * refers to that it did not before, or no longer does.
   */
  private addMovedReferenceReasons(o: FunctionInfo, p: FunctionInfo, reasons: Set<ChangeReason>): void {
    const before = tallyReferences(o, this.originalCanon, this.nameOriginal);
    const after = tallyReferences(p, this.patchedCanon, this.namePatched);
    const differing = new Set<string>();
    for (const [text, { n, kind }] of before) if (after.get(text)?.n !== n) differing.add(kind);
    for (const [text, { n, kind }] of after) if (before.get(text)?.n !== n) differing.add(kind);
    if (differing.has('function') || differing.has('symbol')) reasons.add('relocation');
    if (differing.has('string')) reasons.add('string literal');
    if (differing.has('constant')) reasons.add('constant');
  }
}

/** A function's references by canonical target (functions without the offset), counted. */
function tallyReferences(fn: FunctionInfo, canon: ReferenceCanon, namer: FunctionNamer): Map<string, { n: number; kind: string }> {
  const counts = new Map<string, { n: number; kind: string }>();
  for (let i = fn.firstReference; i < fn.endReference; i++) {
    // A function target without its offset (the code moved): named as the canonical form
    // names it, without making that form first.
    const location = fn.target(i);
    const c = location.kind === 'function' ? { text: `F:${namer(location.fn)}`, kind: 'function' } : canon.canonical(location, namer);
    const entry = counts.get(c.text);
    if (entry) entry.n++;
    else counts.set(c.text, { n: 1, kind: c.kind });
  }
  return counts;
}

/**
 * How many entries from `i` (original) and `j` (patched) are consecutive entries of one
 * table on each side that agree as compareSpecial's entry-by-entry rules would find: same
 * table, sites and bytes, no relocation but the site's and no line field. 0 when there is
 * no such run of two or more, or when any of it differs (the caller then goes entry by
 * entry, to the same answer). ORC has an entry every few instructions: most of a function's
 * entries are such a run, compared as two blocks of bytes.
 */
function sameEntryRun(a: SpecialEntries, i: number, b: SpecialEntries, j: number, limit: number): number {
  const x = a.tables[a.table[i]];
  const y = b.tables[b.table[j]];
  if (x.layout.line || x.name !== y.name) return 0;
  const ix = a.index[i];
  const iy = b.index[j];
  let length = 1;
  while (length < limit && a.table[i + length] === a.table[i] && b.table[j + length] === b.table[j] && a.index[i + length] === ix + length && b.index[j + length] === iy + length) length++;
  if (length < 2) return 0;
  // Every entry a function owns has its site's relocation: as many relocations as entries
  // means none has another.
  if (x.firstRelocation[ix + length] - x.firstRelocation[ix] !== length || y.firstRelocation[iy + length] - y.firstRelocation[iy] !== length) return 0;
  for (let k = 0; k < length; k++) if (x.site[ix + k] !== y.site[iy + k]) return 0;
  // Relocated fields are zero in a RELA object: the entries' bytes compare whole.
  const size = x.layout.size;
  if (!sameRange(x.data, ix * size, y.data, iy * size, length * size)) return 0;
  const parallel = x.layout.parallel;
  if (parallel) {
    if (!x.parallel || !y.parallel) return x.parallel === y.parallel ? length : 0;
    if (!sameRange(x.parallel, ix * parallel.size, y.parallel, iy * parallel.size, length * parallel.size)) return 0;
  }
  return length;
}

/** The function or symbol called by the instruction at `offset` of `fn`, for naming a line parameter. */
function calleeAt(fn: FunctionInfo, offset: number): string {
  const code = fn.code;
  for (let i = fn.firstReference; i < fn.endReference; i++) {
    if (code.insnOffset[i] - fn.offset !== offset || code.kind[i] === KIND_ADDRESS) continue;
    const loc = fn.target(i);
    return loc.kind === 'function' ? loc.fn.name : loc.kind === 'external' ? loc.name : '';
  }
  return '';
}

type SpecialDifference = 'changed' | LineShift[];

/** The special tables' line shifts of most function pairs: none, shared. */
const NO_SHIFTS: LineShift[] = Object.freeze([]) as unknown as LineShift[];

/** What most function pairs compare to: shared, so that no object is made for them. */
const NO_DIFFERENCE: FunctionDifference = Object.freeze({ reasons: Object.freeze([]) as unknown as ChangeReason[] });

/** Why a constant that differs between the builds is taken for a moved source line number. */
export type LineEvidence = 'bug_table' | 'line_callee' | 'format' | 'function_name' | 'dwarf' | 'span';

/** A constant that may be a source line number, as it differs between the builds. */
export interface LineShift {
  /** New value minus old value. */
  shift: number;
  /** The old value. */
  original: number;
  /** The function or external symbol the constant is passed to ('' when unknown); '' for a table's line field. */
  callee: string;
  /** Its 0-based argument position; -1 for a table's line field. */
  argument: number;
  /** For the line field of a kernel table entry: the table (`__bug_table`). */
  table?: string;
  /** Offset in the function of the instruction that loads it, or of the site a table entry describes. */
  offset: number;
  /** Offset in the function of the call that receives it; -1 for a table's line field. */
  callOffset: number;
  /** Set once the shift is proven a line number, with the proof. */
  evidence?: LineEvidence;
}

export interface FunctionDifference {
  reasons: ChangeReason[];
  /**
   * Set when the only difference is in line-number-like call arguments: each one's shift,
   * and the parameter it is passed as (callee and register).
   */
  lineShifts?: LineShift[];
  /** Set when the only difference is in string literals that differ only by build stamps. */
  noise?: NoiseString[];
}
