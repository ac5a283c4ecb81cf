import { backendFor } from '../arch/index.js';
import { KIND_ADDRESS, KIND_CALL, KIND_JUMP, SectionCodeBuilder, type DecodedTwin, type ReferenceTarget, type SectionCode, type UndecodableRange } from '../arch/backend.js';
import {
  SHF_EXECINSTR,
  SHN_UNDEF,
  SHT_NOBITS,
  SHT_PROGBITS,
  STB_LOCAL,
  STT_FILE,
  STT_FUNC,
  STT_NOTYPE,
  STT_SECTION,
  type ElfObject,
  type ElfSymbol,
} from '../elf/types.js';
import { upperBound } from '../sorted.js';
import { findParts } from './parts.js';
import type { Edge, FunctionInfo, Location, ObjectModel, PartEvidence } from './types.js';

/** Sorted, sized symbols of one section, for "which symbol covers this offset". */
class CoverIndex<T> {
  private readonly items: T[];
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  /** Index of the item the last lookup found, where it is safe to try first (-1: none). */
  private last = -1;

  constructor(items: T[], start: (item: T) => number, size: (item: T) => number) {
    const sorted = sortByStart(items, start, size);
    this.items = sorted;
    this.starts = new Float64Array(sorted.length);
    this.ends = new Float64Array(sorted.length);
    for (let i = 0; i < sorted.length; i++) {
      this.starts[i] = start(sorted[i]);
      this.ends[i] = this.starts[i] + size(sorted[i]);
    }
  }

  covering(offset: number): T | undefined {
    // References and table entries come in code order: mostly the same symbol as last time.
    const last = this.last;
    if (last >= 0 && offset >= this.starts[last] && offset < this.ends[last]) return this.items[last];
    return this.search(offset);
  }

  private search(offset: number): T | undefined {
    const { starts, ends } = this;
    let lo = 0;
    let hi = starts.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= offset) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Nested or overlapping symbols are rare; look back a little for one that covers.
    for (let i = best; i >= 0 && i > best - 4; i--) {
      if (offset >= starts[i] && offset < ends[i]) {
        // Remembered only where no later symbol starts inside it, so the answer stays the same.
        this.last = i + 1 >= starts.length || starts[i + 1] >= ends[i] ? i : -1;
        return this.items[i];
      }
    }
    return undefined;
  }
}

const INDEX_BITS = 2 ** 22;

/**
 * Items by start, larger first where starts are equal, otherwise in their own order. A
 * comparator sort calls back into JavaScript for every comparison (2% of a kernel tree
 * comparison's time); starts and positions packed into one number sort natively.
 */
function sortByStart<T>(items: T[], start: (item: T) => number, size: (item: T) => number): T[] {
  const bySize = (a: T, b: T) => start(a) - start(b) || size(b) - size(a);
  if (items.length >= INDEX_BITS) return [...items].sort(bySize);
  const keys = new Float64Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const s = start(items[i]);
    if (!(s >= 0 && s < 2 ** 31)) return [...items].sort(bySize);
    keys[i] = s * INDEX_BITS + i;
  }
  keys.sort();
  const sorted = new Array<T>(items.length);
  for (let i = 0; i < keys.length; i++) sorted[i] = items[keys[i] % INDEX_BITS];
  // Runs of equal starts (aliases, nested symbols) are few and short: larger first.
  for (let i = 0; i + 1 < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && start(sorted[j]) === start(sorted[i])) j++;
    if (j - i > 1) {
      const run = sorted.slice(i, j).sort(bySize);
      for (let k = 0; k < run.length; k++) sorted[i + k] = run[k];
    }
    i = j;
  }
  return sorted;
}

function isFunctionSymbol(symbol: ElfSymbol, object: ElfObject): boolean {
  if (symbol.size === 0 || symbol.shndx === SHN_UNDEF || symbol.reserved) return false;
  const section = object.sections[symbol.shndx];
  if (!section || (section.flags & SHF_EXECINSTR) === 0) return false;
  if (symbol.type === STT_FUNC) return true;
  // clang emits split-off cold code as sized STT_NOTYPE symbols.
  return symbol.type === STT_NOTYPE && symbol.name.includes('.cold');
}

