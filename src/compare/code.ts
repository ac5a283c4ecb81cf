import { createHash } from 'node:crypto';
import { KIND_ADDRESS, TRANSFER_KINDS, type SectionCode } from '../arch/backend.js';
import { SHF_EXECINSTR, SHF_MERGE, SHF_STRINGS, SHN_UNDEF, SHT_NOBITS, STT_SECTION, type ElfSymbol } from '../elf/types.js';
import type { FunctionInfo, Location, ObjectModel } from '../model/types.js';
import { upperBound } from '../sorted.js';
import { normalizeName } from './match.js';
import { entryLine, entryTargets, replacementBytes, sameEntryBytes, specialEntries, type SpecialEntries } from '../model/special.js';

export type ChangeReason = 'code' | 'relocation' | 'string literal' | 'constant' | 'part' | 'special section';

/** How a function target is named when references are put in canonical form. */
type FunctionNamer = (fn: FunctionInfo) => string;

/** Anonymous data is compared by its bytes up to the next thing that has a name or is referenced. */
const MAX_ANONYMOUS_REGION = 4096;

/**
 * Puts the references of one object's code in a form that can be compared with the other
 * object's: functions by identity and offset, strings by content, anonymous constants by
 * their bytes, never by the section offsets that shift when something unrelated changes.
 */
class ReferenceCanon {
  private anchors = new Map<number, Float64Array>();

  constructor(private readonly model: ObjectModel) {}

  canonical(loc: Location, nameFunction: FunctionNamer): { text: string; kind: 'function' | 'string' | 'constant' | 'symbol' } {
    return this.describe(loc, nameFunction, 0);
  }

  describe(loc: Location, nameFunction: FunctionNamer, depth = 0): { text: string; kind: 'function' | 'string' | 'constant' | 'symbol' } {
    switch (loc.kind) {
      case 'function':
        return { text: `F:${nameFunction(loc.fn)}+${loc.offset}`, kind: 'function' };
      case 'external':
        return { text: `X:${loc.name}+${loc.offset}`, kind: 'symbol' };
      case 'absolute':
        return { text: `A:${loc.name}+${loc.offset}`, kind: 'symbol' };
      case 'section': {
        const object = this.model.object;
        const section = object.sections[loc.section];
        if (loc.symbol && loc.symbol.name && loc.symbol.type !== STT_SECTION) {
          return { text: `D:${normalizeName(loc.symbol.name)}+${loc.symbolOffset}`, kind: 'symbol' };
        }
        const data = object.sectionData(loc.section);
        if ((section.flags & (SHF_MERGE | SHF_STRINGS)) === (SHF_MERGE | SHF_STRINGS)) {
          return { text: `S:${readString(data, loc.offset, Math.max(1, section.entsize))}`, kind: 'string' };
        }
        if (section.flags & SHF_MERGE && section.entsize > 0) {
          return { text: `K:${hex(data, loc.offset, loc.offset + section.entsize)}`, kind: 'constant' };
        }
        if (section.flags & SHF_EXECINSTR) {
          return { text: `T:${section.name}+${loc.offset}`, kind: 'symbol' };
        }
        const end = Math.min(this.nextAnchor(loc.section, loc.offset), loc.offset + MAX_ANONYMOUS_REGION, section.size);
        // Zero-initialised data has no bytes: what identifies it is its size.
        if (section.type === SHT_NOBITS) return { text: `Z:${kindOfSection(section.name)}:${end - loc.offset}`, kind: 'constant' };
        let text = `C:${kindOfSection(section.name)}:${hex(data, loc.offset, end)}`;
        if (depth === 0) {
          // Relocated entries inside the region (jump tables, pointer arrays) by what they reach.
          const table = object.relocationTable(loc.section);
          for (let r = table.lowerBound(loc.offset); r < table.count && table.offset[r] < end; r++) {
            const at = table.offset[r];
            const symbol = object.symbols[table.symbol[r]];
            const addend = table.addend[r];
            let inner: Location;
            if (!symbol || symbol.shndx === SHN_UNDEF) inner = { kind: 'external', name: symbol?.name ?? '', offset: addend };
            else if (symbol.reserved) inner = { kind: 'absolute', name: symbol.name, offset: addend };
            else inner = this.model.resolve({ kind: 'symbol', symbol: table.symbol[r], addend: addend + (this.isPcRelative(table.type[r]) ? at - loc.offset : 0) });
            text += `|${at - loc.offset}:${this.describe(inner, nameFunction, depth + 1).text}`;
          }
        }
        return { text, kind: 'constant' };
      }
    }
  }

  private isPcRelative(type: number): boolean {
    return this.model.backend.dataReference(type)?.pcRelative ?? false;
  }

