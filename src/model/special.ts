import type { RelocationTable } from '../elf/types.js';
import type { FunctionInfo, Location, ObjectModel } from './types.js';

/**
 * The kernel's tables that describe code from outside it (x86-64, Linux 6.1 layouts).
 * Each entry starts with a PC-relative pointer to the instruction it is about, which tells
 * the function it belongs to. Code bytes can be identical while an entry changed: a static
 * branch now keyed on another static key, an exception fixup that moved.
 */
export interface SpecialSectionLayout {
  /** Entry size in bytes. */
  size: number;
  /** A parallel table of fixed-size records, one per entry (ORC). */
  parallel?: { section: string; size: number };
  /** Bytes of the entry that hold a source line number, compared as a line shift. */
  line?: { offset: number; size: 2 | 4 };
  /** For .altinstructions: where the replacement pointer and its length byte are. */
  replacement?: { pointer: number; length: number };
  /**
   * ORC: objtool writes an entry only where the unwind state changes, so whether a
   * function's first instruction has one depends on how the function before it ended.
   */
  skipEntryAtStart?: boolean;
}

export const SPECIAL_SECTIONS: Record<string, SpecialSectionLayout> = {
  __jump_table: { size: 16 },
  '.altinstructions': { size: 12, replacement: { pointer: 4, length: 11 } },
  __ex_table: { size: 12 },
  '.static_call_sites': { size: 8 },
  __bug_table: { size: 12, line: { offset: 8, size: 2 } },
  '.orc_unwind_ip': { size: 4, parallel: { section: '.orc_unwind', size: 6 }, skipEntryAtStart: true },
};

/** One special section of an object, indexed so entries can be compared without copying. */
export interface SpecialTable {
  name: string;
  layout: SpecialSectionLayout;
  data: Uint8Array;
  parallel?: Uint8Array;
  /** Relocations of the section, by offset. */
  relocations: RelocationTable;
  /** Index in `relocations` of each entry's first relocation (entries + 1 values). */
  firstRelocation: Int32Array;
}

/** An entry of a table, as seen from the function it belongs to. */
export interface SpecialEntry {
  table: SpecialTable;
  index: number;
  /** Offset of the described instruction within the function. */
  site: number;
}

/** Every function's entries in the kernel's special sections, in table order. */
export function specialEntries(model: ObjectModel): Map<FunctionInfo, SpecialEntry[]> {
  const object = model.object;
  const byFunction = new Map<FunctionInfo, SpecialEntry[]>();
  for (const section of object.sections) {
    const layout = SPECIAL_SECTIONS[section.name];
    if (!layout || section.size === 0) continue;
    if (section.size % layout.size !== 0) {
      model.warnings.push(`${section.name}: size ${section.size} is not a multiple of its ${layout.size}-byte entries; not compared`);
      continue;
    }
    const count = section.size / layout.size;
    const parallelSection = layout.parallel && object.sections.find((s) => s.name === layout.parallel!.section);
    const relocations = object.relocationTable(section.index);
    const firstRelocation = new Int32Array(count + 1);
    let r = 0;
    for (let k = 0; k <= count; k++) {
      while (r < relocations.count && relocations.offset[r] < k * layout.size) r++;
      firstRelocation[k] = r;
    }
    const table: SpecialTable = {
      name: section.name,
      layout,
      data: object.sectionData(section.index),
      parallel: parallelSection ? object.sectionData(parallelSection.index) : undefined,
      relocations,
      firstRelocation,
    };
    for (let k = 0; k < count; k++) {
      const first = firstRelocation[k];
      if (first === firstRelocation[k + 1] || relocations.offset[first] !== k * layout.size) continue;
      // Data PC-relative fields are `target - .`: the field plus its value is symbol + addend.
      const site = model.resolve({ kind: 'symbol', symbol: relocations.symbol[first], addend: relocations.addend[first] });
      if (site.kind !== 'function' || (site.offset === 0 && layout.skipEntryAtStart)) continue;
      const entry: SpecialEntry = { table, index: k, site: site.offset };
      const list = byFunction.get(site.fn);
      if (list) list.push(entry);
      else byFunction.set(site.fn, [entry]);
    }
  }
  return byFunction;
}

/** The entry's relocations after the site pointer, with where they point. */
export function entryTargets(entry: SpecialEntry, model: ObjectModel): { at: number; type: number; location: Location }[] {
  const { table, index } = entry;
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
export function sameEntryBytes(a: SpecialEntry, b: SpecialEntry): boolean {
  const layout = a.table.layout;
  const size = layout.size;
  const pa = a.index * size;
  const pb = b.index * size;
  const line = layout.line;
  for (let i = 0; i < size; i++) {
    if (line && i >= line.offset && i < line.offset + line.size) continue;
    if (a.table.data[pa + i] !== b.table.data[pb + i]) return false;
  }
  if (layout.parallel) {
    const ps = layout.parallel.size;
    const x = a.table.parallel;
    const y = b.table.parallel;
    if (!x || !y) return x === y;
    for (let i = 0; i < ps; i++) if (x[a.index * ps + i] !== y[b.index * ps + i]) return false;
  }
  return true;
}

/** The source line an entry records (__bug_table), if its layout has one. */
export function entryLine(entry: SpecialEntry): number | undefined {
  const line = entry.table.layout.line;
  if (!line) return undefined;
  const at = entry.index * entry.table.layout.size + line.offset;
  const d = entry.table.data;
  return line.size === 2 ? d[at] | (d[at + 1] << 8) : (d[at] | (d[at + 1] << 8) | (d[at + 2] << 16) | (d[at + 3] << 24)) >>> 0;
}

/** An alternative's replacement instructions, which live outside any function. */
export function replacementBytes(entry: SpecialEntry, target: { at: number; location: Location }, model: ObjectModel): Uint8Array | undefined {
  const layout = entry.table.layout;
  if (!layout.replacement || target.at !== layout.replacement.pointer || target.location.kind !== 'section') return undefined;
  const length = entry.table.data[entry.index * layout.size + layout.replacement.length];
  const code = model.object.sectionData(target.location.section);
  return code.subarray(target.location.offset, Math.min(code.length, target.location.offset + length));
}
