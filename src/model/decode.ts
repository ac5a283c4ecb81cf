import type { ArchBackend, SectionCode, UndecodableRange } from '../arch/backend.js';
import { firstRangeEndingAfter } from '../arch/decoding.js';
import { SHF_EXECINSTR, SHN_UNDEF, SHT_NOBITS, SHT_PROGBITS, STT_SECTION, type ElfObject } from '../elf/types.js';
import { NO_RANGES, type FunctionRecord } from './function-record.js';
import type { Locator } from './locator.js';
import { decodedTwin } from './twin.js';
import type { ObjectModel } from './types.js';

/** Decodes every executable section once, resynchronising at every symbol that starts in it. */
export function decodeSections(
  object: ElfObject,
  backend: ArchBackend,
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
  // A twin read by another backend decodes differently: nothing to copy from it.
  const sameArchTwin = twin?.backend === backend ? twin : undefined;
  for (const section of object.sections) {
    if ((section.flags & SHF_EXECINSTR) === 0 || section.type === SHT_NOBITS || section.size === 0) continue;
    if (section.type !== SHT_PROGBITS) continue;
    const index = section.index;
    const fns = functionsBySection.get(index);
    const decodedTwinSection = sameArchTwin && decodedTwin(object, index, fns ?? [], sameArchTwin);
    const codeSection = { index, bytes: object.sectionData(index), relocations: object.relocationTable(index), starts: startsBySection.get(index) ?? [] };
    const sectionCode = backend.decodeSection(codeSection, decodedTwinSection);
    code.set(index, sectionCode);
    if (fns) attachReferences(fns, sectionCode, locator, backend);
  }
  return code;
}

/** A function's references are the run of its section's references that start inside it. */
function attachReferences(functions: FunctionRecord[], sectionCode: SectionCode, locator: Locator, backend: ArchBackend): void {
  const sorted = [...functions].sort((a, b) => a.offset - b.offset);
  const insnOffset = sectionCode.insnOffset;
  const gaps = sectionCode.undecodable;
  let i = 0;
  for (const fn of sorted) {
    const end = fn.offset + fn.size;
    while (i < sectionCode.count && insnOffset[i] < fn.offset) i++;
    let j = i;
    while (j < sectionCode.count && insnOffset[j] < end) j++;
    fn.attach(sectionCode, i, j, locator, backend);
    // Nested symbols share references; the next function may start inside this one.
    if (gaps.length > 0) fn.undecodable = undecodableIn(gaps, fn.offset, end);
  }
}

/** The parts of a section's undecodable ranges that lie in [start, end), relative to start. */
function undecodableIn(gaps: readonly UndecodableRange[], start: number, end: number): readonly UndecodableRange[] {
  let inside: UndecodableRange[] | undefined;
  for (let g = firstRangeEndingAfter(gaps, start); g < gaps.length && gaps[g].offset < end; g++) {
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
export function warnUndecodable(object: ElfObject, functions: FunctionRecord[], warnings: string[]): void {
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
