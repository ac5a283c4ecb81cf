import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPatch } from 'diff';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCompilationDatabase } from '../src/compile/compiledb.js';
import type { TreeReport } from '../src/report/types.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { positionsOf, type Positions } from './helpers/positions.js';
import { expectValidReport } from './helpers/schema.js';

/*
 * Tree mode over two trees kbuild built (a kpatch-style pipeline's two builds): every object
 * has its saved command beside it (`.NAME.o.cmd`), the units as compiled and the objects the
 * build linked from them: the module's `ld -r` `foo.o` (from `@foo.mod`) and its `foo.ko`,
 * the built-in units' thin archive and `vmlinux.o`. Built here from testdata/compiledb/linked
 * (its README) with gcc, ld and ar, the commands written as kbuild writes them. The linked
 * objects must not be compared beside their units (every change twice, a module's units
 * under vmlinux); the units are named by their commands, and `.old_sympos` is counted in
 * the linked module and vmlinux: the positions testdata/compiledb/linked/expected.json gives.
 */
const fixture = join(repoRoot, 'testdata', 'compiledb', 'linked');
const expected = JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8')) as {
  module: { link: string[]; positions: Positions }[];
  vmlinux: { link: string[]; script: string; positions: Positions };
};

let scratch: string;
const tree = (side: string) => join(scratch, side);

/** Runs a command in `root` and saves it as kbuild does, in `.NAME.cmd` beside its target. */
async function kbuildStep(root: string, target: string, command: string[], saved = command.join(' ')): Promise<void> {
  await execa(command[0], command.slice(1), { cwd: root });
  const slash = target.lastIndexOf('/');
  const cmdFile = join(root, target.slice(0, slash + 1), `.${target.slice(slash + 1)}.cmd`);
  writeFileSync(cmdFile, `savedcmd_${target} := ${saved}\n\nsource_${target} := whatever\n`);
}

async function buildTree(root: string): Promise<void> {
  writeFileSync(join(root, 'compile_commands.json'), readFileSync(join(fixture, 'compile_commands.in.json'), 'utf8').replaceAll('@DIR@', root));
  await execa('mkdir', ['-p', join(root, 'build/src')]);
  // Kernel code is compiled with -D__KERNEL__ (kbuild's KBUILD_CPPFLAGS).
  for (const entry of loadCompilationDatabase(join(root, 'compile_commands.json'))) {
    const output = entry.argv[entry.argv.indexOf('-o') + 1];
    await kbuildStep(root, output, [entry.argv[0], '-D__KERNEL__', ...entry.argv.slice(1)]);
  }
  // The built-in cold function, and the module's .mod.c, compiled as kbuild would.
  await kbuildStep(root, 'build/src/report.o', ['gcc', '-D__KERNEL__', '-O2', '-DKBUILD_MODNAME="report"', '-c', '-o', 'build/src/report.o', 'src/report.c']);
  await kbuildStep(root, 'build/src/foo.mod.o', ['gcc', '-D__KERNEL__', '-O2', '-DMODULE', '-DKBUILD_MODNAME="foo"', '-c', '-o', 'build/src/foo.mod.o', 'src/foo.mod.c']);
  // One of the build's own programs (modpost's file2alias.c includes a kernel header): no kernel code.
  await execa('mkdir', ['-p', join(root, 'build/scripts')]);
  await kbuildStep(root, 'build/scripts/tool.o', ['gcc', '-O2', '-Iinclude', '-c', '-o', 'build/scripts/tool.o', 'src/tool.c']);
  // The module: ld -r of the units kbuild lists in foo.mod, then the .ko (kbuild's command ends in "; true").
  writeFileSync(join(root, 'build/src/foo.mod'), `${expected.module[0].link.map((p) => `build/${p}`).join(' ')}\n`);
  await kbuildStep(root, 'build/src/foo.o', ['ld', '-m', 'elf_x86_64', '-r', '-o', 'build/src/foo.o', '@build/src/foo.mod']);
  const ko = ['ld', '-r', '-m', 'elf_x86_64', '--build-id=sha1', '-o', 'build/src/foo.ko', 'build/src/foo.o', 'build/src/foo.mod.o'];
  await kbuildStep(root, 'build/src/foo.ko', ko, `${ko.join(' ')};  true`);
  // Built-in code: a thin archive of the units, vmlinux.o of it, and the linked vmlinux.
  await execa('ar', ['cDPrST', 'build/src/built-in.a', ...expected.vmlinux.link.map((p) => `build/${p}`)], { cwd: root });
  await kbuildStep(root, 'vmlinux.o', ['ld', '-m', 'elf_x86_64', '-r', '-o', 'vmlinux.o', '--whole-archive', 'build/src/built-in.a', '--no-whole-archive']);
  await execa('ld', ['-T', join(fixture, expected.vmlinux.script), '-e', '0', '-o', 'vmlinux', ...expected.vmlinux.link.map((p) => `build/${p}`)], { cwd: root });
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'stackonly-kbuild-'));
  for (const side of ['original', 'patched']) {
    cpSync(join(fixture, 'project'), tree(side), { recursive: true });
    writeFileSync(join(tree(side), 'src/tool.c'), '#include <foo/check.h>\nint tool_weight(void)\n{\n\treturn FOO_WEIGHT;\n}\n');
  }
  const header = join(tree('patched'), 'include/foo/check.h');
  const patched = applyPatch(readFileSync(header, 'utf8'), readFileSync(join(fixture, 'fix-check.patch'), 'utf8'));
  if (patched === false) throw new Error('fix-check.patch does not apply');
  writeFileSync(header, patched);
  await buildTree(tree('original'));
  await buildTree(tree('patched'));
}, 60_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function compare(format: string, extra: string[] = []): Promise<string> {
  const result = await runCli(['compare', tree('original'), tree('patched'), '--format', format, ...extra]);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return result.stdout;
}

