import type { DecodedTwin } from '../arch/backend.js';
import { STT_SECTION, type ElfObject } from '../elf/types.js';
import { upperBound } from '../sorted.js';
import type { FunctionInfo, ObjectModel } from './types.js';

/**
 * The twin's decoded section of the same name, and which ranges of this section (from one
 * symbol start to the next) have a function whose twin has the same bytes, with the same
 * distance to the next symbol start (and the same bytes after it, as many as the longest
 * instruction has, so that no instruction decodes differently at the edge).
 */
export function decodedTwin(object: ElfObject, sectionIndex: number, functions: FunctionInfo[], twin: ObjectModel): DecodedTwin | undefined {
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
  const edgeLength = twin.backend.maxInstructionLength;
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
      const edge = Math.min(edgeLength, bytes.length - end);
      if (edge !== Math.min(edgeLength, twinBytes.length - (from + length))) return undefined;
      return compareRanges.call(bytes, twinBytes, from, from + length + edge, start, end + edge) === 0 ? from : undefined;
    },
  };
}

const compareRanges = Buffer.prototype.compare;
