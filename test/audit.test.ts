import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../src/audit/report.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { kernelModulesDir } from './helpers/kernels.js';

/*
 * `stackonly audit` on livepatch modules compiled here: hand-made in each format with gcc -c
 * (testdata/audit/<case>/livepatch.c, expectations in expected.json beside it), and a real
 * one built with kbuild against Debian's kernel headers for a module of Debian's kernel.
 */

const fixtures = join(repoRoot, 'testdata', 'audit');
const scratch = mkdtempSync(join(tmpdir(), 'stackonly-audit-'));
const originals = join(scratch, 'originals');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Expected {
  originals?: string[];
  format: string;
  exit_code: number;
  summary: AuditReport['summary'];
  objects: Record<
    string,
    {
      functions: { old_name: string; old_sympos: number; status: string; blind_spots: string[]; candidates?: number[]; new_blind_spots: string[] | null }[];
      stack_only: { old_name: string | null; new_name: string | null; new_func?: string; status: string | null; new_status: string | null }[];
    }
  >;
}

const escaped = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const gcc = (source: string, output: string) => execa('gcc', ['-O2', '-c', source, '-o', output]);

/** The report reduced to what expected.json states. */
function verdicts(report: AuditReport): Expected['objects'] {
  return Object.fromEntries(
    report.objects.map((o) => [
      o.name,
      {
        functions: o.functions.map((f) => ({
          old_name: f.old_name,
          old_sympos: f.old_sympos,
          status: f.status,
          blind_spots: f.blind_spots.map((b) => b.name),
          ...(f.candidates ? { candidates: f.candidates.map((c) => c.sympos) } : {}),
          new_blind_spots: f.new_code ? f.new_code.blind_spots.map((b) => b.name) : null,
        })),
        stack_only: o.stack_only.map((s) => ({ old_name: s.old_name, new_name: s.new_name, ...(s.new_func ? { new_func: s.new_func } : {}), status: s.status, new_status: s.new_status })),
      },
    ]),
  );
}

beforeAll(async () => {
  // testdata/audit/originals/README.md: the original objects every fixture is checked against.
  const src = join(fixtures, 'originals');
  mkdirSync(originals);
  await gcc(join(src, 'orig.c'), join(originals, 'orig_mod.ko'));
  await gcc(join(src, 'dup_a.c'), join(scratch, 'dup_a.o'));
  await gcc(join(src, 'dup_b.c'), join(scratch, 'dup_b.o'));
  await execa('ld', ['-r', join(scratch, 'dup_a.o'), join(scratch, 'dup_b.o'), '-o', join(originals, 'dup_mod.ko')]);
  await gcc(join(src, 'vmlinux.c'), join(originals, 'vmlinux'));
});

const cases = readdirSync(fixtures).filter((name) => existsSync(join(fixtures, name, 'expected.json')));

