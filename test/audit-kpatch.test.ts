import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';

/*
 * `audit` on the output of kpatch's own differ: create-diff-object, built from kpatch's
 * public source (make -C kpatch-build create-diff-object, with libelf-dev), run on a unit
 * pair compiled as kpatch-build compiles it (-ffunction-sections -fdata-sections, ftrace's
 * fentry). Its output object carries the real .kpatch.funcs. kpatch is not packaged for
 * Debian 12 and CI cannot reach GitHub, so the test runs where the binary is installed
 * or named by $KPATCH_CREATE_DIFF_OBJECT.
 */

const CDO = [process.env.KPATCH_CREATE_DIFF_OBJECT, '/usr/libexec/kpatch/create-diff-object', '/usr/local/libexec/kpatch/create-diff-object'].find((p) => p && existsSync(p));
const work = mkdtempSync(join(tmpdir(), 'stackonly-kpatch-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

if (!CDO) console.log("skipped: audit of kpatch's own output: create-diff-object not found (build it from kpatch's source and set KPATCH_CREATE_DIFF_OBJECT)");

describe.skipIf(!CDO)("audit of kpatch's create-diff-object output", () => {
  test('names the .cold part the kpatch module leaves unchecked', async () => {
    const flags = ['-c', '-O2', '-ffunction-sections', '-fdata-sections', '-pg', '-mfentry', '-mrecord-mcount', '-fno-pie', '-mcmodel=kernel'];
    const fixture = join(repoRoot, 'testdata', 'compare', 'upstream-example');
    for (const side of ['orig', 'patched']) {
      mkdirSync(join(work, side));
      // Both sides compiled as orig.c, as a rebuild names its unit.
      copyFileSync(join(fixture, `${side}.c`), join(work, side, 'orig.c'));
      execFileSync('gcc', [...flags, 'orig.c', '-o', 'orig.o'], { cwd: join(work, side) });
    }
    execFileSync('ld', ['-r', '-o', join(work, 'vmlinux.o'), join(work, 'orig', 'orig.o')]);
    writeFileSync(join(work, 'parent.symtab'), execFileSync('readelf', ['-s', '--wide', join(work, 'vmlinux.o')]));
    writeFileSync(join(work, 'Module.symvers'), '');
    execFileSync(CDO!, [join(work, 'orig', 'orig.o'), join(work, 'patched', 'orig.o'), 'vmlinux', join(work, 'parent.symtab'), join(work, 'Module.symvers'), 'kpatch_test', join(work, 'out.o')]);

    const json = await runCli(['audit', join(work, 'out.o'), '--original', join(work, 'vmlinux.o'), '--format', 'json']);
    expect(json.exitCode).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.format).toBe('kpatch');
    const text = JSON.stringify(report);
    expect(text).toContain('child_func.cold');
    const gated = await runCli(['audit', join(work, 'out.o'), '--original', join(work, 'vmlinux.o'), '--exit-code']);
    expect(gated.exitCode).toBe(1);
    expect(gated.stdout).toMatch(/child_func\.cold .*BLIND SPOT/);
  });
});
