import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { lineTable } from '../src/elf/dwarf-lines.js';
import { openObject } from '../src/elf/open.js';
import { repoRoot } from './helpers/cli.js';

/*
 * The line-table reader against objdump -dl (binutils reads the same DWARF): at every
 * instruction where objdump names a new source line, ours gives that line, for objects
 * with and without -ffunction-sections and in DWARF 4 and 5.
 */

const work = mkdtempSync(join(tmpdir(), 'stackonly-dwarf-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SOURCES = ['testdata/compare/dwarf-line/orig.c', 'testdata/compare/upstream-example/orig.c', 'testdata/compare/line-argument-or-constant/orig.c'];
const BUILDS = [
  ['-O2', '-g', '-ffunction-sections'],
  ['-O2', '-g'],
  ['-O2', '-gdwarf-4', '-ffunction-sections'],
];

/** objdump's line markers: section name, offset in it, line. */
function objdumpLines(object: string): { section: string; offset: number; line: number }[] {
  const out = execFileSync('objdump', ['-dl', '--no-show-raw-insn', object], { encoding: 'utf8' });
  const rows: { section: string; offset: number; line: number }[] = [];
  let section = '';
  let pending: number | undefined;
  for (const text of out.split('\n')) {
    const s = /^Disassembly of section (\S+):/.exec(text);
    if (s) section = s[1];
    const l = /:(\d+)( \(discriminator \d+\))?$/.exec(text);
    if (l && !text.startsWith(' ')) pending = Number(l[1]);
    const insn = /^\s+([0-9a-f]+):\t/.exec(text);
    if (insn && pending !== undefined) {
      rows.push({ section, offset: Number.parseInt(insn[1], 16), line: pending });
      pending = undefined;
    }
  }
  return rows;
}

describe('DWARF line table', () => {
  for (const source of SOURCES) {
    for (const flags of BUILDS) {
      test(`${source} ${flags.join(' ')}`, () => {
        const object = join(work, `${source.replace(/\W/g, '_')}${flags.join('')}.o`);
        execFileSync('gcc', ['-c', ...flags, '-fno-pie', join(repoRoot, source), '-o', object]);
        const elf = openObject(object);
        const table = lineTable(elf);
        expect(table).toBeDefined();
        const expected = objdumpLines(object);
        expect(expected.length).toBeGreaterThan(3);
        for (const row of expected) {
          const section = elf.sections.find((s) => s.name === row.section)!;
          expect(table!.lineAt(section.index, row.offset), `${row.section}+0x${row.offset.toString(16)}`).toBe(row.line);
        }
      });
    }
  }

  test('an object without debug information has no table', () => {
    const object = join(work, 'plain.o');
    execFileSync('gcc', ['-c', '-O2', join(repoRoot, SOURCES[0]), '-o', object]);
    expect(lineTable(openObject(object))).toBeUndefined();
  });
});
