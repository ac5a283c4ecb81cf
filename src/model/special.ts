import type { ArchBackend, SpecialSectionLayout } from '../arch/backend.js';
import { SHN_UNDEF, type ElfObject, type ElfSymbol, type RelocationTable } from '../elf/types.js';
import type { Location, ObjectModel } from './types.js';

/*
 * The kernel's tables that describe code from outside it. Code bytes can be identical while
 * an entry changed: a static branch now keyed on another static key, an exception fixup
 * that moved. The backend gives each table's layout (`ArchBackend.specialSections`), keyed
 * by section name; this module only interprets the fields a layout names.
 */

const sectionNames = new WeakMap<ArchBackend, ReadonlySet<string>>();

/** Names of the sections the comparison reads by name: the tables and their parallel tables. */
export function specialSectionNames(backend: ArchBackend): ReadonlySet<string> {
  let names = sectionNames.get(backend);
  if (!names) {
    const layouts = backend.specialSections;
    names = new Set([...Object.keys(layouts), ...Object.values(layouts).flatMap((l) => (l.parallel ? [l.parallel.section] : []))]);
    sectionNames.set(backend, names);
  }
  return names;
}

/** One special section of an object, indexed so entries can be compared without copying. */
export interface SpecialTable {
  name: string;
  layout: Readonly<SpecialSectionLayout>;
  data: Uint8Array;
  /** The byte order of the entries' fields: the object's. */
  endian: ElfObject['endian'];
  parallel?: Uint8Array;
  /** Relocations of the section, by offset. */
  relocations: RelocationTable;
  /** Index in `relocations` of each entry's first relocation (entries + 1 values). */
  firstRelocation: Int32Array;
  /** Offset within its function of the instruction each entry describes (-1: no function's). */
  site: Int32Array;
}

/**
 * Every function's entries in the kernel's special sections, by table name and then site:
 * the entries of function `id` are `table[i]`/`index[i]` for `i` from `start[id]` up to
 * `start[id + 1]`. Kernel objects have an ORC entry every few instructions, so these are
 * columns, not objects.
 */
export interface SpecialEntries {
  tables: SpecialTable[];
  start: Int32Array;
  table: Uint8Array;
  index: Int32Array;
}

export function specialEntries(model: ObjectModel): SpecialEntries {
  const object = model.object;
  const tables: SpecialTable[] = [];
  const owners: Int32Array[] = [];
  const perFunction = new Int32Array(model.functions.length + 1);
  const layouts = model.backend.specialSections;
  const sections = object.sections.filter((s) => Object.hasOwn(layouts, s.name) && s.size > 0).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.index - b.index));
  for (const section of sections) {
    const layout = layouts[section.name];
    if (section.size % layout.size !== 0) {
      model.warnings.push(`${section.name}: size ${section.size} is not a multiple of its ${layout.size}-byte entries; not compared`);
      continue;
    }
    const { table, owner } = readTable(model, section.index, section.name, layout, perFunction);
    tables.push(table);
    owners.push(owner);
  }
  const start = perFunction;
  for (let f = 1; f < start.length; f++) start[f] += start[f - 1];
  const { table, index } = entriesByFunction(start, owners);
  sortEntriesBySite(tables, start, table, index);
  return { tables, start, table, index };
}

/**
 * One special section's entries: where each one's relocations start, and which function
 * (and where in it) each describes. Counts every function's entries into `perFunction`.
 */
function readTable(
  model: ObjectModel,
  sectionIndex: number,
  name: string,
  layout: Readonly<SpecialSectionLayout>,
  perFunction: Int32Array,
): { table: SpecialTable; owner: Int32Array } {
  const object = model.object;
  const count = object.sections[sectionIndex].size / layout.size;
  const parallelSection = layout.parallel && object.sections.find((s) => s.name === layout.parallel!.section);
  const relocations = object.relocationTable(sectionIndex);
  const firstRelocation = new Int32Array(count + 1);
  let r = 0;
  for (let k = 0; k <= count; k++) {
    while (r < relocations.count && relocations.offset[r] < k * layout.size) r++;
    firstRelocation[k] = r;
  }
  const site = new Int32Array(count).fill(-1);
  const owner = new Int32Array(count).fill(-1);
  const symbols = object.symbols;
  const skipEntryAtStart = layout.skipEntryAtStart === true;
  // Nearly every entry's site is the same section symbol's (ORC: one entry every few
  // instructions, all against .text): its checks are made once per symbol, not per entry.
  let lastSymbol = -1;
  let symbol: ElfSymbol | undefined;
  for (let k = 0; k < count; k++) {
    const first = firstRelocation[k];
    if (first === firstRelocation[k + 1] || relocations.offset[first] !== k * layout.size) continue;
    // Data PC-relative fields are `target - .`: the field plus its value is symbol + addend.
    if (relocations.symbol[first] !== lastSymbol) {
      lastSymbol = relocations.symbol[first];
      symbol = symbols[lastSymbol];
      if (symbol && (symbol.shndx === SHN_UNDEF || symbol.reserved)) symbol = undefined;
    }
    if (!symbol) continue;
    const offset = symbol.value + relocations.addend[first];
    const fn = model.functionAt(symbol.shndx, offset);
    if (!fn || (offset === fn.offset && skipEntryAtStart)) continue;
    site[k] = offset - fn.offset;
    owner[k] = fn.id;
    perFunction[fn.id + 1]++;
  }
  const table: SpecialTable = {
    name,
    layout,
    data: object.sectionData(sectionIndex),
    endian: object.endian,
    parallel: parallelSection ? object.sectionData(parallelSection.index) : undefined,
    relocations,
    firstRelocation,
    site,
  };
  return { table, owner };
}