export interface ModelOptions {
  /**
   * Another build of the same object, already modelled (the original, when this is the
   * patched one): ranges of code whose bytes are the same in both are not decoded again.
   */
  twin?: ObjectModel;
}

/**
 * Reads an object's functions, their references, parts and edges.
 *
 * Each step is a function or method of its own: V8 compiles hot code again for every
 * worker thread, and one large function with its closures took it 100 to 400 ms per
 * compile (measured with --trace-opt over a kernel tree), several times per thread.
 */
export function buildModel(object: ElfObject, options: ModelOptions = {}): ObjectModel {
  const backend = backendFor(object);
  const warnings: string[] = [];
  const functions = collectFunctions(object);
  const byName = functionsByName(functions);
  assignSymbolPositions(object, functions);
  const byKey = new Map<string, FunctionInfo>();
  for (const fn of functions) byKey.set(fn.key, fn);
  const functionsBySection = groupBySection(functions);
  const locator = new Locator(object, functionsBySection);
  const code = decodeSections(object, backend, functionsBySection, locator, options.twin);
  warnUndecodable(object, functions, warnings);

  // Jumps between functions are evidence for parts, so they are found now; the other edges
  // are made when someone asks (tree mode only asks for the changed functions' edges).
  const jumps = jumpsBetweenFunctions(functions as FunctionRecord[], locator);
  const locate = (section: number, offset: number) => locator.locate(section, offset);
  const resolve = (target: ReferenceTarget) => locator.resolve(target);
  // Code addresses a function takes (label addresses of computed gotos, in its code or in a
  // table it uses) enter the code they point at as a jump would: evidence for parts too.
  const addresses = codeAddressTransfers(object, functions as FunctionRecord[], locator);
  for (const transfers of [jumpTableTransfers(object, functions, locate, backend, addresses), staticBranchTransfers(object, resolve)]) {
    for (const t of transfers) {
      jumps.push(t);
      (t.from as FunctionRecord).addJumpOut(t);
    }
  }

  findParts({ functions, byName, raw: addresses.length > 0 ? [...jumps, ...addresses] : jumps, warnings, object });

  return { object, backend, functions, byName, byKey, code, warnings, resolve, functionAt: (section, offset) => locator.functionAt(section, offset) };
}

/** Function symbols, with aliases folded into the first symbol at the same place. */
function collectFunctions(object: ElfObject): FunctionRecord[] {
  const functions: FunctionRecord[] = [];
  // Aliases share section, value and size; symbols that share only the start are distinct.
  // The first function at each offset, per section (small-integer keys hash fast).
  const byPlace: (Map<number, FunctionRecord> | undefined)[] = new Array(object.sections.length);
  const bySizedPlace = new Map<string, FunctionRecord>();
  for (const symbol of object.symbols) {
    if (!isFunctionSymbol(symbol, object)) continue;
    const places = (byPlace[symbol.shndx] ??= new Map());
    const first = places.get(symbol.value);
    const existing = first === undefined || first.size === symbol.size ? first : bySizedPlace.get(sizedPlace(symbol));
    if (existing) {
      if (existing.aliases === NO_ALIASES) existing.aliases = [symbol.name];
      else existing.aliases.push(symbol.name);
      continue;
    }
    const fn = new FunctionRecord(functions.length, symbol, object.sections[symbol.shndx].name);
    functions.push(fn);
    if (first === undefined) places.set(symbol.value, fn);
    else bySizedPlace.set(sizedPlace(symbol), fn);
  }
  return functions;
}

const sizedPlace = (symbol: ElfSymbol) => `${symbol.shndx}:${symbol.value}:${symbol.size}`;

function functionsByName(functions: FunctionInfo[]): Map<string, FunctionInfo[]> {
  const byName = new Map<string, FunctionInfo[]>();
  const addName = (name: string, fn: FunctionInfo) => {
    const list = byName.get(name);
    if (list) list.push(fn);
    else byName.set(name, [fn]);
  };
  for (const fn of functions) {
    addName(fn.name, fn);
    for (const alias of fn.aliases) addName(alias, fn);
  }
  return byName;
}