describe('hand-made livepatch modules in each format', () => {
  it.each(cases)('%s', async (name) => {
    const expected = JSON.parse(readFileSync(join(fixtures, name, 'expected.json'), 'utf8')) as Expected;
    const module = join(scratch, `${name}.ko`);
    await gcc(join(fixtures, name, 'livepatch.c'), module);
    const given = expected.originals?.map((f) => join(originals, f)) ?? [originals];

    const json = await runCli(['audit', module, '--original', ...given, '--format', 'json', '--exit-code']);
    expect(json.stderr).toBe('');
    expect(json.exitCode).toBe(expected.exit_code);
    const report = JSON.parse(json.stdout) as AuditReport;
    expect(report.schema_version).toBe(1);
    expect(report.format).toBe(expected.format);
    expect(report.summary).toEqual(expected.summary);
    expect(verdicts(report)).toEqual(expected.objects);

    // The text report names every blind spot and position error, and exits the same way.
    const text = await runCli(['audit', module, '--original', ...given, '--exit-code']);
    expect(text.exitCode).toBe(expected.exit_code);
    for (const o of report.objects) {
      for (const f of o.functions) {
        for (const b of f.blind_spots) expect(text.stdout).toMatch(new RegExp(`(?:^|\\n) +(?:part +|tail call )${escaped(b.name)} .*BLIND SPOT: no klp_func`));
        for (const b of f.new_code?.blind_spots ?? []) expect(text.stdout).toMatch(new RegExp(`new (?:part +|tail call )${escaped(b.name)} .*BLIND SPOT when disabling`));
        if (f.message && f.status !== 'part') expect(text.stdout).toContain(f.message);
      }
      for (const s of o.stack_only) if (s.new_message) expect(text.stdout).toContain(s.new_message);
    }
    // Without --exit-code, findings are not failures.
    expect((await runCli(['audit', module, '--original', ...given])).exitCode).toBe(0);

    // Without the arrays' symbols (their sizes), the upstream reader finds the strides from
    // the pointers: the same verdicts.
    if (expected.format === 'upstream') {
      const stripped = join(scratch, `${name}-nosym.ko`);
      await execa('objcopy', [...['funcs', 'objs', 'dup_funcs', 'vmlinux_funcs'].map((s) => `--strip-symbol=${s}`), module, stripped]);
      const again = await runCli(['audit', stripped, '--original', ...given, '--format', 'json', '--exit-code']);
      expect(again.exitCode).toBe(expected.exit_code);
      expect(verdicts(JSON.parse(again.stdout) as AuditReport)).toEqual(expected.objects);
    }
  });

  it('-o writes the report to a file', async () => {
    const module = join(scratch, 'out-kpatch.ko');
    await gcc(join(fixtures, 'kpatch-tail-call', 'livepatch.c'), module);
    const out = join(scratch, 'audit.json');
    const result = await runCli(['audit', module, '--original', originals, '--format', 'json', '-o', out]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('');
    expect((JSON.parse(readFileSync(out, 'utf8')) as AuditReport).livepatch).toBe(module);
  });
});

describe('bad input: one line, exit 2', () => {
  const expectError = (result: { exitCode: number; stderr: string }, pattern: RegExp) => {
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(pattern);
  };

  it("an array symbol whose size runs past its section is not believed (found by fuzzing: it was a crash after 40 s)", async () => {
    const module = join(scratch, 'huge-size.ko');
    await gcc(join(fixtures, 'upstream-stack-only', 'livepatch.c'), module);
    // st_size of the `funcs` symbol (Elf64_Sym: 24 bytes, st_size at +16) set to 2^40.
    const sections = (await execa('readelf', ['-SW', module])).stdout;
    const symtab = /\.symtab\s+SYMTAB\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(sections);
    const index = /^\s*(\d+):.* funcs$/m.exec((await execa('readelf', ['-sW', module])).stdout);
    expect(symtab && index).toBeTruthy();
    const bytes = readFileSync(module);
    bytes.writeBigUInt64LE(1n << 40n, Number.parseInt(symtab![1], 16) + Number(index![1]) * 24 + 16);
    writeFileSync(module, bytes);
    expect((await execa('readelf', ['-sW', module])).stdout).toMatch(/(?:1099511627776|0x10000000000) OBJECT .* funcs$/m);
    // The stride is then found from the entries' pointers, as without the symbol.
    const result = await runCli(['audit', module, '--original', originals, '--format', 'json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect((JSON.parse(result.stdout) as AuditReport).objects[0].functions.map((f) => f.old_name)).toEqual(['child_func', 'tail_parent']);
  });

  it('a file that is not ELF', async () => {
    const text = join(scratch, 'notes.ko');
    writeFileSync(text, 'not a module\n');
    expectError(await runCli(['audit', text, '--original', originals]), /notes\.ko: not an ELF file/);
  });

  it('a module that is not a livepatch', async () => {
    expectError(await runCli(['audit', join(originals, 'orig_mod.ko'), '--original', originals]), /orig_mod\.ko: is not a livepatch module/);
  });

  it('no original for an object: the object is named', async () => {
    const module = join(scratch, 'no-original.ko');
    await gcc(join(fixtures, 'kpatch-tail-call', 'livepatch.c'), module);
    expectError(await runCli(['audit', module, '--original', join(originals, 'dup_mod.ko')]), /no original object for klp_object orig_mod/);
  });
});

/**
 * A Debian kernel whose modules scripts/fetch-kernel-modules.sh fetched and whose headers
 * (linux-headers-VERSION-amd64, which .ci/run installs) are here; undefined otherwise.
 */
function debianKernel(): { headers: string; modules: string } | string {
  const reasons: string[] = [];
  if (!['/usr/bin/make', '/bin/make', '/usr/local/bin/make'].some((m) => existsSync(m))) return 'no make';
  for (const version of ['6.1.0-55', '6.1.0-54']) {
    const headers = `/usr/src/linux-headers-${version}-amd64`;
    const modules = kernelModulesDir(version);
    if (!existsSync(join(headers, 'Makefile'))) reasons.push(`no ${headers}`);
    else if (!modules) reasons.push(`no cached modules of ${version} (scripts/fetch-kernel-modules.sh)`);
    else return { headers, modules };
  }
  return reasons.join('; ');
}

describe('a livepatch module built with kbuild against Debian 6.1', () => {
  const kernel = debianKernel();
  if (typeof kernel === 'string') console.log(`skipping the kbuild audit test: ${kernel}`);
  const built = join(scratch, 'kbuild');
  let coldParts: string[] = [];

  beforeAll(async () => {
    if (typeof kernel === 'string') return;
    cpSync(join(fixtures, 'kbuild-xt-state'), built, { recursive: true });
    await execa('make', ['-s', '-C', kernel.headers, `M=${built}`, 'modules'], { timeout: 300_000 });
    // The parts Debian's gcc split off state_mt_check, as the module's symbol table has them.
    const { stdout } = await execa('readelf', ['-sW', join(kernel.modules, 'net', 'netfilter', 'xt_state.ko')]);
    coldParts = stdout.split('\n').map((line) => line.trim().split(/\s+/)[7] ?? '').filter((n) => /^state_mt_check\.cold(?:\.\d+)?$/.test(n));
  }, 400_000);

  it.skipIf(typeof kernel === 'string')('names the .cold part a blind spot and exits 1', async () => {
    const { modules } = kernel as { modules: string };
    expect(coldParts.length).toBeGreaterThan(0);
    const result = await runCli(['audit', join(built, 'livepatch-blind.ko'), '--original', modules, '--format', 'json', '--exit-code']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout) as AuditReport;
    expect(report.format).toBe('upstream');
    expect(report.objects.map((o) => o.name)).toEqual(['xt_state']);
    const [fn] = report.objects[0].functions;
    expect(fn.old_name).toBe('state_mt_check');
    expect(fn.new_func).toBe('livepatch_state_mt_check');
    expect(fn.blind_spots.map((b) => b.name).sort()).toEqual(coldParts.sort());
    expect(fn.blind_spots.every((b) => b.reason === 'part' && b.via === 'state_mt_check')).toBe(true);
  });

  it.skipIf(typeof kernel === 'string')('a livepatch whose klp_funcs cover the part exits 0', async () => {
    const { modules } = kernel as { modules: string };
    const result = await runCli(['audit', join(built, 'livepatch-covered.ko'), '--original', modules, '--exit-code']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    for (const part of coldParts) expect(result.stdout).toMatch(new RegExp(`part +${part.replace(/\./g, '\\.')} \\(of state_mt_check\\): covered by its own klp_func`));
    expect(result.stdout).toContain('0 blind spots, 0 position errors');
  });

  it.skipIf(typeof kernel === 'string')("the disable direction: the livepatch's own .cold part, named by nothing, is a blind spot", async () => {
    const { modules } = kernel as { modules: string };
    const module = join(built, 'livepatch-new-cold.ko');
    // The parts gcc split off the replacement in this build, from the module's symbol table.
    const { stdout: symbols } = await execa('readelf', ['-sW', module]);
    const newParts = symbols.split('\n').map((line) => line.trim().split(/\s+/)[7] ?? '').filter((n) => /^livepatch_state_mt_check\.cold(?:\.\d+)?$/.test(n));
    expect(newParts.length).toBeGreaterThan(0);
    const result = await runCli(['audit', module, '--original', modules, '--format', 'json', '--exit-code']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout) as AuditReport;
    const fn = report.objects[0].functions.find((f) => f.old_name === 'state_mt_check')!;
    // The original's parts are covered (by klp_funcs of their own): the enable direction is clean.
    expect(fn.blind_spots).toEqual([]);
    expect(fn.status).toBe('blind_spots');
    expect(fn.new_code!.blind_spots.map((b) => b.name).sort()).toEqual(newParts.sort());
    expect(fn.new_code!.blind_spots.every((b) => b.reason === 'part' && b.via === 'livepatch_state_mt_check')).toBe(true);
    expect(report.summary.blind_spots).toBe(newParts.length);
    const text = await runCli(['audit', module, '--original', modules]);
    for (const part of newParts) expect(text.stdout).toMatch(new RegExp(`new part +${escaped(part)} \\(of livepatch_state_mt_check\\): BLIND SPOT when disabling`));
  });

  it.skipIf(typeof kernel === 'string')('a livepatch of a function gcc did not split exits 0', async () => {
    const { modules } = kernel as { modules: string };
    const result = await runCli(['audit', join(built, 'livepatch-unsplit.ko'), '--original', modules, '--format', 'json', '--exit-code']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as AuditReport;
    const [fn] = report.objects[0].functions;
    expect(fn.old_name).toBe('state_mt_destroy');
    expect(fn.blind_spots).toEqual([]);
  });
});
