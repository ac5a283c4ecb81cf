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
  const twinSection = twinSections(twin).get(section.name);
  if (!twinSection) return undefined;
  const twinCode = twin.code.get(twinSection.index)!;
  const { starts: twinStarts, functions: twinFunctions } = twinSection;
  const nextTwinStart = (after: number): number => {
    const next = upperBound(twinStarts, after);
    return next < twinStarts.length ? twinStarts[next] : Infinity;
  };
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

/** A decoded section of the twin: where its decoding restarted, and its functions by name. */
interface TwinSection {
  index: number;
  /** Symbol starts, ascending: the twin's range from one runs to the next. */
  starts: Float64Array;
  /** Functions by name; null for a name that repeats, which pairs nothing. */
  functions: Map<string, FunctionInfo | null>;
}

const twinSectionsByModel = new WeakMap<ObjectModel, Map<string, TwinSection>>();

/**
 * The twin's decoded sections by name (the first of a name), each with its symbol starts
 * and functions: made once per twin, in one pass over its symbols and one over its
 * functions, not once per section of this object.
 */
function twinSections(twin: ObjectModel): Map<string, TwinSection> {
  let byName = twinSectionsByModel.get(twin);
  if (byName) return byName;
  byName = new Map();
  const byIndex = new Map<number, { section: TwinSection; starts: number[] }>();
  for (const s of twin.object.sections) {
    if (!twin.code.has(s.index) || byName.has(s.name)) continue;
    const section: TwinSection = { index: s.index, starts: NO_STARTS, functions: new Map() };
    byName.set(s.name, section);
    byIndex.set(s.index, { section, starts: [] });
  }
  for (const symbol of twin.object.symbols) {
    if (symbol.reserved || symbol.type === STT_SECTION) continue;
    byIndex.get(symbol.shndx)?.starts.push(symbol.value);
  }
  for (const { section, starts } of byIndex.values()) section.starts = Float64Array.from(starts).sort();
  for (const fn of twin.functions) {
    const functions = byIndex.get(fn.section)?.section.functions;
    if (functions) functions.set(fn.name, functions.has(fn.name) ? null : fn);
  }
  twinSectionsByModel.set(twin, byName);
  return byName;
}

const NO_STARTS = new Float64Array(0);
