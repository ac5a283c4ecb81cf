import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, repoRoot, runCli } from './helpers/cli.js';
import { expectValidReport } from './helpers/schema.js';

/**
 * Two object trees as a kpatch-style pipeline leaves them: a changed object, a byte-identical
 * one, one that differs only in build noise (.comment, .modinfo), a kernel module with a
 * .modinfo name, and objects present on one side only.
 */
const fixtures = join(repoRoot, 'testdata', 'compare');
let scratch: string;
let original: string;
let patched: string;

function copy(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

async function compile(source: string, out: string, flags: string[] = []): Promise<void> {
  mkdirSync(dirname(out), { recursive: true });
  // Both sides compile a file named orig.c, as a rebuild of one tree would.
  const dir = mkdtempSync(join(scratch, 'src-'));
  copyFileSync(source, join(dir, 'orig.c'));
  await execa('gcc', ['-O2', '-c', ...flags, 'orig.c', '-o', out], { cwd: dir });
}

async function addSection(object: string, name: string, content: string): Promise<void> {
  const file = `${object}.${name.replace(/\W/g, '')}`;
  writeFileSync(file, content);
  await execa('objcopy', ['--add-section', `${name}=${file}`, '--set-section-flags', `${name}=alloc,readonly`, object]);
  rmSync(file);
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'stackonly-tree-'));
  original = join(scratch, 'orig');
  patched = join(scratch, 'patched');
  const upstream = join(fixtures, 'upstream-example');
  await compile(join(upstream, 'orig.c'), join(original, 'drivers/changed.o'));
  await compile(join(upstream, 'patched.c'), join(patched, 'drivers/changed.o'));
  await compile(join(upstream, 'orig.c'), join(original, 'lib/same.o'));
  copy(join(original, 'lib/same.o'), join(patched, 'lib/same.o'));
  await compile(join(fixtures, 'cold-lost', 'orig.c'), join(original, 'lib/noise.o'));
  copy(join(original, 'lib/noise.o'), join(patched, 'lib/noise.o'));
  await execa('objcopy', ['--update-section', `.comment=${join(fixtures, 'cold-lost', 'case.json')}`, join(patched, 'lib/noise.o')]);
  // A module: the code changes, and so does its version string, as between two kernel builds.
  const lost = join(fixtures, 'cold-lost');
  await compile(join(lost, 'orig.c'), join(original, 'mod/drv.ko'));
  await compile(join(lost, 'patched.c'), join(patched, 'mod/drv.ko'));
  await addSection(join(original, 'mod/drv.ko'), '.modinfo', 'vermagic=6.1.0-54 SMP\0name=drv_core\0');
  await addSection(join(patched, 'mod/drv.ko'), '.modinfo', 'vermagic=6.1.0-55 SMP mod_unload\0name=drv_core\0');
  await compile(join(upstream, 'orig.c'), join(original, 'gone.o'));
  await compile(join(upstream, 'orig.c'), join(patched, 'new/arrived.o'));
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('tree mode', () => {
  it('pairs objects by path, skips identical ones, reports one-sided ones, compares the rest', async () => {
    for (const jobs of ['1', '2']) {
      const result = await runCli(['compare', original, patched, '--format', 'json', '-j', jobs]);
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      const report = JSON.parse(result.stdout);
      expectValidReport(report);
      expect(report.summary).toEqual({
        compared: 4,
        identical: 1,
        unchanged: 1,
        changed: 2,
        build_noise: 0,
        errors: 0,
        only_in_original: ['gone.o'],
        only_in_patched: ['new/arrived.o'],
      });
      // One report per compared pair, each saying how it came out.
      expect(report.objects.map((o: { path: string; status: string }) => `${o.path}:${o.status}`)).toEqual([
        'drivers/changed.o:changed',
        'lib/noise.o:unchanged',
        'lib/same.o:identical',
        'mod/drv.ko:changed',
      ]);
      expect(report.objects[3].object_name).toBe('drv_core');
      for (const o of report.objects.filter((o: { status: string }) => o.status !== 'changed')) expect(o.functions).toEqual([]);
      expect(report.functions.map((f: { object: string; name: string }) => `${f.object}:${f.name}`)).toEqual(['drivers/changed.o:child_func', 'mod/drv.ko:open_buf']);
      expect(report.stack_only.enable.map((e: { object: string; name: string }) => `${e.object}:${e.name}`)).toEqual([
        'drivers/changed.o:child_func.cold',
        'mod/drv.ko:open_buf.cold',
      ]);
      // The per-object report is the single-object report of that pair.
      const single = JSON.parse((await runCli(['compare', join(original, 'drivers/changed.o'), join(patched, 'drivers/changed.o'), '--format', 'json'])).stdout);
      expect(report.objects[0].stack_only).toEqual(single.stack_only);
      expect(report.objects[0].functions).toEqual(single.functions);
    }
  });

  it('text summary, --exit-code, and C output with one klp_object per module', async () => {
    const text = await runCli(['compare', original, patched, '--exit-code']);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toContain('objects compared: 4 (identical: 1, unchanged: 1, changed: 2)');
    expect(text.stdout).toContain('only in the original: 1 (gone.o)');
    expect(text.stdout).toContain('== mod/drv.ko (module drv_core)');
    const c = await runCli(['compare', original, patched, '--format', 'c', '--new-prefix', 'livepatch_']);
    expect(c.exitCode).toBe(0);
    expect(c.stdout).toMatch(/static struct klp_object objs\[\] = \{\n\t\{\n\t\t\/\* name NULL: vmlinux \*\/\n\t\t\.funcs = vmlinux_funcs,/);
    expect(c.stdout).toMatch(/\.name = "drv_core",\n\t\t\.funcs = drv_core_funcs,/);
    const header = `#include <stdbool.h>
#include <stddef.h>
struct module;
#define THIS_MODULE ((struct module *)NULL)
struct klp_func { const char *old_name; void *new_func; unsigned long old_sympos; const char *new_name; bool stack_only; };
struct klp_object { const char *name; struct klp_func *funcs; };
struct klp_patch { struct module *mod; struct klp_object *objs; };
`;
    const file = join(scratch, 'objs.c');
    writeFileSync(file, header + c.stdout);
    const gcc = await execa('gcc', ['-fsyntax-only', '-Wall', '-Werror', '-Wno-unused-variable', file], { reject: false });
    expect(gcc.stderr).toBe('');
    const named = await runCli(['compare', original, patched, '--format', 'c', '--object-name', 'mydriver']);
    expect(named.stdout).toContain('.name = "mydriver"');
  });

  it('an unreadable object in a tree is reported and fails the run, the rest is still compared', async () => {
    const bad = mkdtempSync(join(scratch, 'bad-'));
    const badPatched = mkdtempSync(join(scratch, 'badp-'));
    copyFileSync(join(original, 'drivers/changed.o'), join(bad, 'ok.o'));
    copyFileSync(join(patched, 'drivers/changed.o'), join(badPatched, 'ok.o'));
    writeFileSync(join(bad, 'broken.o'), 'not an object');
    writeFileSync(join(badPatched, 'broken.o'), 'not an object either');
    const result = await runCli(['compare', bad, badPatched, '--format', 'json']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/broken\.o: not an ELF file/)]);
    const report = JSON.parse(result.stdout);
    expectValidReport(report);
    expect(report.functions.map((f: { name: string }) => f.name)).toEqual(['child_func']);
    // The pair that failed is in the report, with its error.
    expect(report.objects.map((o: { path: string; status: string; error?: string }) => [o.path, o.status, o.error])).toEqual([
      ['broken.o', 'error', expect.stringMatching(/broken\.o: not an ELF file/)],
      ['ok.o', 'changed', undefined],
    ]);
    expect(report.summary).toMatchObject({ compared: 2, changed: 1, errors: 1 });
    const text = await runCli(['compare', bad, badPatched]);
    expect(text.exitCode).toBe(2);
    expect(text.stdout).toMatch(/errors:\n  .*broken\.o: not an ELF file/);
  });

  it('shows a progress bar in a terminal, and none in a pipe or with --quiet', async () => {
    const piped = await runCli(['compare', original, patched, '-o', join(scratch, 'piped.txt')]);
    expect(piped.stderr).toBe('');
    const session = `stackonly-${process.pid}`;
    const out = join(scratch, 'tty.json');
    const done = join(scratch, 'tty.done');
    const command = `node ${cliPath} compare ${original} ${patched} -j 1 --format json -o ${out}; touch ${done}; sleep 60`;
    await execa('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '20', command]);
    try {
      for (let i = 0; i < 300 && !existsSync(done); i++) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(done)).toBe(true);
      const screen = (await execa('tmux', ['capture-pane', '-p', '-t', session])).stdout;
      expect(screen).toMatch(/comparing objects \[.*\] 4\/4/);
      expect(JSON.parse(readFileSync(out, 'utf8')).summary.changed).toBe(2);
    } finally {
      await execa('tmux', ['kill-session', '-t', session], { reject: false });
    }
    const quietSession = `${session}-q`;
    const quietDone = join(scratch, 'quiet.done');
    await execa('tmux', ['new-session', '-d', '-s', quietSession, '-x', '160', '-y', '20', `node ${cliPath} compare ${original} ${patched} --quiet -o ${join(scratch, 'q.txt')}; touch ${quietDone}; sleep 60`]);
    try {
      for (let i = 0; i < 300 && !existsSync(quietDone); i++) await new Promise((r) => setTimeout(r, 100));
      const screen = (await execa('tmux', ['capture-pane', '-p', '-t', quietSession])).stdout;
      expect(screen).not.toContain('comparing objects');
    } finally {
      await execa('tmux', ['kill-session', '-t', quietSession], { reject: false });
    }
  });
});