  /** The next offset after `offset` in a data section where a symbol starts or code points. */
  private nextAnchor(section: number, offset: number): number {
    if (this.anchors.size === 0) {
      // Every section's anchors in one pass over the symbols and the resolved references.
      const sets = new Map<number, Set<number>>();
      const add = (s: number, offset: number) => {
        let set = sets.get(s);
        if (!set) sets.set(s, (set = new Set()));
        set.add(offset);
      };
      for (const symbol of this.model.object.symbols) if (symbol.type !== STT_SECTION && symbol.shndx !== SHN_UNDEF && !symbol.reserved) add(symbol.shndx, symbol.value);
      const { object } = this.model;
      for (const fn of this.model.functions) {
        const code = fn.code;
        for (let i = fn.firstReference; i < fn.endReference; i++) {
          // Only data anchors matter, and functions live in code: no Location needed.
          const symbol = code.symbol[i] >= 0 ? object.symbols[code.symbol[i]] : undefined;
          if (!symbol || symbol.shndx === SHN_UNDEF || symbol.reserved) continue;
          if ((object.sections[symbol.shndx]?.flags ?? SHF_EXECINSTR) & SHF_EXECINSTR) continue;
          add(symbol.shndx, symbol.value + code.value[i]);
        }
      }
      for (const [s, set] of sets) this.anchors.set(s, Float64Array.from(set).sort());
      if (this.anchors.size === 0) this.anchors.set(-1, new Float64Array(0));
    }
    const list = this.anchors.get(section) ?? [];
    const next = upperBound(list, offset);
    return next < list.length ? list[next] : Number.MAX_SAFE_INTEGER;
  }
}

function kindOfSection(name: string): string {
  // .rodata.foo and .rodata are the same kind of place; the suffix is a -fdata-sections detail.
  const m = /^\.?([a-z_]+)/.exec(name);
  return m ? m[1] : name;
}

function readString(data: Uint8Array, offset: number, width: number): string {
  if (offset < 0 || offset >= data.length) return `<offset ${offset}>`;
  let end = offset;
  outer: while (end + width <= data.length) {
    for (let i = 0; i < width; i++) if (data[end + i] !== 0) {
      end += width;
      continue outer;
    }
    break;
  }
  return Buffer.from(data.buffer, data.byteOffset + offset, end - offset).toString('latin1');
}

function hex(data: Uint8Array, from: number, to: number): string {
  const start = Math.min(Math.max(0, from), data.length);
  const end = Math.min(Math.max(start, to), data.length);
  return Buffer.from(data.buffer, data.byteOffset + start, end - start).toString('hex');
}

/** A function's bytes with every referencing field zeroed: what is left is the code itself. */
export function maskedBytes(model: ObjectModel, fn: FunctionInfo): Uint8Array {
  const data = model.object.sectionData(fn.section);
  const bytes = Uint8Array.from(data.subarray(fn.offset, fn.offset + fn.size));
  const code = fn.code;
  for (let i = fn.firstReference; i < fn.endReference; i++) {
    const from = code.fieldOffset[i] - fn.offset;
    bytes.fill(0, Math.max(0, from), Math.min(bytes.length, from + code.fieldSize[i]));
  }
  return bytes;
}

const compareRanges = Buffer.prototype.compare;

/** Byte-for-byte equality of two ranges, without making views of them (memcmp, not a loop here). */
function sameRange(a: Uint8Array, from: number, b: Uint8Array, at: number, length: number): boolean {
  if (from + length > a.length || at + length > b.length) return false;
  return compareRanges.call(a, b, at, at + length, from, from + length) === 0;
}

/** The common case, settled without canonical forms or Locations: the same undefined symbol and addend. */
function sameExternal(a: SectionCode, i: number, b: SectionCode, j: number, symbolsA: ElfSymbol[], symbolsB: ElfSymbol[]): boolean {
  if (a.symbol[i] < 0 || b.symbol[j] < 0 || a.value[i] !== b.value[j]) return false;
  const x = symbolsA[a.symbol[i]];
  const y = symbolsB[b.symbol[j]];
  return x !== undefined && y !== undefined && x.shndx === SHN_UNDEF && y.shndx === SHN_UNDEF && x.name === y.name;
}

export class CodeComparer {
  private readonly originalCanon: ReferenceCanon;
  private readonly patchedCanon: ReferenceCanon;
  private readonly prints = new Map<FunctionInfo, string>();

  constructor(
    readonly original: ObjectModel,
    readonly patched: ObjectModel,
  ) {
    this.originalCanon = new ReferenceCanon(original);
    this.patchedCanon = new ReferenceCanon(patched);
  }

