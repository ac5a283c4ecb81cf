/** stackonly as a library: no console I/O here; the CLI in src/cli is one user of it. */
export { compare, compareObjects, inspect, modelObject, placeInLinkedObjects } from './api.js';
export type { CompareResult, InspectResult, LinkedPositionsRequest } from './api.js';
export { openObject } from './elf/open.js';
export { parseElf } from './elf/reader.js';
export type * from './elf/types.js';
export { buildModel } from './model/build.js';
export type * from './model/types.js';
export { compareModels } from './compare/compare.js';
export type { Comparison, FamilyChange, ColdMapping } from './compare/compare.js';
export { deriveStackOnly } from './derive/stack-only.js';
export type { StackOnlySets, StackOnlyEntry } from './derive/stack-only.js';
export type * from './report/types.js';
export { audit } from './audit/check.js';
export type { AuditOptions } from './audit/check.js';
export { readLivepatch } from './audit/formats/index.js';
export type { LivepatchFormat, LivepatchModule, LivepatchObject, PatchedFunc, StackOnlyEntry as LivepatchStackOnlyEntry } from './audit/types.js';
export type * from './audit/report.js';
export { InputError, ElfError, CompileError, PatchError, UsageError } from './errors.js';
