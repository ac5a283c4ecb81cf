#!/usr/bin/env node
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError, Option } from 'commander';
import { compare, inspect, nameTreeReport } from '../api.js';
import { buildFromCompilationDatabase } from '../compile/compiledb.js';
import { inputKind } from '../compile/inputs.js';
import { removeAllTempDirs } from '../compile/tempdir.js';
import { deriveReplace, readCompareReport } from '../derive/replace.js';
import { describeFsError, InputError, oneLine, UsageError } from '../errors.js';
import { formatsFor, render, type RenderOptions } from '../render/index.js';
import type { BuildStamp } from '../compare/code.js';
import type { ReplaceReport } from '../report/types.js';
import { compareTrees, type TreeResult } from '../tree/compare-tree.js';
import { compareExitCode, EXIT_ERROR, EXIT_OK } from './exit-code.js';
import { StagedInputs } from './inputs.js';
import { startProgress } from './progress.js';

// A run is over in seconds, and tree mode compiles the same hot code once per worker thread:
// with V8's inlining budget (tuned for long-running processes) TurboFan took a fifth of the
// CPU of comparing two Debian kernel module trees with -j 2 (perf); with this one, under a
// sixth, and the whole run about a tenth less, with the same report. Only a heuristic:
// V8 reads it when it compiles, in this thread and the workers alike.
setFlagsFromString('--max-inlined-bytecode-size-cumulative=100');

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function emit(text: string, output: string | undefined): void {
  if (output) {
    try {
      writeFileSync(output, text);
    } catch (err) {
      throw new InputError(output, `cannot write the report: ${describeFsError(err)}`);
    }
  } else process.stdout.write(text);
}

/** The options of a command that shape its output (those it does not take are undefined). */
const renderOptions = (opts: { newPrefix?: string; objectName?: string }): RenderOptions => ({ newPrefix: opts.newPrefix, objectName: opts.objectName });

const abort = new AbortController();

/** Stream inputs (FIFOs, `-`) copied to temporary files; messages and reports name them as given. */
const staged = new StagedInputs();

/** `--build-stamp OLD=NEW`, repeatable: the same stamp as the two builds spell it. */
function parseStamp(value: string, previous: BuildStamp[] = []): BuildStamp[] {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new UsageError(`--build-stamp takes OLD=NEW (e.g. 6.1.0-54-amd64=6.1.0-55-amd64), not '${value}'`);
  return [...previous, { original: value.slice(0, eq), patched: value.slice(eq + 1) }];
}

/** `--patch FILE`, repeatable: the patches apply in the order given. */
function collectPatch(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `-p N` / `--strip N`: as patch(1)'s -pN. */
function parseStrip(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n)) throw new UsageError(`--strip takes a number of leading path components (0, 1, ...), not '${value}'`);
  return n;
}

/** `--object-name NAME`: a klp_object name is a module name (MODULE_NAME_LEN 56, with its NUL). */
function parseObjectName(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,55}$/.test(value)) throw new UsageError(`--object-name takes a module name (letters, digits, _ and -, at most 55), or vmlinux, not '${value}'`);
  return value;
}

/**
 * `-j N`: worker threads (and, with --source-dir, compiler runs). Each worker holds a pair's
 * models, so far more of them than cores only costs memory: refused above 4 per core.
 */
function parseJobs(value: string): number {
  const cores = availableParallelism();
  const most = 4 * cores;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > most) {
    throw new UsageError(`-j takes a whole number from 1 to ${most} (4 per core, ${cores} core${cores === 1 ? '' : 's'} here), not '${value}'`);
  }
  return n;
}

