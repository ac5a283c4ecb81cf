import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { openObject } from '../src/elf/open.js';
import { buildModel } from '../src/model/build.js';
import type { ObjectModel } from '../src/model/types.js';
import { repoRoot } from './helpers/cli.js';

/**
 * A parent that enters its cold part only by taking the address of code in it (GCC's
 * computed goto: a table of label addresses, or `lea label(%rip)`) enters it all the same:
 * the part is attached with jump evidence, and no warning says the parent never jumps into it.
 */
const scratch = mkdtempSync(join(tmpdir(), 'stackonly-computed-goto-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function compile(source: string, name: string, flags: string[]): Promise<ObjectModel> {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(source, join(dir, 'orig.c'));
  await execa('gcc', [...flags, '-c', 'orig.c', '-o', 'orig.o'], { cwd: dir });
  return buildModel(openObject(join(dir, 'orig.o')));
}

function fn(model: ObjectModel, name: string) {
  const found = model.byName.get(name)?.[0];
  if (!found) throw new Error(`no function ${name}`);
  return found;
}

describe('computed goto into a cold part', () => {
  const fixture = join(repoRoot, 'testdata', 'compare', 'computed-goto-cold');
  for (const side of ['orig', 'patched']) {
    for (const flags of [['-O2', '-ffunction-sections', '-fdata-sections'], ['-O2']]) {
      it(`${side}.c ${flags.join(' ')}: the table of label addresses is dispatch entering dispatch.cold`, async () => {
        const model = await compile(join(fixture, `${side}.c`), `${side}${flags.length}`, flags);
        const dispatch = fn(model, 'dispatch');
        const cold = fn(model, 'dispatch.cold');
        // What makes the case: a data relocation to dispatch.cold's first byte, and no jmp/jcc
        // from dispatch to it (objdump -dr: `jmp *(%rax,%rdx,8)` through labels.0 only).
        const tableEntries = model.object.sections.flatMap((s) => {
          if (s.name.startsWith('.text') || s.name.startsWith('.rela')) return [];
          const table = model.object.relocationTable(s.index);
          const rows = [];
          for (let r = 0; r < table.count; r++) {
            const location = model.resolve({ kind: 'symbol', symbol: table.symbol[r], addend: table.addend[r] });
            if (location.kind === 'function') rows.push(`${location.fn.name}+${location.offset}`);
          }
          return rows;
        });
        expect(tableEntries).toContain('dispatch.cold+0');
        expect(dispatch.edges.filter((e) => e.target === cold)).toEqual([]);

        expect(model.warnings).toEqual([]);
        expect(cold.parent).toBe(dispatch);
        expect(cold.partEvidence).toEqual(flags.length > 1 ? ['jump', 'name', 'section'] : ['jump', 'name']);
        expect(dispatch.parts).toEqual([cold]);
      });
    }
  }

  it('a label address taken in code counts for the parent only', async () => {
    const object = join(scratch, 'label-address.o');
    await execa('gcc', ['-c', join(repoRoot, 'testdata', 'parts', 'label-address.S'), '-o', object]);
    const model = buildModel(openObject(object));
    // foo: lea .text.unlikely+0x1 (foo.cold+5, after its call) ; foo.cold: e8 call report; c3 ret
    expect(fn(model, 'foo.cold').parent).toBe(fn(model, 'foo'));
    expect(fn(model, 'foo.cold').partEvidence).toEqual(['jump', 'name']);
    // other takes bar.cold+0 and bar.cold+2; bar itself never enters bar.cold: still a part
    // by its name, and the disagreement is still reported.
    expect(fn(model, 'bar.cold').parent).toBe(fn(model, 'bar'));
    expect(fn(model, 'bar.cold').partEvidence).toEqual(['name']);
    expect(model.warnings).toEqual(['bar.cold: named as a part of bar, but bar never jumps into it']);
  });
});
