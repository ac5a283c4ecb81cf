import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleOfCommand } from '../src/compile/compiledb/command-words.js';
import { splitCommandLine } from '../src/compile/gcc.js';
import type { CompareReport, TreeReport } from '../src/report/types.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { configureProject } from './helpers/project.js';
import { expectValidReport } from './helpers/schema.js';

/*
 * The klp_object, always (issue 12, item 1): a .ko by its .modinfo name, a unit of a
 * compilation database by the KBUILD_MODNAME of a -DMODULE command, anything else vmlinux
 * (or --object-name). JSON object_name is never absent; the C output always has a
 * struct klp_object per object, with its funcs, and a struct klp_patch.
 */
const upstream = join(repoRoot, 'testdata', 'compare', 'upstream-example');
const lost = join(repoRoot, 'testdata', 'compare', 'cold-lost');
let scratch: string;

/** The kernel's structures, as much of them as the C output uses. */
const header = `#include <stdbool.h>
#include <stddef.h>
struct module;
#define THIS_MODULE ((struct module *)NULL)
struct klp_func { const char *old_name; void *new_func; unsigned long old_sympos; const char *new_name; bool stack_only; };
struct klp_object { const char *name; struct klp_func *funcs; };
struct klp_patch { struct module *mod; struct klp_object *objs; };
`;

async function compiles(c: string, name: string): Promise<void> {
  const file = join(scratch, `${name}.c`);
  writeFileSync(file, header + c);
  const result = await execa('gcc', ['-fsyntax-only', '-Wall', '-Werror', '-Wno-unused-variable', file], { reject: false });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
}

async function compile(source: string, out: string, flags: string[] = []): Promise<void> {
  mkdirSync(dirname(out), { recursive: true });
  const dir = mkdtempSync(join(scratch, 'src-'));
  copyFileSync(source, join(dir, 'orig.c'));
  await execa('gcc', ['-O2', '-c', ...flags, 'orig.c', '-o', out], { cwd: dir });
}

async function addModinfo(object: string, content: string): Promise<void> {
  const file = `${object}.modinfo`;
  writeFileSync(file, content);
  await execa('objcopy', ['--add-section', `.modinfo=${file}`, '--set-section-flags', '.modinfo=alloc,readonly', object]);
  rmSync(file);
}

async function run(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const result = await runCli(args, { env: { CC: 'gcc', CFLAGS: '' } });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return result;
}

async function json<T = CompareReport>(args: string[]): Promise<T> {
  const report = JSON.parse((await run([...args, '--format', 'json'])).stdout);
  expectValidReport(report);
  return report as T;
}

