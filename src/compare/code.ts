import { createHash } from 'node:crypto';
import type { CodeReference } from '../arch/backend.js';
import { SHF_EXECINSTR, SHF_MERGE, SHF_STRINGS, SHN_UNDEF, SHT_NOBITS, STT_SECTION, type ElfSymbol } from '../elf/types.js';
import type { FunctionInfo, Location, ObjectModel } from '../model/types.js';
import { normalizeName } from './match.js';
import { entryLine, entryTargets, replacementBytes, sameEntryBytes, specialEntries, type SpecialEntry } from '../model/special.js';

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
  private anchors = new Map<number, number[]>();

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
      for (const fn of this.model.functions) for (const loc of fn.targets) if (loc.kind === 'section') add(loc.section, loc.offset);
      for (const [s, set] of sets) this.anchors.set(s, [...set].sort((a, b) => a - b));
      if (this.anchors.size === 0) this.anchors.set(-1, []);
    }
    const list = this.anchors.get(section) ?? [];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid] <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < list.length ? list[lo] : Number.MAX_SAFE_INTEGER;
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
  for (const ref of fn.references) {
    const from = ref.fieldOffset - fn.offset;
    bytes.fill(0, Math.max(0, from), Math.min(bytes.length, from + ref.fieldSize));
  }
  return bytes;
}

/** Byte-for-byte equality of two ranges, without making views of them. */
function sameRange(a: Uint8Array, from: number, b: Uint8Array, at: number, length: number): boolean {
  if (from + length > a.length || at + length > b.length) return false;
  for (let i = 0; i < length; i++) if (a[from + i] !== b[at + i]) return false;
  return true;
}

