import type { FamilyChange } from '../../src/compare/compare.js';
import type { ElfSymbol } from '../../src/elf/types.js';
import type { Edge, EdgeKind, FunctionInfo } from '../../src/model/types.js';

/**
 * Hand-built models for unit tests of the derivation and part rules: no gcc, no ELF.
 *
 * A FunctionInfo here carries only what those rules read (names, positions, sections, the
 * STT_FILE scope, parts and edges). Its decoded code is absent: the rules work on the
 * model, never on bytes, and leaving the code out keeps these tests independent of how
 * the model stores it.
 */

const STT_FUNC = 2;
const STB_LOCAL = 0;
const STB_GLOBAL = 1;

export interface HandFunctionOptions {
  /** Section name; `.text.<name>` by default (as with -ffunction-sections). */
  section?: string;
  global?: boolean;
  /** The STT_FILE symbol that scopes a local symbol. */
  file?: string;
  /** kallsyms position of a repeated local name (0: unique). */
  sympos?: number;
  /** Symbol-table index; by default one after the previous function made. */
  index?: number;
}

let nextId = 0;

/** One function symbol of a hand-built object. */
export function handFunction(name: string, options: HandFunctionOptions = {}): FunctionInfo {
  const id = nextId++;
  const global = options.global ?? false;
  const sympos = options.sympos ?? 0;
  const symbol: ElfSymbol = {
    index: options.index ?? id + 1,
    name,
    value: 0,
    size: 16,
    type: STT_FUNC,
    bind: global ? STB_GLOBAL : STB_LOCAL,
    visibility: 0,
    shndx: 1,
    reserved: false,
    ...(options.file !== undefined ? { file: options.file } : {}),
  };
  const fn = {
    id,
    name,
    sympos,
    key: sympos > 0 ? `${name},${sympos}` : name,
    symbol,
    section: 1,
    sectionName: options.section ?? `.text.${name}`,
    offset: 0,
    size: 16,
    global,
    aliases: [] as string[],
    partEvidence: [] as FunctionInfo['partEvidence'],
    parts: [] as FunctionInfo[],
    edges: [] as Edge[],
    firstReference: 0,
    endReference: 0,
    undecodable: [] as FunctionInfo['undecodable'],
    thunks: { fentry: false, returns: 0, indirectCalls: 0, indirectJumps: 0 },
  };
  return fn as FunctionInfo;
}

/** Makes `part` a part of `parent`, as findParts leaves them. */
export function attach(parent: FunctionInfo, ...parts: FunctionInfo[]): FunctionInfo {
  for (const part of parts) {
    part.parent = parent;
    part.partEvidence = ['jump', 'name'];
    parent.parts.push(part);
  }
  return parent;
}

/** Adds an edge `from -> to` of the given kind (to an external symbol when `to` is a string). */
export function edge(from: FunctionInfo, kind: EdgeKind, to: FunctionInfo | string, targetOffset = 0): void {
  const e: Edge = {
    kind,
    targetName: typeof to === 'string' ? to : to.name,
    targetOffset,
    from: from.edges.length * 5,
    via: 'relocation',
    ...(typeof to === 'string' ? {} : { target: to }),
  };
  from.edges.push(e);
}

/** A changed family: the original and the patched version of one function. */
export function changed(original: FunctionInfo, patched: FunctionInfo): FamilyChange {
  return { name: original.name, status: 'changed', original, patched, reasons: ['code'], coldMapping: 'none', partMappings: [] };
}

export function removed(original: FunctionInfo): FamilyChange {
  return { name: original.name, status: 'removed', original, reasons: [], partMappings: [] };
}

export function added(patched: FunctionInfo): FamilyChange {
  return { name: patched.name, status: 'added', patched, reasons: [], partMappings: [] };
}

export function buildNoise(original: FunctionInfo, patched: FunctionInfo): FamilyChange {
  return { name: original.name, status: 'build_noise', original, patched, reasons: ['string literal'], partMappings: [] };
}
