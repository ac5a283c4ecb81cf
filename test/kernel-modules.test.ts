import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareObjects, modelObject } from '../src/api.js';
import { kernelModulesDir } from './helpers/kernels.js';
import { expectValidReport } from './helpers/schema.js';
import { parseElf } from '../src/elf/reader.js';
import { sameCode, sameCodeQuick } from '../src/tree/unchanged.js';
import { listObjects } from '../src/tree/walk.js';

/** Real kernel objects: Debian's linux-image-6.1.0-54-amd64 and -55-amd64 modules. */
const older = kernelModulesDir('6.1.0-54');
const newer = kernelModulesDir('6.1.0-55');

describe.skipIf(!older || !newer)('Debian 6.1 kernel modules', () => {
  it('proves unchanged pairs from the symbol table bytes exactly as from parsed symbols', () => {
    const a = listObjects(older!);
    const b = listObjects(newer!);
    // Every 8th pair of the tree: build noise only, struct layout changes, and everything between.
    const paths = [...a.keys()].filter((p, i) => b.has(p) && i % 8 === 0);
    let same = 0;
    for (const path of paths) {
      const x = readFileSync(a.get(path)!);
      const y = readFileSync(b.get(path)!);
      const quickX = parseElf(x, path, { skipSymbols: true });
      const quick = sameCodeQuick(quickX, parseElf(y, path, { skipSymbols: true }));
      const full = parseElf(x, path);
      expect(quick, path).toBe(sameCode(full, parseElf(y, path)));
      // Reading the symbols later gives what reading them at once does.
      expect(quickX.symbols).toEqual([]);
      expect(quickX.withSymbols!().symbols).toEqual(full.symbols);
      if (quick) same++;
    }
    // Most pairs of two successive builds differ only in noise; some do not.
    expect(same).toBeGreaterThan(paths.length / 2);
    expect(same).toBeLessThan(paths.length);
  });

  it('attaches every .cold part of ext4.ko to its parent, with jump evidence', () => {
    const model = modelObject(join(older!, 'fs', 'ext4', 'ext4.ko'));
    const cold = model.functions.filter((fn) => fn.name.includes('.cold'));
    expect(cold.length).toBe(36);
    for (const part of cold) {
      expect(part.parent, part.name).toBeDefined();
      expect(part.parent!.name).toBe(part.name.replace(/\.cold(\.\d+)?$/, ''));
      expect(part.partEvidence).toContain('jump');
      // The parent really transfers into the part, by a jump and not a call.
      expect(part.parent!.edges.some((e) => e.target === part && e.kind === 'jump')).toBe(true);
    }
    expect(model.warnings).toEqual([]);
  });

  it('attaches repeated local cold parts to the right parent without STT_FILE symbols (drbd.ko)', () => {
    const model = modelObject(join(older!, 'drivers', 'block', 'drbd', 'drbd.ko'));
    const parts = model.functions.filter((fn) => fn.name === 'put_ldev.cold');
    expect(parts.length).toBeGreaterThan(1);
    const parents = new Set(parts.map((p) => p.parent));
    expect(parents.size).toBe(parts.length);
    for (const part of parts) expect(part.parent!.edges.some((e) => e.target === part)).toBe(true);
    expect(model.warnings).toEqual([]);
  });

  it('compares ext4.ko across the two builds: shifted __LINE__ arguments are no change, struct layout changes are', () => {
    const { report } = compareObjects(join(older!, 'fs', 'ext4', 'ext4.ko'), join(newer!, 'fs', 'ext4', 'ext4.ko'));
    expectValidReport(report);
    const changed = new Set(report.functions.filter((f) => f.status === 'changed').map((f) => f.name));
    const shifted = new Set(report.line_shifts.map((l) => l.name));
    // mov $0x1ab1,%esi -> mov $0x1ab8,%esi before a call: a line number, +7.
    expect(shifted.has('ext4_acquire_dquot')).toBe(true);
    expect(changed.has('ext4_acquire_dquot')).toBe(false);
    // mov 0x210(%rax) -> mov 0x230(%rax): a field of a kernel struct moved.
    expect(changed.has('ext4_getattr')).toBe(true);
    for (const name of changed) expect(shifted.has(name)).toBe(false);
    // Every part of a changed family is in both sets, with its owner.
    for (const f of report.functions.filter((f) => f.status === 'changed')) {
      for (const part of f.original!.parts) expect(report.stack_only.enable).toContainEqual(expect.objectContaining({ name: part, owner: f.name, reason: 'part' }));
      for (const part of f.patched!.parts) expect(report.stack_only.disable).toContainEqual(expect.objectContaining({ name: part, owner: f.patched!.symbol, reason: 'part' }));
    }
    expect(report.warnings).toEqual([]);
  });

  it('sees no change in a module whose two builds differ only in version strings and signatures', () => {
    const { report } = compareObjects(join(older!, 'fs', 'nls', 'nls_ascii.ko'), join(newer!, 'fs', 'nls', 'nls_ascii.ko'));
    expect(report.functions).toEqual([]);
  });
});
