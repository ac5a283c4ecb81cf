import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareObjects, modelObject } from '../src/api.js';
import { kernelModulesDir } from './helpers/kernels.js';
import { expectValidReport } from './helpers/schema.js';
import { parseElf } from '../src/elf/reader.js';
import { sameComparisonInputs } from '../src/compare/same-inputs.js';
import { compareModels } from '../src/compare/compare.js';
import { buildModel } from '../src/model/build.js';
import { listObjects } from '../src/tree/walk.js';

/** Real kernel objects: Debian's linux-image-6.1.0-54-amd64 and -55-amd64 modules. */
const older = kernelModulesDir('6.1.0-54');
const newer = kernelModulesDir('6.1.0-55');

describe.skipIf(!older || !newer)('Debian 6.1 kernel modules', () => {
  it('proves pairs unchanged without modelling only where the full comparison finds nothing', () => {
    const a = listObjects(older!);
    const b = listObjects(newer!);
    // Every 8th pair of the tree: build noise only, struct layout changes, and everything between.
    const paths = [...a.keys()].filter((p, i) => b.has(p) && i % 8 === 0);
    let proven = 0;
    for (const path of paths) {
      const x = parseElf(readFileSync(a.get(path)!), path);
      const y = parseElf(readFileSync(b.get(path)!), path);
      if (!sameComparisonInputs(x, y)) continue;
      proven++;
      const original = buildModel(x);
      const comparison = compareModels(original, buildModel(y, { twin: original }));
      expect(comparison.changes, path).toEqual([]);
      expect(comparison.lineOnly, path).toEqual([]);
      expect(comparison.matching.renames, path).toEqual([]);
    }
    // Most pairs of two successive builds differ only in build IDs, .modinfo and BTF; some do not.
    expect(proven).toBeGreaterThan(paths.length / 2);
    expect(proven).toBeLessThan(paths.length);
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

  it('calls vhost_scsi.ko build noise: its only differences are the kernel release in two literals', () => {
    const { report } = compareObjects(join(older!, 'drivers', 'vhost', 'vhost_scsi.ko'), join(newer!, 'drivers', 'vhost', 'vhost_scsi.ko'));
    expectValidReport(report);
    expect(report.build_stamps).toEqual([{ original: '6.1.0-54-amd64', patched: '6.1.0-55-amd64' }]);
    expect(report.functions.map((f) => [f.name, f.status])).toEqual([
      ['vhost_scsi_init', 'build_noise'],
      ['vhost_scsi_wwn_version_show', 'build_noise'],
    ]);
    for (const f of report.functions) {
      for (const d of f.differences) {
        expect(d.kind).toBe('string');
        expect(String(d.original!.value).replace('6.1.0-54-amd64', '6.1.0-55-amd64')).toBe(d.patched!.value);
      }
    }
    expect(report.stack_only).toEqual({ enable: [], disable: [] });
  });

  it('proves the __LINE__ values of ext4 and binder line numbers by their evidence, not by their number', () => {
    const ext4 = compareObjects(join(older!, 'fs', 'ext4', 'ext4.ko'), join(newer!, 'fs', 'ext4', 'ext4.ko')).report;
    const acquire = ext4.line_shifts.find((l) => l.name === 'ext4_acquire_dquot')!;
    // __ext4_journal_start_sb(sb, line, ...), __ext4_journal_stop(where, line, ...) and
    // __ext4_error(sb, function, line, ...) take the line at a known position.
    expect(acquire.evidence).toEqual(['line_callee']);
    // binder's lock helpers pass __LINE__ on to binder_debug("%s: line=%d\n", __func__, line).
    const binder = compareObjects(join(older!, 'drivers', 'android', 'binder_linux.ko'), join(newer!, 'drivers', 'android', 'binder_linux.ko')).report;
    const formats = binder.line_shifts.filter((l) => l.evidence.includes('format'));
    expect(formats.length).toBeGreaterThan(10);
    for (const l of binder.line_shifts) for (const d of l.differences) expect(d.evidence, l.name).toBeDefined();
    // binder_transaction keeps `return_error_line = __LINE__` in a register and on the
    // stack, printed much later: those values are proven by the span of its other lines.
    expect(binder.functions.map((f) => f.name)).not.toContain('binder_transaction');
    const transaction = binder.line_shifts.find((l) => l.name === 'binder_transaction')!;
    expect(transaction.evidence).toContain('span');
  });

  it('follows a __LINE__ to the call that takes it: shared call sites, clones after __func__', () => {
    const pair = (...path: string[]) => compareObjects(join(older!, ...path), join(newer!, ...path)).report;
    const shifted = (report: ReturnType<typeof pair>, name: string) => {
      expect(report.functions.map((f) => f.name), name).not.toContain(name);
      return report.line_shifts.find((l) => l.name === name)!.evidence;
    };
    // ocfs2's mlog() and xfs's XFS_IS_CORRUPT(): each error path loads its line and jumps
    // to one call (__mlog_printk, xfs_corruption_error with the line pushed) they share.
    const ocfs2 = pair('fs', 'ocfs2', 'ocfs2.ko');
    expect(shifted(ocfs2, 'ocfs2_extend_dir')).toContain('line_callee');
    expect(shifted(ocfs2, 'ocfs2_orphan_del')).toEqual(['line_callee']);
    const xfs = pair('fs', 'xfs', 'xfs.ko');
    expect(shifted(xfs, 'xfs_alloc_fixup_trees')).toEqual(['line_callee']);
    // drbd's dec_unacked() passes (__func__, __LINE__) to the clone _dec_unacked.part.0.
    const drbd = pair('drivers', 'block', 'drbd', 'drbd.ko');
    expect(shifted(drbd, 'e_send_retry_write.cold')).toEqual(['function_name']);
    expect(drbd.functions.map((f) => f.name)).not.toContain('e_end_block');
    // Real constants that moved as the lines did stay changes: ksmbd's session state 4 -> 5.
    const ksmbd = pair('fs', 'smb', 'server', 'ksmbd.ko');
    expect(ksmbd.functions.find((f) => f.name === 'smb2_session_logoff')?.reasons).toEqual(['constant']);
  });
});
