import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compareObjects } from '../src/api.js';
import { buildFromCompilationDatabase, describeEntry, loadCompilationDatabase, rewriteCompileCommand, type CompileDbRequest, type CompileDbResult } from '../src/compile/compiledb.js';
import { parseKernelCmdFile, parseMakeDepfile } from '../src/compile/depfiles.js';
import { splitCommandLine } from '../src/compile/gcc.js';
import { CompileError, InputError, PatchError, UsageError } from '../src/errors.js';
import { compareTrees } from '../src/tree/compare-tree.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { expectValidReport } from './helpers/schema.js';

/*
 * testdata/compiledb/project is a small C project; compile_commands.in.json its database
 * with @DIR@ (the project) and @BUILD@ (an out-of-tree build directory, for util.c) left
 * to fill in. beforeAll copies the project, writes the database, and runs a "configure
 * build" with the database's own commands, so the dependency files a real build leaves
 * exist: core.c's -MD file, util.c's -MMD -MF file in the out-of-tree build directory, and
 * for extra.c the kernel's .cmd file (made from its -Wp,-MMD file as fixdep would).
 */
const fixture = join(repoRoot, 'testdata', 'compiledb');
let scratch: string;
let proj: string;
let buildDir: string;
/** The tool's temporary directories go here (TMPDIR), so the tests can see what is left. */
let toolTmp: string;
let savedTmpdir: string | undefined;
let pristine: Map<string, string>;
const open: CompileDbResult[] = [];

function snapshot(...roots: string[]): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      const kind = st.isSymbolicLink() ? `link:${readlinkSync(path)}` : st.isDirectory() ? 'dir' : 'file';
      files.set(path, `${kind} ${st.size} ${st.mtimeMs} ${st.mode}`);
      if (st.isDirectory()) walk(path);
    }
  };
  roots.forEach(walk);
  return files;
}

function fixdep(depfile: string, target: string, cmdfile: string): void {
  const deps = parseMakeDepfile(readFileSync(depfile, 'utf8'));
  const lines = [
    `savedcmd_${target} := gcc ...`,
    '',
    `source_${target} := ${deps[0]}`,
    '',
    `deps_${target} := \\`,
    '  include/linux/compiler-version.h \\',
    '    $(wildcard include/config/CC_VERSION_TEXT) \\',
    ...deps.slice(1).map((d) => `  ${d} \\`),
    '    $(wildcard include/config/EXTRA_DEBUG) \\',
    '',
    `${target}: $(deps_${target})`,
    '',
    `$(deps_${target}):`,
    '',
  ];
  writeFileSync(cmdfile, lines.join('\n'));
  unlinkSync(depfile);
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'stackonly-compiledb-test-'));
  toolTmp = join(scratch, 'tmp');
  mkdirSync(toolTmp);
  proj = join(scratch, 'proj');
  buildDir = join(scratch, 'build-util');
  cpSync(join(fixture, 'project'), proj, { recursive: true });
  const template = readFileSync(join(fixture, 'compile_commands.in.json'), 'utf8');
  writeFileSync(join(proj, 'compile_commands.json'), template.replaceAll('@DIR@', proj).replaceAll('@BUILD@', buildDir));
  mkdirSync(join(proj, 'build', 'src'), { recursive: true });
  mkdirSync(join(buildDir, 'src'), { recursive: true });
  for (const entry of loadCompilationDatabase(join(proj, 'compile_commands.json'))) {
    await execa(entry.argv[0], entry.argv.slice(1), { cwd: entry.directory });
  }
  fixdep(join(proj, 'build/src/.extra.o.d'), 'build/src/extra.o', join(proj, 'build/src/.extra.o.cmd'));
  expect(existsSync(join(proj, 'build/src/core.d'))).toBe(true);
  expect(existsSync(join(buildDir, 'src/util.d'))).toBe(true);
  pristine = snapshot(proj, buildDir);
  savedTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = toolTmp;
});

afterEach(() => {
  for (const result of open.splice(0)) result.dispose();
  expect(readdirSync(toolTmp)).toEqual([]);
});

afterAll(() => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Runs the build; every run must leave the user's tree exactly as it was. */
async function build(patch: string, options: Partial<CompileDbRequest> = {}): Promise<CompileDbResult> {
  try {
    const result = await buildFromCompilationDatabase({ sourceDir: proj, patch: patch.includes('/') ? patch : join(fixture, patch), jobs: 2, ...options });
    open.push(result);
    return result;
  } finally {
    expect(snapshot(proj, buildDir)).toEqual(pristine);
  }
}

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (lstatSync(path).isDirectory()) walk(path);
      else out.push(relative(root, path));
    }
  };
  walk(root);
  return out.sort();
}

/**
 * A --cc that, when it runs in the shadow tree (the patched side of a unit whose directory
 * is in the tree), lists the shadow's entries three levels deep: `d include`, `l src`,
 * `f include/proj/bounds.h` (the tree itself is gone by the time the build returns).
 */
function shadowProbe(name: string): { cc: string; entries: () => string[] } {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  const listing = join(dir, 'listing');
  const script = join(dir, 'probe.sh');
  writeFileSync(
    script,
    ['#!/bin/sh', `case "$PWD" in '${toolTmp}'/*) find . -mindepth 1 -maxdepth 3 -printf '%y %P\\n' | sort > '${listing}' ;; esac`, 'exec gcc "$@"', ''].join('\n'),
  );
  chmodSync(script, 0o755);
  return { cc: script, entries: () => readFileSync(listing, 'utf8').trim().split('\n') };
}

