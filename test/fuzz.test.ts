/**
 * Hostile objects (issue 13): a short seeded run of the fuzzer (scripts/fuzz.mjs, on the
 * build in dist/) and every reproducer in testdata/fuzz/ replayed through inspect,
 * object-pair compare both ways and tree mode's pair comparison (a livepatch module's
 * through inspect and audit). Each case must end in a
 * result or a clean error (InputError/ElfError, one printable line) within the fuzzer's
 * time limit (5 s) and heap limit; a reproducer's .json may say which (`expect`).
 *
 * STACKONLY_FUZZ_SEED and STACKONLY_FUZZ_CASES pick another seed and length; long runs
 * (100,000 cases, kernel modules included) are `node scripts/fuzz.mjs --cases 100000`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';

const FUZZ = join(repoRoot, 'scripts', 'fuzz.mjs');
const REPRODUCERS = join(repoRoot, 'testdata', 'fuzz');
const SEED = process.env.STACKONLY_FUZZ_SEED ?? '13';
const CASES = process.env.STACKONLY_FUZZ_CASES ?? '3000';

const scratch = mkdtempSync(join(tmpdir(), 'stackonly-fuzz-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The JSON line the fuzzer prints last with --json. */
async function runFuzz(args: string[]): Promise<Record<string, unknown>> {
  const result = await execa('node', [FUZZ, '--json', '--quiet', ...args], { cwd: repoRoot, reject: false, stdin: 'ignore' });
  const last = String(result.stdout).trim().split('\n').pop() ?? '';
  if (!last.startsWith('{')) throw new Error(`the fuzzer printed no summary (exit ${result.exitCode}):\n${result.stderr}`);
  return JSON.parse(last) as Record<string, unknown>;
}

describe('fuzzer, short seeded run', () => {
  it(`seed ${SEED}, ${CASES} cases: no crash, hang or memory case`, async () => {
    // Kernel modules are left out: their number and timing vary by machine; the seed
    // objects are the checked-in ones and objects compiled now (cached by compiler version).
    const summary = await runFuzz(['--seed', SEED, '--cases', CASES, '--no-kernels', '--out', join(scratch, 'found')]);
    const { ok, error, crash, hang, memory, seconds, slowest } = summary as { ok: number; error: number; crash: number; hang: number; memory: number; seconds: number; slowest: { ms: number } };
    console.log(`fuzz seed ${SEED}: ${CASES} cases in ${seconds} s: ok ${ok}, clean error ${error}, crash ${crash}, hang ${hang}, memory ${memory}; slowest ${slowest.ms} ms`);
    expect({ crash, hang, memory, classes: summary.classes }).toEqual({ crash: 0, hang: 0, memory: 0, classes: [] });
    // Both kinds of ending must be common, or the mutations test little.
    expect(ok).toBeGreaterThan(Number(CASES) / 5);
    expect(error).toBeGreaterThan(Number(CASES) / 5);
  }, 110_000);
});

interface ReplayResult {
  file: string;
  op: string;
  side: string;
  outcome: string;
  ms: number;
  error?: string;
}

interface Expectation {
  outcome: 'ok' | 'error';
  message?: string;
}

const files = readdirSync(REPRODUCERS)
  .filter((f) => /\.(o|ko)(\.gz)?$/.test(f))
  .sort();

describe('fuzz reproducers (testdata/fuzz)', () => {
  let results: ReplayResult[] = [];
  beforeAll(async () => {
    const summary = await runFuzz(['--replay', REPRODUCERS]);
    results = summary.results as ReplayResult[];
  }, 110_000);

  it('there are some', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files)('%s ends cleanly in every mode', (file) => {
    const runs = results.filter((r) => r.file === `testdata/fuzz/${file}`);
    const meta = JSON.parse(readFileSync(join(REPRODUCERS, file.replace(/\.(o|ko)(\.gz)?$/, '.json')), 'utf8')) as { expect?: Expectation; op?: string };
    // inspect, and (the partner being checked in) compare and tree mode with each side mutated;
    // a livepatch module's, inspect and audit (against testdata/audit/originals).
    const modes = meta.op === 'audit' ? ['audit original', 'inspect original'] : ['compare original', 'compare patched', 'inspect original', 'tree original', 'tree patched'];
    expect(runs.map((r) => `${r.op} ${r.side}`).sort()).toEqual(modes);
    for (const run of runs) {
      const where = `${file} ${run.op} (${run.side} mutated): ${run.outcome} in ${run.ms} ms${run.error ? `: ${run.error}` : ''}`;
      expect(['ok', 'error'], where).toContain(run.outcome);
      if (meta.expect) expect(run.outcome, where).toBe(meta.expect.outcome);
      if (meta.expect?.message) expect(run.error, where).toMatch(new RegExp(meta.expect.message));
    }
  });
});
