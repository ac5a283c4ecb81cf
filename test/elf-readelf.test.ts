/**
 * The ELF reader against readelf (GNU binutils) on objects compiled at test time from
 * testdata/elf/src with the host's gcc/g++/as: every section, symbol, relocation and
 * group must agree field by field.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openObject } from '../src/elf/open.js';
import { parseElf } from '../src/elf/reader.js';
import { SHN_ABS, SHN_COMMON, SHT_NOBITS, SHT_NULL, type ElfObject } from '../src/elf/types.js';
import { compareWithReadelf, hasReadelf, parseReadelf, runReadelf } from './helpers/readelf.js';

const SRC = join(import.meta.dirname, '..', 'testdata', 'elf', 'src');

function hasTool(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const TOOLS = hasReadelf() && hasTool('gcc') && hasTool('g++') && hasTool('as');
const X86_64 = process.arch === 'x64';

const FLAG_SETS = ['-O0', '-O2', '-O2 -ffunction-sections -fdata-sections', '-Os', '-O3'];

interface Case {
  name: string;
  /** Tool and arguments, run in testdata/elf/src so the STT_FILE symbol is the bare file name. */
  command: [string, ...string[]];
}

const CASES: Case[] = [
  ...['funcs.c', 'cold.c'].flatMap((src) =>
    FLAG_SETS.map((flags) => ({
      name: `${src} ${flags}`,
      command: ['gcc', ...flags.split(' '), '-w', '-c', src] as [string, ...string[]],
    })),
  ),
  { name: 'funcs.c -O2 -g', command: ['gcc', '-O2', '-g', '-w', '-c', 'funcs.c'] },
  { name: 'cold.c -O2 -g -ffunction-sections', command: ['gcc', '-O2', '-g', '-ffunction-sections', '-w', '-c', 'cold.c'] },
  { name: 'comdat.cpp -O2', command: ['g++', '-O2', '-c', 'comdat.cpp'] },
  { name: 'comdat.cpp -O0 -ffunction-sections', command: ['g++', '-O0', '-ffunction-sections', '-c', 'comdat.cpp'] },
  { name: 'groups.s (as)', command: ['as', 'groups.s'] },
];