function changedFunctions(result: CompileDbResult, object: string): string[] {
  const { report } = compareObjects(join(result.originalDir, object), join(result.patchedDir, object));
  return report.functions.map((f) => `${f.name}:${f.status}`).sort();
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  let result: unknown;
  try {
    result = await promise;
  } catch (err) {
    return err as Error;
  }
  (result as Partial<CompileDbResult> | undefined)?.dispose?.();
  throw new Error('expected the build to fail');
}

describe('buildFromCompilationDatabase: unit selection', () => {
  it('a patch of one unit compiles that unit only, at the mirrored path', async () => {
    const result = await build('fix-core.patch');
    expect(result.units).toEqual([{ file: 'src/core.c', reason: 'patched', object: 'src/core.o' }]);
    expect(result.warnings).toEqual([]);
    expect(listFiles(result.originalDir)).toEqual(['src/core.o']);
    expect(listFiles(result.patchedDir)).toEqual(['src/core.o']);
    expect(changedFunctions(result, 'src/core.o')).toEqual(['core_step:changed']);
    const { report } = compareObjects(join(result.originalDir, 'src/core.o'), join(result.patchedDir, 'src/core.o'));
    expect(report.stack_only.enable.map((e) => e.name)).toEqual(['core_step.cold']);
    expect(report.stack_only.disable.map((e) => e.name)).toEqual(['core_step.cold']);
  });

  it('a header patch compiles every unit whose dependency file lists it, and only those', async () => {
    const result = await build('fix-header.patch');
    expect(result.units).toEqual([
      { file: 'src/core.c', reason: 'includes-patched-header', object: 'src/core.o' },
      { file: 'src/util.c', reason: 'includes-patched-header', object: 'src/util.o' },
    ]);
    expect(result.warnings).toEqual([]);
    expect(listFiles(result.patchedDir)).toEqual(['src/core.o', 'src/util.o']);
    for (const object of ['src/core.o', 'src/util.o']) {
      expect(readFileSync(join(result.patchedDir, object)).equals(readFileSync(join(result.originalDir, object)))).toBe(false);
    }
    // The inlined proj_clamp changed; the functions that do not use it did not.
    expect(changedFunctions(result, 'src/core.o')).toEqual(['core_step:changed']);
    // util.c is built out of tree with absolute paths: __FILE__ in util_name (and in the
    // inlined proj_clamp) must be the original path, not the shadow tree's.
    expect(changedFunctions(result, 'src/util.o')).toEqual(['util_scale:changed']);
    const strings = (await execa('strings', [join(result.patchedDir, 'src/util.o')])).stdout;
    expect(strings).toContain(`${proj}/src/util.c (fast)`);
    expect(strings).toContain(`${proj}/include/proj/common.h`);
    expect(strings).not.toContain(toolTmp);
    // The objdump of the changed function differs (scaling by 5, not 3).
    const disasm = async (dir: string) => (await execa('objdump', ['-d', '--no-show-raw-insn', join(dir, 'src/core.o')])).stdout.replace(/^.*file format.*$/m, '');
    expect(await disasm(result.patchedDir)).not.toEqual(await disasm(result.originalDir));
  });

  it('a header reached by a quoted include from another header (nested) is found in the patched copy', async () => {
    const result = await build('fix-bounds.patch');
    expect(result.units.map((u) => u.file)).toEqual(['src/core.c', 'src/util.c']);
    expect(changedFunctions(result, 'src/core.o')).toEqual(['core_step:changed']);
    expect(changedFunctions(result, 'src/util.o')).toEqual(['util_scale:changed']);
  });

  it("a header next to its unit, known from the kernel's .cmd file", async () => {
    const result = await build('fix-internal.patch');
    expect(result.units).toEqual([{ file: 'src/extra.c', reason: 'includes-patched-header', object: 'src/extra.o' }]);
    expect(changedFunctions(result, 'src/extra.o')).toEqual(['extra_run:changed']);
  });

  it('a patch that touches no unit is an InputError naming the patch', async () => {
    const err = await rejection(build('fix-readme.patch'));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain(join(fixture, 'fix-readme.patch'));
    expect(err.message).toContain('README.md');
    expect(err.message).toMatch(/no translation unit/);
  });

  it('a header no dependency information names: a warning, nothing selected for it', async () => {
    const unused = [
      '--- a/include/proj/unused.h',
      '+++ b/include/proj/unused.h',
      '@@ -2,6 +2,6 @@',
      ' #define PROJ_UNUSED_H',
      ' ',
      ' /* Included by no unit. */',
      '-#define PROJ_UNUSED 1',
      '+#define PROJ_UNUSED 2',
      ' ',
      ' #endif',
      '',
    ].join('\n');
    const patch = join(scratch, 'core-and-unused.patch');
    writeFileSync(patch, readFileSync(join(fixture, 'fix-core.patch'), 'utf8') + unused);
    const result = await build(patch);
    expect(result.units).toEqual([{ file: 'src/core.c', reason: 'patched', object: 'src/core.o' }]);
    expect(result.warnings).toEqual([`${patch} changes include/proj/unused.h, but no dependency information names it: no unit selected for it`]);

    const alone = join(scratch, 'unused.patch');
    writeFileSync(alone, unused);
    const err = await rejection(build(alone));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain('include/proj/unused.h');
  });

  it('-p0 paths and other -p1 prefixes than a/ b/', async () => {
    const text = readFileSync(join(fixture, 'fix-core.patch'), 'utf8');
    const p0 = join(scratch, 'p0.patch');
    writeFileSync(p0, text.replace('--- a/src/core.c', '--- src/core.c').replace('+++ b/src/core.c', '+++ src/core.c'));
    expect((await build(p0)).units).toEqual([{ file: 'src/core.c', reason: 'patched', object: 'src/core.o' }]);
    const other = join(scratch, 'other-prefix.patch');
    writeFileSync(other, text.replace('--- a/src/core.c', '--- linux.orig/src/core.c').replace('+++ b/src/core.c', '+++ linux/src/core.c'));
    expect((await build(other)).units).toEqual([{ file: 'src/core.c', reason: 'patched', object: 'src/core.o' }]);
  });
});

