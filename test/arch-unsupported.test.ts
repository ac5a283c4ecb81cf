/**
 * An object of an architecture without a backend is an error in every mode: one line naming
 * the file and its architecture, exit status 2, no stack trace, nothing on stdout. The i386
 * and ppc64 objects are the checked-in ELF fixtures (testdata/elf, made by cross compilers);
 * the x86_64 ones are assembled here with the system's `as`, which needs no cross tools.
 */
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, type CliResult } from './helpers/cli.js';

const ARCHES = [
  { fixture: 'testdata/elf/i386-funcs-O2.o', arch: 'i386 (EM_386)' },
  { fixture: 'testdata/elf/ppc64-funcs-O2.o', arch: 'ppc64 (EM_PPC64)' },
] as const;

/** The whole of stderr (runCli, through execa, drops the final newline): one line. */
const message = (file: string, arch: string) => `stackonly: ${file}: no backend for architecture ${arch}; supported: x86_64`;

function expectNoBackend(result: CliResult, file: string, arch: string): void {
  expect(result.stderr).toBe(message(file, arch));
  expect(result.exitCode).toBe(2);
  expect(result.stdout).toBe('');
}

let scratch: string;

function copy(from: string, to: string): string {
  mkdirSync(join(to, '..'), { recursive: true });
  copyFileSync(join(repoRoot, from), to);
  return to;
}

/** Another build of the same object: the same code with a trailing byte, which readers ignore. */
function changedCopy(from: string, to: string): string {
  copy(from, to);
  appendFileSync(to, Buffer.from([0]));
  return to;
}

async function assemble(body: string, out: string, width: '--32' | '--64' = '--64'): Promise<string> {
  const source = `${out}.s`;
  writeFileSync(source, `\t.text\n\t.globl f\n\t.type f,@function\nf:\n${body}\t.size f,.-f\n`);
  await execa('as', [width, source, '-o', out]);
  return out;
}

let x86Original: string;
let x86Patched: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'stackonly-arch-'));
  x86Original = await assemble('\tret\n', join(scratch, 'x86-original.o'));
  x86Patched = await assemble('\tnop\n\tret\n', join(scratch, 'x86-patched.o'));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe.each(ARCHES)('$fixture', ({ fixture, arch }) => {
  const name = fixture.replace(/^.*\/|\.o$/g, '');

  it('compare A.o B.o: the same object twice, and two builds', async () => {
    expectNoBackend(await runCli(['compare', fixture, fixture]), fixture, arch);
    for (const format of ['text', 'json', 'c']) {
      expectNoBackend(await runCli(['compare', fixture, changedCopy(fixture, join(scratch, name, 'patched.o')), '--format', format]), fixture, arch);
    }
  });

  it('inspect A.o', async () => {
    expectNoBackend(await runCli(['inspect', fixture]), fixture, arch);
    expectNoBackend(await runCli(['inspect', fixture, '--format', 'json']), fixture, arch);
  });

  it('tree mode: an identical pair, a changed pair, several pairs, on one worker or two', async () => {
    const dir = join(scratch, name);
    const original = (path: string) => join(dir, path, 'original');
    const patched = (path: string) => join(dir, path, 'patched');
    // Identical: no pair is compared, and the tree has no architecture with a backend.
    copy(fixture, join(original('identical'), 'lib/a.o'));
    copy(fixture, join(patched('identical'), 'lib/a.o'));
    // Changed: the pair is compared and fails.
    copy(fixture, join(original('changed'), 'a.o'));
    changedCopy(fixture, join(patched('changed'), 'a.o'));
    // Both, and an object on one side only: the one line names the first object.
    copy(fixture, join(original('several'), 'a.o'));
    copy(fixture, join(patched('several'), 'a.o'));
    copy(fixture, join(original('several'), 'b.o'));
    changedCopy(fixture, join(patched('several'), 'b.o'));
    copy(fixture, join(patched('several'), 'c.o'));
    for (const [tree, first] of [
      ['identical', 'lib/a.o'],
      ['changed', 'a.o'],
      ['several', 'a.o'],
    ] as const) {
      for (const args of [['-j', '1'], ['-j', '2', '--format', 'json'], ['--format', 'c']]) {
        const result = await runCli(['compare', original(tree), patched(tree), ...args]);
        expectNoBackend(result, join(original(tree), first), arch);
      }
    }
  });
});

describe('objects of two architectures', () => {
  const [{ fixture, arch }] = ARCHES;

  it('a pair of an x86_64 and an i386 object, either way round, names the i386 one', async () => {
    expectNoBackend(await runCli(['compare', x86Original, fixture]), fixture, arch);
    expectNoBackend(await runCli(['compare', fixture, x86Original]), fixture, arch);
  });

  it('an i386 object assembled here is refused as the fixture is', async () => {
    const object = await assemble('\tret\n', join(scratch, 'as-i386.o'), '--32');
    expectNoBackend(await runCli(['inspect', object]), object, arch);
  });

  it("a tree of x86_64 objects with i386 ones: identical i386 pairs are identical, a changed one fails the run", async () => {
    const original = join(scratch, 'mixed', 'original');
    const patched = join(scratch, 'mixed', 'patched');
    mkdirSync(original, { recursive: true });
    mkdirSync(patched, { recursive: true });
    copyFileSync(x86Original, join(original, 'a.o'));
    copyFileSync(x86Patched, join(patched, 'a.o'));
    // A kernel build tree's vDSO objects are i386: the same bytes need no backend.
    copy(fixture, join(original, 'vdso32/b.o'));
    copy(fixture, join(patched, 'vdso32/b.o'));
    for (const jobs of ['1', '2']) {
      const result = await runCli(['compare', original, patched, '--format', 'json', '-j', jobs]);
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report.arch).toBe('x86_64');
      expect(report.objects.map((o: { path: string; status: string }) => `${o.path}:${o.status}`)).toEqual(['a.o:changed', 'vdso32/b.o:identical']);
    }
    copy(fixture, join(original, 'vdso32/c.o'));
    changedCopy(fixture, join(patched, 'vdso32/c.o'));
    for (const jobs of ['1', '2']) {
      const result = await runCli(['compare', original, patched, '--format', 'json', '-j', jobs]);
      expect(result.stderr).toBe(message(join(original, 'vdso32/c.o'), arch));
      expect(result.exitCode).toBe(2);
      const report = JSON.parse(result.stdout);
      expect(report.arch).toBe('x86_64');
      expect(report.summary).toMatchObject({ compared: 3, identical: 1, changed: 1, errors: 1 });
      expect(report.objects.map((o: { path: string; status: string }) => `${o.path}:${o.status}`)).toEqual(['a.o:changed', 'vdso32/b.o:identical', 'vdso32/c.o:error']);
    }
  });

  it("a tree of identical x86_64 pairs takes its arch from the objects' headers", async () => {
    const original = join(scratch, 'same', 'original');
    const patched = join(scratch, 'same', 'patched');
    mkdirSync(original, { recursive: true });
    mkdirSync(patched, { recursive: true });
    copyFileSync(x86Original, join(original, 'a.o'));
    copyFileSync(x86Original, join(patched, 'a.o'));
    const result = await runCli(['compare', original, patched, '--format', 'json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.arch).toBe('x86_64');
    expect(report.objects.map((o: { path: string; status: string; arch: string }) => `${o.path}:${o.status}:${o.arch}`)).toEqual(['a.o:identical:x86_64']);
  });
});