function buildProgram(setExit: (code: number) => void): Command {
  const emitTree = (
    tree: TreeResult,
    opts: { format: string; newPrefix?: string; objectName?: string; output?: string; exitCode?: boolean },
    naming: { originalDir?: string; names?: ReadonlyMap<string, string> },
  ) => {
    const report = nameTreeReport(tree.report, { objectName: opts.objectName, ...naming });
    emit(render(opts.format, 'tree', report, renderOptions(opts)), opts.output);
    const failed = tree.results.filter((r) => r.status === 'error');
    for (const r of failed) process.stderr.write(`stackonly: ${r.error}\n`);
    setExit(failed.length > 0 ? EXIT_ERROR : compareExitCode([...report.objects], opts));
  };

  const program = new Command('stackonly')
    .description('Derive livepatch stack_only sets: the .cold parts and tail-called functions the stack check must see')
    .version(VERSION)
    // Commander's own errors (unknown option, missing argument, bad choice) are reported
    // like every other: one line from reportError, so nothing is printed here.
    .configureOutput({ outputError: () => {} })
    .exitOverride();

  // A command offers the formats that can show the reports it makes.
  const formatOption = (choices: string[]) => new Option('--format <format>', 'output format').choices(choices).default('text');

  program
    .command('compare')
    .description('compare the original and the patched build: changed functions, cold mappings, stack-only sets')
    .argument('[original]', 'original C source, ELF object, or directory of objects')
    .argument('[patched]', 'patched C source, ELF object, or directory of objects (or use --patch)')
    .addOption(formatOption(formatsFor('compare', 'tree')))
    .option('-o, --output <file>', 'write the report to a file')
    .option('--new-prefix <prefix>', "with --format c: prefix of the livepatch module's function names (e.g. livepatch_)")
    .option('--patch <file>', 'build the patched source by applying this patch (unified diff, git format-patch mail, or quilt series) to a copy; repeat for several, applied in order', collectPatch)
    .option('-p, --strip <n>', "with --patch: strip N leading components from the patch's file names (like patch -pN; default: 1 for git's a/ b/ names, else detected)", parseStrip)
    .option('--cc <command>', 'compiler command, wrappers allowed ("ccache gcc"); default $CC or gcc')
    .option('--cflags <flags>', 'compiler flags; default $CFLAGS; -O2 unless an -O option is given')
    .option('--keep-objects <dir>', 'keep the two compiled objects in this directory')
    .option('--exit-code', 'exit with status 1 when any function changed')
    .exitOverride()
    .option('-j, --jobs <n>', 'tree mode: compare on this many worker threads (default: the number of cores)', parseJobs)
    .option('--quiet', 'tree mode: no progress bar')
    .option('--object-name <name>', 'klp_object name of objects that are not kernel modules (default vmlinux); modules are named by .modinfo or KBUILD_MODNAME', parseObjectName)
    .option('--source-dir <dir>', 'a configured source tree: compile only the units --patch touches, each with its own command')
    .option('--compile-commands <file>', 'with --source-dir: the compilation database (default <dir>/compile_commands.json)')
    .option('--build-stamp <old=new>', 'a build stamp (kernel release) as the two builds spell it: literals differing only by it are build noise; repeatable; modules\' vermagic is read anyway', parseStamp)
    .option('--no-line-directives', 'compile the patched side as it is, without #line directives keeping unchanged lines at their original numbers')
    .action(async (original: string | undefined, patched: string | undefined, opts) => {
      if (opts.sourceDir !== undefined) {
        if (original !== undefined) throw new UsageError('--source-dir takes no <original>/<patched> arguments: give the patch with --patch');
        if (opts.patch === undefined) throw new UsageError('--source-dir needs --patch');
        const progress = startProgress(opts.quiet);
        let tree: TreeResult;
        let warnings: string[];
        let names: ReadonlyMap<string, string>;
        try {
          const built = await buildFromCompilationDatabase({
            sourceDir: opts.sourceDir,
            patch: opts.patch,
            strip: opts.strip,
            objectName: opts.objectName,
            compileCommands: opts.compileCommands,
            cc: opts.cc,
            jobs: opts.jobs,
            lineDirectives: opts.lineDirectives,
            signal: abort.signal,
            onProgress: progress.update,
          });
          warnings = built.warnings;
          names = built.objectNames;
          try {
            tree = await compareTrees(built.originalDir, built.patchedDir, {
              jobs: opts.jobs,
              signal: abort.signal,
              onProgress: progress.update,
              labels: { original: opts.sourceDir, patched: `${opts.sourceDir} + ${opts.patch.join(' + ')}` },
              stamps: opts.buildStamp,
              linesPinned: built.linesPinned,
            });
          } finally {
            built.dispose();
          }
        } finally {
          progress.stop();
        }
        tree.report.warnings.unshift(...warnings);
        emitTree(tree, opts, { names });
        return;
      }
      if (original === undefined) throw new UsageError('missing <original> (or --source-dir with --patch)');
      if (opts.strip !== undefined && opts.patch === undefined) throw new UsageError('--strip goes with --patch');
      // A FIFO or `-` is read whole first: it can be read only once, and not from the start again.
      original = staged.stage(original);
      if (patched !== undefined) patched = staged.stage(patched);
      if (patched !== undefined && inputKind(original) === 'directory') {
        if (opts.patch !== undefined) throw new UsageError('--patch does not go with two directories (use --source-dir for a source tree)');
        if (inputKind(patched) !== 'directory') throw new UsageError(`${original} is a directory but ${patched} is not: tree mode takes two directories`);
        const progress = startProgress(opts.quiet);
        let tree;
        try {
          tree = await compareTrees(original, patched, { jobs: opts.jobs, signal: abort.signal, onProgress: progress.update, stamps: opts.buildStamp });
        } finally {
          progress.stop();
        }
        emitTree(tree, opts, { originalDir: original });
        return;
      }
      const result = await compare({
        original,
        patched,
        patch: opts.patch,
        strip: opts.strip,
        objectName: opts.objectName,
        cc: opts.cc,
        cflags: opts.cflags,
        keepObjects: opts.keepObjects,
        lineDirectives: opts.lineDirectives,
        stamps: opts.buildStamp,
        signal: abort.signal,
      });
      emit(render(opts.format, 'compare', staged.unstage(result.report), renderOptions(opts)), opts.output);
      setExit(compareExitCode([result.report], opts));
    });

  program
    .command('inspect')
    .description("show one object's functions, their parts and call/jump edges (a C source is compiled first)")
    .argument('<file>', 'ELF object or C source')
    .addOption(formatOption(formatsFor('inspect')))
    .option('-o, --output <file>', 'write the report to a file')
    .option('--cc <command>', 'compiler command; default $CC or gcc')
    .option('--cflags <flags>', 'compiler flags; default $CFLAGS; -O2 unless an -O option is given')
    .exitOverride()
    .action(async (file: string, opts) => {
      const result = await inspect(staged.stage(file), { cc: opts.cc, cflags: opts.cflags, signal: abort.signal });
      emit(render(opts.format, 'inspect', staged.unstage(result.report), renderOptions(opts)), opts.output);
      setExit(EXIT_OK);
    });

  program
    .command('replace')
    .description('stack-only sets for an atomic replace of one livepatch by another, from their compare reports')
    .argument('<replaced.json>', 'compare report (--format json) of the livepatch being replaced')
    .argument('<replacing.json>', 'compare report (--format json) of the livepatch that replaces it')
    .addOption(formatOption(formatsFor('replace')))
    .option('-o, --output <file>', 'write the report to a file')
    .option('--new-prefix <prefix>', "with --format c: prefix of the replaced livepatch module's function names")
    .exitOverride()
    .action(async (replacedPath: string, replacingPath: string, opts) => {
      const report: ReplaceReport = {
        schema_version: 1,
        replaced: replacedPath,
        replacing: replacingPath,
        stack_only: { replace: deriveReplace(readCompareReport(replacedPath), readCompareReport(replacingPath)) },
      };
      emit(render(opts.format, 'replace', report, renderOptions(opts)), opts.output);
      setExit(EXIT_OK);
    });

  return program;
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version are not errors (commander has printed them).
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT_OK;
    // Commander prints nothing itself (configureOutput): its message, as one line like every other error.
    const message = oneLine(err.message.replace(/^error: /, '').replace(/\s+$/, ''));
    process.stderr.write(`stackonly: ${message} (see stackonly --help)\n`);
    return EXIT_ERROR;
  }
  if (err instanceof InputError) {
    process.stderr.write(`stackonly: ${staged.unstageText(err.message)}\n`);
    if (err.details) process.stderr.write(err.details.replace(/\n?$/, '\n'));
    return EXIT_ERROR;
  }
  const message = oneLine(staged.unstageText(err instanceof Error ? err.message : String(err)));
  process.stderr.write(`stackonly: internal error: ${message}\n`);
  if (process.env.STACKONLY_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  return EXIT_ERROR;
}

async function main(): Promise<void> {
  // `stackonly inspect x.ko | head`: a closed pipe ends the run quietly, as for any Unix tool.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      abort.abort();
      removeAllTempDirs();
      process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 129);
    });
  }
  process.on('exit', removeAllTempDirs);
  let code = EXIT_OK;
  try {
    const program = buildProgram((c) => (code = c));
    if (process.argv.length <= 2) throw new UsageError("missing command: compare, inspect or replace (see stackonly --help)");
    await program.parseAsync(process.argv);
  } catch (err) {
    code = reportError(err);
  }
  process.exitCode = code;
}

void main();