describe.skipIf(!TOOLS || !X86_64)('reader agrees with readelf on freshly compiled x86-64 objects', () => {
  let dir: string;
  const objects = new Map<string, string>();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stackonly-elf-'));
    CASES.forEach((c, i) => {
      const out = join(dir, `case${i}.o`);
      execFileSync(c.command[0], [...c.command.slice(1), '-o', out], { cwd: SRC, stdio: ['ignore', 'ignore', 'pipe'] });
      objects.set(c.name, out);
    });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function load(name: string): { obj: ElfObject; path: string } {
    const path = objects.get(name);
    if (!path) throw new Error(`no object for ${name}`);
    return { obj: openObject(path), path };
  }

  test.each(CASES.map((c) => c.name))('%s: every section, symbol, relocation and group', (name) => {
    const { obj, path } = load(name);
    expect(obj.elfClass).toBe(64);
    expect(obj.endian).toBe('little');
    expect(obj.machine).toBe(62);
    const re = parseReadelf(runReadelf(path), obj.machine);
    // The parse found something in every category (so an empty comparison means agreement).
    expect(re.sections.length).toBeGreaterThan(5);
    expect(re.symbols.length).toBeGreaterThan(3);
    expect(re.relocationSections.length).toBeGreaterThan(0);
    expect(compareWithReadelf(obj, re, { limit: 1000 })).toEqual([]);
  });

  test('the objects cover what the reader must handle', () => {
    const all = CASES.map((c) => load(c.name).obj);
    const symbols = all.flatMap((o) => o.symbols);
    const names = new Set(symbols.map((s) => s.name));
    // .cold parts, including clones' composite names.
    for (const n of ['probe.cold', 'state_name.cold', 'check_dev.constprop.0.cold', 'big_part.part.0.cold', 'dispatch.cold']) {
      expect(names, n).toContain(n);
    }
    expect(symbols.some((s) => s.type === 6), 'STT_TLS').toBe(true);
    expect(symbols.some((s) => s.bind === 2), 'STB_WEAK').toBe(true);
    expect(symbols.some((s) => s.visibility === 2), 'STV_HIDDEN').toBe(true);
    expect(symbols.some((s) => s.visibility === 3), 'STV_PROTECTED').toBe(true);
    expect(symbols.some((s) => s.type === 3), 'STT_SECTION').toBe(true);
    const common = symbols.find((s) => s.name === 'common_data');
    expect(common?.shndx).toBe(SHN_COMMON);
    expect(common?.reserved).toBe(true);
    const file = symbols.find((s) => s.type === 4);
    expect(file?.shndx).toBe(SHN_ABS);
    expect(file?.reserved).toBe(true);
    expect(symbols.filter((s) => s.shndx > 0 && s.shndx < 0xff00).every((s) => s.reserved === false)).toBe(true);
    // Locals carry the STT_FILE that scopes them.
    const worker = load('funcs.c -O2').obj.symbols.find((s) => s.name === 'static_worker');
    expect(worker?.file).toBe('funcs.c');
    // COMDAT groups from C++, hand-written assembly, and a non-COMDAT group.
    const groups = all.flatMap((o) => o.groups);
    expect(groups.filter((g) => g.flags === 1).length).toBeGreaterThan(3);
    expect(groups.some((g) => g.flags === 0)).toBe(true);
    // Relocations against section symbols with negative addends (calls to static functions).
    const relocs = all.flatMap((o) => o.relocationSections.flatMap((r) => r.relocations));
    expect(relocs.some((r) => r.addend < 0)).toBe(true);
    expect(relocs.some((r) => r.type === 4 /* R_X86_64_PLT32 */)).toBe(true);
    // -ffunction-sections: one text section per function.
    const ffs = load('funcs.c -O2 -ffunction-sections -fdata-sections').obj;
    expect(ffs.sections.map((s) => s.name)).toContain('.text.dispatch');
    expect(ffs.sections.map((s) => s.name)).toContain('.text.unlikely.dispatch');
  });

  test('the comparison notices a wrong value', () => {
    const { obj, path } = load('funcs.c -O2');
    const re = parseReadelf(runReadelf(path), obj.machine);
    const sym = obj.symbols.find((s) => s.name === 'dispatch')!;
    sym.value += 1;
    obj.sections[1].flags ^= 0x4;
    obj.sections[2].addralign += 1;
    obj.relocationSections[0].relocations[0].addend -= 1;
    obj.relocationSections[0].relocations[1].symbol += 1;
    obj.groups[0].members.push(1);
    const problems = compareWithReadelf(obj, re);
    expect(problems.length).toBeGreaterThanOrEqual(6);
    expect(problems.join('\n')).toMatch(/dispatch\) value/);
  });

  test('sectionData is a view into the file bytes, not a copy', () => {
    const path = objects.get('funcs.c -O2 -ffunction-sections -fdata-sections')!;
    const bytes = readFileSync(path);
    const obj = parseElf(bytes, path);
    for (const s of obj.sections) {
      const data = obj.sectionData(s.index);
      if (s.type === SHT_NOBITS || s.type === SHT_NULL) {
        expect(data.length).toBe(0);
        continue;
      }
      expect(data.buffer).toBe(bytes.buffer);
      expect(data.byteOffset).toBe(bytes.byteOffset + s.offset);
      expect(data.length).toBe(s.size);
    }
    expect(obj.sectionData(obj.sections.length).length).toBe(0);
    // A plain Uint8Array works too, still without a copy.
    const plain = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const again = parseElf(plain as Buffer, path);
    const text = again.sections.findIndex((s) => s.name === '.text.dispatch');
    expect(again.sectionData(text).buffer).toBe(bytes.buffer);
  });

  test('relocationsFor gives the relocations that apply to a section', () => {
    const { obj } = load('funcs.c -O2 -ffunction-sections -fdata-sections');
    for (const rs of obj.relocationSections) {
      expect(obj.relocationsFor(rs.target)).toEqual(rs.relocations);
      expect(obj.sections[rs.target].name).toBe(obj.sections[rs.index].name.replace(/^\.rela/, ''));
    }
    const dispatch = obj.sections.findIndex((s) => s.name === '.text.dispatch');
    expect(obj.relocationsFor(dispatch).length).toBeGreaterThan(0);
    expect(obj.relocationsFor(0)).toEqual([]);
  });
});
