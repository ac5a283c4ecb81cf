import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { compare, compareObjects, modelObject } from '../src/api.js';
import { normalizeName } from '../src/compare/match.js';
import { STT_NOTYPE } from '../src/elf/types.js';
import type { CompareReport } from '../src/report/types.js';
import { CLANG, LLD, PROFDATA, skipWithoutClang } from './helpers/clang.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { expectValidReport } from './helpers/schema.js';

/**
 * clang's split functions (testdata/clang/<case>/, each described in its case.json): real
 * clang 19 output, compared with the expectation beside the sources and, where the case
 * names gcc flags, with what gcc makes of the same sources.
 *
 * - `clang`: the tool compiles orig.c and orig.c + fix.patch itself with `--cc clang-19`
 *   and the case's flags (`@CASE@` is the case's directory, `@PROFILE@` the profile that
 *   the test makes first from `profile`: built with -fprofile-instr-generate, run, merged
 *   with llvm-profdata);
 * - `gcc`: the same sources compiled by gcc must give the same changed functions, cold
 *   mappings and sets, up to the parts' names (`foo.cold` where clang has `foo.__part.N`);
 * - `thinlto`: the units are built as the kernel builds with ThinLTO (-flto=thin, then
 *   ld.lld -r), the original and the patched ones, and the objects compared; `.llvm.<hash>`
 *   is written `.llvm.N` in expected.json.
 */

