import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import type { CompareReport } from '../src/report/types.js';
import { cliPath, repoRoot } from './helpers/cli.js';
import { expectValidReport } from './helpers/schema.js';

/**
 * Full-report snapshots of checked-in objects (testdata/objects/<case>/): the CLI compares
 * `original.o` with `patched.o`, run from inside the case folder with relative paths, and
 * its whole output must equal the reviewed files beside them, byte for byte:
 *
 *   node dist/bin/stackonly.js compare original.o patched.o --format json   -> report.json
 *   node dist/bin/stackonly.js compare original.o patched.o                 -> report.txt
 *
 * The objects were compiled once, by the `build.sh` beside them; nothing here needs gcc,
 * so a change of the system compiler does not change what is tested. Exact comparison
 * covers everything in the report: the functions, reasons, cold mappings, differences,
 * stack-only sets, renames, line shifts and warnings.
 *
 * After an intended change of the output, rewrite the snapshots and review the diff:
 *
 *   npm run build && UPDATE_SNAPSHOTS=1 npx vitest run test/snapshots.test.ts
 *   git diff testdata/objects
 *
 * With UPDATE_SNAPSHOTS=1 the test writes the files instead of comparing (and passes).
 * The CLI is the built one (dist/): `npm test` builds it first.
 */

const objectsDir = join(repoRoot, 'testdata', 'objects');
const update = process.env.UPDATE_SNAPSHOTS === '1';
const cases = readdirSync(objectsDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

const formats = [
  { file: 'report.json', args: ['--format', 'json'] },
  { file: 'report.txt', args: [] as string[] },
];

/** The CLI's exact stdout (final newline kept), from inside the case folder. */
async function compare(dir: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const result = await execa('node', [cliPath, 'compare', 'original.o', 'patched.o', ...args], {
    cwd: dir,
    reject: false,
    stripFinalNewline: false,
    stdin: 'ignore',
    // Objects only: no compiler is run, whatever CC or CFLAGS the environment has.
    env: { CC: 'false', CFLAGS: '' },
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

describe('report snapshots of checked-in objects (testdata/objects)', () => {
  it('has the cases, each with its sources, build command, objects and snapshots', () => {
    expect(cases.length).toBeGreaterThanOrEqual(4);
    for (const name of cases) {
      for (const file of ['orig.c', 'patched.c', 'build.sh', 'original.o', 'patched.o', ...(update ? [] : formats.map((f) => f.file))]) {
        expect(existsSync(join(objectsDir, name, file)), `${name}/${file}`).toBe(true);
      }
    }
  });

  for (const name of cases) {
    describe(name, () => {
      const dir = join(objectsDir, name);
      for (const format of formats) {
        it(format.file, async () => {
          const result = await compare(dir, format.args);
          expect(result.stderr).toBe('');
          expect(result.exitCode).toBe(0);
          const snapshot = join(dir, format.file);
          if (update) {
            writeFileSync(snapshot, result.stdout);
            return;
          }
          expect(result.stdout).toBe(readFileSync(snapshot, 'utf8'));
        });
      }

      it('report.json is a valid report naming the objects by relative path', () => {
        const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as CompareReport;
        expectValidReport(report);
        expect(report.original).toBe('original.o');
        expect(report.patched).toBe('patched.o');
      });
    });
  }
});
