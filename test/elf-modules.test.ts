/**
 * Real kernel modules (Debian linux-image-6.1.0-54/-55-amd64, extracted under
 * /var/tmp/stackonly-kernels by hand; skipped where that is missing) against readelf:
 * every section, symbol and relocation. By default a few modules; with
 * STACKONLY_ALL_MODULES=1 every module of every extracted version (about 4000 each,
 * a few minutes per version).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { openObject } from '../src/elf/open.js';
import { compareWithReadelf, hasReadelf, parseReadelf, runReadelf } from './helpers/readelf.js';

const ROOT = '/var/tmp/stackonly-kernels';
const ALL = process.env.STACKONLY_ALL_MODULES === '1';

function moduleDirs(): string[] {
  if (!existsSync(ROOT)) return [];
  const dirs: string[] = [];
  for (const v of readdirSync(ROOT).sort()) {
    const mods = join(ROOT, v, 'lib', 'modules');
    if (!existsSync(mods)) continue;
    for (const k of readdirSync(mods).sort()) dirs.push(join(mods, k, 'kernel'));
  }
  return dirs;
}

function modules(): string[] {
  const dirs = moduleDirs();
  if (ALL) {
    return dirs.flatMap((d) =>
      execFileSync('find', [d, '-name', '*.ko'], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n').sort(),
    );
  }
  const few = ['fs/ext4/ext4.ko', 'net/ipv4/udp_tunnel.ko', 'drivers/input/misc/pcspkr.ko'];
  return dirs.flatMap((d) => few.map((f) => join(d, f))).filter((p) => existsSync(p));
}

const MODULES = hasReadelf() ? modules() : [];

describe.skipIf(MODULES.length === 0)('kernel modules agree with readelf', () => {
  test(`${MODULES.length} modules`, () => {
    const problems: string[] = [];
    for (const path of MODULES) {
      const obj = openObject(path);
      const re = parseReadelf(runReadelf(path), obj.machine);
      if (re.symbols.length === 0 || re.relocationSections.length === 0) problems.push(`${path}: readelf output not parsed`);
      for (const p of compareWithReadelf(obj, re, { limit: 5 })) problems.push(`${path}: ${p}`);
      if (problems.length > 50) break;
    }
    expect(problems).toEqual([]);
  }, ALL ? 3_600_000 : 60_000);
});
