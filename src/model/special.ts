import type { ElfRelocation } from '../elf/types.js';
import type { FunctionInfo, Location, ObjectModel } from './types.js';

/**
 * The kernel's tables that describe code from outside it (x86-64, Linux 6.1 layouts).
 * Each entry starts with a PC-relative pointer to the instruction it is about, which tells
 * the function it belongs to. Code bytes can be identical while an entry changed: a static
 * branch now keyed on another static key, an exception fixup that moved.
 */
interface SpecialSectionLayout {
  /** Entry size in bytes. */
  size: number;
  /** A parallel table of fixed-size records, one per entry (ORC). */
  parallel?: { section: string; size: number };
  /** Bytes of the entry that hold a source line number, compared as a line shift. */
  line?: { offset: number; size: 2 | 4 };
  /** For .altinstructions: where the replacement pointer and its length byte are. */
  replacement?: { pointer: number; length: number };
}

export const SPECIAL_SECTIONS: Record<string, SpecialSectionLayout> = {
  __jump_table: { size: 16 },
  '.altinstructions': { size: 12, replacement: { pointer: 4, length: 11 } },
  __ex_table: { size: 12 },
  '.static_call_sites': { size: 8 },
  __bug_table: { size: 12, line: { offset: 8, size: 2 } },
  '.orc_unwind_ip': { size: 4, parallel: { section: '.orc_unwind', size: 6 } },
};

/** One entry, relative to the function it belongs to. */
export interface SpecialEntry {
  section: string;
  /** Offset of the described instruction within the function. */
  site: number;
  /** Entry bytes with relocated fields (and the line field) zeroed, plus the parallel record. */
  bytes: string;
  /** Where the entry's other relocated fields point, in entry order. */
  targets: { at: number; location: Location; replacement?: string }[];
  /** A source line recorded in the entry (__bug_table), compared as a line shift. */
  line?: number;
}

function hexOf(data: Uint8Array, from: number, to: number): string {
  return Buffer.from(data.buffer, data.byteOffset + from, Math.max(0, to - from)).toString('hex');
}

/** The special-section entries of every function, in table order. */
export function specialEntries(model: ObjectModel): Map<FunctionInfo, SpecialEntry[]> {
  const object = model.object;
  const byFunction = new Map<FunctionInfo, SpecialEntry[]>();
  for (const section of object.sections) {
    const layout = SPECIAL_SECTIONS[section.name];
    if (!layout || section.size === 0 || section.size % layout.size !== 0) {
      if (layout && section.size % layout.size !== 0) model.warnings.push(`${section.name}: size ${section.size} is not a multiple of its ${layout.size}-byte entries; not compared`);
      continue;
    }
    const data = object.sectionData(section.index);
    const parallelSection = layout.parallel && object.sections.find((s) => s.name === layout.parallel!.section);
    const parallel = parallelSection ? object.sectionData(parallelSection.index) : undefined;
    const relocations = [...object.relocationsFor(section.index)].sort((a, b) => a.offset - b.offset);
    let r = 0;
    const count = section.size / layout.size;
    for (let k = 0; k < count; k++) {
      const start = k * layout.size;
      const end = start + layout.size;
      while (r < relocations.length && relocations[r].offset < start) r++;
      const inEntry: ElfRelocation[] = [];
      while (r < relocations.length && relocations[r].offset < end) inEntry.push(relocations[r++]);
      if (inEntry.length === 0 || inEntry[0].offset !== start) continue;
      // Data PC-relative fields are `target - .`: the field plus its value is symbol + addend.
      const site = model.resolve({ kind: 'symbol', symbol: inEntry[0].symbol, addend: inEntry[0].addend });
      if (site.kind !== 'function') continue;
      const masked = Uint8Array.from(data.subarray(start, end));
      const size = (rel: ElfRelocation) => model.backend.dataReference(rel)?.size ?? 4;
      for (const rel of inEntry) masked.fill(0, rel.offset - start, rel.offset - start + size(rel));
      let line: number | undefined;
      if (layout.line) {
        const at = layout.line.offset;
        line = layout.line.size === 2 ? masked[at] | (masked[at + 1] << 8) : (masked[at] | (masked[at + 1] << 8) | (masked[at + 2] << 16) | (masked[at + 3] << 24)) >>> 0;
        masked.fill(0, at, at + layout.line.size);
      }
      let bytes = hexOf(masked, 0, masked.length);
      if (parallel && layout.parallel) bytes += ':' + hexOf(parallel, k * layout.parallel.size, (k + 1) * layout.parallel.size);
      const targets = inEntry.slice(1).map((rel) => {
        const location = model.resolve({ kind: 'symbol', symbol: rel.symbol, addend: rel.addend });
        const target: SpecialEntry['targets'][number] = { at: rel.offset - start, location };
        // An alternative's replacement code lives outside any function: compare its bytes.
        if (layout.replacement && rel.offset - start === layout.replacement.pointer && location.kind === 'section') {
          const length = data[start + layout.replacement.length];
          target.replacement = hexOf(object.sectionData(location.section), location.offset, location.offset + length);
        }
        return target;
      });
      const entry: SpecialEntry = { section: section.name, site: site.offset, bytes, targets, ...(line !== undefined ? { line } : {}) };
      const list = byFunction.get(site.fn);
      if (list) list.push(entry);
      else byFunction.set(site.fn, [entry]);
    }
  }
  return byFunction;
}
