import { SHF_EXECINSTR, SHN_UNDEF, STT_FILE, STT_FUNC, STT_NOTYPE, STT_SECTION, type ElfObject, type ElfSymbol } from '../elf/types.js';
import { FunctionRecord, NO_ALIASES } from './function-record.js';
import { mayBePartName } from './part-names.js';
import type { FunctionInfo } from './types.js';

/** Whether a symbol is a function (design.md §2). */
function isFunctionSymbol(symbol: ElfSymbol, object: ElfObject): boolean {
  if (symbol.size === 0 || symbol.shndx === SHN_UNDEF || symbol.reserved) return false;
  const section = object.sections[symbol.shndx];
  if (!section || (section.flags & SHF_EXECINSTR) === 0) return false;
  if (symbol.type === STT_FUNC) return true;
  // clang emits the parts it splits off (`foo.cold`, `foo.__part.N`) as sized STT_NOTYPE symbols.
  return symbol.type === STT_NOTYPE && mayBePartName(symbol.name);
}

/** Function symbols, with aliases folded into the first symbol at the same place. */
export function collectFunctions(object: ElfObject): FunctionRecord[] {
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

export function functionsByName(functions: FunctionInfo[]): Map<string, FunctionInfo[]> {
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
export function assignSymbolPositions(object: ElfObject, functions: FunctionRecord[]): void {
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

export function groupBySection(functions: FunctionRecord[]): Map<number, FunctionRecord[]> {
  const bySection = new Map<number, FunctionRecord[]>();
  for (const fn of functions) {
    const list = bySection.get(fn.section);
    if (list) list.push(fn);
    else bySection.set(fn.section, [fn]);
  }
  return bySection;
}
