#!/usr/bin/env node
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError, Option } from 'commander';
import { compare, inspect, nameTreeReport, placeInLinkedObjects } from '../api.js';
import { buildFromCompilationDatabase, nameUnitObjects, unitNaming, warmUpComparison } from '../compile/compiledb.js';
import { inputKind } from '../compile/inputs.js';
import { stopAllCompilers } from '../compile/run.js';
import { removeAllTempDirs, sweepStaleTempDirs } from '../compile/tempdir.js';
import { deriveReplace, readCompareReport } from '../derive/replace.js';
import { describeFsError, InputError, oneLine, UsageError } from '../errors.js';
import { formatsFor, render, type RenderOptions } from '../render/index.js';
import type { BuildStamp } from '../compare/code.js';
import { familyListings } from '../report/listings.js';
import type { ReplaceReport } from '../report/types.js';
import { compareTrees, type TreeResult } from '../tree/compare-tree.js';
import { klpObjectOfUnit } from '../tree/kbuild.js';
import { auditExitCode, compareExitCode, EXIT_ERROR, EXIT_OK } from './exit-code.js';
import { audit } from '../audit/check.js';
import { StagedInputs } from './inputs.js';
import { applyLivepatchObject, checkLivepatchOptions } from './livepatch-object.js';
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
const renderOptions = (opts: { newPrefix?: string; objectName?: string; klpModule?: boolean; atomicReplace?: boolean }): RenderOptions => ({
  newPrefix: opts.newPrefix,
  objectName: opts.objectName,
  klpModule: opts.klpModule,
  atomicReplace: opts.atomicReplace,
});

/** Trees of at most this many object pairs get whole listings in the HTML report (a source tree's few units). */
const HTML_LISTINGS_UP_TO = 64;

const abort = new AbortController();
/** A signal came: the run is being stopped (see main). */
let stopping = false;

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

