/**
 * The project's habits, checked with the tests: the linter (Biome, with the small rule set
 * in biome.json: unused variables and imports, unreachable code, `==`, fallthrough,
 * `debugger`, console output outside the CLI, scripts and tests, `let` never reassigned)
 * and knip (unused files, exports, types and dependencies, configured in knip.json) find
 * nothing. `npm run lint` runs the same two.
 */
import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

describe('project hygiene', () => {
  it('biome lint finds nothing', async () => {
    const result = await execa(bin('biome'), ['lint', '--max-diagnostics=50'], { cwd: root, reject: false });
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('knip finds no unused file, export or dependency', async () => {
    const result = await execa(bin('knip'), ['--no-progress'], { cwd: root, reject: false });
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  }, 120_000);
});
