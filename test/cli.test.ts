import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, repoRoot, runCli } from './helpers/cli.js';
import { expectValidReport } from './helpers/schema.js';

const upstream = join(repoRoot, 'testdata', 'compare', 'upstream-example');
const scratch = mkdtempSync(join(tmpdir(), 'stackonly-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A bad input ends in exactly one line on stderr naming the file, and exit status 2. */
function expectOneLineError(result: { exitCode: number; stderr: string; stdout: string }, file: string, problem: RegExp) {
  expect(result.exitCode).toBe(2);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(file);
  expect(lines[0]).toMatch(problem);
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('bad input', () => {
  let object: string;
  beforeAll(async () => {
    object = join(scratch, 'good.o');
    await execa('gcc', ['-O2', '-c', join(upstream, 'orig.c'), '-o', object]);
  });

  it('a truncated object', async () => {
    const truncated = join(scratch, 'truncated.o');
    writeFileSync(truncated, readFileSync(object).subarray(0, 200));
    expectOneLineError(await runCli(['inspect', truncated]), truncated, /outside the file|truncated/);
  });

  it('a text file given as an object', async () => {
    const text = join(scratch, 'notes.o');
    writeFileSync(text, 'just some text\n');
    expectOneLineError(await runCli(['inspect', text]), text, /not an ELF file/);
  });

  it('a text file with no known extension', async () => {
    const text = join(scratch, 'notes.txt');
    writeFileSync(text, 'just some text\n');
    expectOneLineError(await runCli(['compare', text, text]), text, /neither an ELF object nor a C source/);
  });

  it('a directory', async () => {
    expectOneLineError(await runCli(['inspect', scratch]), scratch, /directory/);
  });

  it('a missing file', async () => {
    const missing = join(scratch, 'missing.o');
    expectOneLineError(await runCli(['compare', missing, object]), missing, /no such file/);
  });

  it('objects of other architectures and byte orders', async () => {
    for (const [fixture, what] of [
      ['i386-funcs-O2.o', /no backend for architecture i386 \(EM_386\); supported: x86_64$/],
      ['ppc64-funcs-O2.o', /no backend for architecture ppc64 \(EM_PPC64\); supported: x86_64$/],
    ] as const) {
      const path = join(repoRoot, 'testdata', 'elf', fixture);
      expectOneLineError(await runCli(['inspect', path]), path, what);
    }
  });

  it('an executable instead of a relocatable object', async () => {
    const exe = join(scratch, 'prog');
    writeFileSync(join(scratch, 'main.c'), 'int main(void) { return 0; }\n');
    await execa('gcc', [join(scratch, 'main.c'), '-o', exe]);
    expectOneLineError(await runCli(['inspect', exe]), exe, /not a relocatable object/);
  });

  it('a source that does not compile shows gcc diagnostics and which side failed', async () => {
    const broken = join(scratch, 'broken.c');
    writeFileSync(broken, 'int f(void) { return missing_variable; }\n');
    const result = await runCli(['compare', join(upstream, 'orig.c'), broken]);
    expect(result.exitCode).toBe(2);
    const [first, ...rest] = result.stderr.trimEnd().split('\n');
    expect(first).toMatch(/broken\.c: gcc failed on the patched source/);
    expect(rest.join('\n')).toMatch(/missing_variable.*undeclared/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('a missing compiler', async () => {
    const result = await runCli(['compare', join(upstream, 'orig.c'), join(upstream, 'patched.c'), '--cc', 'no-such-cc-here']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')[0]).toMatch(/cannot run the compiler 'no-such-cc-here'/);
  });

  it('a patch that does not apply names the hunk', async () => {
    const patch = join(scratch, 'bad.patch');
    writeFileSync(patch, ['--- a/orig.c', '+++ b/orig.c', '@@ -1,3 +1,3 @@', ' this line is not there', '-nor this one', '+replacement', ' end', ''].join('\n'));
    const result = await runCli(['compare', join(upstream, 'orig.c'), '--patch', patch]);
    expect(result.exitCode).toBe(2);
    const [first, ...rest] = result.stderr.trimEnd().split('\n');
    expect(first).toContain(patch);
    expect(first).toMatch(/hunk 1 of 1 does not apply to .*orig\.c/);
    expect(rest.join('\n')).toContain('-nor this one');
  });

  it('bad usage exits 2', async () => {
    expect((await runCli(['compare'])).exitCode).toBe(2);
    expect((await runCli(['compare', 'a.c', 'b.c', '--format', 'xml'])).exitCode).toBe(2);
    expect((await runCli(['frobnicate'])).exitCode).toBe(2);
    expect((await runCli(['--help'])).exitCode).toBe(0);
  });
});

describe('compare', () => {
  it('leaves the user files alone and removes its temporary files', async () => {
    const dir = join(scratch, 'untouched');
    mkdirSync(dir);
    copyFileSync(join(upstream, 'orig.c'), join(dir, 'orig.c'));
    copyFileSync(join(upstream, 'patched.c'), join(dir, 'patched.c'));
    const before = readdirSync(dir).map((f) => [f, statSync(join(dir, f)).mtimeMs, readFileSync(join(dir, f), 'utf8')]);
    const tmp = join(scratch, 'tmp');
    mkdirSync(tmp);
    const result = await runCli(['compare', 'orig.c', 'patched.c'], { cwd: dir, env: { TMPDIR: tmp } });
    expect(result.exitCode).toBe(0);
    expect(readdirSync(dir).map((f) => [f, statSync(join(dir, f)).mtimeMs, readFileSync(join(dir, f), 'utf8')])).toEqual(before);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('--exit-code: 1 when a function changed, 0 when none did', async () => {
    const changed = await runCli(['compare', join(upstream, 'orig.c'), join(upstream, 'patched.c'), '--exit-code']);
    expect(changed.exitCode).toBe(1);
    const same = await runCli(['compare', join(upstream, 'orig.c'), join(upstream, 'orig.c'), '--exit-code']);
    expect(same.exitCode).toBe(0);
    expect(same.stdout).toContain('No function changed.');
    const noFlag = await runCli(['compare', join(upstream, 'orig.c'), join(upstream, 'patched.c')]);
    expect(noFlag.exitCode).toBe(0);
  });

  it('--keep-objects keeps both objects, -o writes the report', async () => {
    const keep = join(scratch, 'kept');
    const out = join(scratch, 'report.json');
    const result = await runCli(['compare', join(upstream, 'orig.c'), join(upstream, 'patched.c'), '--keep-objects', keep, '--format', 'json', '-o', out]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('');
    expect(readdirSync(keep).sort()).toEqual(['orig.orig.o', 'orig.patched.o']);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expectValidReport(report);
    // The kept objects give the same answer as the sources.
    const again = await runCli(['compare', join(keep, 'orig.orig.o'), join(keep, 'orig.patched.o'), '--format', 'json']);
    expect(JSON.parse(again.stdout).stack_only).toEqual(report.stack_only);
  });

  it('runs the compiler through a wrapper command given with --cc, and honours $CC and --cflags', async () => {
    const log = join(scratch, 'wrapper.log');
    const wrapper = join(scratch, 'cc-wrapper');
    writeFileSync(wrapper, `#!/bin/sh\necho "$@" >> ${log}\nexec "$@"\n`);
    chmodSync(wrapper, 0o755);
    const viaOption = await runCli(['compare', join(upstream, 'orig.c'), join(upstream, 'patched.c'), '--cc', `${wrapper} gcc`, '--cflags', '-Os -DEXTRA=1']);
    expect(viaOption.exitCode).toBe(0);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toMatch(/^gcc -Os -DEXTRA=1 -c -ffunction-sections -fdata-sections /);
      expect(line).not.toContain('-O2');
    }
    rmSync(log);
    const viaEnv = await runCli(['compare', join(upstream, 'orig.c'), join(upstream, 'patched.c')], { env: { CC: `${wrapper} gcc`, CFLAGS: '' } });
    expect(viaEnv.exitCode).toBe(0);
    expect(readFileSync(log, 'utf8')).toMatch(/^gcc -O2 -c -ffunction-sections/m);
  });

  it('resolves includes as if compiled in the source directory, also for a patched copy', async () => {
    const dir = join(scratch, 'includes');
    mkdirSync(join(dir, 'inc'), { recursive: true });
    writeFileSync(join(dir, 'local.h'), 'extern int do_io(int);\n');
    writeFileSync(join(dir, 'inc', 'other.h'), '#define SCALE 3\n');
    writeFileSync(join(dir, 'main.c'), '#include "local.h"\n#include <other.h>\nint f(int x) { return do_io(x * SCALE); }\n');
    writeFileSync(join(dir, 'fix.patch'), ['--- a/main.c', '+++ b/main.c', '@@ -1,3 +1,3 @@', ' #include "local.h"', ' #include <other.h>', '-int f(int x) { return do_io(x * SCALE); }', '+int f(int x) { return do_io(x * SCALE + 1); }', ''].join('\n'));
    const result = await runCli(['compare', 'main.c', '--patch', 'fix.patch', '--cflags', '-O2 -Iinc', '--format', 'json'], { cwd: dir });
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout);
    expect(report.functions.map((f: { name: string }) => f.name)).toEqual(['f']);
    expect(readFileSync(join(dir, 'main.c'), 'utf8')).toContain('x * SCALE)');
  });

  it('a change to __FILE__-free code in a differently named patched file reports only that change', async () => {
    const dir = join(scratch, 'names');
    mkdirSync(dir);
    const body = (n: number) => `extern void log_at(const char *, int);\nvoid a(void) { log_at(__FILE__, 1); }\nint b(int x) { return x + ${n}; }\n`;
    writeFileSync(join(dir, 'drv.c'), body(1));
    writeFileSync(join(dir, 'drv-fixed.c'), body(2));
    const result = await runCli(['compare', 'drv.c', 'drv-fixed.c', '--format', 'json'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout).functions.map((f: { name: string }) => f.name)).toEqual(['b']);
  });
});

describe('C output', () => {
  const header = `
#include <stdbool.h>
#include <stddef.h>
struct module;
#define THIS_MODULE ((struct module *)NULL)
struct klp_func {
	const char *old_name;
	void *new_func;
	unsigned long old_sympos;
	const char *new_name;
	bool stack_only;
};
struct klp_object { const char *name; struct klp_func *funcs; };
struct klp_patch { struct module *mod; struct klp_object *objs; };
`;
  async function checkCompiles(c: string, name: string) {
    const file = join(scratch, `${name}.c`);
    writeFileSync(file, header + c);
    const result = await execa('gcc', ['-fsyntax-only', '-Wall', '-Werror', '-Wno-unused-variable', file], { reject: false });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  }

  for (const [fixture, cflags] of [
    ['upstream-example', undefined],
    ['clones-renumbered', '-O2 -fipa-cp-clone'],
    ['tail-call-removed', undefined],
    ['reparented', undefined],
  ] as const) {
    it(`${fixture}: compiles against struct klp_func`, async () => {
      const dir = join(repoRoot, 'testdata', 'compare', fixture);
      const args = ['compare', join(dir, 'orig.c'), join(dir, 'patched.c'), '--format', 'c', '--new-prefix', 'livepatch_', ...(cflags ? ['--cflags', cflags] : [])];
      const result = await runCli(args);
      expect(result.exitCode).toBe(0);
      await checkCompiles(result.stdout, fixture);
      const json = JSON.parse((await runCli(args.map((a) => (a === 'c' ? 'json' : a)))).stdout);
      // One entry per changed function plus one per stack-only name, less the pairs.
      const changed = json.functions.filter((f: { status: string }) => f.status === 'changed');
      for (const f of changed) expect(result.stdout).toContain(`.old_name = "${f.name}"`);
      for (const e of json.stack_only.enable) expect(result.stdout).toContain(`.old_name = "${e.name}"`);
      for (const e of json.stack_only.disable) expect(result.stdout).toContain(`.new_name = "livepatch_${e.name}"`);
      const stackOnly = (result.stdout.match(/\.stack_only = true/g) ?? []).length;
      expect(stackOnly).toBeGreaterThanOrEqual(Math.max(json.stack_only.enable.length, json.stack_only.disable.length));
      expect(stackOnly).toBeLessThanOrEqual(json.stack_only.enable.length + json.stack_only.disable.length);
    });
  }

  it('pairs an enable and a disable name only when they are the same part', async () => {
    const result = await runCli(['compare', join(upstream, 'orig.c'), join(upstream, 'patched.c'), '--format', 'c', '--new-prefix', 'livepatch_']);
    expect(result.stdout).toMatch(/\.old_name = "child_func\.cold",\n\t\t\.new_name = "livepatch_child_func\.cold",\n\t\t\.stack_only = true/);
    const lost = join(repoRoot, 'testdata', 'compare', 'cold-lost');
    const lostC = (await runCli(['compare', join(lost, 'orig.c'), join(lost, 'patched.c'), '--format', 'c'])).stdout;
    expect(lostC).not.toContain('.new_name');
    await checkCompiles(lostC, 'cold-lost');
  });

  it('gives clone names a C identifier and an asm label', async () => {
    const dir = join(repoRoot, 'testdata', 'compare', 'clone-cold');
    const result = await runCli(['compare', join(dir, 'orig.c'), '--patch', join(dir, 'fix.patch'), '--format', 'c', '--new-prefix', 'livepatch_']);
    expect(result.stdout).toContain('extern void livepatch_read_reg_constprop_0(void) __asm__("livepatch_read_reg.constprop.0");');
    expect(result.stdout).toContain('.new_func = livepatch_read_reg_constprop_0,');
    await checkCompiles(result.stdout, 'clone-cold');
  });
});

describe('replace', () => {
  it('is the replaced livepatch disable set plus the replacing one enable set, with provenance', async () => {
    const a = join(scratch, 'a.json');
    const b = join(scratch, 'b.json');
    const tailRemoved = join(repoRoot, 'testdata', 'compare', 'tail-call-removed');
    const tailAdded = join(repoRoot, 'testdata', 'compare', 'tail-call-added');
    expect((await runCli(['compare', join(tailAdded, 'orig.c'), join(tailAdded, 'patched.c'), '--format', 'json', '-o', a])).exitCode).toBe(0);
    expect((await runCli(['compare', join(tailRemoved, 'orig.c'), join(tailRemoved, 'patched.c'), '--format', 'json', '-o', b])).exitCode).toBe(0);
    const reportA = JSON.parse(readFileSync(a, 'utf8'));
    const reportB = JSON.parse(readFileSync(b, 'utf8'));
    const result = await runCli(['replace', a, b, '--format', 'json']);
    expect(result.exitCode).toBe(0);
    const replace = JSON.parse(result.stdout);
    expectValidReport(replace);
    const strip = (e: { name: string; owner: string; reason: string }) => ({ name: e.name, owner: e.owner, reason: e.reason });
    expect(replace.stack_only.replace.filter((e: { from: string }) => e.from === 'replaced').map(strip)).toEqual(reportA.stack_only.disable.map(strip));
    expect(replace.stack_only.replace.filter((e: { from: string }) => e.from === 'replacing').map(strip)).toEqual(reportB.stack_only.enable.map(strip));
    expect(reportA.stack_only.disable.length).toBeGreaterThan(0);
    expect(reportB.stack_only.enable.length).toBeGreaterThan(0);

    const c = await runCli(['replace', a, b, '--format', 'c', '--new-prefix', 'livepatch_']);
    for (const e of reportA.stack_only.disable) expect(c.stdout).toContain(`.new_name = "livepatch_${e.name}"`);
    for (const e of reportB.stack_only.enable) expect(c.stdout).toContain(`.old_name = "${e.name}"`);
    const text = await runCli(['replace', a, b]);
    expect(text.stdout).toContain('in the replaced livepatch');
  });

  it('rejects a file that is not a compare report', async () => {
    const bogus = join(scratch, 'bogus.json');
    writeFileSync(bogus, '{"hello": 1}');
    expectOneLineError(await runCli(['replace', bogus, bogus]), bogus, /not a stackonly compare report/);
    const notJson = join(scratch, 'not.json');
    writeFileSync(notJson, 'nope');
    expectOneLineError(await runCli(['replace', notJson, bogus]), notJson, /not JSON/);
  });
});

describe('inspect', () => {
  it('shows parts and edges of the upstream example, in the documented JSON shape', async () => {
    const result = await runCli(['inspect', join(upstream, 'orig.c'), '--format', 'json']);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expectValidReport(report);
    expect(report.arch).toBe('x86_64');
    const byName = new Map(report.functions.map((f: { name: string }) => [f.name, f]));
    const child = byName.get('child_func') as { parts: string[]; edges: { kind: string; target: string }[]; section: string };
    const cold = byName.get('child_func.cold') as { part_of: string; edges: { kind: string; target: string }[]; section: string };
    expect(child.parts).toEqual(['child_func.cold']);
    expect(child.section).toBe('.text.child_func');
    expect(child.edges).toContainEqual({ kind: 'jump', target: 'child_func.cold' });
    expect(cold.part_of).toBe('child_func');
    expect(cold.section).toBe('.text.unlikely.child_func');
    expect(cold.edges).toContainEqual({ kind: 'jump', target: 'child_func' });
    const parent = byName.get('parent_func') as { edges: { kind: string; target: string }[] };
    expect(parent.edges.some((e) => e.target === 'child_func' && (e.kind === 'call' || e.kind === 'tail-call'))).toBe(true);
    expect(new Set(report.functions.map((f: { name: string }) => f.name)).size).toBe(report.functions.length);
    const text = await runCli(['inspect', join(upstream, 'orig.c')]);
    expect(text.stdout).toMatch(/child_func\.cold\s+\.text\.unlikely\.child_func\s+\d+\s+part of child_func/);
  });
});

describe('temporary files on Ctrl-C', () => {
  it('removes them when interrupted while compiling', async () => {
    const tmp = join(scratch, 'sigint-tmp');
    mkdirSync(tmp);
    const slow = join(scratch, 'slow-cc');
    writeFileSync(slow, '#!/bin/sh\nsleep 30\n');
    chmodSync(slow, 0o755);
    const child = execa('node', [cliPath, 'compare', join(upstream, 'orig.c'), join(upstream, 'patched.c'), '--cc', slow], {
      reject: false,
      env: { TMPDIR: tmp },
    });
    for (let i = 0; i < 100 && readdirSync(tmp).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(tmp).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(join(upstream, 'orig.o'))).toBe(false);
  });
});

describe('kernel thunks', () => {
  it('knows __fentry__, return thunks and retpoline thunks for what they are', async () => {
    const source = join(repoRoot, 'testdata', 'inspect', 'thunks.c');
    const flags = '-O2 -fno-pie -mindirect-branch=thunk-extern -mfunction-return=thunk-extern -pg -mfentry';
    const result = await runCli(['inspect', source, '--cflags', flags, '--format', 'json']);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout);
    expectValidReport(report);
    const byName = new Map(report.functions.map((f: { name: string }) => [f.name, f])) as Map<string, { edges: { kind: string; target: string }[]; thunks: Record<string, unknown> }>;
    const dispatch = byName.get('dispatch')!;
    expect(dispatch.thunks).toEqual({ fentry: true, returns: 1, indirect_calls: 1, indirect_jumps: 0 });
    expect(dispatch.edges).toEqual([{ kind: 'call', target: 'step' }]);
    const forward = byName.get('forward')!;
    expect(forward.thunks).toMatchObject({ fentry: true, indirect_calls: 0 });
    expect(forward.edges).toEqual([{ kind: 'tail-call', target: 'finish' }]);
    // The objdump view of the same object really has those thunk transfers.
    const object = join(scratch, 'thunks.o');
    await execa('gcc', [...flags.split(' '), '-c', source, '-o', object]);
    const dump = (await execa('objdump', ['-dr', object])).stdout;
    expect(dump).toMatch(/__fentry__/);
    expect(dump).toMatch(/__x86_return_thunk/);
    expect(dump).toMatch(/__x86_indirect_thunk_r/);
  });
});

describe('section names', () => {
  it('takes a section named like an Object.prototype property for an ordinary one', async () => {
    // Special sections are looked up by name in a table; `constructor` and `toString` must
    // not find the prototype's functions there (they were taken for special sections, with
    // a bogus warning about their entry size).
    const source = (value: number) => `
__attribute__((section("constructor"))) int in_constructor = 1;
__attribute__((section("toString"))) int in_to_string = 2;
int f(int x) { return x * ${value} + in_constructor + in_to_string; }
int g(int x) { return x - in_constructor; }
`;
    const dir = join(scratch, 'prototype-names');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'orig.c'), source(3));
    writeFileSync(join(dir, 'patched.c'), source(5));
    const result = await runCli(['compare', join(dir, 'orig.c'), join(dir, 'patched.c'), '--format', 'json']);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as { functions: { name: string }[]; warnings: string[] };
    expect(report.functions.map((f) => f.name)).toEqual(['f']);
    expect(report.warnings).toEqual([]);
  });
});

describe('the README command', () => {
  it('npx stackonly runs the built CLI from the checkout', async () => {
    // npm runs the package's own bin by executing dist/bin/stackonly.js, so the build must leave
    // it executable (the bundler does not).
    const result = await execa('npx', ['--no-install', 'stackonly', '--version'], { cwd: repoRoot, reject: false });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe((JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version);
  });
});
