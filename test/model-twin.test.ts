import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { SectionCode } from '../src/arch/backend.js';
import { openObject } from '../src/elf/open.js';
import { buildModel } from '../src/model/build.js';
import type { ObjectModel } from '../src/model/types.js';
import { repoRoot } from './helpers/cli.js';
import { kernelModulesDir } from './helpers/kernels.js';

/**
 * A patched build is modelled with the original as its twin: code ranges whose bytes are
 * the same in both are not decoded again but copied. The result must be exactly what
 * decoding gives, reference for reference.
 */
function columns(code: SectionCode) {
  const rows: string[] = [];
  for (let i = 0; i < code.count; i++) {
    rows.push([code.insnOffset[i], code.fieldOffset[i], code.fieldSize[i], code.kind[i], code.conditional[i], code.symbol[i], code.value[i], code.relocationType[i]].join(' '));
  }
  return rows;
}

/** Asserts the two models have the same references; returns how many, and how many instructions each decoded. */
function expectSameReferences(decoded: ObjectModel, copied: ObjectModel): { references: number; decodedAlone: number; decodedWithTwin: number } {
  expect([...copied.code.keys()]).toEqual([...decoded.code.keys()]);
  let references = 0;
  let decodedAlone = 0;
  let decodedWithTwin = 0;
  for (const [section, code] of decoded.code) {
    expect(columns(copied.code.get(section)!), decoded.object.sections[section].name).toEqual(columns(code));
    expect(copied.code.get(section)!.undecodable, decoded.object.sections[section].name).toEqual(code.undecodable);
    references += code.count;
    decodedAlone += code.instructionCount;
    decodedWithTwin += copied.code.get(section)!.instructionCount;
  }
  // Same functions, same reference ranges.
  expect(copied.functions.map((fn) => [fn.name, fn.firstReference, fn.endReference])).toEqual(decoded.functions.map((fn) => [fn.name, fn.firstReference, fn.endReference]));
  // Same undecodable ranges, and the same warnings about them.
  expect(copied.functions.map((fn) => [fn.name, fn.undecodable])).toEqual(decoded.functions.map((fn) => [fn.name, fn.undecodable]));
  expect(copied.warnings).toEqual(decoded.warnings);
  return { references, decodedAlone, decodedWithTwin };
}

const scratch = mkdtempSync(join(tmpdir(), 'stackonly-twin-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function compile(source: string, out: string, flags: string[]): Promise<void> {
  const dir = mkdtempSync(join(scratch, 'src-'));
  copyFileSync(source, join(dir, 'orig.c'));
  await execa('gcc', [...flags, '-c', 'orig.c', '-o', out], { cwd: dir });
}

describe('modelling with a twin', () => {
  const cases = ['upstream-example', 'tail-call-added', 'jump-table-cold', 'string-literal-no-data-sections', 'no-function-sections'];
  for (const name of cases) {
    for (const flags of [['-O2'], ['-O2', '-ffunction-sections', '-fdata-sections']]) {
      it(`${name} ${flags.join(' ')}: copied references are the decoded ones`, async () => {
        const dir = join(repoRoot, 'testdata', 'compare', name);
        const out = join(scratch, `${name}${flags.length}`);
        mkdirSync(out, { recursive: true });
        await compile(join(dir, 'orig.c'), join(out, 'a.o'), flags);
        await compile(join(dir, 'patched.c'), join(out, 'b.o'), flags);
        const original = buildModel(openObject(join(out, 'a.o')));
        const patched = openObject(join(out, 'b.o'));
        expectSameReferences(buildModel(patched), buildModel(patched, { twin: original }));
        // And the other way round, and with itself (every range copied).
        expectSameReferences(original, buildModel(original.object, { twin: buildModel(patched) }));
        const self = expectSameReferences(original, buildModel(original.object, { twin: original }));
        // Against itself every function's range is copied: hardly anything is decoded.
        expect(self.decodedWithTwin).toBeLessThan(self.decodedAlone / 2);
      });
    }
  }

  it('undecodable bytes: copied ranges are the decoded ones', async () => {
    // testdata/undecodable/frob.S: frob has an undecodable byte; -DPATCHED puts a function before it.
    const source = join(repoRoot, 'testdata', 'undecodable', 'frob.S');
    const a = join(scratch, 'frob-a.o');
    const b = join(scratch, 'frob-b.o');
    await execa('gcc', ['-c', source, '-o', a]);
    await execa('gcc', ['-DPATCHED', '-c', source, '-o', b]);
    const original = buildModel(openObject(a));
    const patched = openObject(b);
    const decoded = buildModel(patched);
    expect(decoded.byName.get('frob')![0].undecodable).toEqual([{ offset: 4, length: 1 }]);
    const copied = buildModel(patched, { twin: original });
    expectSameReferences(decoded, copied);
    // frob's and second's ranges were copied, moved by 16: only `before` was decoded.
    const section = decoded.byName.get('frob')![0].section;
    expect(decoded.byName.get('frob')![0].offset).toBe(16);
    expect(copied.code.get(section)!.instructionCount).toBe(decoded.code.get(section)!.instructionCount - original.code.get(section)!.instructionCount);
    const self = expectSameReferences(original, buildModel(original.object, { twin: original }));
    expect(self.decodedWithTwin).toBe(0);
    // And variants.S against itself: every kind of resume point, copied.
    const v = join(scratch, 'variants.o');
    await execa('gcc', ['-c', join(repoRoot, 'testdata', 'undecodable', 'variants.S'), '-o', v]);
    const variants = buildModel(openObject(v));
    expect(variants.functions.every((fn) => fn.undecodable.length === 1)).toBe(true);
    expect(expectSameReferences(variants, buildModel(variants.object, { twin: variants })).decodedWithTwin).toBe(0);
  });

  const older = kernelModulesDir('6.1.0-54');
  const newer = kernelModulesDir('6.1.0-55');
  it.skipIf(!older || !newer)('Debian 6.1.0-54 and -55 modules: copied references are the decoded ones', () => {
    let references = 0;
    let decodedAlone = 0;
    let decodedWithTwin = 0;
    for (const path of ['fs/ext4/ext4.ko', 'drivers/net/ethernet/intel/e1000e/e1000e.ko', 'fs/smb/server/ksmbd.ko', 'drivers/scsi/qla2xxx/qla2xxx.ko']) {
      const original = buildModel(openObject(join(older!, path)));
      const patched = openObject(join(newer!, path));
      const result = expectSameReferences(buildModel(patched), buildModel(patched, { twin: original }));
      references += result.references;
      decodedAlone += result.decodedAlone;
      decodedWithTwin += result.decodedWithTwin;
      expect(result.decodedWithTwin, path).toBeLessThan(result.decodedAlone);
    }
    expect(references).toBeGreaterThan(40_000);
    // These modules changed in places (struct layouts): most of their code is copied.
    expect(decodedWithTwin).toBeLessThan(decodedAlone / 2);
  });
});