const countsForSympos = (symbol: ElfSymbol) => symbol.type !== STT_SECTION && symbol.type !== STT_FILE && symbol.shndx !== SHN_UNDEF;

/** kallsyms tells same-named symbols apart by their position among all of them. */
function assignSymbolPositions(object: ElfObject, functions: FunctionRecord[]): void {
  const occurrences = new Map<string, number>();
  for (const fn of functions) occurrences.set(fn.name, 0);
  let repeated = false;
  for (const symbol of object.symbols) {
    const n = occurrences.get(symbol.name);
    if (n === undefined || !countsForSympos(symbol)) continue;
    occurrences.set(symbol.name, n + 1);
    if (n > 0) repeated = true;
  }
  if (!repeated) return;
  const functionBySymbol = new Map(functions.map((fn) => [fn.symbol, fn]));
  const seen = new Map<string, number>();
  for (const symbol of object.symbols) {
    if ((occurrences.get(symbol.name) ?? 0) < 2 || !countsForSympos(symbol)) continue;
    const position = (seen.get(symbol.name) ?? 0) + 1;
    seen.set(symbol.name, position);
    const fn = functionBySymbol.get(symbol);
    if (!fn) continue;
    fn.sympos = position;
    fn.key = `${fn.name},${fn.sympos}`;
  }
}

function groupBySection(functions: FunctionRecord[]): Map<number, FunctionRecord[]> {
  const bySection = new Map<number, FunctionRecord[]>();
  for (const fn of functions) {
    const list = bySection.get(fn.section);
    if (list) list.push(fn);
    else bySection.set(fn.section, [fn]);
  }
  return bySection;
}

/** Where offsets and symbols of one object land: functions first, data after. */
class Locator {
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

/** Decodes every executable section once, resynchronising at every symbol that starts in it. */
function decodeSections(
  object: ElfObject,
  backend: ObjectModel['backend'],
  functionsBySection: Map<number, FunctionRecord[]>,
  locator: Locator,
  twin: ObjectModel | undefined,
): Map<number, SectionCode> {
  const code = new Map<number, SectionCode>();
  const startsBySection = new Map<number, number[]>();
  for (const symbol of object.symbols) {
    if (symbol.shndx === SHN_UNDEF || symbol.reserved || symbol.type === STT_SECTION) continue;
    const list = startsBySection.get(symbol.shndx);
    if (list) list.push(symbol.value);
    else startsBySection.set(symbol.shndx, [symbol.value]);
  }
  for (const section of object.sections) {
    if ((section.flags & SHF_EXECINSTR) === 0 || section.type === SHT_NOBITS || section.size === 0) continue;
    if (section.type !== SHT_PROGBITS) continue;
    const starts = startsBySection.get(section.index) ?? [];
    const fns = functionsBySection.get(section.index);
    const decodedTwinSection = twin && decodedTwin(object, section.index, fns ?? [], twin);
    const sectionCode = backend.scanSection(object, section.index, starts, decodedTwinSection);
    code.set(section.index, sectionCode);
    if (fns) attachReferences(fns, sectionCode, locator);
  }
  return code;
}

/** A function's references are the run of its section's references that start inside it. */
function attachReferences(functions: FunctionRecord[], sectionCode: SectionCode, locator: Locator): void {
  const sorted = [...functions].sort((a, b) => a.offset - b.offset);
  const insnOffset = sectionCode.insnOffset;
  const gaps = sectionCode.undecodable;
  let i = 0;
  for (const fn of sorted) {
    const end = fn.offset + fn.size;
    while (i < sectionCode.count && insnOffset[i] < fn.offset) i++;
    let j = i;
    while (j < sectionCode.count && insnOffset[j] < end) j++;
    fn.attach(sectionCode, i, j, locator);
    // Nested symbols share references; the next function may start inside this one.
    if (gaps.length > 0) fn.undecodable = undecodableIn(gaps, fn.offset, end);
  }
}

/** The parts of a section's undecodable ranges that lie in [start, end), relative to start. */
function undecodableIn(gaps: readonly UndecodableRange[], start: number, end: number): readonly UndecodableRange[] {
  // Ascending and disjoint: their ends ascend too.
  let lo = 0;
  let hi = gaps.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (gaps[mid].offset + gaps[mid].length <= start) lo = mid + 1;
    else hi = mid;
  }
  let inside: UndecodableRange[] | undefined;
  for (let g = lo; g < gaps.length && gaps[g].offset < end; g++) {
    const from = Math.max(gaps[g].offset, start);
    const to = Math.min(gaps[g].offset + gaps[g].length, end);
    (inside ??= []).push({ offset: from - start, length: to - from });
  }
  return inside ? Object.freeze(inside) : NO_RANGES;
}

