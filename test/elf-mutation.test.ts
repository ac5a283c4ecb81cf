/**
 * Mutation test of the ELF reader: thousands of corrupted variants of real objects
 * (compiled here, the committed fixtures, and a few Debian kernel modules when
 * /var/tmp/stackonly-kernels is there), made with a seeded PRNG. Every variant must
 * either parse into a self-consistent object or throw ElfError/InputError; anything else
 * (TypeError, RangeError, an assertion from elfy) is a reader bug. Each parse must also
 * be quick and must not allocate out of proportion to the input.
 *
 * STACKONLY_FUZZ_SEED=<n> picks another seed; STACKONLY_FUZZ_SCALE=<x> multiplies the
 * number of variants.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ElfError, InputError } from '../src/errors.js';
import { parseElf } from '../src/elf/reader.js';
import {
  SHN_LORESERVE,
  SHN_XINDEX,
  SHT_GROUP,
  SHT_NOBITS,
  SHT_NULL,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  type ElfObject,
} from '../src/elf/types.js';

const SEED = Number(process.env.STACKONLY_FUZZ_SEED ?? 0x5eed_e1f);
const SCALE = Number(process.env.STACKONLY_FUZZ_SCALE ?? 1);
/** Generous: the machine is shared. A pristine parse takes well under 50 ms even for ext4.ko. */
const MAX_PARSE_MS = 2_000;
/** Heap growth over one parse above this means something allocated from a lying count. */
const MAX_HEAP_GROWTH = 512 * 1024 * 1024;

const ROOT = join(import.meta.dirname, '..');
const FIXTURE_DIR = join(ROOT, 'testdata', 'elf');
const SRC = join(FIXTURE_DIR, 'src');
const KERNEL = '/var/tmp/stackonly-kernels/6.1.0-54/lib/modules';

// ---------------------------------------------------------------- PRNG and values

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick<T>(xs: readonly T[]): T {
      return xs[Math.floor(next() * xs.length)];
    },
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof prng>;

function interesting(rng: Rng, fileSize: number): bigint {
  const fs = BigInt(fileSize);
  const values = [
    0n, 1n, 2n, 3n, 4n, 7n, 8n, 16n, 24n, 0x7fn, 0x80n, 0xffn, 0x100n, 0xfeffn, 0xff00n, 0xfff1n, 0xfff2n,
    0xfffen, 0xffffn, 0x10000n, 0x7fffffffn, 0x80000000n, 0xfffffff0n, 0xffffffffn, 1n << 32n,
    (1n << 53n) - 1n, 1n << 53n, 1n << 63n, (1n << 64n) - 1n, fs, fs - 1n, fs + 1n, fs / 2n, fs * 4n,
  ];
  if (rng.chance(0.2)) return BigInt(rng.int(0x1_0000_0000)) | (BigInt(rng.int(0x1_0000_0000)) << 32n);
  if (rng.chance(0.2)) return BigInt(rng.int(Math.max(1, fileSize * 2)));
  return rng.pick(values);
}

// ---------------------------------------------------------------- layout

interface Layout {
  is64: boolean;
  le: boolean;
  shoff: number;
  shentsize: number;
  obj: ElfObject;
}

function layoutOf(bytes: Buffer, path: string): Layout {
  const obj = parseElf(bytes, path);
  const is64 = obj.elfClass === 64;
  const le = obj.endian === 'little';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = is64 ? Number(dv.getBigUint64(40, le)) : dv.getUint32(32, le);
  return { is64, le, shoff, shentsize: is64 ? 64 : 40, obj };
}

