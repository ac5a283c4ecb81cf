// Structure-aware mutations of ELF relocatable objects, for scripts/fuzz.mjs.
//
// Every mutator takes the seeded PRNG, the bytes to mutate and the layout of the pristine
// object (its header fields, section table and symbol table, read once), and returns a new
// buffer and a one-line description of what it did. Mutators that append to the file (new
// section header tables, relocation or group sections) run after the in-place ones, and
// truncation runs last, so that the offsets of the layout still apply.

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
export function prng(seed) {
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
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

export const SHT = { NULL: 0, PROGBITS: 1, SYMTAB: 2, STRTAB: 3, RELA: 4, NOBITS: 8, REL: 9, GROUP: 17, SYMTAB_SHNDX: 18 };
const SHF_ALLOC = 0x2;
const SHF_EXECINSTR = 0x4;
const SHF_MERGE = 0x10;
const SHF_STRINGS = 0x20;
const SHN_XINDEX = 0xffff;
const SHN_LORESERVE = 0xff00;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_SECTION = 3;
const STT_FILE = 4;

/**
 * Largest file a mutator may produce: the point is shape, not size. Work grows linearly with
 * an object's size (a real 19 MB amdgpu.ko takes 3-5 s to compare on this project's
 * machines), so the per-case time limit is meant for objects up to this size; 65,535
 * section headers alone take 4 MB.
 */
export const MAX_OUTPUT = 6 << 20;

const align = (n, a) => Math.ceil(n / a) * a;

/** Writes `value` (a BigInt, truncated to `width` bytes) at `at`, where it fits. */
export function put(buf, at, width, value, le) {
  if (at < 0 || at + width > buf.length) return;
  let v = BigInt.asUintN(width * 8, BigInt(value));
  for (let i = 0; i < width; i++) {
    buf[le ? at + i : at + width - 1 - i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

export function get(buf, at, width, le) {
  if (at < 0 || at + width > buf.length) return 0n;
  let v = 0n;
  for (let i = 0; i < width; i++) v = (v << 8n) | BigInt(buf[le ? at + width - 1 - i : at + i]);
  return v;
}

const HEADER_FIELDS = (is64) =>
  is64
    ? { type: [16, 2], machine: [18, 2], version: [20, 4], shoff: [40, 8], flags: [48, 4], ehsize: [52, 2], phnum: [56, 2], shentsize: [58, 2], shnum: [60, 2], shstrndx: [62, 2] }
    : { type: [16, 2], machine: [18, 2], version: [20, 4], shoff: [32, 4], flags: [36, 4], ehsize: [40, 2], phnum: [44, 2], shentsize: [46, 2], shnum: [48, 2], shstrndx: [50, 2] };

export const SECTION_FIELDS = (is64) =>
  is64
    ? { name: [0, 4], type: [4, 4], flags: [8, 8], addr: [16, 8], offset: [24, 8], size: [32, 8], link: [40, 4], info: [44, 4], addralign: [48, 8], entsize: [56, 8] }
    : { name: [0, 4], type: [4, 4], flags: [8, 4], addr: [12, 4], offset: [16, 4], size: [20, 4], link: [24, 4], info: [28, 4], addralign: [32, 4], entsize: [36, 4] };

const SYMBOL_FIELDS = (is64) =>
  is64
    ? { name: [0, 4], info: [4, 1], other: [5, 1], shndx: [6, 2], value: [8, 8], size: [16, 8] }
    : { name: [0, 4], value: [4, 4], size: [8, 4], info: [12, 1], other: [13, 1], shndx: [14, 2] };

/**
 * The layout of a pristine object, from the project's own reader (`parseElf` from dist):
 * seeds are valid objects, so its answer is the truth about them.
 */
export function layoutOf(bytes, obj) {
  const is64 = obj.elfClass === 64;
  const le = obj.endian === 'little';
  const H = HEADER_FIELDS(is64);
  const shoff = Number(get(bytes, H.shoff[0], H.shoff[1], le));
  const shentsize = is64 ? 64 : 40;
  const sections = obj.sections.map((s) => ({ ...s, header: shoff + s.index * shentsize }));
  const of = (...types) => sections.filter((s) => types.includes(s.type));
  const symtab = of(SHT.SYMTAB)[0];
  const symentsize = is64 ? 24 : 16;
  const relentsize = (s) => (is64 ? (s.type === SHT.RELA ? 24 : 16) : s.type === SHT.RELA ? 12 : 8);
  const exec = sections.filter((s) => s.flags & SHF_EXECINSTR && s.type === SHT.PROGBITS && s.size > 0);
  const functions = obj.symbols.filter((s) => s.type === STT_FUNC && s.size > 0 && !s.reserved && s.shndx > 0).map((s) => s.index);
  // Sized data symbols: the arrays whose size a livepatch module's reader believes (klp_func[]).
  const dataObjects = obj.symbols.filter((s) => s.type === STT_OBJECT && s.size > 0 && !s.reserved && s.shndx > 0).map((s) => s.index);
  const coldNameOffsets = [];
  if (symtab) {
    // Where ".cold" suffixed names start in the string table: names to give other symbols.
    for (const sym of obj.symbols) {
      if (sym.name.includes('.cold')) coldNameOffsets.push(Number(get(bytes, symtab.offset + sym.index * symentsize, 4, le)));
    }
  }
  return {
    is64,
    le,
    H,
    S: SECTION_FIELDS(is64),
    Y: SYMBOL_FIELDS(is64),
    shoff,
    shentsize,
    shnum: sections.length,
    shstrndx: sections.findIndex((s) => s.name === '.shstrtab'),
    extended: Number(get(bytes, H.shnum[0], 2, le)) === 0,
    sections,
    of,
    symtab,
    symentsize,
    symcount: symtab ? symtab.size / symentsize : 0,
    relocs: of(SHT.RELA, SHT.REL).filter((s) => s.size > 0),
    relentsize,
    exec,
    functions,
    dataObjects,
    coldNameOffsets,
    special: sections.filter((s) => ['__jump_table', '.altinstructions', '__ex_table', '.static_call_sites', '__bug_table', '.orc_unwind_ip', '.orc_unwind', '.modinfo', '.return_sites', '.call_sites', '__mcount_loc', '.retpoline_sites', '.altinstr_replacement'].includes(s.name)),
  };
}

function interesting(rng, fileSize) {
  const fs = BigInt(fileSize);
  const values = [
    0n, 1n, 2n, 3n, 4n, 7n, 8n, 16n, 24n, 0x7fn, 0x80n, 0xffn, 0x100n, 0xfeffn, 0xff00n, 0xfff1n, 0xfff2n,
    0xfffen, 0xffffn, 0x10000n, 0x7fffffffn, 0x80000000n, 0xfffffff0n, 0xffffffffn, 1n << 32n,
    (1n << 53n) - 1n, 1n << 53n, 1n << 63n, (1n << 64n) - 1n, fs, fs - 1n, fs + 1n, fs / 2n, fs * 4n,
  ];
  if (rng.chance(0.15)) return BigInt(rng.int(0x1_0000_0000)) | (BigInt(rng.int(0x1_0000_0000)) << 32n);
  if (rng.chance(0.25)) return BigInt(rng.int(Math.max(1, fileSize * 2)));
  return rng.pick(values);
}

/** A section index worth trying in a link or info field: itself, a neighbour, a table, or out of range. */
function sectionIndexValue(rng, l, self) {
  const picks = [self, self, 0, l.shnum - 1, l.shnum, l.shnum + 1, self + 1, self - 1, l.shstrndx, SHN_XINDEX, SHN_LORESERVE, 0xffffffff];
  if (l.symtab) picks.push(l.symtab.index, l.symtab.link);
  for (const s of l.relocs.slice(0, 4)) picks.push(s.index, s.info);
  picks.push(rng.int(l.shnum));
  return BigInt(Math.max(0, rng.pick(picks)) >>> 0);
}

function setField(rng, buf, l, base, fields, label, value) {
  const name = rng.pick(Object.keys(fields));
  const [off, width] = fields[name];
  const v = value ?? interesting(rng, buf.length);
  put(buf, base + off, width, v, l.le);
  return `${label}.${name}=0x${BigInt.asUintN(width * 8, v).toString(16)}`;
}

function sectionHeader(l, fields) {
  const buf = Buffer.alloc(l.shentsize);
  for (const [name, value] of Object.entries(fields)) {
    const [off, width] = l.S[name];
    put(buf, off, width, BigInt(value), l.le);
  }
  return buf;
}

/** The header of an existing section as the pristine file has it. */
export function headerBytes(src, l, section) {
  return Buffer.from(src.subarray(section.header, section.header + l.shentsize));
}

/**
 * A new file: the old one, then `blobs`, then a copy of the section header table with
 * `extra(blobOffsets)` appended; e_shoff points at the copy and the count uses extended
 * numbering where it does not fit e_shnum.
 */
export function appendSections(src, l, blobs, extra) {
  let size = align(src.length, 8);
  const blobOffsets = [];
  for (const blob of blobs) {
    blobOffsets.push(size);
    size = align(size + blob.length, 8);
  }
  const headers = extra(blobOffsets);
  const total = l.shnum + headers.length;
  const tableAt = size;
  size += total * l.shentsize;
  if (size > MAX_OUTPUT) return undefined;
  const buf = Buffer.alloc(size);
  src.copy(buf, 0, 0, src.length);
  blobs.forEach((blob, i) => blob.copy(buf, blobOffsets[i]));
  src.copy(buf, tableAt, l.shoff, l.shoff + l.shnum * l.shentsize);
  headers.forEach((h, i) => h.copy(buf, tableAt + (l.shnum + i) * l.shentsize));
  put(buf, l.H.shoff[0], l.H.shoff[1], BigInt(tableAt), l.le);
  if (total < SHN_LORESERVE) {
    put(buf, l.H.shnum[0], 2, BigInt(total), l.le);
    put(buf, tableAt + l.S.size[0], l.S.size[1], 0n, l.le);
  } else {
    put(buf, l.H.shnum[0], 2, 0n, l.le);
    put(buf, tableAt + l.S.size[0], l.S.size[1], BigInt(total), l.le);
  }
  return buf;
}

const COUNTS = [1, 2, 3, 16, 200, 1000, 3000, 20000, 0xff00, 65500];
const pickCount = (rng, max = Infinity) => Math.min(max, rng.chance(0.5) ? rng.pick(COUNTS.slice(0, 6)) : rng.pick(COUNTS));

/** A relocation type worth trying on x86-64: the ones the backend knows and some it does not. */
const RELOC_TYPES = [0, 1, 2, 3, 4, 9, 10, 11, 12, 13, 14, 15, 16, 24, 25, 26, 41, 42, 43, 0x7fffffff, 0xffffffff];

const CODE_PATTERNS = [
  [0xeb, 0xfe], // jmp to itself
  [0xeb, 0x00],
  [0xe9, 0x00, 0x00, 0x00, 0x00],
  [0xe8, 0xfb, 0xff, 0xff, 0xff], // call to itself
  [0x0f, 0x84, 0xfa, 0xff, 0xff, 0xff],
  [0x0f, 0x0b], // ud2
  [0xcc],
  [0xc3],
  [0x66], // operand-size prefix
  [0xf3],
  [0x2e],
  [0x48], // REX
  [0xc4], // VEX
  [0x62], // EVEX
  [0x0f],
  [0x0f, 0x38],
  [0x0f, 0x3a],
  [0xff, 0x25, 0, 0, 0, 0], // jmp *rip
  [0xff, 0xe0], // jmp *%rax
  [0x3e, 0xff, 0xe0],
  [0x06], // invalid in 64-bit mode
  [0xd6],
  [0x0f, 0xff],
  [0x90],
  [0x0f, 0x1f, 0x44, 0x00, 0x00],
];

/** The mutators, with weights. Each returns { what, bytes } or undefined when it does not apply. */
export const MUTATORS = {
  truncate: {
    weight: 2,
    order: 3,
    run(rng, src, l) {
      const cuts = [rng.int(80), rng.int(src.length), src.length - 1 - rng.int(64), l.shoff + rng.int(l.shentsize * 3)];
      for (const s of l.sections) cuts.push(s.offset, s.offset + s.size - 1, s.offset + (s.size >> 1));
      const len = Math.max(0, Math.min(src.length - 1, rng.pick(cuts)));
      return { what: `truncate to ${len}`, bytes: Buffer.from(src.subarray(0, len)) };
    },
  },

  header: {
    weight: 3,
    run(rng, src, l) {
      const buf = Buffer.from(src);
      const r = rng.next();
      if (r < 0.25) {
        const at = rng.int(l.is64 ? 64 : 52);
        const bit = rng.int(8);
        buf[at] ^= 1 << bit;
        return { what: `header byte ${at} bit ${bit}`, bytes: buf };
      }
      if (r < 0.4) {
        const type = rng.pick([0, 2, 3, 4, 0xfe00, 0xff00, 0xffff]);
        put(buf, l.H.type[0], 2, BigInt(type), l.le);
        return { what: `e_type=${type}`, bytes: buf };
      }
      if (r < 0.5) {
        const machine = rng.pick([0, 3, 8, 20, 21, 22, 40, 62, 183, 243, 0xffff]);
        put(buf, l.H.machine[0], 2, BigInt(machine), l.le);
        return { what: `e_machine=${machine}`, bytes: buf };
      }
      if (r < 0.6) {
        const v = rng.pick([l.shnum - 1, l.shnum + 1, l.shnum * 2, 0, 1, SHN_XINDEX, SHN_LORESERVE]);
        const field = rng.pick(['shnum', 'shstrndx']);
        put(buf, l.H[field][0], l.H[field][1], BigInt(v), l.le);
        return { what: `e_${field}=${v}`, bytes: buf };
      }
      return { what: setField(rng, buf, l, 0, l.H, 'ehdr'), bytes: buf };
    },
  },

  sectionField: {
    weight: 6,
    run(rng, src, l) {
      const buf = Buffer.from(src);
      const s = rng.chance(0.4) ? rng.pick(l.sections.filter((x) => x.type !== SHT.PROGBITS && x.type !== SHT.NULL)) ?? rng.pick(l.sections) : rng.pick(l.sections);
      if (rng.chance(0.15)) {
        const at = s.header + rng.int(l.shentsize);
        buf[at] = rng.int(256);
        return { what: `section ${s.index} header byte ${at - s.header} random`, bytes: buf };
      }
      return { what: setField(rng, buf, l, s.header, l.S, `section ${s.index} (${s.name})`), bytes: buf };
    },
  },

  /** sh_link/sh_info naming the section itself, another table, or each other (cycles). */
  sectionLinks: {
    weight: 6,
    run(rng, src, l) {
      const buf = Buffer.from(src);
      const kind = rng.int(6);
      const link = (s, v) => put(buf, s.header + l.S.link[0], 4, v, l.le);
      const info = (s, v) => put(buf, s.header + l.S.info[0], 4, v, l.le);
      if (kind === 0 && l.relocs.length) {
        const r = rng.pick(l.relocs);
        info(r, BigInt(r.index));
        return { what: `${r.name}.info = itself (${r.index})`, bytes: buf };
      }
      if (kind === 1 && l.relocs.length >= 1) {
        const a = rng.pick(l.relocs);
        const b = rng.pick(l.relocs);
        info(a, BigInt(b.index));
        if (rng.chance(0.5)) info(b, BigInt(a.index));
        return { what: `${a.name}.info = ${b.name}, maybe back (relocation cycle)`, bytes: buf };
      }
      if (kind === 2 && l.symtab) {
        const target = rng.pick([l.symtab.index, l.shstrndx, ...l.relocs.map((r) => r.index), l.shnum - 1]);
        link(l.symtab, BigInt(target));
        return { what: `.symtab.link = ${target}`, bytes: buf };
      }
      if (kind === 3) {
        const a = rng.pick(l.sections);
        const b = rng.pick(l.sections);
        const field = rng.pick([link, info]);
        field(a, BigInt(b.index));
        field(b, BigInt(a.index));
        return { what: `sections ${a.index} and ${b.index} name each other in ${field === link ? 'sh_link' : 'sh_info'}`, bytes: buf };
      }
      if (kind === 4) {
        const s = rng.pick(l.of(SHT.GROUP, SHT.SYMTAB_SHNDX, SHT.RELA, SHT.REL, SHT.SYMTAB).concat(l.sections.slice(0, 1)));
        const v = sectionIndexValue(rng, l, s.index);
        rng.chance(0.5) ? link(s, v) : info(s, v);
        return { what: `section ${s.index} (${s.name}) link/info = ${v}`, bytes: buf };
      }
      // Relocations that apply to a relocation section, a table, or section 0.
      const r = rng.pick(l.relocs.length ? l.relocs : l.sections);
      const target = rng.pick([0, l.shstrndx, l.symtab?.index ?? 0, ...l.of(SHT.GROUP, SHT.NOBITS).map((s) => s.index), rng.int(l.shnum)]);
      info(r, BigInt(target));
      return { what: `section ${r.index} (${r.name}).info = ${target}`, bytes: buf };
    },
  },

  /** Two headers naming the same bytes, overlapping, or running past the end. */
  sectionAlias: {
    weight: 4,
    run(rng, src, l) {
      const buf = Buffer.from(src);
      const a = rng.pick(l.sections.slice(1));
      const b = rng.pick(l.sections.filter((s) => s.size > 0 && s.type !== SHT.NOBITS)) ?? a;
      const kind = rng.int(4);
      const off = BigInt(b.offset);
      let size = BigInt(b.size);
      if (kind === 1) size = BigInt(Math.max(0, b.size - rng.int(Math.max(1, b.size))));
      if (kind === 2) size = BigInt(src.length - b.offset);
      if (kind === 3) size = BigInt(src.length - b.offset + 1 + rng.int(64));
      put(buf, a.header + l.S.offset[0], l.S.offset[1], off + (kind === 1 ? BigInt(rng.int(8)) : 0n), l.le);
      put(buf, a.header + l.S.size[0], l.S.size[1], size, l.le);
      return { what: `section ${a.index} (${a.name}) aliases ${b.index} (${b.name}) kind ${kind}`, bytes: buf };
    },
  },

  sectionTypeFlags: {
    weight: 4,
    run(rng, src, l) {
      const buf = Buffer.from(src);
      const s = rng.pick(l.sections);
      if (rng.chance(0.5)) {
        const type = rng.pick(Object.values(SHT).concat([5, 6, 7, 11, 14, 0x6fffffff, 0x70000001]));
        put(buf, s.header + l.S.type[0], 4, BigInt(type), l.le);
        return { what: `section ${s.index} (${s.name}) type=${type}`, bytes: buf };
      }
      const flags = BigInt(rng.pick([SHF_EXECINSTR | SHF_ALLOC, SHF_ALLOC, SHF_MERGE | SHF_STRINGS | SHF_ALLOC | SHF_EXECINSTR, 0, 0xffffffff, s.flags ^ SHF_EXECINSTR]) >>> 0);
      put(buf, s.header + l.S.flags[0], l.S.flags[1], flags, l.le);
      return { what: `section ${s.index} (${s.name}) flags=0x${flags.toString(16)}`, bytes: buf };
    },
  },

  symbol: {
    weight: 6,
    run(rng, src, l) {
      if (!l.symtab || l.symcount < 2) return undefined;
      const buf = Buffer.from(src);
      const i = rng.chance(0.5) && l.functions.length ? rng.pick(l.functions) : rng.int(l.symcount);
      const base = l.symtab.offset + i * l.symentsize;
      const r = rng.next();
      if (r < 0.2) {
        const shndx = rng.pick([SHN_XINDEX, 0xfff1, 0xfff2, 0xff00, 0xff1f, SHN_LORESERVE - 1, l.shnum, l.symtab.index, l.shstrndx, ...l.relocs.map((s) => s.index).slice(0, 3)]);
        put(buf, base + l.Y.shndx[0], 2, BigInt(shndx), l.le);
        return { what: `symbol ${i} shndx=${shndx}`, bytes: buf };
      }
      if (r < 0.35) {
        // A function covering much more, or starting near its section's end.
        const sym = l.sections[Number(get(buf, base + l.Y.shndx[0], 2, l.le))];
        const ssize = sym?.size ?? 0;
        const value = rng.pick([0, ssize, ssize - 1, rng.int(ssize + 1), 2 ** 32, 2 ** 53]);
        const size = rng.pick([ssize, ssize * 2, 1, 2 ** 32, 2 ** 53 - 1, rng.int(ssize + 1), 0]);
        put(buf, base + l.Y.value[0], l.Y.value[1], BigInt(value), l.le);
        put(buf, base + l.Y.size[0], l.Y.size[1], BigInt(size), l.le);
        put(buf, base + l.Y.info[0], 1, BigInt((rng.int(3) << 4) | rng.pick([STT_FUNC, STT_FUNC, 0, 1, STT_SECTION, STT_FILE])), l.le);
        return { what: `symbol ${i} value=${value} size=${size}`, bytes: buf };
      }
      if (r < 0.5 && l.dataObjects.length) {
        // Only the size of a data symbol: the array it names claims more (or less) than there is.
        const d = l.symtab.offset + rng.pick(l.dataObjects) * l.symentsize;
        const size = BigInt(rng.pick([0, 1, 8, 2 ** 16, 2 ** 32, 2 ** 40, 2 ** 53 - 1])) * (rng.chance(0.5) ? 1n : 8n);
        put(buf, d + l.Y.size[0], l.Y.size[1], size, l.le);
        return { what: `data symbol at 0x${d.toString(16)} size=${size}`, bytes: buf };
      }
      if (r < 0.55 && l.coldNameOffsets.length) {
        put(buf, base + l.Y.name[0], 4, BigInt(rng.pick(l.coldNameOffsets)), l.le);
        return { what: `symbol ${i} renamed to a .cold name`, bytes: buf };
      }
      return { what: setField(rng, buf, l, base, l.Y, `symbol ${i}`), bytes: buf };
    },
  },

  /** One function symbol copied over many others: many same-named functions in one place. */
  symbolFlood: {
    weight: 2,
    run(rng, src, l) {
      if (!l.symtab || l.functions.length === 0) return undefined;
      const buf = Buffer.from(src);
      if (rng.chance(0.4) && l.exec.length) {
        // Many overlapping functions in one section: each starts further in and runs to its end.
        const s = rng.pick(l.exec);
        const n = Math.min(l.symcount - 1, pickCount(rng));
        const step = Math.max(1, rng.pick([1, 2, 4, Math.ceil(s.size / Math.max(1, n))]));
        for (let k = 0; k < n; k++) {
          const at = l.symtab.offset + (1 + rng.int(l.symcount - 1)) * l.symentsize;
          const value = (k * step) % Math.max(1, s.size);
          put(buf, at + l.Y.info[0], 1, BigInt((1 << 4) | STT_FUNC), l.le);
          put(buf, at + l.Y.shndx[0], 2, BigInt(s.index), l.le);
          put(buf, at + l.Y.value[0], l.Y.value[1], BigInt(value), l.le);
          put(buf, at + l.Y.size[0], l.Y.size[1], BigInt(rng.chance(0.5) ? s.size - value : 1 + rng.int(s.size - value)), l.le);
        }
        return { what: `${n} symbols made overlapping functions in ${s.name} (step ${step})`, bytes: buf };
      }
      const from = l.symtab.offset + rng.pick(l.functions) * l.symentsize;
      const entry = Buffer.from(src.subarray(from, from + l.symentsize));
      const n = Math.min(l.symcount - 1, pickCount(rng));
      const sameName = rng.chance(0.5);
      for (let k = 0; k < n; k++) {
        const at = l.symtab.offset + (1 + rng.int(l.symcount - 1)) * l.symentsize;
        const name = buf.subarray(at, at + 4);
        const keep = Buffer.from(name);
        entry.copy(buf, at);
        if (!sameName) keep.copy(buf, at);
      }
      return { what: `function symbol copied over ${n} symbols${sameName ? ' (same name)' : ''}`, bytes: buf };
    },
  },

  relocation: {
    weight: 6,
    run(rng, src, l) {
      if (l.relocs.length === 0) return undefined;
      const buf = Buffer.from(src);
      const rs = rng.pick(l.relocs);
      const entsize = l.relentsize(rs);
      const i = rng.int(rs.size / entsize);
      const at = rs.offset + i * entsize;
      const target = l.sections[rs.info];
      const field = rng.int(4);
      const width = l.is64 ? 8 : 4;
      if (field === 0) {
        const tsize = target?.size ?? 0;
        const v = rng.chance(0.6) ? BigInt(rng.pick([tsize - 1, tsize - 2, tsize - 4, tsize, rng.int(tsize + 1), 0])) : interesting(rng, buf.length);
        put(buf, at, width, v, l.le);
        return { what: `reloc ${rs.name}[${i}].offset=0x${BigInt.asUintN(64, v).toString(16)}`, bytes: buf };
      }
      if (field === 1 || field === 2) {
        const type = rng.pick(RELOC_TYPES);
        const sym = rng.chance(0.7) ? rng.int(Math.max(1, l.symcount)) : rng.pick([l.symcount, l.symcount - 1, 0, 0xffffff, 0xffffffff]);
        if (l.is64) {
          const symAt = at + (l.le ? 12 : 8);
          const typeAt = at + (l.le ? 8 : 12);
          if (field === 1) put(buf, typeAt, 4, BigInt(type), l.le);
          else put(buf, symAt, 4, BigInt(sym), l.le);
        } else {
          const old = Number(get(buf, at + 4, 4, l.le));
          const info = field === 1 ? (old & ~0xff) | (type & 0xff) : ((sym & 0xffffff) << 8) | (old & 0xff);
          put(buf, at + 4, 4, BigInt(info >>> 0), l.le);
        }
        return { what: `reloc ${rs.name}[${i}] ${field === 1 ? `type=${type}` : `symbol=${sym}`}`, bytes: buf };
      }
      if (rs.type !== SHT.RELA) return undefined;
      const v = rng.chance(0.5) ? BigInt(rng.pick([-4, -5, 4, 0x7fffffff, -0x80000000, 2 ** 31, rng.int(4096) - 2048])) : interesting(rng, buf.length);
      put(buf, at + (l.is64 ? 16 : 8), width, v, l.le);
      return { what: `reloc ${rs.name}[${i}].addend=${v}`, bytes: buf };
    },
  },

  /** Many relocations of one section made the same, or their order reversed. */
  relocationFlood: {
    weight: 2,
    run(rng, src, l) {
      if (l.relocs.length === 0) return undefined;
      const buf = Buffer.from(src);
      const rs = rng.pick(l.relocs);
      const entsize = l.relentsize(rs);
      const count = rs.size / entsize;
      if (rng.chance(0.3) && l.is64 && rs.type === SHT.RELA) {
        // Many references aimed at one symbol and addend: a data section that holds code
        // addresses (a jump table) used from everywhere, or one function called from everywhere.
        const tables = l.relocs.filter((r) => !(l.sections[r.info]?.flags & SHF_EXECINSTR)).map((r) => r.info);
        const symbols = [];
        for (let i = 1; i < l.symcount; i++) {
          const shndx = Number(get(src, l.symtab.offset + i * l.symentsize + l.Y.shndx[0], 2, l.le));
          if (tables.includes(shndx) || rng.chance(0.01)) symbols.push(i);
        }
        const sym = symbols.length ? rng.pick(symbols) : 1 + rng.int(Math.max(1, l.symcount - 1));
        const addend = BigInt(rng.pick([0, -4, 8, 16]));
        const share = rng.pick([0.3, 0.8, 1]);
        for (let i = 0; i < count; i++) {
          if (!rng.chance(share)) continue;
          const at = rs.offset + i * entsize;
          put(buf, at + (l.le ? 12 : 8), 4, BigInt(sym), l.le);
          put(buf, at + 16, 8, addend, l.le);
        }
        return { what: `${rs.name}: ${Math.round(share * 100)}% of entries aimed at symbol ${sym}${addend}`, bytes: buf };
      }
      if (rng.chance(0.4)) {
        for (let i = 0; i < count; i++) src.copy(buf, rs.offset + i * entsize, rs.offset + (count - 1 - i) * entsize, rs.offset + (count - i) * entsize);
        return { what: `${rs.name} entries reversed`, bytes: buf };
      }
      const from = rs.offset + rng.int(count) * entsize;
      for (let i = 0; i < count; i++) if (rng.chance(0.8)) src.copy(buf, rs.offset + i * entsize, from, from + entsize);
      return { what: `${rs.name} entries made the same`, bytes: buf };
    },
  },

  /** Many relocation sections, each its own copy of the entries, for one target section. */
  relocationSections: {
    weight: 2,
    order: 2,
    run(rng, src, l) {
      if (l.relocs.length === 0) return undefined;
      const rs = rng.pick(l.relocs);
      const entries = src.subarray(rs.offset, rs.offset + rs.size);
      const n = Math.max(1, Math.min(pickCount(rng, 65000), Math.floor((MAX_OUTPUT / 2) / Math.max(1, entries.length + l.shentsize))));
      const shared = rng.chance(0.3);
      const blobs = shared ? [entries] : Array.from({ length: n }, () => entries);
      const bytes = appendSections(src, l, blobs, (at) =>
        Array.from({ length: n }, (_, k) => {
          const h = headerBytes(src, l, rs);
          put(h, l.S.offset[0], l.S.offset[1], BigInt(at[shared ? 0 : k]), l.le);
          return h;
        }),
      );
      return bytes && { what: `${n} more relocation sections like ${rs.name} for section ${rs.info}${shared ? ' (sharing one copy)' : ''}`, bytes };
    },
  },

  /** Copies of one section header appended: many headers naming the same bytes. */
  duplicateHeaders: {
    weight: 3,
    order: 2,
    run(rng, src, l) {
      const candidates = [...l.exec, ...l.relocs, ...l.of(SHT.GROUP, SHT.SYMTAB, SHT.STRTAB, SHT.NOBITS), ...l.special];
      const s = rng.pick(candidates.length ? candidates : l.sections);
      const n = pickCount(rng, 65535 - l.shnum);
      const bytes = appendSections(src, l, [], () => Array.from({ length: n }, () => headerBytes(src, l, s)));
      return bytes && { what: `${n} copies of section ${s.index} (${s.name})'s header`, bytes };
    },
  },

  /**
   * Copies of an executable section (each with its own bytes, and its own copy of the
   * relocations where it has some): many sections to decode, none sharing bytes.
   */
  copySections: {
    weight: 2,
    order: 2,
    run(rng, src, l) {
      if (l.exec.length === 0) return undefined;
      const s = rng.pick(l.exec);
      const rs = l.relocs.find((r) => r.info === s.index);
      const code = src.subarray(s.offset, s.offset + s.size);
      const entries = rs ? src.subarray(rs.offset, rs.offset + rs.size) : undefined;
      const per = code.length + (entries?.length ?? 0) + 2 * l.shentsize + 16;
      const n = Math.max(1, Math.min(pickCount(rng, Math.floor((65535 - l.shnum) / 2)), Math.floor((MAX_OUTPUT / 2) / per)));
      const blobs = [];
      for (let k = 0; k < n; k++) {
        blobs.push(code);
        if (entries) blobs.push(entries);
      }
      const bytes = appendSections(src, l, blobs, (at) => {
        const headers = [];
        for (let k = 0; k < n; k++) {
          const h = headerBytes(src, l, s);
          put(h, l.S.offset[0], l.S.offset[1], BigInt(at[entries ? 2 * k : k]), l.le);
          headers.push(h);
          if (entries) {
            const r = headerBytes(src, l, rs);
            put(r, l.S.offset[0], l.S.offset[1], BigInt(at[2 * k + 1]), l.le);
            put(r, l.S.info[0], 4, BigInt(l.shnum + headers.length - 1), l.le);
            headers.push(r);
          }
        }
        return headers;
      });
      return bytes && { what: `${n} copies of ${s.name}${entries ? ` and ${rs.name}` : ''}, each with its own bytes`, bytes };
    },
  },

  /** Group sections: member words rewritten, or many groups sharing (or copying) one member list. */
  groups: {
    weight: 3,
    order: 2,
    run(rng, src, l) {
      const existing = l.of(SHT.GROUP);
      if (existing.length && rng.chance(0.4)) {
        const buf = Buffer.from(src);
        const g = rng.pick(existing);
        const word = rng.int(g.size / 4);
        const v = rng.chance(0.5) ? BigInt(rng.pick([g.index, 0, l.shnum, l.shnum - 1, l.symtab?.index ?? 1, ...l.relocs.map((r) => r.index)])) : interesting(rng, buf.length);
        put(buf, g.offset + word * 4, 4, v, l.le);
        return { what: `group ${g.index} word ${word} = ${v}`, bytes: buf };
      }
      if (!l.symtab) return undefined;
      const membersOf = rng.chance(0.3) ? l.sections.slice(1) : [...l.exec, ...l.relocs.filter((r) => l.exec.some((e) => e.index === r.info))];
      if (membersOf.length === 0) return undefined;
      const words = Buffer.alloc(4 * (1 + membersOf.length));
      put(words, 0, 4, 1n, l.le);
      membersOf.forEach((s, k) => put(words, 4 * (k + 1), 4, BigInt(s.index), l.le));
      const n = Math.max(1, Math.min(pickCount(rng, 65000), Math.floor((MAX_OUTPUT / 2) / (words.length + l.shentsize))));
      const shared = rng.chance(0.6);
      const signature = BigInt(rng.chance(0.8) ? Math.max(1, rng.int(l.symcount)) : l.symcount);
      const bytes = appendSections(src, l, shared ? [words] : Array.from({ length: n }, () => words), (at) =>
        Array.from({ length: n }, (_, k) =>
          sectionHeader(l, { name: 0, type: SHT.GROUP, offset: at[shared ? 0 : k], size: words.length, link: l.symtab.index, info: signature, addralign: 4, entsize: 4 }),
        ),
      );
      return bytes && { what: `${n} group sections of ${membersOf.length} members${shared ? ' sharing one member list' : ''}`, bytes };
    },
  },

  extendedNumbering: {
    weight: 2,
    run(rng, src, l) {
      const buf = Buffer.from(src);
      put(buf, l.H.shnum[0], 2, 0n, l.le);
      const count = rng.chance(0.4) ? BigInt(l.shnum) : interesting(rng, buf.length);
      put(buf, l.shoff + l.S.size[0], l.S.size[1], count, l.le);
      let what = `e_shnum=0 section0.size=0x${count.toString(16)}`;
      if (rng.chance(0.5)) {
        put(buf, l.H.shstrndx[0], 2, BigInt(SHN_XINDEX), l.le);
        const link = rng.chance(0.4) ? BigInt(l.shstrndx) : interesting(rng, buf.length);
        put(buf, l.shoff + l.S.link[0], 4, link, l.le);
        what += ` e_shstrndx=XINDEX section0.link=0x${link.toString(16)}`;
      }
      if (rng.chance(0.3)) {
        put(buf, l.shoff + l.S.type[0], 4, BigInt(rng.int(20)), l.le);
        what += ' section0.type random';
      }
      return { what, bytes: buf };
    },
  },

  /** Instruction bytes: random bytes, prefix floods, self jumps, undecodable opcodes, swapped bodies. */
  code: {
    weight: 7,
    run(rng, src, l) {
      if (l.exec.length === 0) return undefined;
      const buf = Buffer.from(src);
      const s = rng.pick(l.exec);
      const at = s.offset + rng.int(s.size);
      const end = s.offset + s.size;
      const kind = rng.int(5);
      if (kind === 0) {
        const n = 1 + rng.int(16);
        for (let k = 0; k < n; k++) buf[s.offset + rng.int(s.size)] = rng.int(256);
        return { what: `${s.name}: ${n} random code bytes`, bytes: buf };
      }
      if (kind === 1) {
        const pattern = rng.pick(CODE_PATTERNS);
        const len = rng.chance(0.3) ? end - at : 1 + rng.int(64);
        for (let k = 0; k < len && at + k < end; k++) buf[at + k] = pattern[k % pattern.length];
        return { what: `${s.name}+0x${(at - s.offset).toString(16)}: ${len} bytes of pattern ${pattern.map((b) => b.toString(16)).join(' ')}`, bytes: buf };
      }
      if (kind === 2) {
        const pattern = rng.pick(CODE_PATTERNS);
        for (let k = 0; k < pattern.length && at + k < end; k++) buf[at + k] = pattern[k];
        if (pattern.length >= 5 && at + pattern.length <= end) put(buf, at + pattern.length - 4, 4, BigInt(rng.int(2 * s.size) - s.size), true);
        return { what: `${s.name}+0x${(at - s.offset).toString(16)}: insn ${pattern.map((b) => b.toString(16)).join(' ')}`, bytes: buf };
      }
      if (kind === 3) {
        const from = s.offset + rng.int(s.size);
        const len = rng.int(Math.min(256, s.size));
        src.copy(buf, at, from, Math.min(from + len, end, from + (end - at)));
        return { what: `${s.name}: ${len} code bytes copied to +0x${(at - s.offset).toString(16)}`, bytes: buf };
      }
      buf.fill(rng.pick([0, 0xff, 0xcc, 0x66, 0x90, 0x0f]), s.offset, end);
      return { what: `${s.name} filled`, bytes: buf };
    },
  },

  /** Kernel tables and .modinfo: stomped, resized. */
  special: {
    weight: 2,
    run(rng, src, l) {
      if (l.special.length === 0) return undefined;
      const buf = Buffer.from(src);
      const s = rng.pick(l.special);
      if (rng.chance(0.3)) {
        const size = BigInt(Math.max(0, s.size + rng.pick([-1, -2, 1, 3, -s.size, 6])));
        put(buf, s.header + l.S.size[0], l.S.size[1], size, l.le);
        return { what: `${s.name} size=${size}`, bytes: buf };
      }
      if (s.name === '.modinfo' && rng.chance(0.5)) {
        for (let k = s.offset; k < s.offset + s.size; k++) if (buf[k] === 0 && rng.chance(0.5)) buf[k] = 0x3d;
        return { what: '.modinfo terminators removed', bytes: buf };
      }
      const n = 1 + rng.int(32);
      for (let k = 0; k < n && s.size > 0; k++) buf[s.offset + rng.int(s.size)] = rng.pick([0, 0xff, rng.int(256)]);
      return { what: `${s.name}: ${n} random bytes`, bytes: buf };
    },
  },

  strings: {
    weight: 3,
    run(rng, src, l) {
      const tables = l.of(SHT.STRTAB).filter((s) => s.size > 0);
      if (tables.length === 0) return undefined;
      const buf = Buffer.from(src);
      const st = rng.pick(tables);
      const how = rng.int(4);
      if (how === 0) {
        const from = st.offset + rng.int(st.size);
        const to = rng.chance(0.5) ? st.offset + st.size : Math.min(st.offset + st.size, from + 1 + rng.int(64));
        for (let k = from; k < to; k++) if (buf[k] === 0) buf[k] = 0x41;
        return { what: `${st.name}: no terminators in [${from - st.offset}, ${to - st.offset})`, bytes: buf };
      }
      if (how === 1) {
        buf.fill(0, st.offset, st.offset + st.size);
        return { what: `${st.name} zeroed`, bytes: buf };
      }
      if (how === 2) {
        // Names with control characters and newlines (they end up in messages and reports).
        const n = 1 + rng.int(8);
        for (let k = 0; k < n; k++) buf[st.offset + 1 + rng.int(Math.max(1, st.size - 1))] = rng.pick([0x0a, 0x0d, 0x1b, 0x22, 0x5c, 0x7f, 0xff, 0x25]);
        return { what: `${st.name}: ${n} control characters`, bytes: buf };
      }
      const n = 1 + rng.int(16);
      for (let k = 0; k < n; k++) buf[st.offset + rng.int(st.size)] = rng.int(256);
      return { what: `${st.name}: ${n} random bytes`, bytes: buf };
    },
  },

  randomBytes: {
    weight: 2,
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
      buf.fill(rng.pick([0, 0xff, 0x7f, 0x80]), at, Math.min(buf.length, at + len));
      return { what: `fill [${at}, +${len})`, bytes: buf };
    },
  },
};

const WEIGHTED = Object.entries(MUTATORS).flatMap(([name, m]) => Array(m.weight).fill(name));

/**
 * One mutated object: one mutator most of the time, up to four at once otherwise. Returns
 * the bytes, the description, and the mutators' names (the class of a hang or memory case).
 */
export function mutate(rng, src, l) {
  const rounds = rng.chance(0.7) ? 1 : 2 + rng.int(3);
  const names = Array.from({ length: rounds }, () => rng.pick(WEIGHTED)).sort((a, b) => (MUTATORS[a].order ?? 1) - (MUTATORS[b].order ?? 1));
  let bytes = src;
  const whats = [];
  const used = [];
  let appended = false;
  for (const name of names) {
    // After an append, the layout's header offsets no longer describe the table in use.
    if (appended && (MUTATORS[name].order ?? 1) < 2) continue;
    if (appended && name !== 'truncate' && MUTATORS[name].order === 2) continue;
    const v = MUTATORS[name].run(rng, bytes, l);
    if (!v) continue;
    bytes = v.bytes;
    whats.push(v.what);
    used.push(name);
    if (MUTATORS[name].order === 2) appended = true;
  }
  if (used.length === 0) {
    const v = MUTATORS.randomBytes.run(rng, src, l);
    return { bytes: v.bytes, what: v.what, mutators: ['randomBytes'] };
  }
  return { bytes, what: whats.join('; '), mutators: [...new Set(used)].sort() };
}
