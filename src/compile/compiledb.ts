/*
 * Building the translation units a patch touches from a compilation database
 * (compile_commands.json). The work is split by concern under compiledb/:
 *
 *   database.ts       reading compile_commands.json into entries
 *   command-words.ts  what each word of a database command is
 *   dependencies.ts   the dependency files the user's build left, and what they list
 *   patched-files.ts  the patch applied in memory (with `#line` directives)
 *   units.ts          choosing the units the patch affects
 *   rewrite.ts        a database command rewritten for the original and the patched side
 *   shadow-tree.ts    the copy of the source tree the patched side compiles in
 *   options.ts        --cflags and --keep-objects for a tree of units
 *   report-names.ts   the report's objects named by their units, not temporary files
 *   run-compiles.ts   running the compiles, and the check that no original leaked in
 *   build.ts          buildFromCompilationDatabase, which puts them together
 *   warm-up.ts        what the comparison will load, loaded while the compilers run
 *
 * This module exports what the rest of stackonly (and the tests) use.
 */

export { buildFromCompilationDatabase, type CompileDbRequest, type CompileDbResult } from './compiledb/build.js';
export { loadCompilationDatabase } from './compiledb/database.js';
export { describeEntry } from './compiledb/dependencies.js';
export { nameUnitObjects, unitNaming } from './compiledb/report-names.js';
export { rewriteCompileCommand } from './compiledb/rewrite.js';
export { warmUpComparison } from './compiledb/warm-up.js';