const casesDir = join(repoRoot, 'testdata', 'clang');
const cases = readdirSync(casesDir).filter((d) => existsSync(join(casesDir, d, 'expected.json'))).sort();
const scratch = mkdtempSync(join(tmpdir(), 'stackonly-clang-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface CaseFile {
  description: string;
  clang?: { cflags: string; profile?: string[] };
  gcc?: { cflags: string };
  thinlto?: { cflags: string; units: string[] };
}

interface Entry {
  name: string;
  owner: string;
  reason: string;
}

interface Expected {
  functions: { name: string; status: string; original: { symbol: string; parts: string[] } | null; patched: { symbol: string; parts: string[] } | null; cold_mapping?: string; reasons_include?: string[] }[];
  stack_only: { enable: Entry[]; disable: Entry[] };
  renames: { original: string; patched: string }[];
}

const readCase = (name: string) => JSON.parse(readFileSync(join(casesDir, name, 'case.json'), 'utf8')) as CaseFile;

/** The instrumentation profile of a training run of `sources` (in the case directory). */
async function makeProfile(dir: string, sources: string[], work: string): Promise<string> {
  const program = join(work, 'train');
  await execa(CLANG, ['-O2', '-fprofile-instr-generate', ...sources, '-o', program], { cwd: dir });
  await execa(program, [], { env: { LLVM_PROFILE_FILE: join(work, 'train.profraw') } });
  const profile = join(work, 'train.profdata');
  await execa(PROFDATA, ['merge', '-o', profile, join(work, 'train.profraw')]);
  return profile;
}

/** orig.c against orig.c + fix.patch, compiled by the tool with `cc`. */
async function compareSources(dir: string, cc: string, cflags: string, keepObjects: string): Promise<CompareReport> {
  const result = await compare({ original: join(dir, 'orig.c'), patch: join(dir, 'fix.patch'), cc, cflags, keepObjects });
  expectValidReport(result.report);
  return result.report;
}

/** The original and the patched units linked as ThinLTO links them, then compared. */
async function compareThinLto(dir: string, spec: NonNullable<CaseFile['thinlto']>, work: string): Promise<CompareReport> {
  const objects: string[] = [];
  for (const side of ['original', 'patched']) {
    const build = join(work, side);
    mkdirSync(build, { recursive: true });
    for (const unit of spec.units) copyFileSync(join(dir, unit), join(build, unit));
    if (side === 'patched') await execa('patch', ['-s', '-p1', '-i', join(dir, 'fix.patch')], { cwd: build });
    const bitcode: string[] = [];
    for (const unit of spec.units) {
      const out = unit.replace(/\.c$/, '.bc');
      await execa(CLANG, [...spec.cflags.split(/\s+/), '-c', unit, '-o', out], { cwd: build });
      bitcode.push(out);
    }
    await execa(LLD, ['-r', ...bitcode, '-o', 'linked.o'], { cwd: build });
    objects.push(join(build, 'linked.o'));
  }
  const report = compareObjects(objects[0], objects[1]).report;
  expectValidReport(report);
  return report;
}

const LLVM_HASH = /\.llvm\.\d+/g;
const hashless = (name: string) => name.replace(LLVM_HASH, '.llvm.N');

/** The report as expected.json writes it (ThinLTO's hashes as `.llvm.N`). */
function project(report: CompareReport) {
  return {
    functions: report.functions.map((f) => ({
      name: hashless(f.name),
      status: f.status,
      original: f.original && { symbol: hashless(f.original.symbol), parts: f.original.parts.map(hashless) },
      patched: f.patched && { symbol: hashless(f.patched.symbol), parts: f.patched.parts.map(hashless) },
      ...(f.cold_mapping !== undefined ? { cold_mapping: f.cold_mapping } : {}),
    })),
    stack_only: {
      enable: report.stack_only.enable.map((e) => ({ name: hashless(e.name), owner: hashless(e.owner), reason: e.reason })),
      disable: report.stack_only.disable.map((e) => ({ name: hashless(e.name), owner: hashless(e.owner), reason: e.reason })),
    },
    renames: report.renames.map((r) => ({ original: hashless(r.original), patched: hashless(r.patched) })).sort((a, b) => (a.original < b.original ? -1 : 1)),
  };
}

function expectReport(report: CompareReport, expected: Expected): void {
  expect(project(report)).toEqual({ ...expected, functions: expected.functions.map(({ reasons_include: _r, ...rest }) => rest) });
  for (const f of expected.functions) {
    const got = report.functions.find((g) => hashless(g.name) === f.name);
    for (const reason of f.reasons_include ?? []) expect(got?.reasons, `${f.name} reasons`).toContain(reason);
  }
  for (const f of report.functions) if (f.status === 'changed') expect(f.differences.length, `${f.name} differences`).toBeGreaterThan(0);
  expect(report.warnings).toEqual([]);
}

/**
 * The parts in the kept objects are clang's: sized STT_NOTYPE symbols, each attached to its
 * parent by its name and by a jump into it, in the part section clang gives it, no warning.
 */
function expectClangParts(objects: string): void {
  for (const file of readdirSync(objects)) {
    const model = modelObject(join(objects, file));
    expect(model.warnings, file).toEqual([]);
    const parts = model.functions.filter((fn) => fn.parent);
    expect(parts.length, file).toBeGreaterThan(0);
    for (const part of parts) {
      expect(part.symbol.type, part.name).toBe(STT_NOTYPE);
      expect(part.size, part.name).toBeGreaterThan(0);
      expect(part.partEvidence, part.name).toEqual(['jump', 'name', 'section']);
      if (part.name.endsWith('.cold')) expect(part.sectionName).toBe(`.text.split.${part.parent!.name}`);
      else expect([part.sectionName, part.section !== part.parent!.section]).toEqual([part.parent!.sectionName, true]);
    }
  }
}

/** Set entries as {owner, reason}, once each: what gcc and clang must agree on whatever the parts are called. */
const roles = (entries: Entry[]) => [...new Set(entries.map((e) => `${e.owner} ${e.reason}`))].sort();

function expectSameAsGcc(clang: CompareReport, gcc: CompareReport): void {
  const verdict = (r: CompareReport) => r.functions.map((f) => ({ name: f.name, status: f.status, cold_mapping: f.cold_mapping, parts: (f.original?.parts.length ?? 0) > 0 }));
  expect(verdict(clang)).toEqual(verdict(gcc));
  for (const set of ['enable', 'disable'] as const) {
    expect(roles(clang.stack_only[set]), set).toEqual(roles(gcc.stack_only[set]));
    // Each of clang's part entries is a part of the family it is listed for.
    for (const e of clang.stack_only[set].filter((x) => x.reason === 'part')) {
      const family = clang.functions.find((f) => f.name === e.owner);
      expect([...(family?.original?.parts ?? []), ...(family?.patched?.parts ?? [])], e.name).toContain(e.name);
    }
  }
  // Where clang names its part as gcc does, the sets are the same to the letter.
  const names = (r: CompareReport) => r.functions.flatMap((f) => [...(f.original?.parts ?? []), ...(f.patched?.parts ?? [])]);
  if (names(clang).every((n) => n.endsWith('.cold'))) expect(clang.stack_only).toEqual(gcc.stack_only);
}

describe('clang 19 split functions (testdata/clang)', () => {
  it('has the cases: machine-function splitting, basic-block sections (clusters and all), ThinLTO', () => {
    expect(cases).toEqual(['basic-block-sections', 'basic-block-sections-all', 'split-machine-functions', 'thinlto-renamed']);
  });

  for (const name of cases) {
    it(name, async (context) => {
      skipWithoutClang(context);
      const dir = join(casesDir, name);
      const spec = readCase(name);
      const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
      const work = join(scratch, name);
      mkdirSync(work, { recursive: true });

      if (spec.thinlto) {
        const report = await compareThinLto(dir, spec.thinlto, work);
        expectReport(report, expected);
        // The hashes really changed: these are renames, matched across the builds.
        for (const r of report.renames) expect(r.original, 'a renamed .llvm. local').not.toBe(r.patched);
        return;
      }

      const clang = spec.clang!;
      let cflags = clang.cflags.replaceAll('@CASE@', dir);
      if (clang.profile) cflags = cflags.replaceAll('@PROFILE@', await makeProfile(dir, clang.profile, work));
      const report = await compareSources(dir, CLANG, cflags, join(work, 'clang'));
      expectReport(report, expected);
      expectClangParts(join(work, 'clang'));

      if (spec.gcc) expectSameAsGcc(report, await compareSources(dir, 'gcc', spec.gcc.cflags, join(work, 'gcc')));
    });
  }

  it('CC=clang-19 compiles as with gcc (the CLI, as a user runs it)', async (context) => {
    skipWithoutClang(context);
    const dir = join(casesDir, 'split-machine-functions');
    const work = join(scratch, 'cli');
    mkdirSync(work, { recursive: true });
    const profile = await makeProfile(dir, readCase('split-machine-functions').clang!.profile!, work);
    const cflags = `-O2 -fprofile-instr-use=${profile} -fsplit-machine-functions`;
    const result = await runCli(['compare', join(dir, 'orig.c'), '--patch', join(dir, 'fix.patch'), '--format', 'json'], { env: { CC: CLANG, CFLAGS: cflags } });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as CompareReport;
    expect(report.functions.map((f) => [f.name, f.status, f.original?.parts])).toEqual([['child_function', 'changed', ['child_function.cold']]]);
    expect(report.stack_only.enable.map((e) => e.name)).toEqual(['child_function.cold']);
  });
});

describe('ThinLTO names', () => {
  it('the .llvm.<hash> of a promoted local is a compiler number like .constprop.N', () => {
    expect(normalizeName('helper.llvm.5726997165887094242')).toBe('helper.llvm.N');
    expect(normalizeName('helper.llvm.5726997165887094242.cold')).toBe('helper.llvm.N.cold');
    expect(normalizeName('child_function.__part.3')).toBe('child_function.__part.N');
  });
});
