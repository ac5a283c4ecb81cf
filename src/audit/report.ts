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

/** Code that runs in a patched function's stead: one of its parts, or a function it reaches by a tail call. */
export interface AuditCodeJson {
  name: string;
  sympos: number;
  /** `part`: runs in the frame of `via`; `tail-call`: `via` jumps to it, leaving no frame of its own. */
  reason: 'part' | 'tail-call';
  via: string;
  covered_by: AuditCoverJson | null;
  /** For a tail-called function: its own parts. */
  parts?: AuditCodeJson[];
}

export interface AuditCandidateJson {
  name: string;
  sympos: number;
  section: string;
  offset: number;
  size: number;
}

/**
 * - `ok`: found, and everything it reaches is covered;
 * - `blind_spots`: found, and some of its parts or tail-called functions are not;
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
}

export interface AuditStackOnlyJson {
  old_name: string | null;
  old_sympos: number;
  new_name: string | null;
  /** Whether old_name was found in the original: `ok`, or the position error (as for functions); null without old_name. */
  status: Exclude<AuditStatus, 'blind_spots' | 'part'> | null;
  message?: string;
  candidates?: AuditCandidateJson[];
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
    /** Distinct pieces of code left uncovered (one counted once however many functions reach it). */
    blind_spots: number;
    /** Entries whose name or position does not resolve in the original: missing, ambiguous, bad_sympos. */
    position_errors: number;
  };
  warnings: string[];
}