/** `--linked-object FILE`, repeatable: a missing file is an error before anything is compiled. */
function collectLinkedObject(value: string, previous: string[] = []): string[] {
  try {
    statSync(value);
  } catch (err) {
    throw new InputError(value, describeFsError(err));
  }
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
    // Listings of the changed families, where the comparison made them (small trees, html).
    const listed = tree.results.filter((r) => r.listings);
    const treeListings = listed.length > 0 ? Object.fromEntries(listed.map((r) => [r.path, r.listings!])) : undefined;
    emit(render(opts.format, 'tree', report, { ...renderOptions(opts), treeListings }), opts.output);
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
    .option('--livepatch-object <file>', "with --format c: the built livepatch module (.ko, or the .o defining its functions): .new_func and the disable set's .new_name are its own names, its own parts and tail calls")
    .option('--klp-module', 'with --format c: a whole livepatch module unit (headers, init and exit, license, livepatch modinfo)')
    .option('--atomic-replace', 'with --klp-module: the patch replaces the livepatches enabled before it (.replace = true)')
    .option('--patch <file>', 'build the patched source by applying this patch (unified diff, git format-patch mail, or quilt series) to a copy; repeat for several, applied in order', collectPatch)
    .option('-p, --strip <n>', "with --patch: strip N leading components from the patch's file names (like patch -pN; default: 1 for git's a/ b/ names, else detected)", parseStrip)
    .option('--cc <command>', 'compiler command, wrappers allowed ("ccache gcc"); default $CC or gcc')
    .option('--cflags <flags>', 'compiler flags; default $CFLAGS; -O2 unless an -O option is given; with --source-dir: added to each unit\'s own command ($CFLAGS not read)')
    .option('--keep-objects <dir>', 'keep the compiled objects in this directory (with --source-dir: original/PATH.o and patched/PATH.o, named so in the report)')
    .option('--exit-code', 'exit with status 1 when any function changed')
    .exitOverride()
    .option('-j, --jobs <n>', 'tree mode: compare on this many worker threads (default: the number of cores)', parseJobs)
    .option('--quiet', 'tree mode: no progress bar')
    .option('--object-name <name>', 'klp_object name of objects that are not kernel modules (default vmlinux); modules are named by .modinfo or KBUILD_MODNAME', parseObjectName)
    .option('--source-dir <dir>', 'a configured source tree: compile only the units --patch touches, each with its own command')
    .option('--compile-commands <file>', 'with --source-dir: the compilation database (default <dir>/compile_commands.json)')
    .option('--linked-object <file>', 'with --source-dir or two kbuild trees: the linked module (.ko, or its ld -r .o) or vmlinux that .old_sympos counts in (default: found in the build tree); repeatable', collectLinkedObject)
    .option('--build-stamp <old=new>', 'a build stamp (kernel release) as the two builds spell it: literals differing only by it are build noise; repeatable; modules\' vermagic is read anyway', parseStamp)
    .option('--no-line-directives', 'compile the patched side as it is, without #line directives keeping unchanged lines at their original numbers')
    .action(async (original: string | undefined, patched: string | undefined, opts) => {
      checkLivepatchOptions(opts, original, opts.sourceDir !== undefined);
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
            // The option only: $CFLAGS (single-file mode's default) is meant for plain sources,
            // not for commands that already hold every flag their build wants.
            cflags: opts.cflags,
            keepObjects: opts.keepObjects,
            onCompiling: warmUpComparison,
            jobs: opts.jobs,
            lineDirectives: opts.lineDirectives,
            signal: abort.signal,
            onProgress: progress.update,
          });
          warnings = built.warnings;
          names = built.objectNames;
          try {
            tree = await compareTrees(built.originalDir, built.patchedDir, {
              // No more workers than objects: a thread with nothing to compare costs its start.
              jobs: Math.min(opts.jobs ?? availableParallelism(), built.units.length),
              signal: abort.signal,
              onProgress: progress.update,
              labels: { original: opts.sourceDir, patched: `${opts.sourceDir} + ${opts.patch.join(' + ')}` },
              stamps: opts.buildStamp,
              linesPinned: built.linesPinned,
              listingsUpTo: opts.format === 'html' ? HTML_LISTINGS_UP_TO : undefined,
            });
            // Positions are counted in the linked module or vmlinux, read before the unit objects go.
            tree = { ...tree, report: placeInLinkedObjects(tree.report, { originalDir: built.originalDir, entries: built.entries, objectNames: built.objectNames, linkedObjects: opts.linkedObject }) };
            // The temporary objects go when the run ends: the report names their units instead.
            if (opts.keepObjects === undefined) tree = { ...tree, report: nameUnitObjects(tree.report, unitNaming(built, opts.sourceDir, opts.patch)) };
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
      if (opts.linkedObject !== undefined && !(patched !== undefined && inputKind(original) === 'directory')) throw new UsageError('--linked-object goes with --source-dir or two build trees');
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
          tree = await compareTrees(original, patched, { jobs: opts.jobs, signal: abort.signal, onProgress: progress.update, stamps: opts.buildStamp, listingsUpTo: opts.format === 'html' ? HTML_LISTINGS_UP_TO : undefined });
        } finally {
          progress.stop();
        }
        // A kbuild tree's units are named by their commands, and their positions counted in the linked module or vmlinux.
        const units = tree.kbuild.units;
        const names = new Map([...tree.kbuild.linkedModules, ...[...units].filter(([, unit]) => unit.module).map(([path, unit]) => [path, klpObjectOfUnit(unit)] as const)]);
        const reported = new Set(tree.report.objects.filter((o) => o.functions.length > 0).map((o) => o.path));
        for (const [path, unit] of units) {
          if (unit.module && unit.modname === undefined && reported.has(path)) {
            tree.report.warnings.push(`${path} is built with -DMODULE but without KBUILD_MODNAME (an object linked into several modules?): its klp_object is named ${klpObjectOfUnit(unit)}; check it`);
          }
        }
        if (units.size > 0 || opts.linkedObject !== undefined) {
          const entries = new Map([...units].map(([path, unit]) => [path, unit.entry]));
          const objectNames = new Map([...units].map(([path, unit]) => [path, klpObjectOfUnit(unit, opts.objectName)]));
          tree = { ...tree, report: placeInLinkedObjects(tree.report, { originalDir: original, entries, objectNames, linkedObjects: opts.linkedObject }) };
        }
        emitTree(tree, opts, { originalDir: original, names });
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
      // The HTML report shows changed functions whole, side by side, from the models at hand.
      const listings = opts.format === 'html' && result.comparison ? familyListings(result.comparison) : undefined;
      const named = applyLivepatchObject(staged.unstage(result.report), opts);
      for (const warning of named.warnings) process.stderr.write(`stackonly: warning: ${warning}\n`);
      emit(render(opts.format, 'compare', named.report, { ...renderOptions(opts), newPrefix: named.newPrefix, listings }), opts.output);
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

  program
    .command('audit')
    .description("check a built livepatch module against the objects it patches: the parts and tail-called functions its klp_funcs leave to the stack check's blind spot")
    .argument('<livepatch>', 'the livepatch module (.ko; upstream klp_patch, kpatch or klp-build format)')
    .requiredOption('--original <paths...>', 'the original objects: directories (a module tree, with vmlinux at its top) and files (.ko by module name; an object that is not a module is vmlinux)')
    .addOption(formatOption(formatsFor('audit')))
    .option('-o, --output <file>', 'write the report to a file')
    .option('--exit-code', 'exit with status 1 when any blind spot or position (old_sympos) error is found')
    .exitOverride()
    .action(async (livepatch: string, opts) => {
      const report = audit(livepatch, { originals: opts.original });
      emit(render(opts.format, 'audit', report, renderOptions(opts)), opts.output);
      setExit(auditExitCode(report, opts));
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
  // SIGINT, SIGTERM, SIGHUP: the compilers (in our process group, so a terminal's Ctrl-C
  // has reached them already) are ended with everything they started, then the temporary
  // directories go, and the exit status says which signal it was. A second signal does not
  // wait for the compilers.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      const status = signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 129;
      if (stopping) {
        removeAllTempDirs();
        process.exit(status);
      }
      stopping = true;
      abort.abort();
      void stopAllCompilers().finally(() => {
        removeAllTempDirs();
        process.exit(status);
      });
    });
  }
  process.on('exit', removeAllTempDirs);
  // What a run killed by SIGKILL left behind: its temporary directory, and its compilers.
  for (const stale of sweepStaleTempDirs()) {
    const stopped = stale.stopped > 0 ? `, and stopped ${stale.stopped} of its compiler processes` : '';
    process.stderr.write(`stackonly: removed ${stale.dir}, left by an earlier run (pid ${stale.pid}) that was killed${stopped}\n`);
  }
  let code = EXIT_OK;
  try {
    const program = buildProgram((c) => (code = c));
    if (process.argv.length <= 2) throw new UsageError("missing command: compare, inspect, replace or audit (see stackonly --help)");
    await program.parseAsync(process.argv);
  } catch (err) {
    // Stopped by a signal: its handler ends the run; the build's "cancelled" is no news.
    if (stopping) return;
    code = reportError(err);
  }
  // Ends the run now rather than when the event loop is empty: Node first waits for V8's
  // background work (the disassembler's WebAssembly being recompiled by the optimizing
  // tier, concurrent GC), which took 40 ms after the report of a kernel unit was written
  // (cpu-prof). Output is flushed first; temporary directories go in the 'exit' handler.
  process.exitCode = code;
  await flushed(process.stdout);
  await flushed(process.stderr);
  process.exit(code);
}

/** Resolves once what was written to a standard stream so far has been handed to the system. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) resolve();
    else stream.write('', () => resolve());
  });
}

void main();
