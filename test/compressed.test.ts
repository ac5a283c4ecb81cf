/**
 * Compressed kernel modules (issue 12): `.ko.xz`, `.ko.zst` and `.ko.gz` are read wherever
 * a `.ko` is, as single inputs and in trees, where `foo.ko` and `foo.ko.xz` on the two sides
 * are one pair. The fixtures (testdata/compressed, made as its README says) are a
 * checked-in object compressed three ways; each must give the report the object gives.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compressionOf, decompressed, withoutCompressionSuffix } from '../src/elf/compressed.js';
import { InputError } from '../src/errors.js';
import { repoRoot, runCli } from './helpers/cli.js';

const fixtures = join(repoRoot, 'testdata', 'compressed');
const objects = join(repoRoot, 'testdata', 'objects', 'cold-lost');
const scratch = mkdtempSync(join(tmpdir(), 'stackonly-compressed-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const KINDS = [
  ['xz', 'xz'],
  ['zst', 'zstd'],
  ['gz', 'gzip'],
] as const;

/** The report's verdicts, without the file names it was given. */
function verdicts(report: { functions: unknown[]; stack_only: unknown; renames: unknown; line_shifts: unknown; warnings: unknown }) {
  return { functions: report.functions, stack_only: report.stack_only, renames: report.renames, line_shifts: report.line_shifts, warnings: report.warnings };
}

async function json(args: string[]) {
  const result = await runCli([...args, '--format', 'json']);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return JSON.parse(result.stdout);
}

describe('compressed modules', () => {
  it('recognises xz, zstd and gzip by their magic, and decompresses each to the object', () => {
    const plain = readFileSync(join(objects, 'patched.o'));
    for (const [ext, kind] of KINDS) {
      const bytes = readFileSync(join(fixtures, `patched.o.${ext}`));
      expect(compressionOf(bytes)).toBe(kind);
      expect(decompressed(bytes, `x.ko.${ext}`).equals(plain)).toBe(true);
    }
    expect(compressionOf(plain)).toBeUndefined();
    expect(decompressed(plain, 'x.o')).toBe(plain);
    expect(withoutCompressionSuffix('fs/ext4/ext4.ko.zst')).toBe('fs/ext4/ext4.ko');
  });

  it('compares a .ko against a .ko.xz, .ko.zst or .ko.gz as against the object itself', async () => {
    const original = join(scratch, 'drv.ko');
    copyFileSync(join(objects, 'original.o'), original);
    const plain = join(scratch, 'plain', 'drv.ko');
    mkdirSync(join(scratch, 'plain'));
    copyFileSync(join(objects, 'patched.o'), plain);
    const expected = verdicts(await json(['compare', original, plain]));
    expect(expected.functions.length).toBeGreaterThan(0);
    for (const [ext] of KINDS) {
      const compressed = join(scratch, `drv.ko.${ext}`);
      copyFileSync(join(fixtures, `patched.o.${ext}`), compressed);
      const report = await json(['compare', original, compressed]);
      expect(verdicts(report), ext).toEqual(expected);
      expect(report.object_name).toBe('drv');
      const inspected = await runCli(['inspect', compressed]);
      expect(inspected.exitCode, inspected.stderr).toBe(0);
    }
  });

  it('pairs foo.ko with foo.ko.xz in tree mode; where a directory has both, the .ko counts', async () => {
    const a = join(scratch, 'tree-a', 'drivers');
    const b = join(scratch, 'tree-b', 'drivers');
    mkdirSync(a, { recursive: true });
    mkdirSync(b, { recursive: true });
    copyFileSync(join(objects, 'original.o'), join(a, 'drv.ko'));
    copyFileSync(join(fixtures, 'patched.o.xz'), join(b, 'drv.ko.xz'));
    copyFileSync(join(objects, 'original.o'), join(a, 'same.ko'));
    copyFileSync(join(objects, 'original.o'), join(b, 'same.ko'));
    // Both forms on one side: the plain one (here the original's bytes) is the pair's.
    writeFileSync(join(b, 'same.ko.gz'), readFileSync(join(fixtures, 'patched.o.gz')));
    const tree = await json(['compare', join(scratch, 'tree-a'), join(scratch, 'tree-b')]);
    expect(tree.objects.map((o: { path: string; status: string; object_name: string }) => [o.path, o.status, o.object_name])).toEqual([
      ['drivers/drv.ko', 'changed', 'drv'],
      ['drivers/same.ko', 'identical', 'same'],
    ]);
    const single = await json(['compare', join(objects, 'original.o'), join(objects, 'patched.o')]);
    expect(tree.functions.map((f: { name: string }) => f.name)).toEqual(single.functions.map((f: { name: string }) => f.name));
  });

  it('a truncated .ko.xz is a one-line error naming the file, exit 2', async () => {
    const truncated = join(scratch, 'cut.ko.xz');
    writeFileSync(truncated, readFileSync(join(fixtures, 'patched.o.xz')).subarray(0, 200));
    const result = await runCli(['inspect', truncated]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^stackonly: ${truncated.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: corrupt xz data: [^\\n]+$`));
    expect(() => decompressed(readFileSync(truncated), truncated)).toThrow(InputError);
  });
});