describe('buildFromCompilationDatabase: commands', () => {
  /** A --cc wrapper that logs its directory and argv, and the concurrency slot it took. */
  function makeWrapper(name: string): { cc: string; calls: () => { cwd: string; argv: string[] }[]; slots: () => number[] } {
    const dir = join(scratch, name);
    mkdirSync(join(dir, 'log'), { recursive: true });
    const script = join(dir, 'wrap.sh');
    writeFileSync(
      script,
      [
        '#!/bin/sh',
        `log='${join(dir, 'log')}'`,
        // The lowest free slot: at most N slots are ever taken while N compiles run.
        'n=0',
        'while ! mkdir "$log/slot.$n" 2>/dev/null; do n=$((n+1)); done',
        'echo "$n" >> "$log/slots"',
        'call=$(mktemp "$log/call.XXXXXX")',
        'pwd > "$call"',
        'printf \'%s\\0\' "$@" >> "$call"',
        'sleep 0.3',
        '"$@"',
        'status=$?',
        'rmdir "$log/slot.$n"',
        'exit $status',
        '',
      ].join('\n'),
    );
    chmodSync(script, 0o755);
    return {
      cc: `${script} gcc`,
      calls: () =>
        readdirSync(join(dir, 'log'))
          .filter((f) => f.startsWith('call.'))
          .map((f) => {
            const text = readFileSync(join(dir, 'log', f), 'utf8');
            const nl = text.indexOf('\n');
            return { cwd: text.slice(0, nl), argv: text.slice(nl + 1).split('\0').slice(0, -1) };
          }),
      slots: () => readFileSync(join(dir, 'log', 'slots'), 'utf8').trim().split('\n').map(Number),
    };
  }

  it("--cc runs each unit's own database command through the wrapper, without the dependency options", async () => {
    const wrapper = makeWrapper('wrap-argv');
    const result = await build('fix-header.patch', { cc: wrapper.cc, jobs: 1 });
    const calls = wrapper.calls();
    expect(calls).toHaveLength(4);
    const source = (c: { argv: string[] }) => c.argv.find((a) => /\/?src\/(core|util)\.c$/.test(a))!;
    const core = calls.filter((c) => source(c)?.endsWith('src/core.c'));
    const util = calls.filter((c) => source(c)?.endsWith('src/util.c'));
    expect(core).toHaveLength(2);
    expect(util).toHaveLength(2);
    for (const call of calls) {
      expect(call.argv[0]).toBe('gcc');
      expect(call.argv).toContain('-c');
      expect(call.argv).toContain('-O2');
      expect(call.argv).not.toContain('-MMD');
      expect(call.argv).not.toContain('-MT');
      expect(call.argv.some((a) => a.startsWith('-Wp,'))).toBe(false);
      expect(call.argv.join(' ')).not.toMatch(/src\/(core|util)\.d/);
      // -o is ours, once, into the tool's temporary directory.
      const outputs = call.argv.flatMap((a, i) => (a === '-o' ? [call.argv[i + 1]] : []));
      expect(outputs).toHaveLength(1);
      expect(outputs[0].startsWith(toolTmp)).toBe(true);
      // The only dependency file is the tool's own (the patched side's check), in its temporary directory.
      const mf = call.argv.flatMap((a, i) => (a === '-MF' ? [call.argv[i + 1]] : []));
      expect(mf.every((f) => f.startsWith(toolTmp))).toBe(true);
    }
    for (const call of core) {
      expect(call.argv).toContain('-DCORE_LEVEL=2');
      expect(call.argv).toContain('-Iinclude');
      expect(call.argv).not.toContain('-DUTIL_MODE="fast"');
    }
    for (const call of util) {
      expect(call.argv).toContain('-DUTIL_MODE="fast"');
      expect(call.argv).not.toContain('-DCORE_LEVEL=2');
      // Out of tree: runs in the build directory on both sides.
      expect(call.cwd).toBe(buildDir);
    }
    const [coreOriginal, corePatched] = [core.find((c) => c.argv.some((a) => a.startsWith(result.originalDir)))!, core.find((c) => c.argv.some((a) => a.startsWith(result.patchedDir)))!];
    expect(coreOriginal.cwd).toBe(proj);
    expect(coreOriginal.argv).not.toContain('-MD');
    // The patched side runs in the shadow tree, which maps itself back for __FILE__.
    expect(corePatched.cwd.startsWith(toolTmp)).toBe(true);
    expect(corePatched.argv.some((a) => a.startsWith(`-fmacro-prefix-map=${corePatched.cwd}=${proj}`))).toBe(true);
    const utilPatched = util.find((c) => c.argv.some((a) => a.startsWith(result.patchedDir)))!;
    expect(utilPatched.argv.find((a) => a.startsWith('-I') && a.endsWith('/include'))!.startsWith(`-I${toolTmp}`)).toBe(true);
    // jobs: 1: never two at once.
    expect(wrapper.slots()).toEqual([0, 0, 0, 0]);
  });

  it('jobs bounds the number of compiles at once', async () => {
    const wrapper = makeWrapper('wrap-jobs');
    const progress: [number, number][] = [];
    await build('fix-bounds.patch', { cc: wrapper.cc, jobs: 2, onProgress: (done, total) => progress.push([done, total]) });
    const slots = wrapper.slots();
    expect(slots).toHaveLength(4);
    expect(Math.max(...slots)).toBeLessThanOrEqual(1);
    expect(progress).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
  });

  it('dispose() removes every temporary file', async () => {
    const result = await build('fix-core.patch');
    expect(existsSync(result.originalDir)).toBe(true);
    expect(readdirSync(toolTmp)).toHaveLength(1);
    result.dispose();
    result.dispose();
    expect(existsSync(result.originalDir)).toBe(false);
    expect(existsSync(result.patchedDir)).toBe(false);
    expect(readdirSync(toolTmp)).toEqual([]);
  });

  it('a unit that fails on the patched side is a CompileError naming it and the side, with gcc diagnostics', async () => {
    const err = (await rejection(build('break-util.patch'))) as CompileError;
    expect(err).toBeInstanceOf(CompileError);
    expect(err.message).toContain(join(proj, 'src/util.c'));
    expect(err.message).toMatch(/patched side/);
    expect(err.details).toMatch(/error: expected expression/);
    // Diagnostics name the user's paths, not the shadow tree's.
    expect(err.details).toContain(`${proj}/src/util.c`);
    expect(err.details).not.toContain(toolTmp);
  });

  it('the first failure cancels the compiles still to run', async () => {
    const wrapper = makeWrapper('wrap-cancel');
    // core.c breaks on the patched side; extra.c, after it in the queue, never starts.
    const breakCore = readFileSync(join(fixture, 'fix-core.patch'), 'utf8').replace('CORE_LEVEL + 1);', 'CORE_LEVEL +);');
    const patch = join(scratch, 'break-core-and-more.patch');
    writeFileSync(patch, breakCore + readFileSync(join(fixture, 'fix-internal.patch'), 'utf8'));
    const err = await rejection(build(patch, { cc: wrapper.cc, jobs: 1 }));
    expect(err).toBeInstanceOf(CompileError);
    expect(err.message).toMatch(/src\/core\.c: wrap\.sh gcc failed on the patched side \(exit status 1\)/);
    expect(wrapper.calls()).toHaveLength(2);
    // Cancelling through the caller's signal stops the build too, and cleans up.
    const again = makeWrapper('wrap-cancel-2');
    const controller = new AbortController();
    const cancelled = await rejection(build('fix-header.patch', { cc: again.cc, jobs: 1, signal: controller.signal, onProgress: () => controller.abort() }));
    expect(cancelled).toBeInstanceOf(CompileError);
    expect(cancelled.message).toMatch(/cancelled/);
    expect(again.calls().length).toBeLessThan(4);
  });

  it('cancelling stops the whole compiler (a wrapper and its children) and leaves no temporary file behind', async () => {
    // What gcc's cc1 does with its .s file when it is killed at the wrong moment.
    const dir = join(scratch, 'wrap-litter');
    mkdirSync(dir, { recursive: true });
    const script = join(dir, 'litter.sh');
    // The sleep is the wrapper's own child: cancelling must reach it too, or the run waits for it.
    writeFileSync(script, ['#!/bin/sh', 'touch "${TMPDIR:-/tmp}/cc-litter.$$.s"', 'sleep 60', 'exec gcc "$@"', ''].join('\n'));
    chmodSync(script, 0o755);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 1000);
    const started = Date.now();
    const cancelled = await rejection(build('fix-core.patch', { cc: script, jobs: 2, signal: controller.signal }));
    clearTimeout(timer);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(cancelled).toBeInstanceOf(CompileError);
    expect(cancelled.message).toMatch(/cancelled/);
    // afterEach checks that the TMPDIR the tool was given is empty again.
  });

  it('refuses a patched build that read an unpatched original through a path the shadow tree does not cover', async () => {
    // No dependency information: sub/ stays a link to the original directory, and
    // `#include "../inc/y.h"` from sub/x.h goes up out of that link into the original tree.
    const leaky = join(scratch, 'leaky');
    mkdirSync(join(leaky, 'sub'), { recursive: true });
    mkdirSync(join(leaky, 'inc'));
    writeFileSync(join(leaky, 'a.c'), '#include "sub/x.h"\nint a(void) { return Y + 1; }\n');
    writeFileSync(join(leaky, 'sub/x.h'), '#include "../inc/y.h"\n');
    writeFileSync(join(leaky, 'inc/y.h'), '#define Y 1\n');
    writeFileSync(join(leaky, 'compile_commands.json'), JSON.stringify([{ directory: leaky, file: 'a.c', command: 'gcc -O2 -c a.c -o a.o' }]));
    const patch = join(scratch, 'leaky.patch');
    writeFileSync(
      patch,
      ['--- a/a.c', '+++ b/a.c', '@@ -1,2 +1,2 @@', ' #include "sub/x.h"', '-int a(void) { return Y + 1; }', '+int a(void) { return Y + 2; }',
        '--- a/inc/y.h', '+++ b/inc/y.h', '@@ -1 +1 @@', '-#define Y 1', '+#define Y 2', ''].join('\n'),
    );
    const before = snapshot(leaky);
    const err = await rejection(buildFromCompilationDatabase({ sourceDir: leaky, patch, jobs: 1 }));
    expect(err).toBeInstanceOf(CompileError);
    expect(err.message).toContain(`${join(leaky, 'a.c')}: the patched side read the unpatched inc/y.h`);
    expect(snapshot(leaky)).toEqual(before);
  });

  it('where the dependency file shows an include going up with .. out of a directory, that directory is real in the shadow', async () => {
    // As above, but built once with -MD: a.d lists sub/../inc/y.h, so sub/ is made real and
    // the `..` stays in the shadow tree, where inc/y.h is the patched copy.
    const upward = join(scratch, 'upward');
    mkdirSync(join(upward, 'sub'), { recursive: true });
    mkdirSync(join(upward, 'inc'));
    writeFileSync(join(upward, 'a.c'), '#include "sub/x.h"\nint a(void) { return Y + 1; }\n');
    writeFileSync(join(upward, 'sub/x.h'), '#include "../inc/y.h"\n');
    writeFileSync(join(upward, 'inc/y.h'), '#define Y 1\n');
    writeFileSync(join(upward, 'compile_commands.json'), JSON.stringify([{ directory: upward, file: 'a.c', command: 'gcc -O2 -MD -c a.c -o a.o' }]));
    await execa('gcc', ['-O2', '-MD', '-c', 'a.c', '-o', 'a.o'], { cwd: upward });
    expect(readFileSync(join(upward, 'a.d'), 'utf8')).toContain('sub/../inc/y.h');
    const patch = join(scratch, 'upward.patch');
    writeFileSync(patch, ['--- a/inc/y.h', '+++ b/inc/y.h', '@@ -1 +1 @@', '-#define Y 1', '+#define Y 2', ''].join('\n'));
    const before = snapshot(upward);
    const probe = shadowProbe('probe-upward');
    const result = await buildFromCompilationDatabase({ sourceDir: upward, patch, jobs: 1, cc: probe.cc });
    open.push(result);
    expect(result.units).toEqual([{ file: 'a.c', reason: 'includes-patched-header', object: 'a.o' }]);
    expect(changedFunctions(result, 'a.o')).toEqual(['a:changed']);
    expect(probe.entries().filter((e) => e.startsWith('d '))).toEqual(['d inc', 'd sub']);
    expect(snapshot(upward)).toEqual(before);
  });

  it('a patch that does not apply is a PatchError showing the hunk', async () => {
    const err = (await rejection(build('fix-stale.patch'))) as PatchError;
    expect(err).toBeInstanceOf(PatchError);
    expect(err.message).toContain('fix-stale.patch');
    expect(err.message).toMatch(/hunk 1 of 1 does not apply to .*src\/util\.c/);
    expect(err.details).toContain('@@ -8,7 +8,7 @@');
    expect(err.details).toContain('util_scale: read failed');
  });

  it('a missing database is an InputError naming it', async () => {
    const err = await rejection(build('fix-core.patch', { compileCommands: join(scratch, 'nope.json') }));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain(join(scratch, 'nope.json'));
  });
});

