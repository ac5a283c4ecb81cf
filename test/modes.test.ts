import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompareReport, DifferenceJson, TreeReport } from '../src/report/types.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { expectValidReport } from './helpers/schema.js';

/**
 * One comparison in every mode: the same two builds compared as two objects, as two trees
 * (one and two worker threads) and, where there is a source, as two C files give the same
 * verdicts. The cases are the silent misses of earlier versions (testdata/modes).
 */
const modes = join(repoRoot, 'testdata', 'modes');
const lineShift = join(repoRoot, 'testdata', 'compare', 'bug-table-line-shift');
let scratch: string;

/** Builds `source` as `name` in a directory of its own, as one tree's rebuild would, into `out`. */
async function build(source: string, name: string, out: string, flags: string[] = []): Promise<void> {
  const dir = mkdtempSync(join(scratch, 'src-'));
  copyFileSync(source, join(dir, name));
  mkdirSync(join(out, '..'), { recursive: true });
  await execa('gcc', ['-O2', '-c', ...flags, name, '-o', out], { cwd: dir });
}

/** Two trees holding one object each, built from the two sources. */
async function pair(label: string, original: string, patched: string, name: string, object: string, flags: [string[], string[]] = [[], []]) {
  const dir = join(scratch, label);
  await build(original, name, join(dir, 'orig', object), flags[0]);
  await build(patched, name, join(dir, 'patched', object), flags[1]);
  return { dir, original: join(dir, 'orig', object), patched: join(dir, 'patched', object), originalTree: join(dir, 'orig'), patchedTree: join(dir, 'patched') };
}

async function compareJson(args: string[]): Promise<CompareReport> {
  const result = await runCli(['compare', ...args, '--format', 'json']);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  const report = JSON.parse(result.stdout);
  expectValidReport(report);
  return report;
}

/** The verdicts of a report, without the file names that differ between modes. */
function verdicts(report: Pick<CompareReport, 'functions' | 'stack_only' | 'line_shifts' | 'renames'>) {
  const strip = <T extends object>(items: T[]) => items.map((item) => Object.fromEntries(Object.entries(item).filter(([k]) => k !== 'object')));
  return {
    functions: strip(report.functions),
    stack_only: { enable: strip(report.stack_only.enable), disable: strip(report.stack_only.disable) },
    line_shifts: strip(report.line_shifts),
    renames: strip(report.renames),
  };
}

