import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { SectionCode } from '../src/arch/backend.js';
import { readElfFile } from '../src/elf/reader.js';
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
    references += code.count;
    decodedAlone += code.instructionCount;
    decodedWithTwin += copied.code.get(section)!.instructionCount;
  }
  // Same functions, same reference ranges.
  expect(copied.functions.map((fn) => [fn.name, fn.firstReference, fn.endReference])).toEqual(decoded.functions.map((fn) => [fn.name, fn.firstReference, fn.endReference]));
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
        const original = buildModel(readElfFile(join(out, 'a.o')));
        const patched = readElfFile(join(out, 'b.o'));
        expectSameReferences(buildModel(patched), buildModel(patched, { twin: original }));
        // And the other way round, and with itself (every range copied).
        expectSameReferences(original, buildModel(original.object, { twin: buildModel(patched) }));
        const self = expectSameReferences(original, buildModel(original.object, { twin: original }));
        // Against itself every function's range is copied: hardly anything is decoded.
        expect(self.decodedWithTwin).toBeLessThan(self.decodedAlone / 2);
      });
    }
  }

  const older = kernelModulesDir('6.1.0-54');
  const newer = kernelModulesDir('6.1.0-55');
  it.skipIf(!older || !newer)('Debian 6.1.0-54 and -55 modules: copied references are the decoded ones', () => {
    let references = 0;
    let decodedAlone = 0;
    let decodedWithTwin = 0;
    for (const path of ['fs/ext4/ext4.ko', 'drivers/net/ethernet/intel/e1000e/e1000e.ko', 'fs/smb/server/ksmbd.ko', 'drivers/scsi/qla2xxx/qla2xxx.ko']) {
      const original = buildModel(readElfFile(join(older!, path)));
      const patched = readElfFile(join(newer!, path));
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