describe('command rewriting and dependency files', () => {
  const kernel = '/home/u/linux';
  const entry = {
    directory: kernel,
    file: `${kernel}/fs/ext4/inode.c`,
    argv: splitCommandLine(
      `ccache gcc -Wp,-MMD,fs/ext4/.inode.o.d -nostdinc -I./arch/x86/include -I${kernel}/include -include ./include/linux/kconfig.h ` +
        `-fmacro-prefix-map=${kernel}/= -DKBUILD_MODNAME='"ext4"' -O2 -MT x -MF dep.d -save-temps -c -o fs/ext4/inode.o fs/ext4/inode.c`,
    ),
    index: 0,
  };

  it('drops the dependency options and the output, keeps the rest in order', () => {
    const { argv, cwd } = rewriteCompileCommand(entry, { output: '/tmp/o/fs/ext4/inode.o' });
    expect(cwd).toBe(kernel);
    expect(argv).toEqual([
      'ccache', 'gcc', '-nostdinc', '-I./arch/x86/include', `-I${kernel}/include`, '-include', './include/linux/kconfig.h',
      `-fmacro-prefix-map=${kernel}/=`, '-DKBUILD_MODNAME="ext4"', '-O2', '-save-temps=obj', '-c', 'fs/ext4/inode.c', '-o', '/tmp/o/fs/ext4/inode.o',
    ]);
    // --cc replaces the compiler words (wrapper and compiler) only.
    expect(rewriteCompileCommand(entry, { output: '/o.o', cc: ['distcc', 'gcc-12'] }).argv.slice(0, 3)).toEqual(['distcc', 'gcc-12', '-nostdinc']);
  });

  it('moves the patched side into the shadow tree and maps it back', () => {
    const extra = ['-Iarch/../include/uapi', '-I../linux/include/generated', '-I../other/include'];
    const { argv, cwd, realDirs } = rewriteCompileCommand(
      { ...entry, argv: [...entry.argv.slice(0, -1), ...extra, 'fs/ext4/inode.c'] },
      { output: '/tmp/p/inode.o', shadow: { sourceRoots: [kernel], shadow: '/tmp/s/tree', depfile: '/tmp/s/0.d' } },
    );
    // The compile runs in the shadow copy of the entry's directory; relative paths stay.
    expect(cwd).toBe('/tmp/s/tree');
    expect(argv).toContain('-I./arch/x86/include');
    expect(argv).toContain('-Iarch/../include/uapi');
    // Absolute paths into the tree move into the shadow tree.
    expect(argv).toContain('-I/tmp/s/tree/include');
    // Relative paths that leave the tree (to come back into it, or not) become absolute.
    expect(argv).toContain('-I/tmp/s/tree/include/generated');
    expect(argv).toContain('-I/home/u/other/include');
    // Maps back first on the line (lowest precedence), so __FILE__ keeps its spelling.
    // Macro and debug maps: gcc lets any -ffile-prefix-map win over the user's -fmacro-prefix-map twin.
    expect(argv.slice(0, 8)).toEqual([
      'ccache',
      'gcc',
      '-fmacro-prefix-map=/tmp/s/tree=/home/u/linux',
      '-fdebug-prefix-map=/tmp/s/tree=/home/u/linux',
      '-fmacro-prefix-map=/tmp/s/tree/include/generated=../linux/include/generated',
      '-fdebug-prefix-map=/tmp/s/tree/include/generated=../linux/include/generated',
      '-fmacro-prefix-map=/home/u/other/include=../other/include',
      '-fdebug-prefix-map=/home/u/other/include=../other/include',
    ]);
    // The user's map, then its twin for the shadow spelling (a later map wins in gcc).
    expect(argv.slice(8).filter((a) => a.startsWith('-fmacro-prefix-map='))).toEqual([`-fmacro-prefix-map=${kernel}/=`, '-fmacro-prefix-map=/tmp/s/tree/=']);
    expect(argv.slice(-6)).toEqual(['fs/ext4/inode.c', '-o', '/tmp/p/inode.o', '-MD', '-MF', '/tmp/s/0.d']);
    // `arch/..` goes up out of arch: arch must be a real directory in the shadow tree.
    expect(realDirs.sort()).toEqual(['', 'arch']);
  });

  it('finds the dependency files a build leaves', () => {
    expect(describeEntry(entry).dependencyFiles).toEqual([
      `${kernel}/fs/ext4/.inode.o.d`,
      `${kernel}/dep.d`,
      `${kernel}/fs/ext4/.inode.o.cmd`,
    ]);
    const md = { directory: '/b', file: '/s/a.c', argv: ['gcc', '-MD', '-c', '/s/a.c', '-o', 'x/a.o'], index: 0 };
    expect(describeEntry(md)).toEqual({ output: '/b/x/a.o', dependencyFiles: ['/b/x/a.d', '/b/x/a.o.d', '/b/x/.a.o.cmd'] });
  });

  it('reads make dependency files and kernel .cmd files', () => {
    expect(parseMakeDepfile('build/a.o: src/a.c include/x\\ y.h \\\n  include/b.h\ninclude/b.h:\n')).toEqual(['src/a.c', 'include/x y.h', 'include/b.h']);
    const cmd = [
      'savedcmd_fs/ext4/inode.o := gcc -Wp,-MMD,fs/ext4/.inode.o.d -c -o fs/ext4/inode.o fs/ext4/inode.c',
      '',
      'source_fs/ext4/inode.o := fs/ext4/inode.c',
      '',
      'deps_fs/ext4/inode.o := \\',
      '  include/linux/compiler-version.h \\',
      '    $(wildcard include/config/CC_VERSION_TEXT) \\',
      '  fs/ext4/ext4.h \\',
      '',
      'fs/ext4/inode.o: $(deps_fs/ext4/inode.o)',
      '',
      '$(deps_fs/ext4/inode.o):',
    ].join('\n');
    expect(parseKernelCmdFile(cmd)).toEqual({ source: 'fs/ext4/inode.c', deps: ['fs/ext4/inode.c', 'include/linux/compiler-version.h', 'fs/ext4/ext4.h'] });
  });
});