/** Each unit's positions, keyed as expected.json keys them (without `build/`). */
const positions = (r: TreeReport): Positions => positionsOf(r, (path) => path.replace(/^build\//, ''));

describe('tree mode over two kbuild trees', () => {
  it('compares the units, not the objects linked from them; names each unit by its command; counts positions in the linked module and vmlinux', async () => {
    const r = JSON.parse(await compare('json')) as TreeReport;
    expectValidReport(r);
    expect(r.summary.linked_from_members).toEqual(['build/src/foo.ko', 'build/src/foo.o', 'vmlinux.o']);
    // Changed by the patch (FOO_WEIGHT), but no kernel code.
    expect(r.summary.host_objects).toEqual(['build/scripts/tool.o']);
    expect(r.objects.map((o) => o.path)).toEqual(['build/src/a.o', 'build/src/b.o', 'build/src/c.o', 'build/src/d.o', 'build/src/foo.mod.o', 'build/src/report.o']);
    const names = Object.fromEntries(r.objects.map((o) => [o.path, o.object_name]));
    expect(names).toEqual({
      'build/src/a.o': 'foo',
      'build/src/b.o': 'foo',
      'build/src/foo.mod.o': 'foo',
      'build/src/c.o': 'vmlinux',
      'build/src/d.o': 'vmlinux',
      'build/src/report.o': 'vmlinux',
    });
    expect(positions(r)).toEqual({ ...expected.module[0].positions, ...expected.vmlinux.positions });
    expect(r.warnings).toEqual([]);
    // Each changed function once: no linked object repeats it.
    const changed = r.functions.filter((f) => f.status === 'changed').map((f) => `${f.object}:${f.name}`);
    expect(new Set(changed).size).toBe(changed.length);
    expect(changed.some((c) => c.startsWith('vmlinux.o') || c.includes('foo.ko') || c.startsWith('build/src/foo.o'))).toBe(false);
  });

  it('C output: one klp_object per module and one for vmlinux, with the positions', async () => {
    const c = await compare('c');
    expect(c.match(/static struct klp_func \w+\[\]/g)).toEqual(['static struct klp_func foo_funcs[]', 'static struct klp_func vmlinux_funcs[]']);
    expect(c).toContain('.name = "foo"');
    const fooChecks = [...c.matchAll(/\.old_name = "foo_check",\n\t\t\.new_func = \w+,\n\t\t\.old_sympos = (\d)/g)].map((m) => m[1]);
    // a.o's and b.o's in the module (1, 2), then c.o's and d.o's in vmlinux (address order: 2, 1).
    expect(fooChecks).toEqual(['1', '2', '2', '1']);
    const text = await compare('text');
    expect(text).toContain('linked from the objects compared, not compared themselves: 3 (build/src/foo.ko, build/src/foo.o, vmlinux.o)');
    expect(text).toContain("objects of the build's own programs (modpost, objtool), not compared: 1");
  });

  it('a unit added to the module: listed as only in the patched tree, the module still not compared beside its units', async () => {
    const copy = join(scratch, 'grown');
    cpSync(tree('patched'), copy, { recursive: true });
    try {
      writeFileSync(join(copy, 'src/e.c'), 'int foo_extra(int x)\n{\n\treturn x * 7;\n}\n');
      await kbuildStep(copy, 'build/src/e.o', ['gcc', '-O2', '-DMODULE', '-DKBUILD_MODNAME="foo"', '-c', '-o', 'build/src/e.o', 'src/e.c']);
      writeFileSync(join(copy, 'build/src/foo.mod'), `${[...expected.module[0].link, 'src/e.o'].map((p) => `build/${p}`).join(' ')}\n`);
      await kbuildStep(copy, 'build/src/foo.o', ['ld', '-m', 'elf_x86_64', '-r', '-o', 'build/src/foo.o', '@build/src/foo.mod']);
      await kbuildStep(copy, 'build/src/foo.ko', ['ld', '-r', '-m', 'elf_x86_64', '-o', 'build/src/foo.ko', 'build/src/foo.o', 'build/src/foo.mod.o']);
      const result = await runCli(['compare', tree('original'), copy, '--format', 'json']);
      expect(result.exitCode).toBe(0);
      const r = JSON.parse(result.stdout) as TreeReport;
      expect(r.summary.only_in_patched).toEqual(['build/src/e.o']);
      expect(r.summary.linked_from_members).toEqual(['build/src/foo.ko', 'build/src/foo.o', 'vmlinux.o']);
      expect(positions(r)).toEqual({ ...expected.module[0].positions, ...expected.vmlinux.positions });
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('copied without their dot files (no saved commands): compared as any trees, with a warning saying what that means', async () => {
    const noDots = (side: string) => join(scratch, `${side}-copied`);
    for (const side of ['original', 'patched']) cpSync(tree(side), noDots(side), { recursive: true, filter: (src) => !/\/\.[^/]*\.cmd$/.test(src) });
    try {
      const result = await runCli(['compare', noDots('original'), noDots('patched'), '--format', 'json']);
      expect(result.exitCode).toBe(0);
      const r = JSON.parse(result.stdout) as TreeReport;
      expect(r.summary.linked_from_members).toBeUndefined();
      expect(r.objects.map((o) => o.path)).toContain('vmlinux.o');
      expect(r.warnings.filter((w) => w.includes('kbuild'))).toEqual([expect.stringMatching(/^these look like kbuild build trees \(vmlinux\.o\), but kbuild's saved commands \(\.NAME\.o\.cmd\) are not there: .*listed more than once/)]);
    } finally {
      for (const side of ['original', 'patched']) rmSync(noDots(side), { recursive: true, force: true });
    }
  });

  it('hostile saved commands (a FIFO, @/dev/zero, a thin archive that lists itself) are read as no command at all', async () => {
    const sides = ['a', 'b'].map((side) => join(scratch, `hostile-${side}`));
    try {
      for (const dir of sides) {
        cpSync(join(tree('original'), 'build/src/a.o'), join(dir, 'x.o'));
        cpSync(join(tree('original'), 'build/src/a.o'), join(dir, 'y.o'));
        cpSync(join(tree('original'), 'build/src/c.o'), join(dir, 'z.o'));
        writeFileSync(join(dir, '.x.o.cmd'), 'savedcmd_x.o := ld -r -o x.o @/dev/zero\n');
        await execa('mkfifo', [join(dir, '.y.o.cmd')]);
        // A thin archive whose one member is itself.
        const name = 'self.a/\n';
        const header = (n: string, size: number) => n.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '644'.padEnd(8) + String(size).padEnd(10) + '`\n';
        writeFileSync(join(dir, 'self.a'), `!<thin>\n${header('//', name.length)}${name}${header('/0', 8)}`, 'latin1');
        writeFileSync(join(dir, '.z.o.cmd'), 'savedcmd_z.o := ld -r -o z.o self.a\n');
      }
      // z.o differs between the sides, so that there is something to compare.
      cpSync(join(tree('patched'), 'build/src/c.o'), join(sides[1], 'z.o'));
      const result = await runCli(['compare', sides[0], sides[1], '--format', 'json']);
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      const r = JSON.parse(result.stdout) as TreeReport;
      expect(r.summary.linked_from_members).toBeUndefined();
      expect(r.objects.map((o) => `${o.path}:${o.status}`)).toEqual(['x.o:identical', 'y.o:identical', 'z.o:changed']);
    } finally {
      for (const dir of sides) rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('a module unit without KBUILD_MODNAME: named by its file, with a warning', async () => {
    const sides = ['a', 'b'].map((side) => join(scratch, `nomodname-${side}`));
    try {
      for (const [k, dir] of sides.entries()) {
        await execa('mkdir', ['-p', dir]);
        writeFileSync(join(dir, 'shared-part.c'), `int shared_weight(int x)\n{\n\treturn x * ${k + 3};\n}\n`);
        await kbuildStep(dir, 'shared-part.o', ['gcc', '-D__KERNEL__', '-DMODULE', '-O2', '-c', '-o', 'shared-part.o', 'shared-part.c']);
      }
      const result = await runCli(['compare', sides[0], sides[1], '--format', 'json']);
      expect(result.exitCode).toBe(0);
      const r = JSON.parse(result.stdout) as TreeReport;
      expect(r.objects.map((o) => `${o.path}:${o.status}:${o.object_name}`)).toEqual(['shared-part.o:changed:shared_part']);
      expect(r.warnings).toEqual(['shared-part.o is built with -DMODULE but without KBUILD_MODNAME (an object linked into several modules?): its klp_object is named shared_part; check it']);
    } finally {
      for (const dir of sides) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a linked object some of whose members are missing from a tree is compared, as any object', async () => {
    const copy = join(scratch, 'partial');
    cpSync(tree('patched'), copy, { recursive: true });
    rmSync(join(copy, 'build/src/b.o'));
    try {
      const result = await runCli(['compare', tree('original'), copy, '--format', 'json']);
      expect(result.exitCode).toBe(0);
      const r = JSON.parse(result.stdout) as TreeReport;
      expect(r.summary.only_in_original).toEqual(['build/src/b.o']);
      // foo.o and foo.ko now hold code no pair of units does: compared, and named by their
      // module (foo.ko by its .modinfo, its ld -r foo.o by its units' commands).
      expect(r.summary.linked_from_members).toEqual(['vmlinux.o']);
      expect(r.objects.find((o) => o.path === 'build/src/foo.o')?.object_name).toBe('foo');
      expect(r.objects.find((o) => o.path === 'build/src/foo.ko')?.object_name).toBe('foo');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
