import type { ElfObject } from '../elf/types.js';
import { isBlockSectionPart, looksLikePart, mayBePartName, PART_NAME, partSectionOwner } from './part-names.js';
import type { FunctionInfo, Location, PartEvidence } from './types.js';

const NO_FUNCTIONS: readonly FunctionInfo[] = [];

interface RawTransfer {
  from: FunctionInfo;
  kind: 'call' | 'jump' | 'address';
  location: Location;
}

/**
 * Attaches parts to their parents with the three kinds of evidence of design.md §3:
 * jumps both ways, part names (`.cold`, clang's `.__part.N`; scoped by STT_FILE), and part
 * sections (`.text.unlikely.F`, clang's `.text.split.F`; see part-names.ts).
 * Where the evidence disagrees, the jumps win (they are what makes the frame shared) and
 * the disagreement becomes a warning.
 */
export function findParts(input: {
  functions: FunctionInfo[];
  byName: Map<string, FunctionInfo[]>;
  raw: RawTransfer[];
  warnings: string[];
  object: ElfObject;
}): void {
  const { functions, byName, raw, warnings } = input;

  const jumpedIntoBy = new Map<FunctionInfo, Set<FunctionInfo>>();
  const jumpsBackTo = new Map<FunctionInfo, Set<FunctionInfo>>();
  const entryAddressedBy = new Map<FunctionInfo, Set<FunctionInfo>>();
  for (const t of raw) {
    if (t.kind === 'call' || t.location.kind !== 'function') continue;
    const target = t.location.fn;
    if (target === t.from) continue;
    if (t.kind === 'address') {
      // Taking the address of code inside another function (a computed goto's label, in
      // code or in a table of label addresses) is entering it, as a jump is. At an entry it
      // may be a function pointer: that counts only for a part already named after its taker.
      const map = t.location.offset !== 0 ? jumpedIntoBy : entryAddressedBy;
      let into = map.get(target);
      if (!into) map.set(target, (into = new Set()));
      into.add(t.from);
      continue;
    }
    let into = jumpedIntoBy.get(target);
    if (!into) jumpedIntoBy.set(target, (into = new Set()));
    into.add(t.from);
    if (t.location.offset !== 0) {
      let back = jumpsBackTo.get(t.from);
      if (!back) jumpsBackTo.set(t.from, (back = new Set()));
      back.add(target);
    }
  }

  const parentOf = new Map<FunctionInfo, { parent: FunctionInfo; evidence: PartEvidence[] }>();
  const context: PartContext = { byName, jumpedIntoBy, jumpsBackTo, entryAddressedBy, warnings };
  for (const fn of functions) {
    // Most functions have no evidence of being a part at all.
    const mayBePart = (jumpsBackTo.has(fn) && jumpedIntoBy.has(fn)) || mayBePartName(fn.name) || partSectionOwner(fn.sectionName) !== undefined;
    if (!mayBePart) continue;
    const found = partParent(fn, context);
    if (found) parentOf.set(fn, found);
  }

  // Parts of parts run in the root's frame: attach them to the root.
  for (const [part, { parent, evidence }] of parentOf) {
    let root = parent;
    const seen = new Set<FunctionInfo>([part]);
    while (parentOf.has(root) && !seen.has(root)) {
      seen.add(root);
      root = parentOf.get(root)!.parent;
    }
    if (seen.has(root)) {
      warnings.push(`${part.name}: part relations form a cycle; left as a function of its own`);
      continue;
    }
    part.parent = root;
    part.partEvidence = evidence;
  }
  for (const fn of functions) {
    if (!fn.parent) continue;
    // A parent's parts may be a shared empty array until its first part (model/build.ts).
    if (fn.parent.parts.length === 0) fn.parent.parts = [fn];
    else fn.parent.parts.push(fn);
  }
}

interface PartContext {
  byName: Map<string, FunctionInfo[]>;
  jumpedIntoBy: Map<FunctionInfo, Set<FunctionInfo>>;
  jumpsBackTo: Map<FunctionInfo, Set<FunctionInfo>>;
  /** Functions that take the address of a function's entry (in code or a table they use). */
  entryAddressedBy: Map<FunctionInfo, Set<FunctionInfo>>;
  warnings: string[];
}

/**
 * The function a part's name or section points at. Local names repeat in objects linked
 * from several files (a kernel module), so among same-named candidates: the one that
 * jumps into the part, then the one in the same STT_FILE scope, then a global, then the
 * nearest in the symbol table (a file's locals stay together even where the linker or
 * strip dropped the STT_FILE symbols, as in distribution kernel modules).
 */