/** Shown of an undecodable range's bytes in its warning. */
const SHOWN_BYTES = 16;

/**
 * One warning per undecodable range inside a function: its references there are unknown.
 * Bytes between functions (alignment fill) belong to none and are no concern.
 */
function warnUndecodable(object: ElfObject, functions: FunctionRecord[], warnings: string[]): void {
  for (const fn of functions) {
    if (fn.undecodable.length === 0) continue;
    const bytes = object.sectionData(fn.section);
    for (const gap of fn.undecodable) {
      const at = fn.offset + gap.offset;
      const shown = Array.from(bytes.subarray(at, at + Math.min(gap.length, SHOWN_BYTES)), (b) => b.toString(16).padStart(2, '0')).join(' ');
      const more = gap.length > SHOWN_BYTES ? ' ...' : '';
      const end = gap.offset + gap.length;
      const resumed = end < fn.size ? `decoding resumed at ${fn.name}+0x${end.toString(16)}` : `not decoded up to the end of ${fn.name}`;
      warnings.push(
        `${object.path}: undecodable bytes in ${fn.name}+0x${gap.offset.toString(16)} (${gap.length} byte${gap.length === 1 ? '' : 's'}: ${shown}${more}): ${resumed}`,
      );
    }
  }
}

function jumpsBetweenFunctions(functions: FunctionRecord[], locator: Locator): Transfer[] {
  const jumps: Transfer[] = [];
  for (const fn of functions) {
    const sectionCode = fn.code;
    for (let i = fn.firstReference; i < fn.endReference; i++) {
      if (sectionCode.kind[i] !== KIND_JUMP) continue;
      const location = locator.referenceTarget(sectionCode, i);
      if (location.kind === 'function' && location.fn !== fn) {
        const transfer: Transfer = { from: fn, kind: 'jump', location, at: sectionCode.insnOffset[i] - fn.offset, via: sectionCode.relocationType[i] >= 0 ? 'relocation' : 'resolved' };
        jumps.push(transfer);
        fn.addJumpOut(transfer);
      }
    }
  }
  return jumps;
}

/**
 * Addresses of code in other functions that a function's code takes (`lea label(%rip)`,
 * `movq $label`): GCC's computed goto takes the addresses of labels, and a label gcc moved
 * into the function's cold part is such an address. Entries of functions are function
 * pointers, kept only where the target is named as a cold part (nothing calls one).
 */
function codeAddressTransfers(object: ElfObject, functions: FunctionRecord[], locator: Locator): AddressTransfer[] {
  const out: AddressTransfer[] = [];
  for (const fn of functions) {
    const code = fn.code;
    for (let i = fn.firstReference; i < fn.endReference; i++) {
      if (code.kind[i] !== KIND_ADDRESS) continue;
      const symbolIndex = code.symbol[i];
      if (symbolIndex >= 0) {
        // Only references into executable sections can be code addresses.
        const symbol = object.symbols[symbolIndex];
        if (!symbol || symbol.shndx === SHN_UNDEF || symbol.reserved || ((object.sections[symbol.shndx]?.flags ?? 0) & SHF_EXECINSTR) === 0) continue;
      }
      const location = locator.referenceTarget(code, i);
      if (location.kind !== 'function' || location.fn === fn) continue;
      if (location.offset === 0 && !location.fn.name.includes('.cold')) continue;
      out.push({ from: fn, kind: 'address', location });
    }
  }
  return out;
}

/**
 * The twin's decoded section of the same name, and which ranges of this section (from one
 * symbol start to the next) have a function whose twin has the same bytes, with the same
 * distance to the next symbol start (and the same 15 bytes after it, so that no
 * instruction decodes differently at the edge).
 */