/** The common case, settled without canonical forms: the same undefined symbol and addend. */
function sameExternal(a: CodeReference, b: CodeReference, symbolsA: ElfSymbol[], symbolsB: ElfSymbol[]): boolean {
  if (a.target.kind !== 'symbol' || b.target.kind !== 'symbol' || a.target.addend !== b.target.addend) return false;
  const x = symbolsA[a.target.symbol];
  const y = symbolsB[b.target.symbol];
  return x.shndx === SHN_UNDEF && y.shndx === SHN_UNDEF && x.name === y.name;
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
  private specialOriginal?: Map<FunctionInfo, SpecialEntry[]>;
  private specialPatched?: Map<FunctionInfo, SpecialEntry[]>;

  /**
   * The kernel's tables about a function's code (static branches, alternatives, exception
   * fixups, static calls, BUG sites, ORC) entry by entry; a __bug_table line that moved is
   * a line shift, like a __LINE__ argument.
   */
  private compareSpecial(o: FunctionInfo, p: FunctionInfo, nameOriginal: FunctionNamer, namePatched: FunctionNamer): SpecialDifference {
    this.specialOriginal ??= specialEntries(this.original);
    this.specialPatched ??= specialEntries(this.patched);
    const a = this.specialOriginal.get(o) ?? [];
    const b = this.specialPatched.get(p) ?? [];
    if (a.length === 0 && b.length === 0) return [];
    if (a.length !== b.length) return 'changed';
    const bySite = (x: SpecialEntry, y: SpecialEntry) => (x.table.name < y.table.name ? -1 : x.table.name > y.table.name ? 1 : x.site - y.site);
    const inOrder = (list: SpecialEntry[]) => list.every((e, i) => i === 0 || bySite(list[i - 1], e) <= 0);
    const sa = inOrder(a) ? a : [...a].sort(bySite);
    const sb = inOrder(b) ? b : [...b].sort(bySite);
    const shifts: { shift: number; parameter: string }[] = [];
    for (let i = 0; i < sa.length; i++) {
      const x = sa[i];
      const y = sb[i];
      if (x.table.name !== y.table.name || x.site !== y.site || !sameEntryBytes(x, y)) return 'changed';
      const tx = entryTargets(x, this.original);
      const ty = entryTargets(y, this.patched);
      if (tx.length !== ty.length) return 'changed';
      for (let t = 0; t < tx.length; t++) {
        if (tx[t].at !== ty[t].at || tx[t].type !== ty[t].type) return 'changed';
        const rx = replacementBytes(x, tx[t], this.original);
        const ry = replacementBytes(y, ty[t], this.patched);
        if (rx || ry) {
          if (!rx || !ry || !Buffer.from(rx).equals(Buffer.from(ry))) return 'changed';
          continue;
        }
        if (this.surelySame(tx[t].location, ty[t].location, this.toPatched)) continue;
        if (this.originalCanon.describe(tx[t].location, nameOriginal).text !== this.patchedCanon.describe(ty[t].location, namePatched).text) return 'changed';
      }
      const lx = entryLine(x);
      const ly = entryLine(y);
      if (lx !== ly) shifts.push({ shift: ly! - lx!, parameter: `${x.table.name}#line` });
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
    fn.references.forEach((ref, i) => hash.update(`${ref.fieldOffset - fn.offset}${ref.kind}${canon.canonical(fn.targets[i], namer).text}\n`));
    print = hash.digest('hex');
    this.prints.set(fn, print);
    return print;
  };

  /**
   * Why two matched functions differ, or nothing when they do not. Function targets are
   * compared through the matching, so a call to a renamed clone is no change.
   */
  compare(o: FunctionInfo, p: FunctionInfo, toPatched: Map<FunctionInfo, FunctionInfo>): FunctionDifference {
    this.toPatched = toPatched;
    const reasons = new Set<ChangeReason>();
    let maskedDiffer: [Uint8Array, Uint8Array] | undefined;
    if (o.size !== p.size || o.references.length !== p.references.length) reasons.add('code');
    else {
      if (!sameRange(this.original.object.sectionData(o.section), o.offset, this.patched.object.sectionData(p.section), p.offset, o.size)) {
        const a = maskedBytes(this.original, o);
        const b = maskedBytes(this.patched, p);
        if (!Buffer.from(a).equals(Buffer.from(b))) maskedDiffer = [a, b];
      }
    }
    const nameOriginal: FunctionNamer = (fn) => {
      const mapped = toPatched.get(fn);
      return mapped ? mapped.key : `\0original:${fn.key}`;
    };
    const namePatched: FunctionNamer = (fn) => fn.key;
    const symbolsA = this.original.object.symbols;
    const symbolsB = this.patched.object.symbols;
    if (!reasons.has('code')) {
      for (let i = 0; i < o.references.length; i++) {
        const a = o.references[i];
        const b = p.references[i];
        if (a.fieldOffset - o.offset !== b.fieldOffset - p.offset || a.kind !== b.kind || a.fieldSize !== b.fieldSize) {
          reasons.add('code');
          break;
        }
        if (sameExternal(a, b, symbolsA, symbolsB)) continue;
        if (this.surelySame(o.targets[i], p.targets[i], toPatched)) continue;
        const ca = this.originalCanon.canonical(o.targets[i], nameOriginal);
        const cb = this.patchedCanon.canonical(p.targets[i], namePatched);
        if (ca.text === cb.text) continue;
        if (ca.kind === 'string' && cb.kind === 'string') reasons.add('string literal');
        else if (ca.kind === 'constant' && cb.kind === 'constant') reasons.add('constant');
        else reasons.add('relocation');
      }
    }
    const lineShifts: { shift: number; parameter: string }[] = [];
    if (maskedDiffer && !reasons.has('code')) {
      const args = reasons.size === 0 ? this.original.backend.lineNumberShifts(maskedDiffer[0], maskedDiffer[1]) : undefined;
      if (args) {
        const calleeAt = (offset: number) => {
          const index = o.references.findIndex((r) => r.insnOffset - o.offset === offset && r.kind !== 'address');
          if (index < 0) return '';
          const loc = o.targets[index];
          return loc.kind === 'function' ? loc.fn.name : loc.kind === 'external' ? loc.name : '';
        };
        for (const a of args) lineShifts.push({ shift: a.shift, parameter: `${calleeAt(a.callOffset)}#${a.register}` });
      } else reasons.add('code');
    }
    if (!reasons.has('code')) {
      const special = this.compareSpecial(o, p, nameOriginal, namePatched);
      if (special === 'changed') reasons.add('special section');
      else lineShifts.push(...special);
    }
    if (reasons.size === 0 && lineShifts.length > 0) return { reasons: [], lineShifts };
    if (reasons.has('code')) {
      // The code moved, so references cannot be paired by position: say what the function
      // refers to that it did not before, or no longer does.
      const count = (targets: Location[], canon: ReferenceCanon, namer: FunctionNamer) => {
        const counts = new Map<string, { n: number; kind: string }>();
        for (const target of targets) {
          const c = canon.canonical(target, namer);
          const text = c.kind === 'function' ? c.text.replace(/\+\d+$/, '') : c.text;
          const entry = counts.get(text);
          if (entry) entry.n++;
          else counts.set(text, { n: 1, kind: c.kind });
        }
        return counts;
      };
      const before = count(o.targets, this.originalCanon, nameOriginal);
      const after = count(p.targets, this.patchedCanon, namePatched);
      const differing = new Set<string>();
      for (const [text, { n, kind }] of before) if (after.get(text)?.n !== n) differing.add(kind);
      for (const [text, { n, kind }] of after) if (before.get(text)?.n !== n) differing.add(kind);
      if (differing.has('function') || differing.has('symbol')) reasons.add('relocation');
      if (differing.has('string')) reasons.add('string literal');
      if (differing.has('constant')) reasons.add('constant');
    }
    return { reasons: [...reasons] };
  }
}

type SpecialDifference = 'changed' | { shift: number; parameter: string }[];

export interface FunctionDifference {
  reasons: ChangeReason[];
  /**
   * Set when the only difference is in line-number-like call arguments: each one's shift,
   * and the parameter it is passed as (callee and register).
   */
  lineShifts?: { shift: number; parameter: string }[];
}
