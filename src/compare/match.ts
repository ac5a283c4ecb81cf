import type { FunctionInfo, ObjectModel } from '../model/types.js';

interface Rename {
  original: string;
  patched: string;
  /** How the pair was settled among several candidates of the same normalized name. */
  by: 'name' | 'content' | 'order';
}

export interface Matching {
  toPatched: Map<FunctionInfo, FunctionInfo>;
  toOriginal: Map<FunctionInfo, FunctionInfo>;
  renames: Rename[];
}

/**
 * Numbers gcc appends to clones and split parts are not stable between builds:
 * `foo.constprop.0` may come back as `foo.constprop.1`, `foo.cold.12` as `foo.cold.7`. Nor
 * are clang's: `foo.__part.3` (basic-block sections), and `foo.llvm.<hash>`, a local that
 * ThinLTO promoted, whose hash is of its whole unit and so changes with any change there.
 */
const normalized = new Map<string, string>();

export function normalizeName(name: string): string {
  // Most names have no number to normalize: settled without the memo (a hash lookup).
  if (!hasDotDigit(name) && !name.startsWith('__UNIQUE_ID_')) return name;
  // The same names come back in every object of a tree (`__func__.3`, `__already_done.12`).
  let result = normalized.get(name);
  if (result === undefined) {
    if (normalized.size > 100_000) normalized.clear();
    result = normalizeNumbers(name);
    normalized.set(name, result);
  }
  return result;
}

/** Whether a `.` followed by a digit occurs: the start of every number normalizeNumbers replaces after a dot. */
function hasDotDigit(name: string): boolean {
  for (let i = name.indexOf('.'); i >= 0 && i + 1 < name.length; i = name.indexOf('.', i + 1)) {
    const c = name.charCodeAt(i + 1);
    if (c >= 0x30 && c <= 0x39) return true;
  }
  return false;
}

function normalizeNumbers(name: string): string {
  // __UNIQUE_ID_<prefix><__COUNTER__> names (dynamic debug descriptors, modinfo) count up
  // with every use of the macro in the file, so an unrelated addition renumbers them.
  return name.replace(/^(__UNIQUE_ID_\D*?)\d+/, '$1N').replace(/\.\d+(?=\.|$)/g, '.N');
}

/** Local names are only unique within their STT_FILE; globals are unique in the object. */
function scopedName(fn: FunctionInfo, name: string): string {
  return fn.global ? name : `${fn.symbol.file ?? ''}\0${name}`;
}

function groupBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/**
 * Pairs original and patched functions: by exact name first, then by the name with its
 * compiler numbers normalized; where several candidates remain, by identical content
 * (`fingerprint`), then in symbol-table order. Every pair whose names differ is a rename.
 */
export function matchFunctions(
  original: ObjectModel,
  patched: ObjectModel,
  fingerprint: (fn: FunctionInfo, model: ObjectModel) => string,
): Matching {
  const matcher = new Matcher(original, patched, fingerprint);
  // Names without compiler numbers are stable: pair them exactly.
  const plain = (fn: FunctionInfo) => normalizeName(fn.name) === fn.name;
  const left = groupBy(original.functions.filter(plain), (fn) => scopedName(fn, fn.name));
  const right = groupBy(patched.functions.filter(plain), (fn) => scopedName(fn, fn.name));
  for (const [key, os] of left) {
    const ps = right.get(key);
    if (ps) matcher.pairCandidates(os, ps);
  }
  // Numbered names: within each normalized name, identical content first, then the same
  // name, then the order the compiler emitted them.
  const { toPatched, toOriginal } = matcher;
  const leftN = groupBy(original.functions.filter((fn) => !toPatched.has(fn)), (fn) => scopedName(fn, normalizeName(fn.name)));
  const rightN = groupBy(patched.functions.filter((fn) => !toOriginal.has(fn)), (fn) => scopedName(fn, normalizeName(fn.name)));
  for (const [key, os] of leftN) {
    const ps = rightN.get(key);
    if (ps) matcher.pairCandidates(os, ps);
  }
  matcher.pairPartsOfRenamed();
  return { toPatched, toOriginal, renames: matcher.renames };
}

class Matcher {
  readonly toPatched = new Map<FunctionInfo, FunctionInfo>();
  readonly toOriginal = new Map<FunctionInfo, FunctionInfo>();
  readonly renames: Rename[] = [];

  constructor(
    private readonly original: ObjectModel,
    private readonly patched: ObjectModel,
    private readonly fingerprint: (fn: FunctionInfo, model: ObjectModel) => string,
  ) {}

  pair(o: FunctionInfo, p: FunctionInfo, by: Rename['by']): void {
    this.toPatched.set(o, p);
    this.toOriginal.set(p, o);
    if (o.name !== p.name) this.renames.push({ original: o.name, patched: p.name, by });
  }

  /** Candidates of one name: one each is a pair; among several, by content, name, then order. */
  pairCandidates(os: FunctionInfo[], ps: FunctionInfo[]): void {
    if (os.length === 1 && ps.length === 1) {
      this.pair(os[0], ps[0], 'name');
      return;
    }
    const free = (p: FunctionInfo) => !this.toOriginal.has(p);
    const byPrint = groupBy(ps, (fn) => this.fingerprint(fn, this.patched));
    for (const o of os) {
      const p = byPrint.get(this.fingerprint(o, this.original))?.find(free);
      if (p) this.pair(o, p, 'content');
    }
    for (const o of os) {
      if (this.toPatched.has(o)) continue;
      const p = ps.find((c) => free(c) && c.name === o.name);
      if (p) this.pair(o, p, 'name');
    }
    const restO = os.filter((o) => !this.toPatched.has(o));
    const restP = ps.filter(free);
    for (let i = 0; i < Math.min(restO.length, restP.length); i++) this.pair(restO[i], restP[i], 'order');
  }

  /** A part follows its parent when the parent was renamed (foo.constprop.0.cold with foo.constprop.0). */
  pairPartsOfRenamed(): void {
    for (const o of this.original.functions) {
      const p = this.toPatched.get(o);
      if (!p || (o.parts.length === 0 && p.parts.length === 0)) continue;
      const oParts = o.parts.filter((part) => !this.toPatched.has(part));
      const pParts = p.parts.filter((part) => !this.toOriginal.has(part));
      if (oParts.length === 1 && pParts.length === 1) this.pair(oParts[0], pParts[0], 'name');
    }
  }
}
