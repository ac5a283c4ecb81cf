import type { LivepatchFormat } from './types.js';

/*
 * The `audit` report (`--format json` prints it as it is). Names are the original
 * object's symbols; `sympos` is as klp_func.old_sympos counts it (0: the name is unique).
 */

/** What covers a piece of code on the stack check's behalf; null when nothing does. */
export interface AuditCoverJson {
  /** `klp_func`: the livepatch patches this code itself; `stack_only`: a stack-only entry names it. */
  kind: 'klp_func' | 'stack_only';
  old_name: string;
  old_sympos: number;
}

/**
 * Where the livepatch module's own code is checked on the stack when the patch is disabled:
 * `klp_func`, it is a klp_func's `new_func` (of the klp_func for `old_name`); `stack_only`,
 * a stack-only entry names it (`new_name`, or its `new_func`).
 */
export interface AuditNewCoverJson {
  kind: 'klp_func' | 'stack_only';
  /** For `klp_func`: the function that klp_func patches; for `stack_only`: the entry's old_name, if any. */
  old_name: string | null;
  new_name: string;
}

/**
 * Code that runs in a patched function's stead: one of its parts, or a function it reaches
 * by a tail call. `C` says what covers it: an entry naming the original object's code
 * (the enable direction), or the livepatch module's (the disable direction).
 */
export interface AuditCodeJson<C = AuditCoverJson> {
  name: string;
  sympos: number;
  /** `part`: runs in the frame of `via`; `tail-call`: `via` jumps to it, leaving no frame of its own. */
  reason: 'part' | 'tail-call';
  via: string;
  covered_by: C | null;
  /** For a tail-called function: its own parts. */
  parts?: AuditCodeJson<C>[];
}

/**
 * The disable direction: what runs in `new_func`'s stead in the livepatch module, whose
 * stack check, when the patch is disabled or replaced, sees only the klp_funcs' `new_func`s
 * and the stack-only `new_name`s. A task left there when the transition completes runs old
 * code, or code of a module about to be unloaded.
 */
export interface AuditNewCodeJson {
  parts: AuditCodeJson<AuditNewCoverJson>[];
  tail_calls: AuditCodeJson<AuditNewCoverJson>[];
  /** Every part and tail-called function above (and their parts) that nothing covers. */
  blind_spots: AuditCodeJson<AuditNewCoverJson>[];
}

export interface AuditCandidateJson {
  name: string;
  sympos: number;
  section: string;
  offset: number;
  size: number;
}

/**
 * - `ok`: found, and everything it reaches is covered, in the original and in the livepatch module;
 * - `blind_spots`: found, and some of its parts or tail-called functions are not (either side);
 * - `part`: the entry names a part (`foo.cold`): it covers that part, nothing more to check;
 * - `missing`: no function of that name in the original object;
 * - `ambiguous`: old_sympos 0 but the name is not unique (the kernel refuses the patch);
 * - `bad_sympos`: old_sympos past the number of symbols of that name.
 */
export type AuditStatus = 'ok' | 'blind_spots' | 'part' | 'missing' | 'ambiguous' | 'bad_sympos';

export interface AuditFunctionJson {
  old_name: string;
  old_sympos: number;
  /** The livepatch module's function that replaces it. */
  new_func: string | null;
  status: AuditStatus;
  /** Why, for `missing`, `ambiguous`, `bad_sympos` and `part`. */
  message?: string;
  /** The functions of that name, for `ambiguous` and `bad_sympos`. */
  candidates?: AuditCandidateJson[];
  parts: AuditCodeJson[];
  tail_calls: AuditCodeJson[];
  /** Every part and tail-called function above (and their parts) that nothing covers. */
  blind_spots: AuditCodeJson[];
  /** The same in the livepatch module, for `new_func`; null when new_func is not the module's own code. */
  new_code: AuditNewCodeJson | null;
}

export interface AuditStackOnlyJson {
  old_name: string | null;
  old_sympos: number;
  new_name: string | null;
  /** Whether old_name was found in the original: `ok`, or the position error (as for functions); null without old_name. */
  status: Exclude<AuditStatus, 'blind_spots' | 'part'> | null;
  message?: string;
  candidates?: AuditCandidateJson[];
  /** The livepatch module's function a stack-only `new_func` points to, in place of a new_name. */
  new_func?: string;
  /**
   * Whether new_name names one function of the livepatch module, as the kernel looks it up
   * (position 0: the name must be unique there): `ok`, `missing` or `ambiguous`; null without new_name.
   */
  new_status: 'ok' | 'missing' | 'ambiguous' | null;
  new_message?: string;
}

export interface AuditObjectJson {
  /** The klp_object's name; `vmlinux` for a NULL name. */
  name: string;
  /** The original object it was checked against. */
  original: string;
  functions: AuditFunctionJson[];
  stack_only: AuditStackOnlyJson[];
}

export interface AuditReport {
  schema_version: 1;
  livepatch: string;
  format: LivepatchFormat;
  /** The livepatch module's own `.modinfo` name. */
  module: string | null;
  objects: AuditObjectJson[];
  summary: {
    functions: number;
    /** Distinct pieces of code left uncovered, in the originals and in the livepatch module (one counted once however many functions reach it). */
    blind_spots: number;
    /**
     * Entries whose name or position does not resolve: old names in the original (missing,
     * ambiguous, bad_sympos), stack-only new names in the livepatch module (missing, ambiguous).
     */
    position_errors: number;
  };
  warnings: string[];
}