function decodedTwin(object: ElfObject, sectionIndex: number, functions: FunctionInfo[], twin: ObjectModel): DecodedTwin | undefined {
  const section = object.sections[sectionIndex];
  const twinSection = twin.object.sections.find((s) => s.name === section.name && twin.code.has(s.index));
  if (!twinSection) return undefined;
  const twinCode = twin.code.get(twinSection.index)!;
  // Where the twin's decoding restarted: its range from `from` ends at the next of these.
  const startList: number[] = [];
  for (const symbol of twin.object.symbols) {
    if (symbol.shndx === twinSection.index && !symbol.reserved && symbol.type !== STT_SECTION) startList.push(symbol.value);
  }
  const twinStarts = Float64Array.from(startList).sort();
  const nextTwinStart = (after: number): number => {
    const next = upperBound(twinStarts, after);
    return next < twinStarts.length ? twinStarts[next] : Infinity;
  };
  const twinFunctions = new Map<string, FunctionInfo | null>();
  for (const fn of twin.functions) {
    if (fn.section !== twinSection.index) continue;
    twinFunctions.set(fn.name, twinFunctions.has(fn.name) ? null : fn); // a repeated name pairs nothing
  }
  const here = new Map<number, FunctionInfo>();
  for (const fn of functions) here.set(fn.offset, fn);
  const bytes = object.sectionData(sectionIndex);
  const twinBytes = twin.object.sectionData(twinSection.index);
  const EDGE = 15;
  return {
    code: twinCode,
    relocations: twin.object.relocationTable(twinSection.index),
    rangeFor(start: number, end: number): number | undefined {
      const fn = here.get(start);
      const other = fn && twinFunctions.get(fn.name);
      if (!fn || !other || other.size !== fn.size) return undefined;
      const from = other.offset;
      const length = end - start;
      if (from + length > twinBytes.length) return undefined;
      if (Math.min(nextTwinStart(from), twinBytes.length) !== from + length) return undefined;
      const edge = Math.min(EDGE, bytes.length - end);
      if (edge !== Math.min(EDGE, twinBytes.length - (from + length))) return undefined;
      return compareRanges.call(bytes, twinBytes, from, from + length + edge, start, end + edge) === 0 ? from : undefined;
    },
  };
}

const compareRanges = Buffer.prototype.compare;

/**
 * The same number, as a small integer where it is one. Offsets come out of Float64Array
 * columns as doubles, and V8 boxes a double stored in an object's field (a Location's
 * offset) separately for every object of that shape.
 */
function smallInteger(n: number): number {
  return (n | 0) === n ? n | 0 : n;
}

/** The code of a function outside any decoded section: no references. */
const NO_CODE: SectionCode = new SectionCodeBuilder(-1, 0).finish();

type Transfer = { from: FunctionInfo; kind: 'jump'; location: Location; at: number; via: Edge['via'] };
/** A code address a function takes: evidence for parts only, no edge. */
type AddressTransfer = { from: FunctionInfo; kind: 'address'; location: Location };

const NO_ALIASES: string[] = Object.freeze([]) as unknown as string[];
const NO_EVIDENCE: PartEvidence[] = Object.freeze([]) as unknown as PartEvidence[];
const NO_PARTS: FunctionInfo[] = Object.freeze([]) as unknown as FunctionInfo[];
const NO_TRANSFERS: Transfer[] = Object.freeze([]) as unknown as Transfer[];
const NO_RANGES: readonly UndecodableRange[] = Object.freeze([]);

/** A function of the model; its edges and thunk counts are worked out on first use. */
class FunctionRecord implements FunctionInfo {
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