describe('end to end with compareTrees', () => {
  it('the two object directories compare as trees: the changed functions and their cold parts', async () => {
    const result = await build('fix-header.patch');
    const { report } = await compareTrees(result.originalDir, result.patchedDir, { jobs: 1 });
    expect(report.summary.compared).toBe(2);
    expect(report.functions.map((f) => `${(f as { object: string }).object}:${f.name}`).sort()).toEqual(['src/core.o:core_step', 'src/util.o:util_scale']);
    expect(report.stack_only.enable.map((e) => e.name).sort()).toEqual(['core_step.cold', 'util_scale.cold']);
  });
});

describe('stackonly compare --source-dir (the CLI)', () => {
  it('builds the units a patch touches and compares them as a tree', async () => {
    const result = await runCli(['compare', '--source-dir', proj, '--patch', join(fixture, 'fix-header.patch'), '--format', 'json', '-j', '2'], {
      env: { TMPDIR: toolTmp },
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expectValidReport(report);
    expect(report.original).toBe(proj);
    expect(report.summary.compared).toBe(2);
    expect(report.functions.map((f: { object: string; name: string }) => `${f.object}:${f.name}`).sort()).toEqual(['src/core.o:core_step', 'src/util.o:util_scale']);
    expect(report.stack_only.enable.map((e: { name: string }) => e.name).sort()).toEqual(['core_step.cold', 'util_scale.cold']);
    expect(snapshot(proj, buildDir)).toEqual(pristine);
    expect(readdirSync(toolTmp)).toEqual([]);
    const c = await runCli(['compare', '--source-dir', proj, '--patch', join(fixture, 'fix-core.patch'), '--format', 'c', '--object-name', 'proj'], { env: { TMPDIR: toolTmp } });
    expect(c.stdout).toContain('static struct klp_object objs[] = {');
    expect(c.stdout).toContain('.name = "proj"');
    expect(c.stdout).toContain('.old_name = "core_step.cold"');
  });

  it('a patch that touches no unit is an error naming the patch', async () => {
    const patch = join(fixture, 'fix-readme.patch');
    const result = await runCli(['compare', '--source-dir', proj, '--patch', patch], { env: { TMPDIR: toolTmp } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')[0]).toContain(patch);
  });
});

describe('--keep-objects, --cflags and the names in the report', () => {
  it('keepObjects keeps both sides under original/ and patched/ with the tree\'s paths, and refuses a directory that holds some already', async () => {
    const keep = join(scratch, 'kept-api');
    const result = await build('fix-header.patch', { keepObjects: keep });
    expect(result.originalDir).toBe(join(keep, 'original'));
    expect(result.patchedDir).toBe(join(keep, 'patched'));
    expect(listFiles(keep)).toEqual(['original/src/core.o', 'original/src/util.o', 'patched/src/core.o', 'patched/src/util.o']);
    result.dispose();
    // The kept objects stay; the temporary directory goes (afterEach checks it).
    expect(changedFunctions(result, 'src/core.o')).toEqual(['core_step:changed']);
    const again = await rejection(build('fix-core.patch', { keepObjects: keep }));
    expect(again).toBeInstanceOf(InputError);
    expect(again.message).toBe(`${join(keep, 'original')}: already holds files (an earlier run's?): --keep-objects wants a directory without original/ and patched/`);
    const file = join(scratch, 'kept-file');
    writeFileSync(file, '');
    expect((await rejection(build('fix-core.patch', { keepObjects: file }))).message).toMatch(/is not a directory/);
  });

  it('the JSON report names the kept objects, and without --keep-objects the units in the tree, never a temporary file', async () => {
    const patch = join(fixture, 'fix-core.patch');
    const keep = join(scratch, 'kept-cli');
    const kept = await runCli(['compare', '--source-dir', proj, '--patch', patch, '--format', 'json', '--keep-objects', keep], { env: { TMPDIR: toolTmp } });
    expect(kept.stderr).toBe('');
    expect(kept.exitCode).toBe(0);
    const keptReport = JSON.parse(kept.stdout);
    expectValidReport(keptReport);
    expect(keptReport.objects.map((o: { path: string; original: string; patched: string }) => [o.path, o.original, o.patched])).toEqual([
      ['src/core.o', join(keep, 'original/src/core.o'), join(keep, 'patched/src/core.o')],
    ]);
    expect(existsSync(join(keep, 'original/src/core.o')) && existsSync(join(keep, 'patched/src/core.o'))).toBe(true);

    const plain = await runCli(['compare', '--source-dir', proj, '--patch', patch, '--format', 'json'], { env: { TMPDIR: toolTmp } });
    expect(plain.exitCode).toBe(0);
    const report = JSON.parse(plain.stdout);
    expect(report.objects.map((o: { path: string; original: string; patched: string }) => [o.path, o.original, o.patched])).toEqual([
      ['src/core.o', join(proj, 'src/core.c'), `${join(proj, 'src/core.c')} + ${patch}`],
    ]);
    expect(plain.stdout).not.toContain(toolTmp);
    expect(snapshot(proj, buildDir)).toEqual(pristine);
    expect(readdirSync(toolTmp)).toEqual([]);
  });

  it("cflags are appended to every unit's own command, on both sides; words that change what it compiles are refused", async () => {
    const dir = join(scratch, 'wrap-cflags');
    mkdirSync(dir, { recursive: true });
    const script = join(dir, 'log.sh');
    writeFileSync(script, ['#!/bin/sh', `printf '%s\\n' "$@" > "$(mktemp '${dir}/call.XXXXXX')"`, 'exec gcc "$@"', ''].join('\n'));
    chmodSync(script, 0o755);
    const result = await build('fix-core.patch', { cc: script, cflags: '-fno-inline -DEXTRA_FLAG=1' });
    const calls = readdirSync(dir).filter((f) => f.startsWith('call.')).map((f) => readFileSync(join(dir, f), 'utf8').split('\n'));
    expect(calls).toHaveLength(2);
    for (const argv of calls) {
      // After the unit's own words, in the order given.
      expect(argv.indexOf('-fno-inline')).toBeGreaterThan(argv.indexOf('-DCORE_LEVEL=2'));
      expect(argv.indexOf('-DEXTRA_FLAG=1')).toBe(argv.indexOf('-fno-inline') + 1);
    }
    // -fno-inline took effect on both sides: the static inline proj_clamp is a function of its own.
    for (const side of [result.originalDir, result.patchedDir]) {
      expect((await execa('nm', [join(side, 'src/core.o')])).stdout).toMatch(/ t proj_clamp$/m);
    }
    for (const [cflags, word] of [['-o x.o', '-o'], ['-E', '-E'], ['-O1 other.c', 'other.c'], ['-MD', '-M...']]) {
      const err = await rejection(build('fix-core.patch', { cflags }));
      expect(err).toBeInstanceOf(UsageError);
      expect(err.message).toBe(`--cflags with --source-dir adds compiler options to each unit's own command; '${word}' is not one it can add`);
    }
  });

  it('the CLI passes --cflags to the units, and leaves $CFLAGS to single-file mode', async () => {
    const patch = join(fixture, 'fix-core.patch');
    const ignored = await runCli(['compare', '--source-dir', proj, '--patch', patch, '--format', 'json'], { env: { TMPDIR: toolTmp, CFLAGS: '-fno-such-option-here' } });
    expect(ignored.stderr).toBe('');
    expect(ignored.exitCode).toBe(0);
    const given = await runCli(['compare', '--source-dir', proj, '--patch', patch, '--cflags=-fno-such-option-here'], { env: { TMPDIR: toolTmp } });
    expect(given.exitCode).toBe(2);
    // Whichever side fails first (both would).
    expect(given.stderr.split('\n')[0]).toMatch(new RegExp(`^stackonly: ${join(proj, 'src/core.c')}: gcc failed on the (original|patched) side \\(exit status 1\\)$`));
    expect(given.stderr).toContain('-fno-such-option-here');
  });

  it('the shadow tree is real only on the way to the patched files; the rest are links to whole directories', async () => {
    const probe = shadowProbe('probe-bounds');
    const result = await build('fix-bounds.patch', { cc: probe.cc });
    const entries = probe.entries();
    expect(entries).toContain('d include');
    expect(entries).toContain('d include/proj');
    expect(entries).toContain('f include/proj/bounds.h');
    expect(entries).toContain('l include/proj/common.h');
    // The units' own directory and the build directory: one link each.
    expect(entries).toContain('l src');
    expect(entries).toContain('l build');
    expect(entries.filter((e) => e.startsWith('d '))).toEqual(['d include', 'd include/proj']);
    expect(changedFunctions(result, 'src/core.o')).toEqual(['core_step:changed']);
  });
});

describe.each([
  { layout: 'a build directory outside the tree', inside: false },
  { layout: 'a build directory inside the tree (srctree=..)', inside: true },
])('O= builds: $layout', ({ inside }) => {
  const objFixture = join(fixture, 'objdir');

  it('compiles the units of the tree and the sources generated into the build directory, with __FILE__ as in the build', async () => {
    const root = join(scratch, inside ? 'objdir-inside' : 'objdir-outside');
    const src = join(root, 'src');
    cpSync(join(objFixture, 'src'), src, { recursive: true });
    const obj = inside ? join(src, 'build') : join(root, 'obj');
    mkdirSync(join(obj, 'lib'), { recursive: true });
    mkdirSync(join(obj, 'include'), { recursive: true });
    for (const name of ['table.c', 'table.h']) cpSync(join(objFixture, 'generated', name), join(obj, 'lib', name));
    const database = join(obj, 'compile_commands.json');
    writeFileSync(database, readFileSync(join(objFixture, 'compile_commands.in.json'), 'utf8').replaceAll('@OBJ@', obj).replaceAll('@SRC@', inside ? '..' : src));
    for (const entry of loadCompilationDatabase(database)) await execa(entry.argv[0], entry.argv.slice(1), { cwd: entry.directory });
    const before = snapshot(...(inside ? [src] : [src, obj]));

    const result = await buildFromCompilationDatabase({ sourceDir: src, compileCommands: database, patch: join(objFixture, 'fix-limit.patch'), jobs: 2 });
    open.push(result);
    const table = inside ? 'build/lib/table' : 'lib/table';
    expect(result.units).toEqual(
      [
        { file: inside ? 'build/lib/table.c' : join(obj, 'lib/table.c'), reason: 'includes-patched-header', object: `${table}.o` },
        { file: 'lib/user.c', reason: 'includes-patched-header', object: 'lib/user.o' },
      ].sort((a, b) => (a.object < b.object ? -1 : 1)),
    );
    expect(result.warnings).toEqual([]);
    expect(changedFunctions(result, 'lib/user.o')).toEqual(['user_limit:changed']);
    expect(changedFunctions(result, `${table}.o`)).toEqual(['table_lookup:changed']);
    for (const [object, file] of [['lib/user.o', 'lib/user.c'], [`${table}.o`, 'lib/table.c']]) {
      for (const side of [result.originalDir, result.patchedDir]) {
        const strings = (await execa('strings', [join(side, object)])).stdout;
        expect(strings.split('\n')).toContain(file);
        expect(strings).not.toContain(toolTmp);
      }
    }
    expect(snapshot(...(inside ? [src] : [src, obj]))).toEqual(before);
  });
});
