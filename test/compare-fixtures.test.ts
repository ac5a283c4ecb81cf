import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';
import { expectValidReport } from './helpers/schema.js';
import type { CompareReport } from '../src/report/types.js';

/**
 * Every case under testdata/compare/ runs through the CLI; the JSON report must match the
 * hand-derived expectation next to the sources (expected.json).
 */
const casesDir = join(repoRoot, 'testdata', 'compare');
const cases = readdirSync(casesDir).filter((d) => existsSync(join(casesDir, d, 'expected.json'))).sort();
const scratch = mkdtempSync(join(tmpdir(), 'stackonly-fixtures-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface CaseFile {
  description: string;
  cflags?: string;
  objects?: { cflags: string };
}

interface Expected {
  functions: { name: string; status: string; original: { symbol: string; parts: string[] } | null; patched: { symbol: string; parts: string[] } | null; cold_mapping?: string; reasons_include?: string[] }[];
  stack_only: { enable: { name: string; owner: string; reason: string }[]; disable: { name: string; owner: string; reason: string }[] };
  renames?: { original: string; patched: string }[];
  /** Functions that differ only in line numbers, when the case is about them. */
  line_shifts?: { name: string; shift: number; evidence?: string[] }[];
  /** The report's warnings, exactly (default: none). */
  warnings?: string[];
}

/** Objects are built as `orig.c` on both sides, so __FILE__ and STT_FILE agree as in a real rebuild. */
async function buildObject(source: string, cflags: string, out: string): Promise<void> {
  const dir = join(out + '.d');
  mkdirSync(dir, { recursive: true });
  copyFileSync(source, join(dir, 'orig.c'));
  await execa('gcc', [...cflags.split(/\s+/).filter(Boolean), '-c', 'orig.c', '-o', out], { cwd: dir });
}

async function runCase(name: string): Promise<CompareReport> {
  const dir = join(casesDir, name);
  const spec = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as CaseFile;
  const hasPatch = existsSync(join(dir, 'fix.patch'));
  let args: string[];
  if (spec.objects) {
    const work = join(scratch, name);
    mkdirSync(work, { recursive: true });
    let patchedSource = join(dir, 'patched.c');
    if (hasPatch) {
      patchedSource = join(work, 'patched.c');
      await execa('patch', ['-s', '-o', patchedSource, join(dir, 'orig.c'), join(dir, 'fix.patch')]);
    }
    await buildObject(join(dir, 'orig.c'), spec.objects.cflags, join(work, 'orig.o'));
    await buildObject(patchedSource, spec.objects.cflags, join(work, 'patched.o'));
    args = ['compare', join(work, 'orig.o'), join(work, 'patched.o')];
  } else {
    args = hasPatch ? ['compare', join(dir, 'orig.c'), '--patch', join(dir, 'fix.patch')] : ['compare', join(dir, 'orig.c'), join(dir, 'patched.c')];
    if (spec.cflags) args.push('--cflags', spec.cflags);
  }
  const result = await runCli([...args, '--format', 'json'], { env: { CC: 'gcc', CFLAGS: '' } });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  const report = JSON.parse(result.stdout) as CompareReport;
  expectValidReport(report);
  return report;
}

const project = (e: { name: string; owner: string; reason: string }) => ({ name: e.name, owner: e.owner, reason: e.reason });

describe('compare fixtures (testdata/compare)', () => {
  it('has the cases the project promises', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  for (const name of cases) {
    it(name, async () => {
      const expected = JSON.parse(readFileSync(join(casesDir, name, 'expected.json'), 'utf8')) as Expected;
      const report = await runCase(name);
      const functions = report.functions.map((f) => ({
        name: f.name,
        status: f.status,
        original: f.original && { symbol: f.original.symbol, parts: f.original.parts },
        patched: f.patched && { symbol: f.patched.symbol, parts: f.patched.parts },
        ...(f.cold_mapping !== undefined ? { cold_mapping: f.cold_mapping } : {}),
      }));
      const expectedFunctions = expected.functions.map(({ reasons_include: _r, ...rest }) => rest);
      expect(functions).toEqual(expectedFunctions);
      for (const f of expected.functions) {
        if (!f.reasons_include) continue;
        const got = report.functions.find((g) => g.name === f.name);
        for (const reason of f.reasons_include) expect(got?.reasons, `${f.name} reasons`).toContain(reason);
      }
      expect(report.stack_only.enable.map(project)).toEqual(expected.stack_only.enable);
      expect(report.stack_only.disable.map(project)).toEqual(expected.stack_only.disable);
      if (expected.renames) {
        const renames = report.renames.map((r) => `${r.original} -> ${r.patched}`).sort();
        expect(renames).toEqual(expected.renames.map((r) => `${r.original} -> ${r.patched}`).sort());
      }
      if (expected.line_shifts) {
        const withEvidence = (l: { name: string; shift: number; evidence?: string[] }, evidence: boolean) => ({ name: l.name, shift: l.shift, ...(evidence ? { evidence: l.evidence } : {}) });
        expect(report.line_shifts.map((l, i) => withEvidence(l, expected.line_shifts![i]?.evidence !== undefined))).toEqual(expected.line_shifts);
      }
      // Every verdict shows its evidence: what differs in each changed family, and which
      // constants of each line-shifted function are lines and why.
      for (const f of report.functions) if (f.status === 'changed') expect(f.differences.length, `${f.name} differences`).toBeGreaterThan(0);
      for (const l of report.line_shifts) {
        expect(l.differences.length, `${l.name} differences`).toBeGreaterThan(0);
        for (const d of l.differences) expect(d.evidence, `${l.name} evidence`).toBeDefined();
      }
      expect(report.warnings).toEqual(expected.warnings ?? []);
    });
  }
});
