/**
 * What a built livepatch module says it patches, as the format readers (formats/*.ts) give
 * it: the same shape for every format, so that the check (check.ts) knows none of them.
 */

import type { ElfObject } from '../elf/types.js';

/** The livepatch formats `audit` reads (README: "audit"). */
export type LivepatchFormat = 'upstream' | 'kpatch' | 'klp-build';

/** One function the livepatch replaces: a `klp_func` with a `new_func`. */
export interface PatchedFunc {
  oldName: string;
  /** 0: the name must be unique in the object; N: its Nth occurrence (kallsyms order). */
  oldSympos: number;
  /** The livepatch module's function that replaces it (undefined when the reader could not name it). */
  newFunc?: string;
  /** Where `new_func` points in the livepatch module (undefined when it points outside it). */
  newCode?: CodeAddress;
}

/** A place in the livepatch module's own sections. */
export interface CodeAddress {
  section: number;
  offset: number;
}

/**
 * An entry that patches nothing and is only looked for on the stacks: the proposed
 * `stack_only` klp_func (kernel/6.1/0001-*.patch), or, in formats without that field, an
 * entry with a name and no new function.
 */
export interface StackOnlyEntry {
  /** Code in the patched (original) object, checked when the livepatch is enabled. */
  oldName?: string;
  oldSympos: number;
  /** Code in the livepatch module, checked when it is disabled. */
  newName?: string;
  /** The same given by a pointer (`new_func` of a stack-only entry) instead of a name. */
  newFunc?: string;
  newCode?: CodeAddress;
}

export interface LivepatchObject {
  /** The module name; undefined for vmlinux (a NULL `klp_object.name`). */
  name?: string;
  funcs: PatchedFunc[];
  stackOnly: StackOnlyEntry[];
}

export interface LivepatchModule {
  path: string;
  /** The module itself: its own code is what the disable direction checks. */
  object: ElfObject;
  format: LivepatchFormat;
  /** The livepatch module's own name (`.modinfo` name=), when it has one. */
  moduleName?: string;
  objects: LivepatchObject[];
  /** The kernel release it was built for (`.modinfo` vermagic), when it says. */
  release?: string;
  /** Oddities of the module's structures that did not stop the reading (one line each). */
  warnings: string[];
}