/** The klp_object entries of C output: `.name` (null for vmlinux) and `.funcs`. */
function klpObjects(c: string): { name: string | null; funcs: string }[] {
  const block = /static struct klp_object objs\[\] = \{\n([\s\S]*?)\n\t\{ \}\n\};/.exec(c);
  expect(block, c).not.toBeNull();
  const entries = [...block![1].matchAll(/\t\{\n(?:\t\t\.name = "([^"]+)",\n|\t\t\/\* name NULL: vmlinux \*\/\n)\t\t\.funcs = (\w+),\n\t\},/g)];
  return entries.map((m) => ({ name: m[1] ?? null, funcs: m[2] }));
}

function hasPatch(c: string): void {
  expect(c).toMatch(/\n\nstatic struct klp_patch patch = \{\n\t\.mod = THIS_MODULE,\n\t\.objs = objs,\n\};\n?$/);
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'stackonly-klp-object-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('which module a compile command builds', () => {
  it('reads -DMODULE and KBUILD_MODNAME as kbuild and the databases spell them', () => {
    const words = (command: string) => moduleOfCommand(splitCommandLine(command));
    expect(words(`-Wall -DMODULE -DKBUILD_BASENAME='"inode"' -DKBUILD_MODNAME='"ext4"' -D__KBUILD_MODNAME=kmod_ext4 -c x.c`)).toEqual({ module: true, modname: 'ext4' });
    expect(words(`-DKBUILD_MODNAME='"ext4"' -c x.c`)).toEqual({ module: false, modname: 'ext4' });
    expect(words(`-D MODULE -D KBUILD_MODNAME=\\"nfsd\\" -c x.c`)).toEqual({ module: true, modname: 'nfsd' });
    expect(moduleOfCommand(['-DMODULE', '-DKBUILD_MODNAME=\\"nfsd\\"'])).toEqual({ module: true, modname: 'nfsd' });
    expect(moduleOfCommand(['-DMODULE', `-DKBUILD_MODNAME='"xfs"'`])).toEqual({ module: true, modname: 'xfs' });
    // Linux before 4.x: -D"KBUILD_STR(s)=#s" -D"KBUILD_MODNAME=KBUILD_STR(old_mod)".
    expect(words(`-D"KBUILD_STR(s)=#s" -D"KBUILD_MODNAME=KBUILD_STR(old_mod)" -DMODULE`)).toEqual({ module: true, modname: 'old_mod' });
    expect(moduleOfCommand(['-DMODULE', '-UMODULE', '-DKBUILD_MODNAME="x"'])).toEqual({ module: false, modname: 'x' });
    expect(moduleOfCommand(['-O2', '-c', 'x.c'])).toEqual({ module: false });
  });
});

describe('object_name and klp_object in every mode', () => {
  it('two .ko files: the module by its .modinfo name', async () => {
    const original = join(scratch, 'ko', 'orig', 'drv-core.ko');
    const patched = join(scratch, 'ko', 'patched', 'drv-core.ko');
    await compile(join(lost, 'orig.c'), original);
    await compile(join(lost, 'patched.c'), patched);
    await addModinfo(original, 'vermagic=6.1.0-54 SMP\0name=drv_core\0');
    await addModinfo(patched, 'vermagic=6.1.0-55 SMP\0name=drv_core\0');
    const report = await json(['compare', original, patched]);
    expect(report.object_name).toBe('drv_core');
    expect(Object.keys(report).slice(0, 5)).toEqual(['schema_version', 'arch', 'original', 'patched', 'object_name']);
    const c = (await run(['compare', original, patched, '--format', 'c', '--new-prefix', 'livepatch_'])).stdout;
    expect(klpObjects(c)).toEqual([{ name: 'drv_core', funcs: 'funcs' }]);
    hasPatch(c);
    await compiles(c, 'ko');
    // --object-name names what is not a module: a module keeps its name.
    expect((await json(['compare', original, patched, '--object-name', 'other'])).object_name).toBe('drv_core');
    expect((await run(['compare', original, patched])).stdout.split('\n')[0]).toMatch(/\(x86_64, module drv_core\)$/);
  });

  it('two .ko files of the Debian kernels: ext4', async () => {
    const kernels = process.env.STACKONLY_KERNELS ?? '/var/tmp/stackonly-kernels';
    const ko = (release: string) => join(kernels, release, 'lib', 'modules', `${release}-amd64`, 'kernel', 'fs', 'ext4', 'ext4.ko');
    if (!existsSync(ko('6.1.0-54')) || !existsSync(ko('6.1.0-55'))) return;
    const c = (await run(['compare', ko('6.1.0-54'), ko('6.1.0-55'), '--format', 'c'])).stdout;
    expect(klpObjects(c)).toEqual([{ name: 'ext4', funcs: 'funcs' }]);
    hasPatch(c);
    await compiles(c, 'ext4');
    expect((await json(['compare', ko('6.1.0-54'), ko('6.1.0-55')])).object_name).toBe('ext4');
  });

  it('two C files and two objects: vmlinux, --object-name, or the module a -DMODULE compile names', async () => {
    const sources = [join(upstream, 'orig.c'), join(upstream, 'patched.c')];
    const report = await json(['compare', ...sources]);
    expect(report.object_name).toBe('vmlinux');
    const c = (await run(['compare', ...sources, '--format', 'c'])).stdout;
    expect(klpObjects(c)).toEqual([{ name: null, funcs: 'funcs' }]);
    hasPatch(c);
    await compiles(c, 'sources');
    expect((await run(['compare', ...sources])).stdout.split('\n')[0]).toBe(`${sources[0]} -> ${sources[1]} (x86_64, vmlinux)`);
    expect(klpObjects((await run(['compare', ...sources, '--format', 'c', '--object-name', 'mydrv'])).stdout)).toEqual([{ name: 'mydrv', funcs: 'funcs' }]);
    expect((await json(['compare', ...sources, '--cflags', `-O2 -DMODULE -DKBUILD_MODNAME='"kmod"'`])).object_name).toBe('kmod');
    // Without -DMODULE the code is built in: vmlinux.
    expect((await json(['compare', ...sources, '--cflags', `-O2 -DKBUILD_MODNAME='"kmod"'`])).object_name).toBe('vmlinux');

    const objects = [join(scratch, 'o', 'a.o'), join(scratch, 'o', 'b.o')];
    await compile(sources[0], objects[0]);
    await compile(sources[1], objects[1]);
    expect((await json(['compare', ...objects])).object_name).toBe('vmlinux');
    expect((await json(['compare', ...objects, '--object-name', 'mydrv'])).object_name).toBe('mydrv');
    // Even with nothing to patch there is one klp_object, with an empty klp_func array.
    const same = (await run(['compare', objects[0], objects[0], '--format', 'c'])).stdout;
    expect(klpObjects(same)).toEqual([{ name: null, funcs: 'funcs' }]);
    await compiles(same, 'same');

    const bad = await runCli(['compare', ...objects, '--object-name', 'no spaces']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^stackonly: --object-name takes a module name/)]);
  });

  it('two trees: every object named, identical ones and plain objects too', async () => {
    const o = join(scratch, 'tree', 'o');
    const p = join(scratch, 'tree', 'p');
    await compile(join(upstream, 'orig.c'), join(o, 'drivers/changed.o'));
    await compile(join(upstream, 'patched.c'), join(p, 'drivers/changed.o'));
    await compile(join(lost, 'orig.c'), join(o, 'fs/my-fs.ko'));
    await compile(join(lost, 'patched.c'), join(p, 'fs/my-fs.ko'));
    await addModinfo(join(o, 'fs/my-fs.ko'), 'name=my_fs\0');
    await addModinfo(join(p, 'fs/my-fs.ko'), 'name=my_fs\0');
    await compile(join(lost, 'orig.c'), join(o, 'net/same-mod.ko'));
    await addModinfo(join(o, 'net/same-mod.ko'), 'name=same_mod\0');
    mkdirSync(join(p, 'net'), { recursive: true });
    copyFileSync(join(o, 'net/same-mod.ko'), join(p, 'net/same-mod.ko'));
    const report = await json<TreeReport>(['compare', o, p]);
    expect(report.objects.map((x) => `${x.path}:${x.status}:${x.object_name}`)).toEqual([
      'drivers/changed.o:changed:vmlinux',
      'fs/my-fs.ko:changed:my_fs',
      'net/same-mod.ko:identical:same_mod',
    ]);
    expect(Object.keys(report.objects[0]).slice(0, 3)).toEqual(['path', 'status', 'object_name']);
    expect((await json<TreeReport>(['compare', o, p, '--object-name', 'mine'])).objects.map((x) => x.object_name)).toEqual(['mine', 'my_fs', 'same_mod']);
    const c = (await run(['compare', o, p, '--format', 'c'])).stdout;
    expect(klpObjects(c)).toEqual([
      { name: null, funcs: 'vmlinux_funcs' },
      { name: 'my_fs', funcs: 'my_fs_funcs' },
    ]);
    hasPatch(c);
    await compiles(c, 'tree');
    expect((await run(['compare', o, p])).stdout).toContain('== drivers/changed.o (vmlinux)');
  });

  describe('a source tree with a compilation database', () => {
    let proj: string;
    const fixture = join(repoRoot, 'testdata', 'compiledb');

    beforeAll(async () => {
      // core.c and util.c are two units of module proj_core; extra.c is built in (its
      // KBUILD_MODNAME without -DMODULE, as kbuild compiles obj-y code).
      ({ proj } = await configureProject(join(scratch, 'sd'), {
        'src/core.c': ['-DMODULE', '-DKBUILD_MODNAME="proj_core"', '-DKBUILD_BASENAME="core"'],
        'src/util.c': ['-DMODULE', '-DKBUILD_MODNAME="proj_core"'],
        'src/extra.c': ['-DKBUILD_MODNAME="extra"'],
      }));
    });

    it('units of one module are one klp_object, named by KBUILD_MODNAME', async () => {
      const args = ['compare', '--source-dir', proj, '--patch', join(fixture, 'fix-header.patch')];
      const report = await json<TreeReport>(args);
      expect(report.objects.map((x) => `${x.path}:${x.object_name}`)).toEqual(['src/core.o:proj_core', 'src/util.o:proj_core']);
      const c = (await run([...args, '--format', 'c', '--new-prefix', 'livepatch_'])).stdout;
      expect(klpObjects(c)).toEqual([{ name: 'proj_core', funcs: 'proj_core_funcs' }]);
      expect(c).toMatch(/static struct klp_func proj_core_funcs\[\] = \{[\s\S]*\.old_name = "core_step",[\s\S]*\.old_name = "util_scale",[\s\S]*\t\{ \}\n\};/);
      hasPatch(c);
      await compiles(c, 'source-dir');
      expect((await run(args)).stdout).toContain('== src/core.o (module proj_core)');
    });

    it('a module unit and built-in code are two klp_objects; --object-name names only the built-in one', async () => {
      const patch = join(scratch, 'core-and-extra.patch');
      const extra = ['--- a/src/internal.h', '+++ b/src/internal.h', '@@ -1,6 +1,6 @@', ' #ifndef EXTRA_INTERNAL_H', ' #define EXTRA_INTERNAL_H', ' ', '-#define EXTRA_RETRIES 3', '+#define EXTRA_RETRIES 5', ' ', ' #endif', ''];
      writeFileSync(patch, readFileSync(join(fixture, 'fix-core.patch'), 'utf8') + extra.join('\n'));
      const args = ['compare', '--source-dir', proj, '--patch', patch];
      const report = await json<TreeReport>(args);
      expect(report.objects.map((x) => `${x.path}:${x.status}:${x.object_name}`)).toEqual(['src/core.o:changed:proj_core', 'src/extra.o:changed:vmlinux']);
      const c = (await run([...args, '--format', 'c'])).stdout;
      expect(klpObjects(c)).toEqual([
        { name: 'proj_core', funcs: 'proj_core_funcs' },
        { name: null, funcs: 'vmlinux_funcs' },
      ]);
      await compiles(c, 'two-objects');
      const named = await json<TreeReport>([...args, '--object-name', 'builtin']);
      expect(named.objects.map((x) => x.object_name)).toEqual(['proj_core', 'builtin']);
    });
  });

  it('the schema requires object_name', async () => {
    const report = await json(['compare', join(upstream, 'orig.c'), join(upstream, 'patched.c')]);
    const { object_name: _, ...without } = report;
    const { Ajv2020 } = await import('ajv/dist/2020.js');
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(readFileSync(join(repoRoot, 'schema', 'report.schema.json'), 'utf8')));
    expect(validate(report)).toBe(true);
    expect(validate(without)).toBe(false);
  });
});
