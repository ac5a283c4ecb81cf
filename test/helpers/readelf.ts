/**
 * readelf (GNU binutils 2.40) as the oracle for the ELF reader: run it, parse the text
 * of `readelf -SW -sW -rW -gW`, and compare it field by field with an ElfObject.
 *
 * Numbers are parsed as BigInt and compared with BigInt(readerValue), so a reader value
 * that lost precision (a 64-bit field past 2^53) shows up as a mismatch.
 */
import { execFileSync } from 'node:child_process';
import type { ElfObject, ElfSection } from '../../src/elf/types.js';

interface ReadelfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: bigint;
  size: bigint;
  entsize: bigint;
  link: number;
  info: number;
  addralign: bigint;
}

interface ReadelfSymbol {
  index: number;
  value: bigint;
  size: bigint;
  type: number;
  bind: number;
  visibility: number;
  /** A section index, or SHN_UNDEF/SHN_ABS/SHN_COMMON for UND/ABS/COM. */
  ndx: number;
  name: string;
}

interface ReadelfRelocation {
  offset: bigint;
  type: number;
  symbol: number;
  /** null for SHT_REL sections, where readelf prints no addend. */
  addend: bigint | null;
}

interface ReadelfRelocationSection {
  name: string;
  offset: bigint;
  relocations: ReadelfRelocation[];
}

interface ReadelfGroup {
  index: number;
  comdat: boolean;
  signature: string;
  members: { index: number; name: string }[];
}

export interface ReadelfOutput {
  /** e_shnum as readelf resolved it ("There are N section headers"). */
  sectionCount: number | null;
  sections: ReadelfSection[];
  symbols: ReadelfSymbol[];
  relocationSections: ReadelfRelocationSection[];
  groups: ReadelfGroup[];
}

const READELF_ARGS = ['-SW', '-sW', '-rW', '-gW'];

export function runReadelf(path: string, args: string[] = READELF_ARGS): string {
  return execFileSync('readelf', [...args, path], {
    encoding: 'latin1',
    maxBuffer: 1 << 30,
    env: { ...process.env, LC_ALL: 'C' },
  });
}

export function hasReadelf(): boolean {
  try {
    return /GNU readelf/.test(execFileSync('readelf', ['--version'], { encoding: 'utf8' }));
  } catch {
    return false;
  }
}

const SECTION_TYPES: Record<string, number> = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  HASH: 5,
  DYNAMIC: 6,
  NOTE: 7,
  NOBITS: 8,
  REL: 9,
  SHLIB: 10,
  DYNSYM: 11,
  INIT_ARRAY: 14,
  FINI_ARRAY: 15,
  PREINIT_ARRAY: 16,
  GROUP: 17,
  SYMTAB_SHNDX: 18, // printed as "SYMTAB SECTION INDICES"
  RELR: 19,
  GNU_ATTRIBUTES: 0x6ffffff5,
  GNU_HASH: 0x6ffffff6,
  LLVM_ADDRSIG: 0x6fff4c03,
  VERDEF: 0x6ffffffd,
  VERNEED: 0x6ffffffe,
  VERSYM: 0x6fffffff,
  X86_64_UNWIND: 0x70000001,
  ARM_EXIDX: 0x70000001,
  ARM_ATTRIBUTES: 0x70000003,
  AARCH64_ATTRIBUTES: 0x70000003,
  MIPS_REGINFO: 0x70000006,
  MIPS_OPTIONS: 0x7000000d,
  MIPS_DWARF: 0x7000001e,
  MIPS_ABIFLAGS: 0x7000002a,
  MIPS_XHASH: 0x7000002b,
};

/** readelf -W flag letters (binutils 2.40, get_elf_section_flags). Lossy letters (x, o, p) are refused. */
const SECTION_FLAGS: Record<string, bigint> = {
  W: 0x1n,
  A: 0x2n,
  X: 0x4n,
  M: 0x10n,
  S: 0x20n,
  I: 0x40n,
  L: 0x80n,
  O: 0x100n,
  G: 0x200n,
  T: 0x400n,
  C: 0x800n,
  R: 0x200000n, // SHF_GNU_RETAIN
  D: 0x1000000n, // SHF_GNU_MBIND
  E: 0x80000000n, // SHF_EXCLUDE
};
/** Processor-specific letters, by e_machine. */
const MACHINE_FLAGS: Record<number, Record<string, bigint>> = {
  62: { l: 0x10000000n }, // SHF_X86_64_LARGE
  40: { y: 0x20000000n }, // SHF_ARM_PURECODE
};

