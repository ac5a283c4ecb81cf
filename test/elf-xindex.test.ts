/**
 * Extended section numbering: an object with more sections than fit in 16 bits
 * (SHN_LORESERVE = 0xff00). e_shnum is 0 and the count is section 0's sh_size,
 * e_shstrndx is SHN_XINDEX and the index is section 0's sh_link, and symbols in high
 * sections have st_shndx == SHN_XINDEX with the real index in SHT_SYMTAB_SHNDX.
 *
 * The object (about 8 MB) is generated and assembled with `as` at test time, not committed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseElf } from '../src/elf/reader.js';
import { SHN_ABS, SHN_COMMON, SHN_XINDEX, SHT_SYMTAB_SHNDX, type ElfObject } from '../src/elf/types.js';
import { compareWithReadelf, hasReadelf, parseReadelf, runReadelf, type ReadelfOutput } from './helpers/readelf.js';

const FUNCTIONS = 70_000;

function hasAs(): boolean {
  try {
    return /GNU assembler/.test(execFileSync('as', ['--version'], { encoding: 'utf8' }));
  } catch {
    return false;
  }
}

/** 70000 one-instruction functions, each in its own section, plus references that need section symbols. */
function generateAssembly(): string {
  const out: string[] = [];
  for (let i = 0; i < FUNCTIONS; i++) {
    out.push(`\t.section .text.f${i},"ax",@progbits\n\t.globl f${i}\n\t.type f${i},@function\nf${i}:\n`);
    out.push(`.Ll${i}:\n`);
    // Every 997th function calls the next one: relocations against global symbols in high sections.
    out.push(i % 997 === 0 && i + 1 < FUNCTIONS ? `\tcall f${i + 1}\n\tret\n` : '\tret\n');
    out.push(`\t.size f${i}, .-f${i}\n`);
  }
  // References to local labels: relocations against STT_SECTION symbols, some of them
  // in sections past 0xff00 (so the section symbol itself needs SHN_XINDEX).
  out.push('\t.data\n\t.globl table\ntable:\n');
  for (let i = 0; i < FUNCTIONS; i += 331) out.push(`\t.quad .Ll${i} + 1\n`);
  for (let i = 65_270; i < 65_540; i++) out.push(`\t.quad .Ll${i}\n`);
  // Reserved section indices that collide with real ones in this object.
  out.push('\t.globl abs_sym\n\t.set abs_sym, 0x1234\n\t.comm common_sym, 16, 8\n');
  return out.join('');
}

describe.skipIf(!hasAs() || !hasReadelf())('extended section numbering (> 0xff00 sections)', () => {
  let dir: string;
  let bytes: Buffer;
  let obj: ElfObject;
  let re: ReadelfOutput;
  let parseMs = 0;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stackonly-xindex-'));
    const src = join(dir, 'many.s');
    const path = join(dir, 'many.o');
    writeFileSync(src, generateAssembly());
    execFileSync('as', [src, '-o', path]);
    bytes = readFileSync(path);
    const t0 = performance.now();
    obj = parseElf(bytes, path);
    parseMs = performance.now() - t0;
    re = parseReadelf(runReadelf(path), obj.machine);
  }, 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the object really uses extended numbering', () => {
    const le = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(le.getUint16(60, true)).toBe(0); // e_shnum
    expect(le.getUint16(62, true)).toBe(SHN_XINDEX); // e_shstrndx
    expect(obj.sections.length).toBeGreaterThan(FUNCTIONS);
    expect(obj.sections.some((s) => s.type === SHT_SYMTAB_SHNDX)).toBe(true);
    expect(obj.sections[0].size).toBe(obj.sections.length);
    expect(obj.sections[obj.sections[0].link].name).toBe('.shstrtab');
  });

  test('section count and every section, symbol and relocation agree with readelf', () => {
    expect(re.sectionCount).toBe(obj.sections.length);
    expect(re.symbols.length).toBeGreaterThan(FUNCTIONS);
    expect(compareWithReadelf(obj, re, { limit: 100 })).toEqual([]);
  });

  test('symbols past 0xff00 resolve through SHT_SYMTAB_SHNDX', () => {
    const byName = new Map(obj.symbols.map((s) => [s.name, s]));
    for (const i of [0, 1, 65_275, 65_276, 65_517, 65_518, 69_999]) {
      const s = byName.get(`f${i}`)!;
      expect(obj.sections[s.shndx].name, `f${i}`).toBe(`.text.f${i}`);
      expect(s.reserved).toBe(false);
    }
    const high = obj.symbols.filter((s) => s.shndx >= 0xff00 && !s.reserved);
    expect(high.length).toBeGreaterThan(4000);
    // Section symbols past 0xff00 exist and name their section.
    expect(obj.symbols.some((s) => s.type === 3 && s.shndx > 0xff00)).toBe(true);
    // A real section index that equals SHN_ABS / SHN_COMMON, told apart by `reserved`.
    const inAbsIndex = obj.symbols.find((s) => s.shndx === SHN_ABS && !s.reserved);
    const inCommonIndex = obj.symbols.find((s) => s.shndx === SHN_COMMON && !s.reserved);
    expect(inAbsIndex && obj.sections[inAbsIndex.shndx].name).toMatch(/^\.text\.f\d+$/);
    expect(inCommonIndex && obj.sections[inCommonIndex.shndx].name).toMatch(/^\.text\.f\d+$/);
    const abs = byName.get('abs_sym')!;
    expect([abs.shndx, abs.reserved, abs.value]).toEqual([SHN_ABS, true, 0x1234]);
    const common = byName.get('common_sym')!;
    expect([common.shndx, common.reserved, common.size]).toEqual([SHN_COMMON, true, 16]);
  });

  test('relocations against high sections', () => {
    const data = obj.sections.findIndex((s) => s.name === '.data');
    const relocs = obj.relocationsFor(data);
    expect(relocs.length).toBe(Math.ceil(FUNCTIONS / 331) + 270);
    for (const r of relocs) {
      const sym = obj.symbols[r.symbol];
      expect(sym.type).toBe(3);
      expect(obj.sections[sym.shndx].name).toMatch(/^\.text\.f\d+$/);
    }
  });

  test('parsing takes well under a second', () => {
    expect(parseMs).toBeLessThan(5_000);
  });
});
