import type { ReferenceTarget, SectionCode } from '../arch/backend.js';
import { SHN_UNDEF, STT_SECTION, type ElfObject, type ElfSymbol } from '../elf/types.js';
import { CoverIndex } from './cover-index.js';
import type { FunctionInfo, Location } from './types.js';

/** Where offsets and symbols of one object land: functions first, data after. */
export class Locator {
  // Arrays by section index, allocated at full length: objects built with -ffunction-sections
  // have tens of thousands of sections, and V8 turns an array written far past its end into a
  // dictionary.
  private readonly functionIndex: (CoverIndex<FunctionInfo> | undefined)[];
  private dataIndex?: (CoverIndex<ElfSymbol> | undefined)[];
  /** Calls to a function's entry are the common case: one location per function (by id) for them. */
  private readonly entries: (Location | undefined)[];
  /** Data is referenced again and again (strings, globals): one location per place. */
  private readonly placesBySection: (Map<number, Location> | undefined)[];
  /**
   * Calls out of the object are most references in kernel code, and a symbol with addend
   * 0 is what most references name: one location per symbol, kept.
   */
  private readonly symbolEntries: (Location | undefined)[];

  constructor(
    private readonly object: ElfObject,
    functionsBySection: Map<number, FunctionInfo[]>,
  ) {
    this.functionIndex = new Array(object.sections.length);
    this.placesBySection = new Array(object.sections.length);
    let functionCount = 0;
    for (const [section, list] of functionsBySection) {
      this.functionIndex[section] = new CoverIndex(list, (fn) => fn.offset, (fn) => fn.size);
      functionCount += list.length;
    }
    this.entries = new Array(functionCount);
    this.symbolEntries = new Array(object.symbols.length);
  }

  functionAt(section: number, offset: number): FunctionInfo | undefined {
    return this.functionIndex[section]?.covering(offset);
  }

  locate(section: number, at: number): Location {
    const offset = smallInteger(at);
    const fn = this.functionIndex[section]?.covering(offset);
    if (fn) {
      if (offset !== fn.offset) return { kind: 'function', fn, offset: offset - fn.offset };
      return (this.entries[fn.id] ??= { kind: 'function', fn, offset: 0 });
    }
    let places = this.placesBySection[section];
    if (!places) this.placesBySection[section] = places = new Map();
    let location = places.get(offset);
    if (!location) {
      const data = this.dataSymbolCovering(section, offset);
      location = data ? { kind: 'section', section, offset, symbol: data, symbolOffset: offset - data.value } : { kind: 'section', section, offset };
      places.set(offset, location);
    }
    return location;
  }

  resolveSymbol(index: number, addend: number): Location {
    if (addend === 0) {
      const known = this.symbolEntries[index];
      if (known !== undefined) return known;
    }
    const symbol = this.object.symbols[index];
    let location: Location;
    if (!symbol || symbol.shndx === SHN_UNDEF) location = { kind: 'external', name: symbol?.name ?? '', offset: addend };
    else if (symbol.reserved) location = { kind: 'absolute', name: symbol.name, offset: addend };
    else location = this.locate(symbol.shndx, symbol.value + addend);
    if (addend === 0 && index >= 0 && index < this.symbolEntries.length) this.symbolEntries[index] = location;
    return location;
  }

  resolve(target: ReferenceTarget): Location {
    return target.kind === 'section' ? this.locate(target.section, target.offset) : this.resolveSymbol(target.symbol, target.addend);
  }

  /** Where reference `i` of a section's code lands; no object for the common targets. */
  referenceTarget(sectionCode: SectionCode, i: number): Location {
    const symbol = sectionCode.symbol[i];
    if (symbol < 0) return this.locate(sectionCode.section, sectionCode.value[i]);
    return this.resolveSymbol(symbol, sectionCode.value[i]);
  }

  private dataSymbolCovering(section: number, offset: number): ElfSymbol | undefined {
    return (this.dataIndex ??= dataSymbolIndex(this.object))[section]?.covering(offset);
  }
}

/** Sized symbols other than section symbols, by section: what data references land in. */
function dataSymbolIndex(object: ElfObject): (CoverIndex<ElfSymbol> | undefined)[] {
  const bySection = new Map<number, ElfSymbol[]>();
  for (const symbol of object.symbols) {
    if (symbol.size === 0 || symbol.type === STT_SECTION || symbol.shndx === SHN_UNDEF || symbol.reserved) continue;
    const list = bySection.get(symbol.shndx);
    if (list) list.push(symbol);
    else bySection.set(symbol.shndx, [symbol]);
  }
  const index: (CoverIndex<ElfSymbol> | undefined)[] = new Array(object.sections.length);
  for (const [section, list] of bySection) index[section] = new CoverIndex(list, (s) => s.value, (s) => s.size);
  return index;
}

/**
 * The same number, as a small integer where it is one. Offsets come out of Float64Array
 * columns as doubles, and V8 boxes a double stored in an object's field (a Location's
 * offset) separately for every object of that shape.
 */
function smallInteger(n: number): number {
  return (n | 0) === n ? n | 0 : n;
}
