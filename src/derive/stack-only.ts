import type { Comparison } from '../compare/compare.js';
import { tailCallReach } from '../model/tail-calls.js';
import type { FunctionInfo } from '../model/types.js';

type StackOnlyReason = 'part' | 'tail-call';

export interface StackOnlyEntry {
  /** A symbol name in the object the set is checked against. */
  name: string;
  /** kallsyms position when the name repeats among the object's local symbols; 0 otherwise. */
  sympos: number;
  /** The patched function (family parent) this entry protects. */
  owner: string;
  reason: StackOnlyReason;
  /** For a part of a tail-called function: that function (the owner is the patched one). */
  partOf?: string;
  fn: FunctionInfo;
}

export interface StackOnlySets {
  /** Names in the original object, checked when the livepatch is enabled. */
  enable: StackOnlyEntry[];
  /** Names in the patched object, checked when the livepatch is disabled. */
  disable: StackOnlyEntry[];
}

/**
 * The rules of design.md §6. For each patched family on one side: its parts, and every
 * function that exists only on that side and is reached from the family through tail calls
 * (transitively), with that function's parts. Only tail calls matter: a called function's
 * caller frame stays on the stack, and the caller is patched.
 */
export function deriveStackOnly(comparison: Comparison): StackOnlySets {
  const changed = comparison.changes.filter((c) => c.status === 'changed');
  const removed = new Set(comparison.changes.filter((c) => c.status === 'removed').map((c) => c.original!));
  const added = new Set(comparison.changes.filter((c) => c.status === 'added').map((c) => c.patched!));

  const collect = (roots: { owner: string; fn: FunctionInfo }[], onlyHere: Set<FunctionInfo>): StackOnlyEntry[] => {
    const entries = new Map<FunctionInfo, StackOnlyEntry>();
    const add = (fn: FunctionInfo, owner: string, reason: StackOnlyReason) => {
      if (entries.has(fn)) return;
      const partOf = reason === 'part' && fn.parent && fn.parent.name !== owner ? fn.parent.name : undefined;
      entries.set(fn, { name: fn.name, sympos: fn.sympos, owner, reason, ...(partOf ? { partOf } : {}), fn });
    };
    for (const { owner, fn } of roots) {
      for (const part of fn.parts) add(part, owner, 'part');
      for (const target of tailCallReach(fn)) {
        if (!onlyHere.has(target)) continue;
        add(target, owner, 'tail-call');
        for (const part of target.parts) add(part, owner, 'part');
      }
    }
    return [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.sympos - b.sympos));
  };

  return {
    enable: collect(changed.map((c) => ({ owner: c.name, fn: c.original! })), removed),
    disable: collect(changed.map((c) => ({ owner: c.patched!.name, fn: c.patched! })), added),
  };
}
