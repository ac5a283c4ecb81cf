import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCompilationDatabase } from '../src/compile/compiledb.js';
import { placeInLinked, type UnitSymbol } from '../src/derive/linked-positions.js';
import { readLinkedObject, type LinkedObject } from '../src/elf/linked-symbols.js';
import { openObject } from '../src/elf/open.js';
import { STT_FUNC } from '../src/elf/types.js';
import type { TreeReport } from '../src/report/types.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { positionsOf, type Positions } from './helpers/positions.js';
import { expectValidReport } from './helpers/schema.js';

/*
 * `.old_sympos` counted in the linked object (issue 12, item 2), on real gcc and ld output:
 * testdata/compiledb/linked (see its README) has a header's static inline function out of
 * line in two units of module foo (a.c, b.c) and in two built-in units (c.c, d.c). The
 * test builds the tree once as its database says, then links what the kernel would: the
 * module (`ld -r`, and a .ko with a .modinfo name) and a vmlinux, in the orders that
 * testdata/compiledb/linked/expected.json gives with the positions they must produce.
 */
const fixture = join(repoRoot, 'testdata', 'compiledb', 'linked');
const expected = JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8')) as {
  module: { link: string[]; positions: Positions }[];
  vmlinux: { link: string[]; script: string; positions: Positions };
  without_linked_object: { positions: Positions };
};

let scratch: string;
let proj: string;
const patch = join(fixture, 'fix-check.patch');
const build = (unit: string) => join(proj, 'build', unit);

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'stackonly-linked-'));
  proj = join(scratch, 'proj');
  cpSync(join(fixture, 'project'), proj, { recursive: true });
  writeFileSync(join(proj, 'compile_commands.json'), readFileSync(join(fixture, 'compile_commands.in.json'), 'utf8').replaceAll('@DIR@', proj));
  mkdirSync(join(proj, 'build', 'src'), { recursive: true });
  for (const entry of loadCompilationDatabase(join(proj, 'compile_commands.json'))) await execa(entry.argv[0], entry.argv.slice(1), { cwd: entry.directory });
  // What the database does not compile: the cold function vmlinux needs, and modpost's foo.mod.c.
  for (const unit of ['report', 'foo.mod']) await execa('gcc', ['-O2', '-c', '-o', build(`src/${unit}.o`), join(proj, `src/${unit}.c`)]);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Removes whatever an earlier test linked. */
beforeEach(() => {
  for (const file of ['build/src/foo.o', 'build/src/foo.ko', 'build/mods', 'modules.order', 'vmlinux', 'elsewhere']) rmSync(join(proj, file), { recursive: true, force: true });
});

async function linkModule(output: string, units: string[]): Promise<void> {
  mkdirSync(join(output, '..'), { recursive: true });
  await execa('ld', ['-r', '-o', output, ...units.map(build)]);
}

async function linkKo(output: string, moduleObject: string): Promise<void> {
  await execa('ld', ['-r', '-o', output, moduleObject, build('src/foo.mod.o')]);
}

async function linkVmlinux(output: string): Promise<void> {
  const { link, script } = expected.vmlinux;
  mkdirSync(join(output, '..'), { recursive: true });
  await execa('ld', ['-T', join(fixture, script), '-e', '0', '-o', output, ...link.map(build)], { cwd: proj });
}

async function compare(extra: string[] = [], format = 'json'): Promise<string> {
  const result = await runCli(['compare', '--source-dir', proj, '--patch', patch, '--format', format, ...extra], { env: { CC: 'gcc', CFLAGS: '' } });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return result.stdout;
}

async function report(extra: string[] = []): Promise<TreeReport> {
  const json = JSON.parse(await compare(extra)) as TreeReport;
  expectValidReport(json);
  return json;
}

const positions = (r: TreeReport): Positions => positionsOf(r);

/** The aggregated lists carry the same positions as the objects' own reports. */
function aggregatesAgree(r: TreeReport): void {
  for (const f of r.functions) expect(f.original?.sympos).toBe(r.objects.find((o) => o.path === f.object)!.functions.find((g) => g.name === f.name)!.original?.sympos);
  for (const e of r.stack_only.enable) expect(e.sympos).toBe(r.objects.find((o) => o.path === e.object)!.stack_only.enable.find((g) => g.name === e.name)!.sympos);
}

/** `(old_name, old_sympos)` of every klp_func entry of one klp_object in C output, in order. */
function cEntries(c: string, array: string): string[] {
  const block = new RegExp(`static struct klp_func ${array}\\[\\] = \\{\\n([\\s\\S]*?)\\n\\t\\{ \\}\\n\\};`).exec(c);
  expect(block, c).not.toBeNull();
  return [...block![1].matchAll(/\t\{\n([\s\S]*?)\n\t\},/g)].map((m) => {
    const name = /\.old_name = "([^"]+)"/.exec(m[1])?.[1];
    const sympos = /\.old_sympos = (\d+),/.exec(m[1])?.[1] ?? '0';
    return `${name}:${sympos}`;
  });
}

