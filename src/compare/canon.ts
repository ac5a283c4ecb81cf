import { SHF_EXECINSTR, SHF_MERGE, SHF_STRINGS, SHN_UNDEF, SHT_NOBITS, STT_SECTION } from '../elf/types.js';
import type { FunctionInfo, Location, ObjectModel } from '../model/types.js';
import { upperBound } from '../sorted.js';
import { normalizeName } from './match.js';

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