/** Every table's entries gathered by owning function, in table order. */
function entriesByFunction(start: Int32Array, owners: Int32Array[]): { table: Uint8Array; index: Int32Array } {
  const total = start[start.length - 1];
  const table = new Uint8Array(total);
  const index = new Int32Array(total);
  const next = start.slice(0, -1);
  for (let t = 0; t < owners.length; t++) {
    const owner = owners[t];
    for (let k = 0; k < owner.length; k++) {
      if (owner[k] < 0) continue;
      const at = next[owner[k]]++;
      table[at] = t;
      index[at] = k;
    }
  }
  return { table, index };
}

/** Tables are in code order almost always; where a function's entries are not, sort them. */
function sortEntriesBySite(tables: SpecialTable[], start: Int32Array, table: Uint8Array, index: Int32Array): void {
  for (let f = 0; f + 1 < start.length; f++) {
    let sorted = true;
    for (let i = start[f] + 1; i < start[f + 1] && sorted; i++) {
      if (table[i] === table[i - 1] && tables[table[i]].site[index[i]] < tables[table[i - 1]].site[index[i - 1]]) sorted = false;
    }
    if (!sorted) sortFunctionEntries(tables, start[f], start[f + 1], table, index);
  }
}

function sortFunctionEntries(tables: SpecialTable[], from: number, to: number, table: Uint8Array, index: Int32Array): void {
  const slice = Array.from({ length: to - from }, (_, i) => [table[from + i], index[from + i]]);
  slice.sort((x, y) => x[0] - y[0] || tables[x[0]].site[x[1]] - tables[y[0]].site[y[1]] || x[1] - y[1]);
  slice.forEach(([t, k], i) => {
    table[from + i] = t;
    index[from + i] = k;
  });
}

/** The entry's relocations after the site pointer, with where they point. */
export function entryTargets(table: SpecialTable, index: number, model: ObjectModel): { at: number; type: number; location: Location }[] {
  const start = index * table.layout.size;
  const rels = table.relocations;
  const out: { at: number; type: number; location: Location }[] = [];
  for (let r = table.firstRelocation[index] + 1; r < table.firstRelocation[index + 1]; r++) {
    out.push({ at: rels.offset[r] - start, type: rels.type[r], location: model.resolve({ kind: 'symbol', symbol: rels.symbol[r], addend: rels.addend[r] }) });
  }
  return out;
}

/**
 * Whether two entries' own bytes agree, with relocated fields and the line field left
 * out, and their parallel records (ORC) too. Relocated fields are zero in a RELA object,
 * so a plain byte comparison outside the line field is enough.
 */
export function sameEntryBytes(a: SpecialTable, ia: number, b: SpecialTable, ib: number): boolean {
  const layout = a.layout;
  const size = layout.size;
  const pa = ia * size;
  const pb = ib * size;
  const line = layout.line;
  for (let i = 0; i < size; i++) {
    if (line && i >= line.offset && i < line.offset + line.size) continue;
    if (a.data[pa + i] !== b.data[pb + i]) return false;
  }
  if (layout.parallel) {
    const ps = layout.parallel.size;
    const x = a.parallel;
    const y = b.parallel;
    if (!x || !y) return x === y;
    for (let i = 0; i < ps; i++) if (x[ia * ps + i] !== y[ib * ps + i]) return false;
  }
  return true;
}

/** The source line an entry records (__bug_table), if its layout has one. */
export function entryLine(table: SpecialTable, index: number): number | undefined {
  return entryField(table, index, table.layout.line);
}

/** The flags an entry records (__bug_table), if its layout has them. */
export function entryFlags(table: SpecialTable, index: number): number | undefined {
  return entryField(table, index, table.layout.flags);
}

/** An unsigned field of an entry. */
function entryField(table: SpecialTable, index: number, field: { offset: number; size: 2 | 4 } | undefined): number | undefined {
  if (!field) return undefined;
  const at = index * table.layout.size + field.offset;
  const d = table.data;
  if (table.endian === 'big') return field.size === 2 ? (d[at] << 8) | d[at + 1] : ((d[at] << 24) | (d[at + 1] << 16) | (d[at + 2] << 8) | d[at + 3]) >>> 0;
  return field.size === 2 ? d[at] | (d[at + 1] << 8) : (d[at] | (d[at + 1] << 8) | (d[at + 2] << 16) | (d[at + 3] << 24)) >>> 0;
}

/** An alternative's replacement instructions, which live outside any function. */
export function replacementBytes(table: SpecialTable, index: number, target: { at: number; location: Location }, model: ObjectModel): Uint8Array | undefined {
  const layout = table.layout;
  if (!layout.replacement || target.at !== layout.replacement.pointer || target.location.kind !== 'section') return undefined;
  const length = table.data[index * layout.size + layout.replacement.length];
  const code = model.object.sectionData(target.location.section);
  return code.subarray(target.location.offset, Math.min(code.length, target.location.offset + length));
}
