import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLivepatchNames } from '../src/derive/livepatch-names.js';
import type { CompareReport } from '../src/report/types.js';
import { repoRoot, runCli } from './helpers/cli.js';

/*
 * --livepatch-object (issue 16, item 2): the disable set's names are the livepatch
 * module's own, read from its object as gcc built it, not assumed from the patched
 * object's split. testdata/livepatch-names: child() has a .cold part in both builds, the
 * patched child() tail-calls retry(), which only it has; livepatch.c is the module's unit
 * (the patched functions renamed livepatch_*), compiled here with gcc, once as the
 * patched object is and once so that gcc splits or tail-calls differently.
 */
const fixture = join(repoRoot, 'testdata', 'livepatch-names');
let scratch: string;
const obj = (name: string) => join(scratch, `${name}.o`);

async function compile(source: string, out: string, flags: string[] = []): Promise<void> {
  await execa('gcc', ['-O2', ...flags, '-c', join(fixture, source), '-o', obj(out)]);
}

async function report(): Promise<CompareReport> {
  const result = await runCli(['compare', obj('orig'), obj('patched'), '--format', 'json']);
  expect(result.exitCode).toBe(0);
  return JSON.parse(result.stdout) as CompareReport;
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'stackonly-lpnames-'));
  await Promise.all([
    compile('orig.c', 'orig'),
    compile('patched.c', 'patched'),
    compile('livepatch.c', 'livepatch'),
    compile('livepatch.c', 'livepatch-nosplit', ['-fno-reorder-blocks-and-partition']),
    compile('livepatch.c', 'livepatch-nosibling', ['-fno-optimize-sibling-calls']),
    execa('gcc', ['-O2', '-Dchild=renamed_child', '-Dretry=renamed_retry', '-c', join(fixture, 'patched.c'), '-o', obj('other')]),
  ]);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('livepatch module names', () => {
  it('the patched object has the sets the module is checked against', async () => {
    const r = await report();
    expect(r.stack_only.disable.map((e) => e.name)).toEqual(['child.cold', 'retry']);
  });

  it('finds each copy, its own parts and the functions it tail-calls in the built module', async () => {
    const names = readLivepatchNames(await report(), obj('livepatch'));
    expect(names.copies).toEqual([{ name: 'child', patched: 'child', copy: 'livepatch_child', prefix: 'livepatch_', parts: ['livepatch_child.cold'] }]);
    expect(names.disable).toEqual([
      { name: 'livepatch_child.cold', owner: 'livepatch_child', reason: 'part' },
      { name: 'livepatch_retry', owner: 'livepatch_child', reason: 'tail-call' },
    ]);
    expect(names.warnings).toEqual([]);
  });

  it('follows the module when gcc does not split its copy, and says so in one line', async () => {
    const names = readLivepatchNames(await report(), obj('livepatch-nosplit'), 'livepatch_');
    expect(names.disable.map((e) => e.name)).toEqual(['livepatch_retry']);
    expect(names.warnings).toHaveLength(1);
    expect(names.warnings[0]).toContain('only in the patched object: livepatch_child.cold');
    expect(names.warnings[0]).not.toContain('\n');
  });

  it('follows the module when its copy calls instead of tail-calling', async () => {
    const names = readLivepatchNames(await report(), obj('livepatch-nosibling'));
    expect(names.disable.map((e) => e.name)).toEqual(['livepatch_child.cold']);
    expect(names.warnings[0]).toContain('only in the patched object: livepatch_retry');
  });

  it('warns when a disable-set name is not unique in the module (the kernel looks it up without a position)', async () => {
    // A second unit of the module with a local function of the same name as the tail-called one.
    writeFileSync(join(scratch, 'other-unit.c'), 'extern int use(int (*)(int));\n__attribute__((noinline)) static int livepatch_retry(int x) { return x * 7; }\nint other_unit(void) { return use(livepatch_retry); }\n');
    await execa('gcc', ['-O2', '-c', join(scratch, 'other-unit.c'), '-o', obj('other-unit')]);
    await execa('ld', ['-r', obj('livepatch'), obj('other-unit'), '-o', obj('livepatch-two-units')]);
    const names = readLivepatchNames(await report(), obj('livepatch-two-units'));
    expect(names.disable.map((e) => e.name)).toEqual(['livepatch_child.cold', 'livepatch_retry']);
    expect(names.warnings).toEqual([expect.stringMatching(/livepatch-two-units\.o: 2 functions are named livepatch_retry, a \.new_name of the disable set: the kernel .* refuses the patch/)]);
  });

  it('fails clearly when the module has no copy', async () => {
    const r = await report();
    expect(() => readLivepatchNames(r, obj('livepatch'), 'lp_')).toThrow(/livepatch\.o: has no function lp_child: the livepatch copy of child/);
    expect(() => readLivepatchNames(r, obj('other'))).toThrow(/has no function child or livepatch_child: the livepatch copy of child/);
  });
});

