import { SHF_EXECINSTR, SHF_MERGE, SHF_STRINGS, SHN_UNDEF, SHT_NOBITS, STT_SECTION, type ElfSymbol } from '../elf/types.js';
import type { FunctionInfo, Location, ObjectModel } from '../model/types.js';
import { upperBound } from '../sorted.js';
import { normalizeName } from './match.js';

/** A reference target in a form comparable across builds, and what kind of thing it is. */
export interface CanonicalTarget {
  readonly text: string;
  readonly kind: 'function' | 'string' | 'constant' | 'symbol';
}

/** How a function target is named when references are put in canonical form. */
export type FunctionNamer = (fn: FunctionInfo) => string;

/** Anonymous data is compared by its bytes up to the next thing that has a name or is referenced. */
const MAX_ANONYMOUS_REGION = 4096;

/**
 * Puts the references of one object's code in a form that can be compared with the other
 * object's: functions by identity and offset, strings by content, anonymous constants by
 * their bytes, never by the section offsets that shift when something unrelated changes.
 */
export class ReferenceCanon {
  private anchors = new Map<number, Float64Array>();
  private unsortedAnchors?: (Float64Array | undefined)[];

  /**
   * Texts of places in sections, by Location (the locator makes one per place): strings and
   * data are referred to again and again. Texts that name no function are kept whoever
   * asks; texts that name functions (a jump table's entries) only for the namer the
   * comparison names its functions with, and only while its naming holds.
   */
  private readonly placeTexts = new Map<Location, CanonicalTarget>();
  private readonly namedTexts = new Map<Location, CanonicalTarget>();
  private keptNamer?: FunctionNamer;
  /** Set when a description named a function. */
  private namedFunction = false;

  constructor(private readonly model: ObjectModel) {}

  /** Texts made with `namer` may be kept (until forgetNamedTexts): it names each function the same way every time. */
  keepTextsOf(namer: FunctionNamer): void {
    this.keptNamer = namer;
    this.namedTexts.clear();
  }

  /** The kept namer names functions differently from now on (the matching it names them by was made). */
  forgetNamedTexts(): void {
    this.namedTexts.clear();
  }

  canonical(loc: Location, nameFunction: FunctionNamer): CanonicalTarget {
    if (loc.kind !== 'section') return this.describe(loc, nameFunction, 0);
    const known = this.placeTexts.get(loc);
    if (known) return known;
    const keepNamed = nameFunction === this.keptNamer;
    if (keepNamed) {
      const named = this.namedTexts.get(loc);
      if (named) return named;
    }
    this.namedFunction = false;
    const described = this.describe(loc, nameFunction, 0);
    if (!this.namedFunction) this.placeTexts.set(loc, described);
    else if (keepNamed) this.namedTexts.set(loc, described);
    return described;
  }

  describe(loc: Location, nameFunction: FunctionNamer, depth = 0): CanonicalTarget {
    switch (loc.kind) {
      case 'function':
        this.namedFunction = true;
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
            // A PC-relative entry is read as where it points from the region's start; a
            // symbol outside the object has no place for that to matter.
            const local = symbol !== undefined && symbol.shndx !== SHN_UNDEF && !symbol.reserved;
            const addend = table.addend[r] + (local && this.isPcRelative(table.type[r]) ? at - loc.offset : 0);
            const inner = this.model.resolve({ kind: 'symbol', symbol: table.symbol[r], addend });
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
    const list = this.anchorsOf(section);
    const next = upperBound(list, offset);
    return next < list.length ? list[next] : Number.MAX_SAFE_INTEGER;
  }

  /** A section's anchors, sorted and without repeats; sorted on first use (few sections are asked about). */
  private anchorsOf(section: number): Float64Array {
    const known = this.anchors.get(section);
    if (known) return known;
    this.unsortedAnchors ??= this.collectAnchors();
    const list = this.unsortedAnchors[section];
    if (!list) return NO_ANCHORS;
    list.sort();
    let m = 0;
    for (let q = 0; q < list.length; q++) if (m === 0 || list[m - 1] !== list[q]) list[m++] = list[q];
    const sorted = list.subarray(0, m);
    this.anchors.set(section, sorted);
    return sorted;
  }

  /**
   * Every section's anchors in one pass over the symbols and the resolved references, by
   * section and unsorted: a set per section cost a hash per reference of the whole object,
   * and sorting them all, when only the sections of anonymous data are asked about, a
   * tenth of a kernel tree comparison's reference work.
   */
  private collectAnchors(): (Float64Array | undefined)[] {
    const { object } = this.model;
    const symbols = object.symbols;
    const sectionCount = object.sections.length;
    // Which symbols lie in data (functions live in code: no anchors there), read once:
    // the references below are millions per tree, and most name external symbols.
    const inData = new Uint8Array(symbols.length);
    const counts = new Int32Array(sectionCount + 1);
    const anchored = (symbol: ElfSymbol) => symbol.shndx !== SHN_UNDEF && !symbol.reserved && symbol.shndx < sectionCount;
    for (let s = 0; s < symbols.length; s++) {
      const symbol = symbols[s];
      if (!anchored(symbol)) continue;
      if (symbol.type !== STT_SECTION) counts[symbol.shndx]++;
      if (((object.sections[symbol.shndx]?.flags ?? SHF_EXECINSTR) & SHF_EXECINSTR) === 0) inData[s] = 1;
    }
    for (const fn of this.model.functions) {
      const symbolColumn = fn.code.symbol;
      for (let i = fn.firstReference; i < fn.endReference; i++) {
        const s = symbolColumn[i];
        if (s >= 0 && s < inData.length && inData[s] === 1) counts[symbols[s].shndx]++;
      }
    }
    const lists: (Float64Array | undefined)[] = new Array(sectionCount);
    const filled = new Int32Array(sectionCount);
    for (let section = 0; section < sectionCount; section++) if (counts[section] > 0) lists[section] = new Float64Array(counts[section]);
    for (let s = 0; s < symbols.length; s++) {
      const symbol = symbols[s];
      if (anchored(symbol) && symbol.type !== STT_SECTION) lists[symbol.shndx]![filled[symbol.shndx]++] = symbol.value;
    }
    for (const fn of this.model.functions) {
      const code = fn.code;
      const symbolColumn = code.symbol;
      for (let i = fn.firstReference; i < fn.endReference; i++) {
        const s = symbolColumn[i];
        if (s >= 0 && s < inData.length && inData[s] === 1) {
          const section = symbols[s].shndx;
          lists[section]![filled[section]++] = symbols[s].value + code.value[i];
        }
      }
    }
    return lists;
  }
}

const NO_ANCHORS = new Float64Array(0);

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
