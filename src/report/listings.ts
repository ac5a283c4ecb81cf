import { ReferenceCanon } from '../compare/canon.js';
import type { Comparison } from '../compare/compare.js';
import { describeLocation } from '../compare/differences.js';
import type { FunctionInfo, Location, ObjectModel } from '../model/types.js';

/*
 * Whole-function disassembly of the changed families, for reports a person reads (the
 * HTML report's side-by-side view). The JSON report carries only the differences; these
 * listings come from the models while they are still at hand (one object pair).
 */

/** One instruction: its offset in the function and its assembler text, with what it refers to. */
export interface ListingLine {
  offset: number;
  text: string;
}

export interface FunctionListing {
  symbol: string;
  lines: ListingLine[];
  /** The functions it tail-calls (by name), whatever set they are in or not. */
  tailCalls: string[];
  /** Set when the function has more instructions than a listing shows. */
  truncated?: boolean;
}

/** A family's functions (the function, then its parts) on each side. */
export interface FamilyListing {
  original: FunctionListing[];
  patched: FunctionListing[];
}

/** Instructions shown per function at most: a report for people, not a dump. */
const MAX_LINES = 3000;

/** The listings of every changed, added, removed or build-noise family, by family name. */
export function familyListings(comparison: Comparison): Record<string, FamilyListing> {
  const out: Record<string, FamilyListing> = {};
  // One canon per object: it indexes the object's data once.
  const originalCanon = new ReferenceCanon(comparison.original);
  const patchedCanon = new ReferenceCanon(comparison.patched);
  for (const change of comparison.changes) {
    out[change.name] = {
      original: change.original ? familyMembers(change.original).map((fn) => listFunction(fn, comparison.original, originalCanon)) : [],
      patched: change.patched ? familyMembers(change.patched).map((fn) => listFunction(fn, comparison.patched, patchedCanon)) : [],
    };
  }
  return out;
}

function familyMembers(fn: FunctionInfo): FunctionInfo[] {
  return [fn, ...[...fn.parts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))];
}

function listFunction(fn: FunctionInfo, model: ObjectModel, canon: ReferenceCanon): FunctionListing {
  // Targets named as the differences name them: functions, symbols, strings by their text.
  const describeTarget = (location: Location) => describeLocation(location, canon.canonical(location, (target) => target.name).text);
  const bytes = model.object.sectionData(fn.section).subarray(fn.offset, fn.offset + fn.size);
  const lines: ListingLine[] = [];
  const code = fn.code;
  let ref = fn.firstReference;
  let gap = 0;
  let at = 0;
  while (at < bytes.length) {
    if (lines.length >= MAX_LINES) return { symbol: fn.name, lines, tailCalls: tailCallsOf(fn), truncated: true };
    const range = fn.undecodable[gap];
    if (range && range.offset === at) {
      lines.push({ offset: at, text: `(${range.length} undecodable byte${range.length === 1 ? '' : 's'}: ${hex(bytes, at, Math.min(range.length, 16))}${range.length > 16 ? ' ...' : ''})` });
      at += range.length;
      gap++;
      continue;
    }
    const length = model.backend.instructionAt(bytes, at, range ? range.offset : bytes.length).length || 1;
    const targets: string[] = [];
    while (ref < fn.endReference && code.insnOffset[ref] - fn.offset < at) ref++;
    for (let r = ref; r < fn.endReference && code.insnOffset[r] - fn.offset < at + length; r++) targets.push(describeTarget(fn.target(r)));
    const text = model.backend.instructionText(bytes, at, length, at);
    lines.push({ offset: at, text: targets.length > 0 ? `${text} # ${targets.join(', ')}` : text });
    at += length;
  }
  return { symbol: fn.name, lines, tailCalls: tailCallsOf(fn) };
}

function tailCallsOf(fn: FunctionInfo): string[] {
  return [...new Set(fn.edges.filter((e) => e.kind === 'tail-call').map((e) => e.targetName))].sort();
}

function hex(bytes: Uint8Array, from: number, length: number): string {
  return Buffer.from(bytes.subarray(from, from + length)).toString('hex');
}