const SYMBOL_TYPES: Record<string, number> = {
  NOTYPE: 0,
  OBJECT: 1,
  FUNC: 2,
  SECTION: 3,
  FILE: 4,
  COMMON: 5,
  TLS: 6,
  IFUNC: 10,
};
const SYMBOL_BINDS: Record<string, number> = { LOCAL: 0, GLOBAL: 1, WEAK: 2, UNIQUE: 10 };
const VISIBILITIES: Record<string, number> = { DEFAULT: 0, INTERNAL: 1, HIDDEN: 2, PROTECTED: 3 };

function hex(s: string): bigint {
  return BigInt('0x' + s);
}

function lookup<T>(table: Record<string, T>, key: string, what: string, line: string): T {
  const v = table[key];
  if (v === undefined) throw new Error(`readelf parser: unknown ${what} '${key}' in line: ${line}`);
  return v;
}

const SECTION_LINE =
  /^\s*\[\s*(\d+)\]\s(.*?)\s+(\S+)\s+([0-9a-f]{8}|[0-9a-f]{16})\s+([0-9a-f]{6,})\s+([0-9a-f]{6,})\s+([0-9a-f]{2,})\s+([A-Za-z]*)\s+(\d+)\s+(\d+)\s+(\d+)$/;
const SYMBOL_LINE = /^\s*(\d+):\s+([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?: (.*))?$/;
const RELOC_HEADER = /^Relocation section '(.*)' at offset 0x([0-9a-f]+) contains (\d+) entr(?:y|ies):$/;
const RELOC_LINE = /^([0-9a-f]{8}|[0-9a-f]{16})\s+([0-9a-f]{8}|[0-9a-f]{16})\s+(.*)$/;
const GROUP_HEADER = /^(COMDAT )?group section \[\s*(\d+)\] `(.*)' \[(.*)\] contains (\d+) sections?:$/;
const GROUP_MEMBER = /^\s+\[\s*(\d+)\]\s+(.*)$/;

/**
 * Parses the output of `readelf -SW -sW -rW -gW` (any subset, in any order). `machine`
 * selects processor-specific flag letters.
 */
export function parseReadelf(text: string, machine: number): ReadelfOutput {
  const out: ReadelfOutput = { sectionCount: null, sections: [], symbols: [], relocationSections: [], groups: [] };
  const flagLetters = { ...SECTION_FLAGS, ...(MACHINE_FLAGS[machine] ?? {}) };
  type Mode = 'none' | 'sections' | 'symbols' | 'relocs' | 'group';
  let mode: Mode = 'none';
  let relocSection: ReadelfRelocationSection | undefined;
  let relocIsRela = false;
  let group: ReadelfGroup | undefined;
  let symbolTables = 0;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^There are (\d+) section headers, starting at offset/))) {
      out.sectionCount = Number(m[1]);
      continue;
    }
    if (line.startsWith('Section Headers:')) {
      mode = 'sections';
      continue;
    }
    if (line.startsWith('Key to Flags:')) {
      mode = 'none';
      continue;
    }
    if ((m = line.match(/^Symbol table '(.*)' contains (\d+) entr(?:y|ies):$/))) {
      if (m[1] !== '.symtab' && ++symbolTables > 1) throw new Error(`readelf parser: more than one symbol table`);
      mode = 'symbols';
      continue;
    }
    if ((m = line.match(RELOC_HEADER))) {
      relocSection = { name: m[1], offset: hex(m[2]), relocations: [] };
      out.relocationSections.push(relocSection);
      relocIsRela = false;
      mode = 'relocs';
      continue;
    }
    if ((m = line.match(GROUP_HEADER))) {
      group = { index: Number(m[2]), comdat: m[1] !== undefined, signature: m[4], members: [] };
      out.groups.push(group);
      mode = 'group';
      continue;
    }
    if (mode === 'sections') {
      m = line.replace('SYMTAB SECTION INDICES', 'SYMTAB_SHNDX').match(SECTION_LINE);
      if (!m) continue; // the column header line
      let flags = 0n;
      for (const letter of m[8]) flags |= lookup(flagLetters, letter, 'section flag', line);
      out.sections.push({
        index: Number(m[1]),
        name: m[2].trim(),
        type: lookup(SECTION_TYPES, m[3], 'section type', line),
        addr: hex(m[4]),
        offset: hex(m[5]),
        size: hex(m[6]),
        entsize: hex(m[7]),
        flags,
        link: Number(m[9]),
        info: Number(m[10]),
        addralign: BigInt(m[11]),
      });
    } else if (mode === 'symbols') {
      m = line.match(SYMBOL_LINE);
      if (!m) continue;
      const ndxText = m[7];
      let ndx: number;
      if (ndxText === 'UND') ndx = 0;
      else if (ndxText === 'ABS') ndx = 0xfff1;
      else if (ndxText === 'COM') ndx = 0xfff2;
      else if (/^\d+$/.test(ndxText)) ndx = Number(ndxText);
      else throw new Error(`readelf parser: unknown symbol section '${ndxText}' in line: ${line}`);
      out.symbols.push({
        index: Number(m[1]),
        value: hex(m[2]),
        size: m[3].startsWith('0x') ? BigInt(m[3]) : BigInt(m[3]),
        type: lookup(SYMBOL_TYPES, m[4], 'symbol type', line),
        bind: lookup(SYMBOL_BINDS, m[5], 'symbol binding', line),
        visibility: lookup(VISIBILITIES, m[6], 'symbol visibility', line),
        ndx,
        name: m[8] ?? '',
      });
    } else if (mode === 'relocs' && relocSection) {
      if (/^\s+Offset\s+Info\s+Type/.test(line)) {
        relocIsRela = /Addend/.test(line);
        continue;
      }
      m = line.match(RELOC_LINE);
      if (!m) continue;
      const info = hex(m[2]);
      const is64 = m[2].length === 16;
      const symbol = Number(is64 ? info >> 32n : info >> 8n);
      const type = Number(is64 ? info & 0xffffffffn : info & 0xffn);
      let addend: bigint | null = null;
      if (relocIsRela) {
        const rest = m[3];
        const withSym = rest.match(/ ([+-]) ([0-9a-f]+)$/);
        const bare = rest.match(/ (-?)([0-9a-f]+)$/);
        if (symbol !== 0 && withSym) addend = withSym[1] === '-' ? -hex(withSym[2]) : hex(withSym[2]);
        else if (symbol === 0 && bare) addend = bare[1] === '-' ? -hex(bare[2]) : hex(bare[2]);
        else throw new Error(`readelf parser: no addend in line: ${line}`);
      }
      relocSection.relocations.push({ offset: hex(m[1]), type, symbol, addend });
    } else if (mode === 'group' && group) {
      if (/^\s+\[Index\]\s+Name/.test(line)) continue;
      m = line.match(GROUP_MEMBER);
      if (m) group.members.push({ index: Number(m[1]), name: m[2] });
      else if (line.trim() === '') mode = 'none';
    }
  }
  return out;
}

/** Converts a reader number to BigInt, recording a mismatch instead of throwing for non-integers. */
function big(n: number): bigint | string {
  return Number.isInteger(n) ? BigInt(n) : `non-integer ${n}`;
}

export interface CompareOptions {
  /** Stop collecting after this many mismatches (the first ones are the useful ones). */
  limit?: number;
  /** Compare only these symbol indices (all when absent). */
  symbolSample?: (index: number) => boolean;
  /** Compare only these section indices (all when absent). */
  sectionSample?: (index: number) => boolean;
  /** Compare relocations (default true). */
  relocations?: boolean;
}

/**
 * Every difference between what readelf printed and what the reader returned, as
 * human-readable lines; an empty array means they agree.
 */
export function compareWithReadelf(obj: ElfObject, re: ReadelfOutput, options: CompareOptions = {}): string[] {
  const limit = options.limit ?? 50;
  const problems: string[] = [];
  const note = (s: string) => {
    if (problems.length < limit) problems.push(s);
  };
  const eq = (what: string, ours: number, theirs: bigint | number) => {
    const b = big(ours);
    if (typeof b === 'string' || b !== BigInt(theirs)) note(`${what}: reader ${ours}, readelf ${theirs}`);
  };

  // Sections.
  if (re.sectionCount !== null && re.sectionCount !== obj.sections.length) {
    note(`section count: reader ${obj.sections.length}, readelf ${re.sectionCount}`);
  }
  if (re.sections.length !== obj.sections.length) note(`section lines: reader ${obj.sections.length}, readelf ${re.sections.length}`);
  for (const rs of re.sections) {
    if (options.sectionSample && !options.sectionSample(rs.index)) continue;
    const s = obj.sections[rs.index];
    if (!s) {
      note(`section ${rs.index} (${rs.name}) missing from reader`);
      continue;
    }
    const w = `section ${rs.index} (${rs.name})`;
    if (s.index !== rs.index) note(`${w}: index ${s.index}`);
    if (s.name !== rs.name) note(`${w}: name: reader '${s.name}'`);
    eq(`${w} type`, s.type, rs.type);
    eq(`${w} flags`, s.flags, rs.flags);
    eq(`${w} addr`, s.addr, rs.addr);
    eq(`${w} offset`, s.offset, rs.offset);
    eq(`${w} size`, s.size, rs.size);
    eq(`${w} link`, s.link, rs.link);
    eq(`${w} info`, s.info, rs.info);
    eq(`${w} addralign`, s.addralign, rs.addralign);
    eq(`${w} entsize`, s.entsize, rs.entsize);
  }

  // Symbols.
  const sectionName = (i: number) => obj.sections[i]?.name;
  if (re.symbols.length !== obj.symbols.length) note(`symbol count: reader ${obj.symbols.length}, readelf ${re.symbols.length}`);
  for (const rsym of re.symbols) {
    if (options.symbolSample && !options.symbolSample(rsym.index)) continue;
    const sym = obj.symbols[rsym.index];
    const w = `symbol ${rsym.index} (${rsym.name})`;
    if (!sym) {
      note(`${w} missing from reader`);
      continue;
    }
    if (sym.index !== rsym.index) note(`${w}: index ${sym.index}`);
    // readelf shows an unnamed STT_SECTION symbol by its section's name.
    const expectedName = sym.type === 3 && sym.name === '' ? sectionName(sym.shndx) : sym.name;
    if (expectedName !== rsym.name) note(`${w}: name: reader '${sym.name}'`);
    eq(`${w} value`, sym.value, rsym.value);
    eq(`${w} size`, sym.size, rsym.size);
    eq(`${w} type`, sym.type, rsym.type);
    eq(`${w} bind`, sym.bind, rsym.bind);
    eq(`${w} visibility`, sym.visibility, rsym.visibility);
    eq(`${w} shndx`, sym.shndx, rsym.ndx);
  }

  // Relocations: readelf lists non-empty relocation sections, named, with their file offset.
  if (options.relocations !== false) {
    const bySectionKey = new Map<string, ElfSection>();
    for (const s of obj.sections) bySectionKey.set(`${s.name}@${s.offset}`, s);
    const seen = new Set<number>();
    for (const rrs of re.relocationSections) {
      const s = bySectionKey.get(`${rrs.name}@${rrs.offset}`);
      const rs = s && obj.relocationSections.find((r) => r.index === s.index);
      if (!s || !rs) {
        note(`relocation section ${rrs.name} at 0x${rrs.offset.toString(16)} missing from reader`);
        continue;
      }
      seen.add(rs.index);
      if (rs.target !== s.info) note(`relocation section ${rs.index}: target ${rs.target}, sh_info ${s.info}`);
      if (rs.explicitAddends !== (s.type === 4)) note(`relocation section ${rs.index}: explicitAddends ${rs.explicitAddends}`);
      if (rs.relocations.length !== rrs.relocations.length) {
        note(`relocation section ${rs.index} (${s.name}): reader ${rs.relocations.length} entries, readelf ${rrs.relocations.length}`);
      }
      const n = Math.min(rs.relocations.length, rrs.relocations.length);
      for (let i = 0; i < n; i++) {
        const ours = rs.relocations[i];
        const theirs = rrs.relocations[i];
        const w = `${s.name}[${i}]`;
        eq(`${w} offset`, ours.offset, theirs.offset);
        eq(`${w} type`, ours.type, theirs.type);
        eq(`${w} symbol`, ours.symbol, theirs.symbol);
        eq(`${w} addend`, ours.addend, theirs.addend ?? 0n);
      }
    }
    for (const rs of obj.relocationSections) {
      if (!seen.has(rs.index) && rs.relocations.length > 0) {
        note(`relocation section ${rs.index} (${obj.sections[rs.index].name}) not listed by readelf`);
      }
    }
  }

  // Groups.
  if (re.groups.length !== obj.groups.length) note(`group count: reader ${obj.groups.length}, readelf ${re.groups.length}`);
  for (const rg of re.groups) {
    const g = obj.groups.find((x) => x.index === rg.index);
    if (!g) {
      note(`group section ${rg.index} missing from reader`);
      continue;
    }
    if (((g.flags & 1) === 1) !== rg.comdat) note(`group ${rg.index}: flags 0x${g.flags.toString(16)}, readelf comdat=${rg.comdat}`);
    const sig = obj.symbols[g.signature];
    const sigName = sig && sig.type === 3 && sig.name === '' ? sectionName(sig.shndx) : sig?.name;
    if (sigName !== rg.signature) note(`group ${rg.index}: signature '${sigName}', readelf '${rg.signature}'`);
    const ours = g.members.join(',');
    const theirs = rg.members.map((m) => m.index).join(',');
    if (ours !== theirs) note(`group ${rg.index}: members [${ours}], readelf [${theirs}]`);
    for (const m of rg.members) {
      if (sectionName(m.index) !== m.name) note(`group ${rg.index}: member ${m.index} named '${sectionName(m.index)}', readelf '${m.name}'`);
    }
  }
  return problems;
}