/** The C entries the positions of units `paths` (in report order) must give. */
function expectedEntries(r: TreeReport, paths: string[]): string[] {
  const wanted = positions(r);
  return r.objects
    .filter((o) => paths.includes(o.path))
    .flatMap((o) => [
      ...o.functions.filter((f) => f.status === 'changed').map((f) => `${f.name}:${wanted[o.path][f.name]}`),
      ...o.stack_only.enable.map((e) => `${e.name}:${wanted[o.path][e.name]}`),
    ]);
}

describe('.old_sympos from the linked object (--source-dir)', () => {
  it('no linked object: one warning naming --linked-object, and no position at all', async () => {
    const r = await report();
    expect(positions(r)).toEqual(expected.without_linked_object.positions);
    const warnings = r.warnings.filter((w) => w.includes('.old_sympos'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('--linked-object');
    expect(warnings[0]).toMatch(/foo \(foo_check, foo_check\.cold are defined in several of its units/);
    expect(warnings[0]).toMatch(/vmlinux \(foo_check, foo_check\.cold are defined in several of its units/);
    expect(warnings[0]).toContain('the static a_scale may repeat');
    expect(await compare([], 'c')).not.toContain('.old_sympos');
  });

  for (const { link, positions: want } of expected.module) {
    it(`module foo linked as ${link.join(' + ')} (ld -r, next to its objects): positions follow the link order`, async () => {
      await linkModule(build('src/foo.o'), link);
      await linkVmlinux(join(proj, 'vmlinux'));
      const r = await report();
      expect(positions(r)).toEqual({ ...want, ...expected.vmlinux.positions });
      expect(r.warnings).toEqual([]);
      aggregatesAgree(r);
      const c = await compare([], 'c');
      expect(cEntries(c, 'foo_funcs')).toEqual(expectedEntries(r, ['src/a.o', 'src/b.o']));
      expect(cEntries(c, 'vmlinux_funcs')).toEqual(expectedEntries(r, ['src/c.o', 'src/d.o']));
    });
  }

  it('the .ko before the ld -r object; modules.order; only the klp_object that has one gets positions', async () => {
    const [ab, ba] = expected.module;
    await linkModule(build('src/foo.o'), ab.link);
    await linkModule(join(scratch, 'foo-ba.o'), ba.link);
    await linkKo(build('src/foo.ko'), join(scratch, 'foo-ba.o'));
    let r = await report();
    expect(positions(r)).toEqual({ ...expected.without_linked_object.positions, ...ba.positions });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^no linked object to count \.old_sympos in for vmlinux \(/);
    expect(r.warnings[0]).toContain(join(proj, 'vmlinux'));

    // modules.order at the build root names the module's object wherever it is.
    rmSync(build('src/foo.o'));
    rmSync(build('src/foo.ko'));
    await linkModule(join(proj, 'build/mods/foo.o'), ab.link);
    writeFileSync(join(proj, 'modules.order'), 'build/mods/foo.o\n');
    r = await report();
    expect(positions(r)['src/a.o']).toEqual(ab.positions['src/a.o']);
    expect(positions(r)['src/b.o']).toEqual(ab.positions['src/b.o']);
  });

  it('--linked-object: a .ko matched by its .modinfo name, vmlinux by being linked; a wrong one is refused', async () => {
    const [ab, ba] = expected.module;
    // In the tree, the a+b order; given, the b+a order, which wins.
    await linkModule(build('src/foo.o'), ab.link);
    await linkModule(join(scratch, 'foo-ba.o'), ba.link);
    mkdirSync(join(proj, 'elsewhere'));
    await linkKo(join(proj, 'elsewhere/any-name.ko'), join(scratch, 'foo-ba.o'));
    await linkVmlinux(join(proj, 'elsewhere/vmlinux-6.1'));
    const r = await report(['--linked-object', join(proj, 'elsewhere/any-name.ko'), '--linked-object', join(proj, 'elsewhere/vmlinux-6.1')]);
    expect(positions(r)).toEqual({ ...ba.positions, ...expected.vmlinux.positions });
    expect(r.warnings).toEqual([]);

    // A relocatable object for vmlinux cannot give address order: no position, a warning.
    renameSync(join(proj, 'elsewhere/vmlinux-6.1'), join(proj, 'elsewhere/vmlinux-linked'));
    await execa('ld', ['-r', '-o', join(proj, 'vmlinux'), ...expected.vmlinux.link.map(build)]);
    const relocatable = await report(['--linked-object', join(proj, 'elsewhere/any-name.ko')]);
    expect(positions(relocatable)['src/c.o']).toEqual(expected.without_linked_object.positions['src/c.o']);
    expect(relocatable.warnings).toHaveLength(1);
    expect(relocatable.warnings[0]).toContain(`${join(proj, 'vmlinux')} (relocatable`);

    const notLinked = await runCli(['compare', '--source-dir', proj, '--patch', patch, '--linked-object', join(proj, 'vmlinux')]);
    expect(notLinked.exitCode).toBe(2);
    expect(notLinked.stderr).toBe(`stackonly: ${join(proj, 'vmlinux')}: is relocatable: kallsyms counts vmlinux symbols in address order, which only the linked vmlinux has`);

    const missing = await runCli(['compare', '--source-dir', proj, '--patch', patch, '--linked-object', join(proj, 'nothing.ko')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^stackonly: .*nothing\.ko: /)]);
    const misplaced = await runCli(['compare', join(fixture, 'project/src/a.c'), join(fixture, 'project/src/b.c'), '--linked-object', build('src/foo.o')]);
    expect(misplaced.exitCode).toBe(2);
    expect(misplaced.stderr).toMatch(/^stackonly: --linked-object goes with --source-dir/);
  });
});


describe('which of the same-named symbols is the unit\'s (placeInLinked, on objects gcc and ld make here)', () => {
  let dir: string;
  beforeAll(() => {
    dir = join(scratch, 'rule');
    mkdirSync(dir);
  });

  /** Compiles `units` (relative path: source) in `dir`, each to its own .o. */
  async function compileUnits(units: Record<string, string>): Promise<void> {
    for (const [path, source] of Object.entries(units)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), source);
      await execa('gcc', ['-O2', '-c', '-o', join(dir, path.replace(/\.c$/, '.o')), path], { cwd: dir });
    }
  }

  async function link(output: string, objects: string[]): Promise<LinkedObject> {
    await execa('ld', ['-r', '-o', join(dir, output), ...objects.map((o) => join(dir, o))]);
    return readLinkedObject(join(dir, output));
  }

  /** The unit's symbol `name` as the comparison's unit object has it. */
  function unit(object: string, name: string): UnitSymbol {
    const elf = openObject(join(dir, object));
    const s = elf.symbols.find((x) => x.name === name && x.type === STT_FUNC)!;
    return { name, bind: s.bind, size: s.size, file: s.file, bytes: elf.sectionData(s.shndx).subarray(s.value, s.value + s.size) };
  }

  const helper = (body: string, attributes = '') => `${attributes} static int helper(int x) { ${body} }\nint (*const ptr_${Math.abs(hash(body + attributes))})(int) = helper;\n`;

  it('two units with one file name: told apart by size, then by code; identical code stays undecided', async () => {
    await compileUnits({
      'x/util.c': helper('return x * 3 + 1;'),
      'y/util.c': helper('return x * 5 + 1;'),
      'z/util.c': helper('for (int i = 0; i < x; i++) x ^= i * 7; return x;'),
      'w/util.c': helper('return x * 3 + 1;', '__attribute__((used))'),
    });
    const linked = await link('util-mod.o', ['x/util.o', 'y/util.o', 'z/util.o']);
    expect(linked.symbols.filter((s) => s.name === 'helper').map((s) => s.file)).toEqual(['util.c', 'util.c', 'util.c']);
    expect(placeInLinked(linked, unit('x/util.o', 'helper'), 'module')).toEqual({ sympos: 1, count: 3 });
    expect(placeInLinked(linked, unit('y/util.o', 'helper'), 'module')).toEqual({ sympos: 2, count: 3 });
    expect(placeInLinked(linked, unit('z/util.o', 'helper'), 'module')).toEqual({ sympos: 3, count: 3 });
    const twins = await link('twins.o', ['x/util.o', 'w/util.o']);
    const undecided = placeInLinked(twins, unit('x/util.o', 'helper'), 'module');
    expect(undecided.sympos).toBeUndefined();
    expect(undecided.problem).toMatch(/neither the file name nor the code tells apart/);
  });

  it('a global and a static of one name; a name in an init section; a linked object without the unit', async () => {
    await compileUnits({
      'g/global.c': 'int helper(int x) { return x + 11; }\n',
      'g/local.c': helper('return x * 9 + 2;'),
      'g/boot.c': helper('return x * 13 + 4;', '__attribute__((section(".init.text")))'),
      'g/other.c': helper('return x - 1;'),
    });
    const both = await link('both.o', ['g/local.o', 'g/global.o']);
    expect(placeInLinked(both, unit('g/global.o', 'helper'), 'module')).toEqual({ sympos: 2, count: 2 });
    expect(placeInLinked(both, unit('g/local.o', 'helper'), 'module')).toEqual({ sympos: 1, count: 2 });
    // After init the module's kallsyms has no .init.text symbol: unique. While it loads it has.
    const init = await link('init.o', ['g/boot.o', 'g/local.o']);
    const placed = placeInLinked(init, unit('g/local.o', 'helper'), 'module');
    expect(placed.sympos).toBe(0);
    expect(placed.problem).toMatch(/while the module loads/);
    // Not the unit's: the kernel would take the other unit's function for it.
    const foreign = placeInLinked(await link('foreign.o', ['g/other.o']), unit('g/local.o', 'helper'), 'module');
    expect(foreign.sympos).toBeUndefined();
    expect(foreign.problem).toMatch(/not the one of local\.c \(other\.c\)/);
  });
});

function hash(text: string): number {
  let h = 0;
  for (const c of text) h = (h * 31 + c.charCodeAt(0)) | 0;
  return h;
}