  attach(code: SectionCode, first: number, end: number, locator: Locator): void {
    this.code = code;
    this.firstReference = first;
    this.endReference = end;
    this.locator = locator;
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
    const edges: Edge[] = [];
    const thunks = { fentry: false, returns: 0, indirectCalls: 0, indirectJumps: 0 };
    const code = this.code;
    for (let i = this.firstReference; i < this.endReference; i++) {
      const kind = code.kind[i];
      if (kind === KIND_JUMP && code.symbol[i] < 0) continue; // same-section jumps are in jumpsOut
      const location = this.target(i);
      const at = code.insnOffset[i] - this.offset;
      const via = code.relocationType[i] >= 0 ? 'relocation' : 'resolved';
      if (location.kind === 'external') {
        // An address can name a function or data; only the ftrace hook is known either way
        // (position-independent code calls it through the GOT).
        if (kind === KIND_ADDRESS) {
          if (location.name === '__fentry__') thunks.fentry = true;
          continue;
        }
        if (countedAsThunk(thunks, location.name, kind === KIND_CALL ? 'call' : 'jump')) continue;
        edges.push({ kind: kind === KIND_CALL ? 'call' : 'tail-call', targetName: location.name, targetOffset: location.offset, from: at, via });
      } else if (location.kind === 'function' && kind !== KIND_JUMP && (location.fn !== this || kind === KIND_CALL)) {
        edges.push({ kind: kind === KIND_CALL ? 'call' : 'address', target: location.fn, targetName: location.fn.name, targetOffset: location.offset, from: at, via });
      }
    }
    for (const t of this.jumpsOut) {
      const loc = t.location as Extract<Location, { kind: 'function' }>;
      const target = loc.fn;
      if (target === this) continue;
      const sameFamily = (target.parent ?? target) === (this.parent ?? this);
      const kind = loc.offset === 0 && !sameFamily && !target.parent ? 'tail-call' : 'jump';
      edges.push({ kind, target, targetName: target.name, targetOffset: loc.offset, from: t.at, via: t.via });
    }
    if (edges.length > 1) edges.sort((a, b) => a.from - b.from);
    return { edges, thunks };
  }
}

/**
 * Static branches: objtool turns a `jmp` to a static key's target into a NOP and leaves the
 * destination only in the __jump_table entry {code, target, key}. Where the target lies in
 * another function (a cold part, typically), the entry is the jump.
 */
function staticBranchTransfers(object: ElfObject, resolve: ObjectModel['resolve']) {
  const out: Transfer[] = [];
  const section = object.sections.find((s) => s.name === '__jump_table');
  if (!section || section.size % 16 !== 0) return out;
  const table = object.relocationTable(section.index);
  for (let r = 0; r + 1 < table.count; r++) {
    const at = table.offset[r];
    if (at % 16 !== 0 || table.offset[r + 1] !== at + 4) continue;
    // PC-relative data fields are `label - .`: the field plus its value is symbol + addend.
    const site = resolve({ kind: 'symbol', symbol: table.symbol[r], addend: table.addend[r] });
    const target = resolve({ kind: 'symbol', symbol: table.symbol[r + 1], addend: table.addend[r + 1] });
    if (site.kind !== 'function' || target.kind !== 'function' || target.fn === site.fn) continue;
    out.push({ from: site.fn, kind: 'jump', location: target, at: site.offset, via: 'jump-table' });
  }
  return out;
}

const RETPOLINE_THUNK = /^__x86_indirect_(?:call_|jump_)?thunk_/;

/** Records a transfer to one of the kernel's thunks; true when it was one (and is no edge). */
function countedAsThunk(thunks: FunctionInfo['thunks'], name: string, kind: 'call' | 'jump'): boolean {
  if (name === '__fentry__' || name === '__mcount' || name === 'mcount') {
    thunks.fentry = true;
    return true;
  }
  if (name === '__x86_return_thunk') {
    thunks.returns++;
    return true;
  }
  if (RETPOLINE_THUNK.test(name)) {
    if (kind === 'call') thunks.indirectCalls++;
    else thunks.indirectJumps++;
    return true;
  }
  return false;
}

/**
 * Jump tables: relocations in data sections that point into code at non-entry offsets,
 * attributed to the function that loads the table's address. A cold part that holds
 * cases of its parent's switch is entered this way.
 */
function jumpTableTransfers(
  object: ElfObject,
  functions: FunctionInfo[],
  locate: (section: number, offset: number) => Location,
  backend: ObjectModel['backend'],
  addresses: AddressTransfer[],
) {
  const out: Transfer[] = [];
  const users = tableUsers(object, functions);
  for (const [dataSection, starts] of users) tableTransfers(object, dataSection, starts, locate, backend, out, addresses);
  return out;
}

