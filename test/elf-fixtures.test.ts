/**
 * Committed fixtures of the ELF classes and byte orders the x86-64 host compiler does not
 * produce. Each `testdata/elf/<name>.o` was made by scripts/make-elf-fixtures.sh from
 * testdata/elf/src/funcs.c with Debian bookworm's cross compilers (gcc 12.2, binutils
 * 2.40), and `<name>.readelf.txt` beside it is `readelf -SW -sW -rW -gW <name>.o` from
 * binutils 2.40:
 *
 * - i386-funcs-O2.o:       i686-linux-gnu-gcc -O2 (ELF32 little-endian, EM_386; SHT_REL,
 *                          so addends are implicit: in the section bytes, not the entry)
 * - ppc64-funcs-O2.o:      powerpc64-linux-gnu-gcc -O2 (ELF64 big-endian, EM_PPC64, ELFv1, SHT_RELA)
 * - s390x-funcs-O2-ffs.o:  s390x-linux-gnu-gcc -O2 -ffunction-sections -fdata-sections
 *                          (ELF64 big-endian, EM_S390, SHT_RELA)
 * - ppc-funcs-O2.o:        powerpc-linux-gnu-gcc -O2 (ELF32 big-endian, EM_PPC, SHT_RELA)
 * - mips-funcs-O2.o:       mips-linux-gnu-gcc -O2 (ELF32 big-endian, EM_MIPS, SHT_REL)
 *
 * The saved readelf text is the oracle, so the test runs without cross tools; where the
 * host has a GNU readelf (multi-target on Debian) it is also run live on the fixture.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { openObject } from '../src/elf/open.js';
import { SHT_REL, SHT_RELA } from '../src/elf/types.js';
import { compareWithReadelf, hasReadelf, parseReadelf, runReadelf } from './helpers/readelf.js';

const DIR = join(import.meta.dirname, '..', 'testdata', 'elf');

interface Fixture {
  name: string;
  elfClass: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
  relocationType: typeof SHT_REL | typeof SHT_RELA;
}

const FIXTURES: Fixture[] = [
  { name: 'i386-funcs-O2', elfClass: 32, endian: 'little', machine: 3, relocationType: SHT_REL },
  { name: 'ppc64-funcs-O2', elfClass: 64, endian: 'big', machine: 21, relocationType: SHT_RELA },
  { name: 's390x-funcs-O2-ffs', elfClass: 64, endian: 'big', machine: 22, relocationType: SHT_RELA },
  { name: 'ppc-funcs-O2', elfClass: 32, endian: 'big', machine: 20, relocationType: SHT_RELA },
  { name: 'mips-funcs-O2', elfClass: 32, endian: 'big', machine: 8, relocationType: SHT_REL },
];

const LIVE = hasReadelf();

describe.each(FIXTURES)('fixture $name', (fx) => {
  const path = join(DIR, `${fx.name}.o`);

  test('header: class, byte order, machine', () => {
    const obj = openObject(path);
    expect(obj.elfClass).toBe(fx.elfClass);
    expect(obj.endian).toBe(fx.endian);
    expect(obj.machine).toBe(fx.machine);
    expect(obj.type).toBe(1);
    expect(obj.fileSize).toBe(readFileSync(path).length);
  });

  test('agrees with the saved readelf output', () => {
    const obj = openObject(path);
    const re = parseReadelf(readFileSync(join(DIR, `${fx.name}.readelf.txt`), 'latin1'), obj.machine);
    expect(re.sections.length).toBeGreaterThan(10);
    expect(re.symbols.length).toBeGreaterThan(20);
    expect(re.relocationSections.length).toBeGreaterThan(3);
    expect(re.groups.length).toBeGreaterThan(0);
    expect(compareWithReadelf(obj, re, { limit: 1000 })).toEqual([]);
  });

  test.skipIf(!LIVE)('agrees with readelf run now', () => {
    const obj = openObject(path);
    const re = parseReadelf(runReadelf(path), obj.machine);
    expect(compareWithReadelf(obj, re, { limit: 1000 })).toEqual([]);
  });

  test('relocation kind and addends', () => {
    const obj = openObject(path);
    expect(obj.relocationSections.length).toBeGreaterThan(0);
    for (const rs of obj.relocationSections) {
      expect(obj.sections[rs.index].type).toBe(fx.relocationType);
      expect(rs.explicitAddends).toBe(fx.relocationType === SHT_RELA);
      // SHT_REL: the addend lives in the target section's bytes; the reader reports 0.
      if (!rs.explicitAddends) expect(rs.relocations.every((r) => r.addend === 0)).toBe(true);
      for (const r of rs.relocations) {
        expect(r.offset).toBeLessThan(obj.sections[rs.target].size);
        expect(r.symbol).toBeLessThan(obj.symbols.length);
      }
    }
    // Everything the source defines is found by name, whatever the byte order.
    const names = new Set(obj.symbols.map((s) => s.name));
    for (const n of ['child_func', 'dispatch', 'loop_sum', 'greeting', 'tls_counter', 'weak_func', 'comdat_sig']) {
      expect(names, n).toContain(n);
    }
    const comdat = obj.groups.find((g) => obj.symbols[g.signature].name === 'comdat_sig');
    expect(comdat?.flags).toBe(1);
    expect(comdat?.members.map((m) => obj.sections[m].name)).toContain('.data.comdat_sig');
  });
});