describe('--livepatch-object and --klp-module', () => {
  /** Just enough of the kernel's headers for the unit to compile with gcc. */
  function fakeKernelHeaders(): string {
    const dir = join(scratch, 'include', 'linux');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'kernel.h'), '#include <stdbool.h>\n#include <stddef.h>\n');
    writeFileSync(
      join(dir, 'module.h'),
      [
        'struct module;',
        'extern struct module __this_module;',
        '#define THIS_MODULE (&__this_module)',
        '#define __init',
        '#define __exit',
        '#define module_init(f) int init_module(void) { return f(); }',
        '#define module_exit(f) void cleanup_module(void) { f(); }',
        '#define MODULE_LICENSE(l) static const char license[] __attribute__((used)) = l',
        '#define MODULE_INFO(t, v) static const char info_##t[] __attribute__((used)) = v',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'livepatch.h'),
      [
        'struct klp_func { const char *old_name; void *new_func; unsigned long old_sympos; const char *new_name; bool stack_only; };',
        'struct klp_object { const char *name; struct klp_func *funcs; };',
        'struct klp_patch { struct module *mod; struct klp_object *objs; bool replace; };',
        'int klp_enable_patch(struct klp_patch *);',
        '',
      ].join('\n'),
    );
    return join(scratch, 'include');
  }

  it('writes a whole livepatch unit with the module\'s names, which compiles and links with the module\'s functions', async () => {
    const result = await runCli(['compare', obj('orig'), obj('patched'), '--format', 'c', '--klp-module', '--atomic-replace', '--livepatch-object', obj('livepatch')]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const c = result.stdout;
    expect(c).toContain('#include <linux/livepatch.h>');
    expect(c).toContain('.new_func = livepatch_child,');
    expect(c).toContain('.new_name = "livepatch_child.cold",');
    expect(c).toContain('.new_name = "livepatch_retry",');
    expect(c).toContain('\t.replace = true,\n};');
    expect(c).toContain('return klp_enable_patch(&patch);');
    expect(c).toContain('MODULE_INFO(livepatch, "Y");');
    const unit = join(scratch, 'table.c');
    writeFileSync(unit, c);
    const include = fakeKernelHeaders();
    await execa('gcc', ['-O2', '-Wall', '-Werror', '-I', include, '-c', unit, '-o', obj('table')]);
    // Linked with the module's functions: every .new_func resolves.
    const linked = await execa('ld', ['-r', obj('table'), obj('livepatch'), '-o', obj('module')], { reject: false });
    expect(linked.exitCode).toBe(0);
    const undefinedSymbols = (await execa('nm', ['-u', obj('module')])).stdout;
    expect(undefinedSymbols).not.toMatch(/livepatch_/);
  });

  it('warns in one line when the module splits differently, and names what it has', async () => {
    const result = await runCli(['compare', obj('orig'), obj('patched'), '--format', 'c', '--new-prefix', 'livepatch_', '--livepatch-object', obj('livepatch-nosplit')]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^stackonly: warning: .*livepatch-nosplit\.o: the livepatch module splits or tail-calls differently/);
    expect(result.stdout).not.toContain('livepatch_child.cold');
    expect(result.stdout).toContain('.old_name = "child.cold",');
    expect(result.stdout).toContain('.new_name = "livepatch_retry",');
  });

  it('refuses the options with another format, and --atomic-replace without --klp-module', async () => {
    for (const args of [
      ['--format', 'json', '--livepatch-object', obj('livepatch')],
      ['--format', 'c', '--atomic-replace'],
    ]) {
      const result = await runCli(['compare', obj('orig'), obj('patched'), ...args]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/^stackonly: --(livepatch-object|atomic-replace) goes with/);
    }
  });
});