/** Object mode, then tree mode with one and two worker threads: the same verdicts. */
async function everyObjectMode(p: { original: string; patched: string; originalTree: string; patchedTree: string }): Promise<CompareReport> {
  const single = await compareJson([p.original, p.patched]);
  for (const jobs of ['1', '2']) {
    const tree = (await compareJson([p.originalTree, p.patchedTree, '-j', jobs])) as unknown as TreeReport;
    expect(verdicts(tree), `tree mode -j ${jobs}`).toEqual(verdicts(single));
  }
  return single;
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'stackonly-modes-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('one comparison in every mode', () => {
  it('WARN_ON -> WARN_ON_ONCE (only a __bug_table flags field differs) is a change in every mode', async () => {
    const dir = join(modes, 'warn-once');
    const p = await pair('warn-once', join(dir, 'orig.c'), join(dir, 'patched.c'), 'check.c', 'fs/check.o');
    const report = await everyObjectMode(p);
    expect(report.functions.map((f) => [f.name, f.status, f.reasons])).toEqual([['check_state', 'changed', ['special section']]]);
    const difference = report.functions[0].differences[0];
    expect(difference.kind).toBe('special-section');
    expect(difference.original!.value).toMatch(/^__bug_table: line \d+, flags 0x901 /);
    expect(difference.patched!.value).toMatch(/^__bug_table: line \d+, flags 0x903 /);
    // From the sources, too; and --exit-code says so.
    const fromSource = await runCli(['compare', join(dir, 'orig.c'), join(dir, 'patched.c'), '--exit-code']);
    expect(fromSource.exitCode).toBe(1);
    expect(fromSource.stdout).toMatch(/changed +check_state +special section/);
    const tree = await runCli(['compare', p.originalTree, p.patchedTree, '--exit-code']);
    expect(tree.exitCode).toBe(1);
  });

  it('reports line shifts in tree mode as in object mode, each with its evidence', async () => {
    const p = await pair('line-shift', join(lineShift, 'orig.c'), join(lineShift, 'patched.c'), 'orig.c', 'lib/lines.o', [['-ffunction-sections'], ['-ffunction-sections']]);
    const report = await everyObjectMode(p);
    expect(report.functions.map((f) => f.name)).toEqual(['check_b']);
    expect(report.line_shifts.map((l) => [l.name, l.shift, l.evidence])).toEqual([
      ['check_a', 2, ['bug_table']],
      ['check_c', 2, ['bug_table']],
    ]);
    for (const l of report.line_shifts) {
      expect(l.differences.length).toBe(1);
      expect(l.differences[0]).toMatchObject({ kind: 'special-section', evidence: 'bug_table' });
      expect((l.differences[0].patched!.value as number) - (l.differences[0].original!.value as number)).toBe(2);
    }
  });

  it('takes a constant that moved as far as the line numbers for a change, with its .cold part in both sets', async () => {
    const dir = join(modes, 'constant-with-lines');
    const p = await pair('constant', join(dir, 'orig.c'), join(dir, 'patched.c'), 'mode.c', 'drivers/mode.o');
    const objects = await everyObjectMode(p);
    const fromSource = await compareJson([join(dir, 'orig.c'), join(dir, 'patched.c')]);
    for (const report of [objects, fromSource]) {
      expect(report.functions.map((f) => [f.name, f.status, f.reasons, f.cold_mapping])).toEqual([['set_mode', 'changed', ['constant'], 'one-to-one']]);
      const entry = { name: 'set_mode.cold', owner: 'set_mode', reason: 'part' };
      expect(report.stack_only).toEqual({ enable: [entry], disable: [entry] });
      expect(report.line_shifts).toEqual([]);
      const constants = report.functions[0].differences.filter((d: DifferenceJson) => d.kind === 'constant' && !d.evidence);
      expect(constants.map((d) => [d.original!.value, d.patched!.value, d.original!.instruction, d.patched!.instruction])).toContainEqual([4, 5, 'mov $0x4,%esi', 'mov $0x5,%esi']);
    }
    // The objects' WARN sites moved by one line and are shown as such; the compiled sources' did not move.
    expect(objects.functions[0].differences.some((d) => d.evidence === 'bug_table')).toBe(true);
    expect(fromSource.functions[0].differences.some((d) => d.evidence !== undefined)).toBe(false);
    const text = await runCli(['compare', p.original, p.patched]);
    expect(text.stdout).toContain('set_mode+0x1d: mov $0x4,%esi -> mov $0x5,%esi');
  });

  it('reports a function it could not fully decode as changed unless its bytes and relocations are the same', async () => {
    const source = join(modes, 'undecodable', 'frob.S');
    const p = await pair('undecodable', source, source, 'frob.S', 'arch/frob.o', [[], ['-DADD_STRING']]);
    const report = await everyObjectMode(p);
    expect(report.functions.map((f) => [f.name, f.status, f.reasons ?? []])).toEqual([
      ['frob', 'changed', ['undecodable']],
      ['other', 'added', []],
    ]);
    expect(report.functions[0].differences[0]).toEqual({
      kind: 'undecodable',
      original: { symbol: 'frob', offset: 4, value: '1 undecodable byte(s): d6' },
      patched: { symbol: 'frob', offset: 4, value: '1 undecodable byte(s): d6' },
    });
    expect(report.warnings).toEqual([
      `original: ${p.original}: undecodable bytes in frob+0x4 (1 byte: d6): decoding resumed at frob+0x5`,
      `patched: ${p.patched}: undecodable bytes in frob+0x4 (1 byte: d6): decoding resumed at frob+0x5`,
    ]);
    // In tree mode the warnings name the tree's files, once.
    const tree = (await compareJson([p.originalTree, p.patchedTree])) as unknown as TreeReport;
    expect(tree.warnings).toEqual([
      `original: ${join(p.originalTree, 'arch/frob.o')}: undecodable bytes in frob+0x4 (1 byte: d6): decoding resumed at frob+0x5`,
      `patched: ${join(p.patchedTree, 'arch/frob.o')}: undecodable bytes in frob+0x4 (1 byte: d6): decoding resumed at frob+0x5`,
    ]);
    // Same bytes and relocations: not reported, though undecodable.
    const q = await pair('undecodable-same', source, source, 'frob.S', 'arch/frob.o', [[], ['-DCHANGE_SECOND']]);
    const same = await compareJson([q.original, q.patched]);
    expect(same.functions.map((f) => f.name)).toEqual(['second']);
  });

  it('calls literals that differ only by the kernel release build noise: no klp_func, no klp_object, no exit status 1', async () => {
    const source = join(modes, 'release-string', 'drv.c');
    const p = await pair('release', source, source, 'drv.c', 'drivers/net/drv.ko', [[], ['-DRELEASE="6.1.0-55-amd64"']]);
    const report = await everyObjectMode(p);
    expect(report.functions.map((f) => [f.name, f.status])).toEqual([
      ['drv_get_drvinfo', 'build_noise'],
      ['drv_info_show', 'build_noise'],
    ]);
    expect(report.build_stamps).toEqual([{ original: '6.1.0-54-amd64', patched: '6.1.0-55-amd64' }]);
    expect(report.functions[1].differences).toEqual([
      {
        kind: 'string',
        original: { symbol: 'drv_info_show', offset: 4, value: 'Example Driver: v6.1.0-54-amd64\n' },
        patched: { symbol: 'drv_info_show', offset: 4, value: 'Example Driver: v6.1.0-55-amd64\n' },
      },
    ]);
    expect(report.stack_only).toEqual({ enable: [], disable: [] });
    const tree = (await compareJson([p.originalTree, p.patchedTree])) as unknown as TreeReport;
    expect(tree.summary).toMatchObject({ changed: 0, build_noise: 1 });
    expect(tree.objects[0].status).toBe('build_noise');
    const exit = await runCli(['compare', p.originalTree, p.patchedTree, '--exit-code']);
    expect(exit.exitCode).toBe(0);
    expect(exit.stdout).toContain('build noise only: 1');
    expect(exit.stdout).toContain('build noise: 2 function(s) differ only in build stamps (6.1.0-54-amd64 -> 6.1.0-55-amd64); not patched:');
    const c = await runCli(['compare', p.originalTree, p.patchedTree, '--format', 'c']);
    expect(c.stdout).not.toContain('klp_func');
    expect(c.stdout).not.toContain('.name = "drv"');
  });

  it('takes the build stamps of objects without .modinfo from --build-stamp', async () => {
    const source = join(modes, 'release-string', 'drv.c');
    const p = await pair('stamp', source, source, 'drv.c', 'drv.o', [['-DRELEASE="6.1.0-54-amd64"'], ['-DRELEASE="6.1.0-55-amd64"']]);
    // Without .modinfo's vermagic (stripped from both), the release strings are changes...
    for (const object of [p.original, p.patched]) await execa('objcopy', ['--remove-section', '.modinfo', object]);
    const plain = await compareJson([p.original, p.patched]);
    expect(plain.functions.map((f) => [f.name, f.status, f.reasons])).toEqual([
      ['drv_get_drvinfo', 'changed', ['string literal']],
      ['drv_info_show', 'changed', ['string literal']],
    ]);
    // ...unless the option names them.
    const stamped = await compareJson([p.original, p.patched, '--build-stamp', '6.1.0-54-amd64=6.1.0-55-amd64']);
    expect(stamped.functions.map((f) => [f.name, f.status])).toEqual([
      ['drv_get_drvinfo', 'build_noise'],
      ['drv_info_show', 'build_noise'],
    ]);
    const bad = await runCli(['compare', p.original, p.patched, '--build-stamp', 'nothing']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^stackonly: --build-stamp takes OLD=NEW/);
  });
});