/** Writes `value` (truncated to `width` bytes) at `at`, if it fits in the buffer. */
function put(buf: Buffer, at: number, width: number, value: bigint, le: boolean): void {
  if (at < 0 || at + width > buf.length) return;
  let v = BigInt.asUintN(width * 8, value);
  for (let i = 0; i < width; i++) {
    buf[le ? at + i : at + width - 1 - i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** Buffer.fill clamped to the buffer (fill throws past the end). */
function fillRange(buf: Buffer, value: number, from: number, to: number): void {
  const a = Math.max(0, Math.min(from, buf.length));
  const b = Math.max(a, Math.min(to, buf.length));
  buf.fill(value, a, b);
}

type Field = [offset: number, width: number];

const HEADER_FIELDS = (is64: boolean): Record<string, Field> =>
  is64
    ? { type: [16, 2], machine: [18, 2], version: [20, 4], shoff: [40, 8], ehsize: [52, 2], phnum: [56, 2], shentsize: [58, 2], shnum: [60, 2], shstrndx: [62, 2] }
    : { type: [16, 2], machine: [18, 2], version: [20, 4], shoff: [32, 4], ehsize: [40, 2], phnum: [44, 2], shentsize: [46, 2], shnum: [48, 2], shstrndx: [50, 2] };

const SECTION_FIELDS = (is64: boolean): Record<string, Field> =>
  is64
    ? { name: [0, 4], type: [4, 4], flags: [8, 8], addr: [16, 8], offset: [24, 8], size: [32, 8], link: [40, 4], info: [44, 4], addralign: [48, 8], entsize: [56, 8] }
    : { name: [0, 4], type: [4, 4], flags: [8, 4], addr: [12, 4], offset: [16, 4], size: [20, 4], link: [24, 4], info: [28, 4], addralign: [32, 4], entsize: [36, 4] };

const SYMBOL_FIELDS = (is64: boolean): Record<string, Field> =>
  is64
    ? { name: [0, 4], info: [4, 1], other: [5, 1], shndx: [6, 2], value: [8, 8], size: [16, 8] }
    : { name: [0, 4], value: [4, 4], size: [8, 4], info: [12, 1], other: [13, 1], shndx: [14, 2] };

const RELOC_FIELDS = (is64: boolean): Record<string, Field> =>
  is64 ? { offset: [0, 8], info: [8, 8], addend: [16, 8], symbol: [12, 4] } : { offset: [0, 4], info: [4, 4], addend: [8, 4], symbol: [5, 3] };

// ---------------------------------------------------------------- mutators

interface Variant {
  what: string;
  bytes: Buffer;
}

type Mutator = (rng: Rng, src: Buffer, l: Layout) => Variant;

const sectionsOfType = (l: Layout, ...types: number[]) => l.obj.sections.filter((s) => types.includes(s.type));

function setField(buf: Buffer, l: Layout, base: number, fields: Record<string, Field>, rng: Rng, label: string): string {
  const names = Object.keys(fields);
  const name = rng.pick(names);
  let [off, width] = fields[name];
  let value = interesting(rng, buf.length);
  // The big-endian ELF64 r_info has the symbol in its first half; little-endian in the second.
  if (label.startsWith('reloc') && name === 'symbol' && !l.le) off = l.is64 ? 8 : 4;
  if (label.startsWith('reloc') && name === 'symbol' && !l.is64) {
    // ELF32 r_info: symbol in the top 24 bits.
    value = BigInt.asUintN(24, value);
    const at = base + 4;
    if (at + 4 > buf.length) return `${label}.${name} (outside)`;
    const old = BigInt(l.le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
    put(buf, at, 4, (value << 8n) | (old & 0xffn), l.le);
    return `${label}.${name}=0x${value.toString(16)}`;
  }
  put(buf, base + off, width, value, l.le);
  return `${label}.${name}=0x${value.toString(16)}`;
}

const MUTATORS: Record<string, { weight: number; run: Mutator }> = {
  truncate: {
    weight: 3,
    run(rng, src, l) {
      const cuts = [rng.int(80), rng.int(src.length), src.length - 1 - rng.int(64), l.shoff + rng.int(l.shentsize * 3)];
      for (const s of l.obj.sections) cuts.push(s.offset, s.offset + s.size - 1, s.offset + (s.size >> 1));
      const len = Math.max(0, Math.min(src.length - 1, rng.pick(cuts)));
      return { what: `truncate to ${len}`, bytes: Buffer.from(src.subarray(0, len)) };
    },
  },
  header: {
    weight: 3,
    run(rng, src, l) {
      const buf = Buffer.from(src);
      if (rng.chance(0.4)) {
        const at = rng.int(l.is64 ? 64 : 52);
        const bit = rng.int(8);
        buf[at] ^= 1 << bit;
        return { what: `header byte ${at} bit ${bit}`, bytes: buf };
      }
      return { what: setField(buf, l, 0, HEADER_FIELDS(l.is64), rng, 'ehdr'), bytes: buf };
    },
  },
  sectionHeader: {
    weight: 6,
    run(rng, src, l) {
      const buf = Buffer.from(src);
      const i = rng.chance(0.3) ? rng.pick(sectionsOfType(l, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_REL, SHT_GROUP, SHT_SYMTAB_SHNDX)).index : rng.int(l.obj.sections.length);
      const base = l.shoff + i * l.shentsize;
      if (rng.chance(0.2)) {
        const type = rng.pick([SHT_NULL, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_REL, SHT_NOBITS, SHT_GROUP, SHT_SYMTAB_SHNDX]);
        put(buf, base + 4, 4, BigInt(type), l.le);
        return { what: `section ${i} type=${type}`, bytes: buf };
      }
      if (rng.chance(0.2)) {
        const at = base + rng.int(l.shentsize);
        buf[at] = rng.int(256);
        return { what: `section ${i} byte ${at - base} random`, bytes: buf };
      }
      return { what: setField(buf, l, base, SECTION_FIELDS(l.is64), rng, `section ${i}`), bytes: buf };
    },
  },
  symbol: {
    weight: 5,
    run(rng, src, l) {
      const buf = Buffer.from(src);
      const symtab = sectionsOfType(l, SHT_SYMTAB)[0];
      const entsize = l.is64 ? 24 : 16;
      const i = rng.int(symtab.size / entsize);
      const base = symtab.offset + i * entsize;
      if (rng.chance(0.25)) {
        put(buf, base + (l.is64 ? 6 : 14), 2, BigInt(rng.pick([SHN_XINDEX, 0xfff1, 0xfff2, 0xff00, 0xff1f, SHN_LORESERVE - 1, l.obj.sections.length])), l.le);
        return { what: `symbol ${i} shndx special`, bytes: buf };
      }
      return { what: setField(buf, l, base, SYMBOL_FIELDS(l.is64), rng, `symbol ${i}`), bytes: buf };
    },
  },
  relocation: {
    weight: 5,
    run(rng, src, l) {
      const buf = Buffer.from(src);
      const rs = rng.pick(sectionsOfType(l, SHT_RELA, SHT_REL).filter((s) => s.size > 0));
      const entsize = rs.entsize || (l.is64 ? (rs.type === SHT_RELA ? 24 : 16) : rs.type === SHT_RELA ? 12 : 8);
      const i = rng.int(rs.size / entsize);
      const fields = { ...RELOC_FIELDS(l.is64) };
      if (rs.type === SHT_REL) delete (fields as Record<string, Field>).addend;
      return { what: setField(buf, l, rs.offset + i * entsize, fields, rng, `reloc ${rs.name}[${i}]`), bytes: buf };
    },
  },
  strings: {
    weight: 4,
    run(rng, src, l) {
      const buf = Buffer.from(src);
      const st = rng.pick(sectionsOfType(l, SHT_STRTAB).filter((s) => s.size > 0));
      const how = rng.int(4);
      if (how === 0) {
        // Remove every terminator from a stretch (or the whole table).
        const from = st.offset + rng.int(st.size);
        const to = rng.chance(0.5) ? st.offset + st.size : Math.min(st.offset + st.size, from + 1 + rng.int(64));
        for (let k = from; k < to; k++) if (buf[k] === 0) buf[k] = 0x41;
        return { what: `strtab ${st.name} no NULs in [${from - st.offset}, ${to - st.offset})`, bytes: buf };
      }
      if (how === 1) {
        fillRange(buf, 0, st.offset, st.offset + st.size);
        return { what: `strtab ${st.name} zeroed`, bytes: buf };
      }
      const n = 1 + rng.int(16);
      for (let k = 0; k < n; k++) buf[st.offset + rng.int(st.size)] = rng.int(256);
      return { what: `strtab ${st.name} ${n} random bytes`, bytes: buf };
    },
  },
  group: {
    weight: 1,
    run(rng, src, l) {
      const buf = Buffer.from(src);
      const groups = sectionsOfType(l, SHT_GROUP);
      if (groups.length === 0) return MUTATORS.sectionHeader.run(rng, src, l);
      const g = rng.pick(groups);
      const word = rng.int(g.size / 4);
      put(buf, g.offset + word * 4, 4, interesting(rng, buf.length), l.le);
      return { what: `group ${g.index} word ${word}`, bytes: buf };
    },
  },
  extendedNumbering: {
    weight: 2,
    run(rng, src, l) {
      // e_shnum = 0 (and maybe e_shstrndx = SHN_XINDEX) with a bogus or half-right section 0.
      const buf = Buffer.from(src);
      const h = HEADER_FIELDS(l.is64);
      const s = SECTION_FIELDS(l.is64);
      put(buf, h.shnum[0], 2, 0n, l.le);
      const count = rng.chance(0.3) ? BigInt(l.obj.sections.length) : interesting(rng, buf.length);
      put(buf, l.shoff + s.size[0], s.size[1], count, l.le);
      let what = `e_shnum=0 section0.size=0x${count.toString(16)}`;
      if (rng.chance(0.5)) {
        put(buf, h.shstrndx[0], 2, BigInt(SHN_XINDEX), l.le);
        const link = rng.chance(0.3) ? BigInt(l.obj.sections.findIndex((x) => x.name === '.shstrtab')) : interesting(rng, buf.length);
        put(buf, l.shoff + s.link[0], 4, link, l.le);
        what += ` e_shstrndx=XINDEX section0.link=0x${link.toString(16)}`;
      }
      if (rng.chance(0.3)) {
        put(buf, l.shoff + s.type[0], 4, BigInt(rng.int(20)), l.le);
        what += ' section0.type random';
      }
      return { what, bytes: buf };
    },
  },
  randomBytes: {
    weight: 3,
    run(rng, src) {
      const buf = Buffer.from(src);
      const n = 1 + rng.int(32);
      for (let k = 0; k < n; k++) buf[rng.int(buf.length)] = rng.int(256);
      return { what: `${n} random bytes`, bytes: buf };
    },
  },
  stomp: {
    weight: 1,
    run(rng, src) {
      const buf = Buffer.from(src);
      const at = rng.int(buf.length);
      const len = 1 + rng.int(512);
      fillRange(buf, rng.pick([0, 0xff, 0x7f, 0x80]), at, at + len);
      return { what: `fill [${at}, +${len})`, bytes: buf };
    },
  },
};

const WEIGHTED = Object.entries(MUTATORS).flatMap(([name, m]) => Array<string>(m.weight).fill(name));

function mutate(rng: Rng, src: Buffer, l: Layout): Variant {
  const rounds = rng.chance(0.75) ? 1 : 2 + rng.int(3);
  // Truncation goes last so that the other mutators' offsets (from the layout) still apply.
  const names = Array.from({ length: rounds }, () => rng.pick(WEIGHTED)).sort((a, b) => Number(a === 'truncate') - Number(b === 'truncate'));
  let bytes = src;
  const whats: string[] = [];
  for (const name of names) {
    const v = MUTATORS[name].run(rng, bytes, l);
    bytes = v.bytes;
    whats.push(v.what);
  }
  return { what: whats.join('; '), bytes };
}

// ---------------------------------------------------------------- checking one variant

/** What a returned object must satisfy for callers that index by what it says. */
function checkConsistent(obj: ElfObject, size: number): string | undefined {
  const shentsize = obj.elfClass === 64 ? 64 : 40;
  const symentsize = obj.elfClass === 64 ? 24 : 16;
  if (obj.sections.length * shentsize > size) return `more sections (${obj.sections.length}) than the file holds`;
  if (obj.symbols.length * symentsize > size) return `more symbols (${obj.symbols.length}) than the file holds`;
  for (const s of obj.sections) {
    if (typeof s.name !== 'string') return `section ${s.index} name not a string`;
    for (const k of ['offset', 'size', 'flags', 'addralign', 'entsize', 'link', 'info', 'addr'] as const) {
      if (!Number.isFinite(s[k])) return `section ${s.index} ${k} not finite`;
    }
    const data = obj.sectionData(s.index);
    if (s.type !== SHT_NOBITS && s.type !== SHT_NULL && data.length !== s.size) return `section ${s.index} data length ${data.length} != size ${s.size}`;
    obj.relocationsFor(s.index);
  }
  for (const sym of obj.symbols) {
    if (typeof sym.name !== 'string') return `symbol ${sym.index} name not a string`;
    if (!sym.reserved && sym.shndx >= obj.sections.length) return `symbol ${sym.index} in section ${sym.shndx} of ${obj.sections.length}`;
  }
  let relocs = 0;
  for (const rs of obj.relocationSections) {
    if (rs.target <= 0 || rs.target >= obj.sections.length) return `relocation section ${rs.index} target ${rs.target}`;
    const target = obj.sections[rs.target];
    for (const r of rs.relocations) {
      relocs++;
      if (r.symbol >= obj.symbols.length) return `relocation symbol ${r.symbol} of ${obj.symbols.length}`;
      if (r.offset >= target.size) return `relocation offset ${r.offset} outside target size ${target.size}`;
    }
  }
  if (relocs * 8 > size) return `more relocations (${relocs}) than the file holds`;
  for (const g of obj.groups) {
    if (g.signature >= obj.symbols.length) return `group ${g.index} signature ${g.signature}`;
    if (g.members.some((m) => m <= 0 || m >= obj.sections.length)) return `group ${g.index} member out of range`;
    if (g.members.length * 4 > size) return `group ${g.index} has more members than the file holds`;
  }
  return undefined;
}

interface Stats {
  variants: number;
  parsed: number;
  rejected: number;
  slowestMs: number;
  slowest: string;
  failures: string[];
}

function runVariants(label: string, src: Buffer, count: number, seed: number): Stats {
  const l = layoutOf(src, label);
  const rng = prng(seed);
  const stats: Stats = { variants: 0, parsed: 0, rejected: 0, slowestMs: 0, slowest: '', failures: [] };
  const fail = (v: Variant, problem: string) => {
    if (stats.failures.length < 20) stats.failures.push(`${label} [seed ${seed}] ${v.what}: ${problem}`);
  };
  for (let n = 0; n < count; n++) {
    const v = mutate(rng, src, l);
    stats.variants++;
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    let obj: ElfObject | undefined;
    try {
      obj = parseElf(v.bytes, label);
    } catch (err) {
      if (err instanceof InputError) {
        stats.rejected++;
        if (!err.message.startsWith(`${label}: `)) fail(v, `message does not name the file: ${err.message}`);
      } else {
        fail(v, `threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.stack ?? err}`);
      }
    }
    const ms = performance.now() - t0;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    if (ms > stats.slowestMs) {
      stats.slowestMs = ms;
      stats.slowest = v.what;
    }
    if (ms > MAX_PARSE_MS) fail(v, `took ${ms.toFixed(0)} ms`);
    if (heapGrowth > MAX_HEAP_GROWTH) fail(v, `heap grew by ${(heapGrowth / 2 ** 20).toFixed(0)} MiB`);
    if (obj) {
      stats.parsed++;
      try {
        const problem = checkConsistent(obj, v.bytes.length);
        if (problem) fail(v, `returned an inconsistent object: ${problem}`);
      } catch (err) {
        // Relocation entries are decoded on first use, so their corruption surfaces as an
        // ElfError then: still the typed error, never anything else.
        if (!(err instanceof ElfError)) fail(v, `using the returned object threw ${(err as Error)?.stack ?? err}`);
      }
    }
  }
  return stats;
}

function report(label: string, s: Stats): void {
  // One line per input so a slow or lopsided run is visible in the log.
  console.log(
    `${label}: ${s.variants} variants, ${s.parsed} parsed, ${s.rejected} rejected, slowest ${s.slowestMs.toFixed(1)} ms (${s.slowest})`,
  );
}

// ---------------------------------------------------------------- inputs

function hasTool(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const FIXTURES = readdirSync(FIXTURE_DIR)
  .filter((f) => f.endsWith('.o'))
  .sort();

const COMPILED: { name: string; command: [string, ...string[]] }[] = [
  { name: 'funcs.c -O2', command: ['gcc', '-O2', '-w', '-c', 'funcs.c'] },
  { name: 'cold.c -O2 -ffunction-sections -fdata-sections', command: ['gcc', '-O2', '-ffunction-sections', '-fdata-sections', '-w', '-c', 'cold.c'] },
  { name: 'funcs.c -O0 -g', command: ['gcc', '-O0', '-g', '-w', '-c', 'funcs.c'] },
  { name: 'comdat.cpp -O2', command: ['g++', '-O2', '-c', 'comdat.cpp'] },
  { name: 'groups.s', command: ['as', 'groups.s'] },
];
const CAN_COMPILE = process.arch === 'x64' && ['gcc', 'g++', 'as'].every(hasTool);

/** A big module and two small ones; only where the extracted kernel packages are. */
function kernelModules(): string[] {
  if (!existsSync(KERNEL)) return [];
  const versions = readdirSync(KERNEL).sort();
  if (versions.length === 0) return [];
  const base = join(KERNEL, versions[0], 'kernel');
  return ['fs/ext4/ext4.ko', 'lib/crc-itu-t.ko', 'drivers/input/misc/pcspkr.ko', 'net/ipv4/udp_tunnel.ko']
    .map((p) => join(base, p))
    .filter((p) => existsSync(p));
}
const MODULES = kernelModules();

/** Variants per input: small objects parse in well under a millisecond, ext4.ko in ~10 ms. */
const PER_SMALL = Math.round(1200 * SCALE);
const PER_MODULE = (size: number) => Math.round((size > 1 << 20 ? 120 : 600) * SCALE);

function seedFor(label: string): number {
  let h = SEED >>> 0;
  for (const c of label) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

// ---------------------------------------------------------------- tests

describe('corrupted objects end in a result or an ElfError', () => {
  test.each(FIXTURES)('fixture %s', (name) => {
    const src = readFileSync(join(FIXTURE_DIR, name));
    const stats = runVariants(name, src, PER_SMALL, seedFor(name));
    report(name, stats);
    expect(stats.failures).toEqual([]);
    expect(stats.rejected).toBeGreaterThan(stats.variants / 10);
  });

  describe.skipIf(!CAN_COMPILE)('objects compiled now', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'stackonly-fuzz-'));
    });
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    test.each(COMPILED)('$name', ({ name, command }) => {
      const out = join(dir, `${name.replace(/[^\w.-]+/g, '_')}.o`);
      execFileSync(command[0], [...command.slice(1), '-o', out], { cwd: SRC, stdio: ['ignore', 'ignore', 'pipe'] });
      const src = readFileSync(out);
      const stats = runVariants(name, src, PER_SMALL, seedFor(name));
      report(name, stats);
      expect(stats.failures).toEqual([]);
    });
  });

  describe.skipIf(MODULES.length === 0)('kernel modules', () => {
    test.each(MODULES.length ? MODULES : ['none'])('%s', (path) => {
      const src = readFileSync(path);
      const label = path.slice(path.indexOf('/kernel/') + 1);
      const stats = runVariants(label, src, PER_MODULE(src.length), seedFor(label));
      report(label, stats);
      expect(stats.failures).toEqual([]);
    }, 60_000);
  });
});

/** An object as plain data (its relocations decoded, or the error decoding them threw), or the parse's error. */
function outcome(parse: () => ElfObject): string {
  let obj: ElfObject;
  try {
    obj = parse();
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
  let relocations: unknown;
  try {
    relocations = obj.relocationSections.map((rs) => ({ index: rs.index, target: rs.target, relocations: rs.relocations, table: [...obj.relocationTable(rs.target).offset] }));
  } catch (err) {
    relocations = `error: ${(err as Error).message}`;
  }
  const { sections, symbols, groups, fileSize } = obj;
  return JSON.stringify({ sections, symbols, groups, fileSize, relocations });
}

describe('a twin (the other build, parsed before) changes nothing', () => {
  // Variants that keep the section header table take the twin's over; the others are
  // parsed in full. Either way the result, or the error, is the one without a twin.
  const inputs = [...FIXTURES.map((name) => ({ label: name, path: join(FIXTURE_DIR, name) })), ...MODULES.slice(1).map((path) => ({ label: path.slice(path.indexOf('/kernel/') + 1), path }))];
  test.each(inputs)('$label', ({ label, path }) => {
    const src = readFileSync(path);
    const l = layoutOf(src, label);
    const rng = prng(seedFor(`twin ${label}`));
    const twin = parseElf(src, label, { skipSymbols: true });
    let reused = 0;
    for (let n = 0; n < Math.round(300 * SCALE); n++) {
      const v = mutate(rng, src, l);
      const alone = outcome(() => parseElf(v.bytes, label));
      const withTwin = outcome(() => parseElf(v.bytes, label, { twin }));
      expect(withTwin, v.what).toBe(alone);
      if (v.bytes.length === src.length && v.bytes.compare(src, l.shoff, l.shoff + l.obj.sections.length * l.shentsize, l.shoff, l.shoff + l.obj.sections.length * l.shentsize) === 0) reused++;
    }
    expect(reused).toBeGreaterThan(0);
    // The pristine bytes themselves, with symbols read later as in tree mode.
    const again = parseElf(Buffer.from(src), label, { skipSymbols: true, twin });
    expect(outcome(() => again.withSymbols!())).toBe(outcome(() => parseElf(src, label)));
    expect(again.sections[1]).not.toBe(twin.sections[1]);
  });
});

describe('targeted corruptions', () => {
  const name = 'ppc64-funcs-O2.o';
  const src = readFileSync(join(FIXTURE_DIR, name));
  const l = layoutOf(src, name);

  function expectElfError(bytes: Buffer, pattern: RegExp): void {
    let caught: unknown;
    const heapBefore = process.memoryUsage().heapUsed;
    try {
      const obj = parseElf(bytes, name);
      // Relocation entries are decoded on first use: using them must raise the error.
      for (const rs of obj.relocationSections) void rs.relocations;
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as Error).message).toMatch(pattern);
    expect((caught as Error).message.startsWith(`${name}: `)).toBe(true);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  }

  test('every truncation of a small object is rejected or parsed, never a crash', () => {
    for (let len = 0; len < src.length; len++) {
      try {
        parseElf(src.subarray(0, len), name);
      } catch (err) {
        if (!(err instanceof InputError)) throw new Error(`truncation to ${len}: ${(err as Error).stack}`);
      }
    }
  });

  test('a symbol table claiming 2^32 entries is refused before allocating', () => {
    const symtab = sectionsOfType(l, SHT_SYMTAB)[0];
    const buf = Buffer.from(src);
    put(buf, l.shoff + symtab.index * l.shentsize + 32, 8, 24n << 32n, l.le);
    expectElfError(buf, /outside the file/);
  });

  test('a relocation section claiming 2^32 entries is refused before allocating', () => {
    const rela = sectionsOfType(l, SHT_RELA)[0];
    const buf = Buffer.from(src);
    put(buf, l.shoff + rela.index * l.shentsize + 32, 8, 24n * 0xffff_ffffn, l.le);
    expectElfError(buf, /outside the file/);
  });

  test('e_shnum = 0 with section 0 claiming 2^32 sections is refused', () => {
    const buf = Buffer.from(src);
    put(buf, 60, 2, 0n, l.le);
    put(buf, l.shoff + 32, 8, 0xffff_ffffn, l.le);
    expectElfError(buf, /section header table/);
  });

  test('e_shnum = 0 with section 0 giving the true count parses the same as the original', () => {
    const buf = Buffer.from(src);
    const shstrndx = l.obj.sections.findIndex((s) => s.name === '.shstrtab');
    put(buf, 60, 2, 0n, l.le);
    put(buf, 62, 2, BigInt(SHN_XINDEX), l.le);
    put(buf, l.shoff + 32, 8, BigInt(l.obj.sections.length), l.le);
    put(buf, l.shoff + 40, 4, BigInt(shstrndx), l.le);
    const obj = parseElf(buf, name);
    expect(obj.sections.slice(1)).toEqual(l.obj.sections.slice(1));
    expect(obj.symbols).toEqual(l.obj.symbols);
    const plain = (o: typeof obj) => o.relocationSections.map((rs) => ({ index: rs.index, target: rs.target, explicitAddends: rs.explicitAddends, relocations: rs.relocations }));
    expect(plain(obj)).toEqual(plain(l.obj));
    expect(obj.groups).toEqual(l.obj.groups);
  });

  test('thousands of symbols naming the middle of one long string do not exhaust memory', () => {
    // Make the string table one 64 KiB string and point every symbol at a different offset
    // in it: decoding each name in full would allocate gigabytes for a larger file.
    const symtab = sectionsOfType(l, SHT_SYMTAB)[0];
    const strtab = l.obj.sections[symtab.link];
    const long = 1 << 16;
    const count = 40_000;
    const symOff = src.length;
    const strOff = symOff + count * 24;
    const buf = Buffer.alloc(strOff + long + 1, 0);
    src.copy(buf);
    buf.fill(0x61, strOff, strOff + long);
    for (let i = 1; i < count; i++) put(buf, symOff + i * 24, 4, BigInt(i % long), l.le);
    const sh = (i: number, field: number) => l.shoff + i * l.shentsize + field;
    put(buf, sh(symtab.index, 24), 8, BigInt(symOff), l.le);
    put(buf, sh(symtab.index, 32), 8, BigInt(count * 24), l.le);
    put(buf, sh(strtab.index, 24), 8, BigInt(strOff), l.le);
    put(buf, sh(strtab.index, 32), 8, BigInt(long + 1), l.le);
    const t0 = performance.now();
    expectElfError(buf, /names overlap|symbol/);
    expect(performance.now() - t0).toBeLessThan(MAX_PARSE_MS);
  });

  test('a relocation outside its section is refused', () => {
    const rela = sectionsOfType(l, SHT_RELA).find((s) => s.size > 0)!;
    const target = l.obj.sections[rela.info];
    const buf = Buffer.from(src);
    put(buf, rela.offset, 8, BigInt(target.size), l.le);
    expectElfError(buf, /outside/);
  });
});