type TableUser = { offset: number; fn: FunctionInfo; at: number };

/** Where code takes the address of a data section that holds code addresses: the candidate table starts. */
function tableUsers(object: ElfObject, functions: FunctionInfo[]): Map<number, TableUser[]> {
  const users = new Map<number, TableUser[]>();
  // Only data sections with relocations into code can hold a jump table.
  const candidates = new Map<number, boolean>();
  const holdsCodeAddresses = (index: number): boolean => {
    let known = candidates.get(index);
    if (known === undefined) {
      known = false;
      const section = object.sections[index];
      if (section && (section.flags & SHF_EXECINSTR) === 0) {
        const table = object.relocationTable(index);
        for (let r = 0; r < table.count && !known; r++) {
          const target = object.symbols[table.symbol[r]];
          if (target && target.shndx !== SHN_UNDEF && !target.reserved && (object.sections[target.shndx]?.flags ?? 0) & SHF_EXECINSTR) known = true;
        }
      }
      candidates.set(index, known);
    }
    return known;
  };
  for (const fn of functions) {
    const code = fn.code;
    for (let i = fn.firstReference; i < fn.endReference; i++) {
      if (code.kind[i] !== KIND_ADDRESS || code.symbol[i] < 0) continue;
      // Data sections hold no functions: the symbol's section and offset are the location.
      const symbol = object.symbols[code.symbol[i]];
      if (!symbol || symbol.shndx === SHN_UNDEF || symbol.reserved) continue;
      if (!holdsCodeAddresses(symbol.shndx)) continue;
      const offset = symbol.value + code.value[i];
      const list = users.get(symbol.shndx) ?? [];
      list.push({ offset, fn, at: code.insnOffset[i] - fn.offset });
      users.set(symbol.shndx, list);
    }
  }
  return users;
}

/** The jump-table transfers of one data section's tables, into `out`. */
function tableTransfers(
  object: ElfObject,
  dataSection: number,
  starts: TableUser[],
  locate: (section: number, offset: number) => Location,
  backend: ObjectModel['backend'],
  out: Transfer[],
  addresses: AddressTransfer[],
): void {
  const relocations = object.relocationTable(dataSection);
  if (relocations.count === 0) return;
  const usersAt = new Map<number, { fn: FunctionInfo; at: number }[]>();
  for (const u of starts) {
    const list = usersAt.get(u.offset) ?? [];
    list.push(u);
    usersAt.set(u.offset, list);
  }
  // A table is a run of same-sized entries starting where code takes an address.
  let table: { start: number; next: number; users: { fn: FunctionInfo; at: number }[] } | undefined;
  for (let r = 0; r < relocations.count; r++) {
    const at = relocations.offset[r];
    const ref = backend.dataReference(relocations.type[r]);
    const startsHere = usersAt.get(at);
    if (startsHere && ref) table = { start: at, next: at, users: startsHere };
    if (!ref || !table || at !== table.next) {
      table = undefined;
      continue;
    }
    table.next = at + ref.size;
    const symbol = object.symbols[relocations.symbol[r]];
    if (!symbol || symbol.shndx === SHN_UNDEF || symbol.reserved) continue;
    const targetSection = object.sections[symbol.shndx];
    if (!targetSection || (targetSection.flags & SHF_EXECINSTR) === 0) continue;
    const offset = symbol.value + relocations.addend[r] - (ref.pcRelative ? at - table.start : 0);
    const location = locate(symbol.shndx, offset);
    if (location.kind !== 'function') continue;
    if (location.offset === 0) {
      // A function pointer, or the address of a computed goto's label that starts a cold
      // part (a table of label addresses): the table's user enters the part there.
      if (location.fn.name.includes('.cold')) for (const u of table.users) if (u.fn !== location.fn) addresses.push({ from: u.fn, kind: 'address', location });
      continue;
    }
    for (const u of table.users) out.push({ from: u.fn, kind: 'jump', location, at: u.at, via: 'jump-table' });
  }
}