  /**
   * The common cases of two references reaching the same thing, settled without building
   * canonical strings: the same (matched) function at the same offset, the same external or
   * named data symbol, the same string. False means "look closer", not "different".
   */
  private surelySame(a: Location, b: Location, toPatched: Map<FunctionInfo, FunctionInfo>): boolean {
    if (a.kind === 'function' && b.kind === 'function') return toPatched.get(a.fn) === b.fn && a.offset === b.offset;
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

  private toPatched = new Map<FunctionInfo, FunctionInfo>();
  private specialOriginal?: SpecialEntries;
  private specialPatched?: SpecialEntries;

  /**
   * The kernel's tables about a function's code (static branches, alternatives, exception
   * fixups, static calls, BUG sites, ORC) entry by entry; a __bug_table line that moved is
   * a line shift, like a __LINE__ argument.
   */
  private compareSpecial(o: FunctionInfo, p: FunctionInfo, nameOriginal: FunctionNamer, namePatched: FunctionNamer): SpecialDifference {
    const a = (this.specialOriginal ??= specialEntries(this.original));
    const b = (this.specialPatched ??= specialEntries(this.patched));
    const first = a.start[o.id];
    const count = a.start[o.id + 1] - first;
    const firstB = b.start[p.id];
    if (count !== b.start[p.id + 1] - firstB) return 'changed';
    const shifts: LineShift[] = [];
    for (let k = 0; k < count; k++) {
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
          if (this.surelySame(tx[t].location, ty[t].location, this.toPatched)) continue;
          if (this.originalCanon.describe(tx[t].location, nameOriginal).text !== this.patchedCanon.describe(ty[t].location, namePatched).text) return 'changed';
        }
      }
      const lx = entryLine(x, ix);
      const ly = entryLine(y, iy);
      if (lx !== ly) shifts.push({ shift: ly! - lx!, parameter: `${x.name}#line`, original: lx! });
    }
    return shifts;
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
  private readonly nameOriginal: FunctionNamer = (fn) => {
    const mapped = this.toPatched.get(fn);
    return mapped ? mapped.key : `\0original:${fn.key}`;
  };
  private readonly namePatched: FunctionNamer = (fn) => fn.key;

  compare(o: FunctionInfo, p: FunctionInfo, toPatched: Map<FunctionInfo, FunctionInfo>): FunctionDifference {
    this.toPatched = toPatched;
    const reasons = new Set<ChangeReason>();
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
    if (!reasons.has('code')) this.compareReferences(o, p, toPatched, reasons);
    const lineShifts: LineShift[] = [];
    if (maskedDiffer && !reasons.has('code')) {
      const args = reasons.size === 0 ? this.original.backend.lineNumberShifts(maskedDiffer[0], maskedDiffer[1]) : undefined;
      if (args) {
        for (const a of args) lineShifts.push({ shift: a.shift, parameter: `${calleeAt(o, a.callOffset)}#${a.register}`, original: a.original });
      } else reasons.add('code');
    }
    if (!reasons.has('code')) {
      const special = this.compareSpecial(o, p, this.nameOriginal, this.namePatched);
      if (special === 'changed') reasons.add('special section');
      else lineShifts.push(...special);
    }
    if (reasons.size === 0 && lineShifts.length > 0) return { reasons: [], lineShifts };
    if (reasons.size === 0) return NO_DIFFERENCE;
    if (reasons.has('code')) this.addMovedReferenceReasons(o, p, reasons);
    return { reasons: [...reasons] };
  }

  /** References of the same code, paired by position: why the ones that differ do. */
  private compareReferences(o: FunctionInfo, p: FunctionInfo, toPatched: Map<FunctionInfo, FunctionInfo>, reasons: Set<ChangeReason>): void {
    const symbolsA = this.original.object.symbols;
    const symbolsB = this.patched.object.symbols;
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
      if (sameExternal(a, i, b, j, symbolsA, symbolsB)) continue;
      const ta = o.target(i);
      const tb = p.target(j);
      if (this.surelySame(ta, tb, toPatched)) continue;
      const ca = this.originalCanon.canonical(ta, this.nameOriginal);
      const cb = this.patchedCanon.canonical(tb, this.namePatched);
      if (ca.text === cb.text) continue;
      if (ca.kind === 'string' && cb.kind === 'string') reasons.add('string literal');
      else if (ca.kind === 'constant' && cb.kind === 'constant') reasons.add('constant');
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
    const c = canon.canonical(fn.target(i), namer);
    const text = c.kind === 'function' ? c.text.replace(/\+\d+$/, '') : c.text;
    const entry = counts.get(text);
    if (entry) entry.n++;
    else counts.set(text, { n: 1, kind: c.kind });
  }
  return counts;
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

/** What most function pairs compare to: shared, so that no object is made for them. */
const NO_DIFFERENCE: FunctionDifference = Object.freeze({ reasons: Object.freeze([]) as unknown as ChangeReason[] });

/** A constant that may be a source line number, as it differs between the builds. */
export interface LineShift {
  /** New value minus old value. */
  shift: number;
  /** Where it is passed: `callee#register`, or `table#line` for a line field of a kernel table. */
  parameter: string;
  /** The old value. */
  original: number;
}

export interface FunctionDifference {
  reasons: ChangeReason[];
  /**
   * Set when the only difference is in line-number-like call arguments: each one's shift,
   * and the parameter it is passed as (callee and register).
   */
  lineShifts?: LineShift[];
}