function lookup(name: string, part: FunctionInfo, context: PartContext): FunctionInfo | undefined {
  let candidates = (context.byName.get(name) ?? []).filter((fn) => fn !== part);
  if (candidates.length <= 1) return candidates[0];
  const into = context.jumpedIntoBy.get(part);
  const jumping = candidates.filter((fn) => into?.has(fn));
  if (jumping.length === 1) return jumping[0];
  if (jumping.length > 1) candidates = jumping;
  const sameFile = candidates.filter((fn) => !fn.global && fn.symbol.file !== undefined && fn.symbol.file === part.symbol.file);
  if (sameFile.length === 1) return sameFile[0];
  if (sameFile.length > 1) candidates = sameFile;
  const globals = candidates.filter((fn) => fn.global);
  if (globals.length > 0 && !part.symbol.file) return globals[0];
  const distance = (fn: FunctionInfo) => Math.abs(fn.symbol.index - part.symbol.index);
  return candidates.reduce((best, fn) => (distance(fn) < distance(best) ? fn : best));
}

/** The parent a function is a part of, with the evidence, weighing the three kinds against each other. */
function partParent(fn: FunctionInfo, context: PartContext): { parent: FunctionInfo; evidence: PartEvidence[] } | undefined {
  const { warnings } = context;
  const back = context.jumpsBackTo.get(fn);
  const into = context.jumpedIntoBy.get(fn);
  const nameMatch = PART_NAME.exec(fn.name);
  // Parts split from one function (clang's `foo.__part.1`, `foo.__part.2`, `foo.cold`) jump
  // into each other: a sibling is never the parent, and a jump from one enters the family.
  const isSibling = (f: FunctionInfo) => nameMatch !== null && f !== fn && PART_NAME.exec(f.name)?.[1] === nameMatch[1];
  // Cold code jumps back into its parent, and the parent jumps into the middle of it: both
  // directions look alike, so a candidate that itself looks like a part cannot be the
  // parent of one that does not.
  const jumpParents = back && into ? [...into].filter((f) => back.has(f) && !isSibling(f) && !(looksLikePart(f) && !looksLikePart(fn))) : NO_FUNCTIONS;

  const nameParent = nameMatch ? lookup(nameMatch[1], fn, context) : undefined;
  if (nameMatch && !nameParent) warnings.push(`${fn.name}: named as a ${isBlockSectionPart(fn.name) ? 'part' : 'cold part'} of ${nameMatch[1]}, but the object has no function ${nameMatch[1]}`);

  let sectionParent: FunctionInfo | undefined;
  const owner = partSectionOwner(fn.sectionName);
  // A function declared cold lives in .text.unlikely.<its own name>: that is no evidence.
  if (owner !== undefined && owner !== fn.name) sectionParent = lookup(owner, fn, context);
  // -fbasic-block-sections gives each part a section of its own named like its parent's.
  else if (nameParent && isBlockSectionPart(fn.name) && fn.section !== nameParent.section && fn.sectionName === nameParent.sectionName) sectionParent = nameParent;

  if (jumpParents.length === 0 && !nameParent && !sectionParent) return undefined;
  let parent: FunctionInfo | undefined;
  const evidence: PartEvidence[] = [];
  if (jumpParents.length > 0) {
    parent = jumpParents.length === 1 ? jumpParents[0] : jumpParents.find((p) => p === nameParent) ?? jumpParents[0];
    if (jumpParents.length > 1) {
      warnings.push(`${fn.name}: shares a frame with several functions (${jumpParents.map((p) => p.name).join(', ')}); attached to ${parent.name}`);
    }
    evidence.push('jump');
    if (nameParent === parent) evidence.push('name');
    else if (nameParent) warnings.push(`${fn.name}: its name says it is a part of ${nameParent.name}, but its jumps say ${parent.name}; attached to ${parent.name}`);
    if (sectionParent === parent) evidence.push('section');
    else if (sectionParent) warnings.push(`${fn.name}: its section ${fn.sectionName} says it is a part of ${sectionParent.name}, but its jumps say ${parent.name}; attached to ${parent.name}`);
    if (!nameParent && !sectionParent && !nameMatch) {
      warnings.push(`${fn.name}: attached to ${parent.name} on jump evidence alone (entered by a jump and jumps back into it)`);
    }
  } else if (nameParent) {
    parent = nameParent;
    // A part that never jumps back (it ends in a noreturn call or a tail call) still
    // shows the one-way jump in: that is evidence too, just not enough on its own. So does
    // the parent taking the address of the part's first byte (a computed goto's label
    // where the part starts): nothing calls a part, so that is no function pointer.
    const fromFamily = (by: Set<FunctionInfo> | undefined) => by !== undefined && [...by].some((f) => f === parent || isSibling(f));
    const entered = fromFamily(into);
    const addressed = fromFamily(context.entryAddressedBy.get(fn));
    if (entered || addressed) evidence.push('jump');
    evidence.push('name');
    if (sectionParent === parent) evidence.push('section');
    else if (sectionParent) warnings.push(`${fn.name}: its name says it is a part of ${nameParent.name}, but its section ${fn.sectionName} says ${sectionParent.name}; attached to ${parent.name}`);
    if (!entered && !addressed) warnings.push(`${fn.name}: named as a part of ${parent.name}, but ${parent.name} never jumps into it`);
  } else if (sectionParent && (nameMatch || into?.has(sectionParent))) {
    parent = sectionParent;
    if (into?.has(sectionParent)) evidence.push('jump');
    evidence.push('section');
  }
  return parent ? { parent, evidence } : undefined;
}
