import type { EncodedInstruction } from '../compare/differences.js';

/**
 * The JSON reports: the contract of design.md §7. schema/report.schema.json describes the
 * same shapes; fields are only ever added, never renamed.
 */

export interface FamilySideJson {
  symbol: string;
  parts: string[];
  section: string;
  size: number;
  sympos?: number;
}

export interface PartMappingJson {
  original: string | null;
  patched: string | null;
  /** The family the part came from or went to, when it is not this family on the other side. */
  other_family?: string;
}

/** One side of a difference: where it is, and what is there (assembler text, a number, a string, an entry). */
export interface DifferenceSideJson {
  symbol: string;
  offset: number;
  value: string | number;
  /** For a constant in code: the instruction that holds it, as assembler text. */
  instruction?: string;
  /** Internal, never written: assembler text still to be made (see fillAssemblerText). */
  encoded?: EncodedInstruction;
}

export interface DifferenceJson {
  kind: 'instruction' | 'constant' | 'string' | 'callee' | 'relocation' | 'special-section' | 'part' | 'undecodable';
  original: DifferenceSideJson | null;
  patched: DifferenceSideJson | null;
  /** For a constant taken for a moved line number: the evidence (`bug_table`, `line_callee`, `format`, `function_name`, `dwarf`, `span`). */
  evidence?: 'bug_table' | 'line_callee' | 'format' | 'function_name' | 'dwarf' | 'span';
}

export interface LineShiftJson {
  name: string;
  shift: number;
  /** The kinds of evidence that prove its differing constants are line numbers. */
  evidence: string[];
  differences: DifferenceJson[];
}

export interface FunctionChangeJson {
  name: string;
  /** `build_noise`: differs only in build stamps (the kernel release string); no klp_func. */
  status: 'changed' | 'added' | 'removed' | 'build_noise';
  original: FamilySideJson | null;
  patched: FamilySideJson | null;
  cold_mapping?: 'one-to-one' | 'lost' | 'gained' | 'split' | 'merged' | 'reparented' | 'none';
  reasons?: string[];
  part_mapping?: PartMappingJson[];
  /** What differs, the first few at most: the evidence for the verdict. */
  differences: DifferenceJson[];
}

export interface StackOnlyEntryJson {
  name: string;
  owner: string;
  reason: 'part' | 'tail-call';
  /** For a part of a function reached by tail calls: that function. */
  part_of?: string;
  sympos?: number;
}

/** The klp_object name of code that is not in a module (`.name` NULL in `struct klp_object`). */
export const VMLINUX = 'vmlinux';

export interface CompareReport {
  schema_version: 1;
  arch: string;
  original: string;
  patched: string;
  /**
   * The klp_object the compared code belongs to: a kernel module's name (`.modinfo`
   * `name=`, or the unit's `KBUILD_MODNAME`), else `vmlinux` (or `--object-name`). Every
   * report stackonly writes carries it (see withObjectName, nameTreeObjects); only reports
   * still being assembled (the pipeline's, before the caller names them) lack it.
   */
  object_name?: string;
  functions: FunctionChangeJson[];
  stack_only: { enable: StackOnlyEntryJson[]; disable: StackOnlyEntryJson[] };
  renames: { original: string; patched: string; by: string }[];
  /** Functions not reported as changed: they differ only in `__LINE__` values, each proven a line number. */
  line_shifts: LineShiftJson[];
  /** The build stamps (kernel release strings) of the two builds, from .modinfo or given. */
  build_stamps: { original: string; patched: string }[];
  warnings: string[];
}

export interface InspectFunctionJson {
  name: string;
  section: string;
  size: number;
  parts?: string[];
  part_of?: string;
  evidence?: string[];
  aliases?: string[];
  sympos?: number;
  /** Kernel thunks used, which are not edges: the ftrace hook, return and indirect-branch thunks. */
  thunks?: { fentry: boolean; returns: number; indirect_calls: number; indirect_jumps: number };
  edges: { kind: string; target: string }[];
}

export interface InspectReport {
  schema_version: 1;
  arch: string;
  path: string;
  functions: InspectFunctionJson[];
  warnings: string[];
}

export interface ReplaceEntryJson extends StackOnlyEntryJson {
  from: 'replaced' | 'replacing';
  object?: string;
}

export interface ReplaceReport {
  schema_version: 1;
  replaced: string;
  replacing: string;
  stack_only: { replace: ReplaceEntryJson[] };
}

export interface TreeSummary {
  compared: number;
  identical: number;
  unchanged: number;
  changed: number;
  /** Objects whose only differences are build noise. */
  build_noise: number;
  errors: number;
  only_in_original: string[];
  only_in_patched: string[];
  /**
   * Objects of a kbuild tree that each build linked from other objects of its tree (a
   * module's `ld -r` `.o` and its `.ko`, `vmlinux.o`): not compared, their members are, and
   * `.old_sympos` is counted in them. Present when there are any.
   */
  linked_from_members?: string[];
  /**
   * Objects of a kbuild tree's own programs (modpost, objtool, kconfig: compiled without
   * `-D__KERNEL__`): no kernel code, not compared. Present when there are any.
   */
  host_objects?: string[];
}

/** Tree mode: the single-object fields aggregated (each entry with its `object`), and one report per changed object. */
export interface TreeReport extends Omit<CompareReport, 'functions' | 'stack_only' | 'renames' | 'line_shifts' | 'object_name'> {
  summary: TreeSummary;
  functions: (FunctionChangeJson & { object: string })[];
  stack_only: { enable: (StackOnlyEntryJson & { object: string })[]; disable: (StackOnlyEntryJson & { object: string })[] };
  renames: { original: string; patched: string; by: string; object: string }[];
  line_shifts: (LineShiftJson & { object: string })[];
  /** One report per compared pair; `status` says whether it was byte-identical, unchanged or changed. */
  objects: TreeObjectReport[];
}

export interface TreeObjectReport extends CompareReport {
  path: string;
  /** `error`: the pair could not be compared; its lists are empty and `error` says why. */
  status: 'identical' | 'unchanged' | 'changed' | 'build_noise' | 'error';
  /** With status `error`: the one-line message, naming the file. */
  error?: string;
}
