#!/usr/bin/env node
// Writes the hand-built reproducers of testdata/fuzz/: each class of hostile object issue 13
// names (and the ones the fuzzer found since), rebuilt from a small checked-in object so
// that the regression test needs no kernel modules. Each is <name>.o.gz with <name>.json:
// what it is, the partner object for compare, and what must come of it (a clean error
// matching `message`, or a result), within the fuzzer's time limit.
//
//   node scripts/fuzz-reproducers.mjs [--out DIR]     (default testdata/fuzz; needs dist/)
//
// Reproducers the fuzzer wrote itself (<class>.o with its .json) are copied in by hand.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { appendSections, headerBytes, layoutOf, put, SHT } from './fuzz-mutators.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outArg = process.argv.indexOf('--out');
const OUT = outArg > 0 ? resolve(process.argv[outArg + 1]) : join(ROOT, 'testdata', 'fuzz');
const { parseElf } = await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href);

const BASE = 'testdata/objects/cold-lost/original.o';
const PARTNER = 'testdata/objects/cold-lost/patched.o';
const src = readFileSync(join(ROOT, BASE));
const l = layoutOf(src, parseElf(src, BASE));
const section = (name) => {
  const s = l.sections.find((x) => x.name === name);
  if (!s) throw new Error(`${BASE} has no ${name}`);
  return s;
};
const text = l.exec.find((s) => l.relocs.some((r) => r.info === s.index));
const rela = l.relocs.find((r) => r.info === text.index);
const otherRela = l.relocs.find((r) => r !== rela);

function headerField(buf, s, field, value) {
  put(buf, s.header + l.S[field][0], l.S[field][1], BigInt(value), l.le);
}

/** Many copies of one header, appended (extended numbering past 0xff00 sections). */
function copiesOf(s, n) {
  return appendSections(src, l, [], () => Array.from({ length: n }, () => headerBytes(src, l, s)));
}

/** `n` more relocation sections like `rs`, each with its own copy of the entries. */
function relocationSections(rs, n) {
  const entries = src.subarray(rs.offset, rs.offset + rs.size);
  return appendSections(src, l, Array.from({ length: n }, () => entries), (at) =>
    at.map((offset) => {
      const h = headerBytes(src, l, rs);
      put(h, l.S.offset[0], l.S.offset[1], BigInt(offset), l.le);
      return h;
    }),
  );
}

/** `n` group sections whose member list is `members`, shared by all or one copy each. */
function groups(members, n, shared) {
  const words = Buffer.alloc(4 * (members.length + 1));
  put(words, 0, 4, 1n, l.le);
  members.forEach((m, k) => put(words, 4 * (k + 1), 4, BigInt(m.index), l.le));
  return appendSections(src, l, shared ? [words] : Array.from({ length: n }, () => words), (at) =>
    Array.from({ length: n }, (_, k) => {
      const h = Buffer.alloc(l.shentsize);
      const fields = { type: SHT.GROUP, offset: at[shared ? 0 : k], size: words.length, link: l.symtab.index, info: 1, addralign: 4, entsize: 4 };
      for (const [f, v] of Object.entries(fields)) put(h, l.S[f][0], l.S[f][1], BigInt(v), l.le);
      return h;
    }),
  );
}

/** `n` copies of an executable section and its relocations, each with its own bytes. */
function codeCopies(n) {
  const code = src.subarray(text.offset, text.offset + text.size);
  const entries = src.subarray(rela.offset, rela.offset + rela.size);
  const blobs = [];
  for (let k = 0; k < n; k++) blobs.push(code, entries);
  return appendSections(src, l, blobs, (at) => {
    const headers = [];
    for (let k = 0; k < n; k++) {
      const h = headerBytes(src, l, text);
      put(h, l.S.offset[0], l.S.offset[1], BigInt(at[2 * k]), l.le);
      headers.push(h);
      const r = headerBytes(src, l, rela);
      put(r, l.S.offset[0], l.S.offset[1], BigInt(at[2 * k + 1]), l.le);
      put(r, l.S.info[0], 4, BigInt(l.shnum + headers.length - 1), l.le);
      headers.push(r);
    }
    return headers;
  });
}

/**
 * The symbol table moved to the end of the file with `n` more global functions in `code`,
 * each starting a byte further in and running to the section's end (all named like the
 * first function).
 */
function overlappingFunctions(code, n) {
  const entries = src.subarray(l.symtab.offset, l.symtab.offset + l.symtab.size);
  const fn = l.functions.map((i) => l.symtab.offset + i * l.symentsize)[0];
  const extra = Buffer.alloc(n * l.symentsize);
  for (let k = 0; k < n; k++) {
    const at = k * l.symentsize;
    src.copy(extra, at, fn, fn + 4); // the name
    const value = k % code.size;
    put(extra, at + l.Y.info[0], 1, BigInt((1 << 4) | 2), l.le); // STB_GLOBAL, STT_FUNC
    put(extra, at + l.Y.shndx[0], 2, BigInt(code.index), l.le);
    put(extra, at + l.Y.value[0], l.Y.value[1], BigInt(value), l.le);
    put(extra, at + l.Y.size[0], l.Y.size[1], BigInt(code.size - value), l.le);
  }
  const out = appendSections(src, l, [Buffer.concat([entries, extra])], () => []);
  const tableAt = Number(out.readBigUInt64LE(l.H.shoff[0]));
  const header = tableAt + l.symtab.index * l.shentsize;
  put(out, header + l.S.offset[0], l.S.offset[1], BigInt(align8(src.length)), l.le);
  put(out, header + l.S.size[0], l.S.size[1], BigInt(entries.length + extra.length), l.le);
  return out;
}
const align8 = (n) => Math.ceil(n / 8) * 8;

const cases = [
  {
    name: 'rela-info-self',
    description: `the issue's stack overflow: a relocation section whose sh_info names itself (one field changed in ${rela.name})`,
    expect: { outcome: 'error', message: 'applies to itself' },
    bytes() {
      const buf = Buffer.from(src);
      headerField(buf, rela, 'info', rela.index);
      return buf;
    },
  },
  {
    name: 'rela-info-cycle',
    description: `two relocation sections applying to each other (${rela.name} and ${otherRela.name})`,
    expect: { outcome: 'error', message: 'relocations cannot apply to' },
    bytes() {
      const buf = Buffer.from(src);
      headerField(buf, rela, 'info', otherRela.index);
      headerField(buf, otherRela, 'info', rela.index);
      return buf;
    },
  },
  {
    name: 'symtab-link-self',
    description: 'the symbol table linked to itself as its string table',
    expect: { outcome: 'error', message: 'not a string table' },
    bytes() {
      const buf = Buffer.from(src);
      headerField(buf, l.symtab, 'link', l.symtab.index);
      return buf;
    },
  },
  {
    name: 'groups-sharing-members',
    description: "the issue's quadratic groups: 20,000 SHT_GROUP headers sharing one member list",
    expect: { outcome: 'error', message: 'names the same bytes as' },
    bytes: () => groups([text, rela], 20000, true),
  },
  {
    name: 'groups-copying-members',
    description: '5,000 SHT_GROUP sections, each with its own copy of one member list: a section in many groups',
    expect: { outcome: 'error', message: 'is already a member of' },
    bytes: () => groups([text, rela], 5000, false),
  },
  {
    name: 'text-headers-65k',
    description: `the issue's code decoded once per header: 65,000 headers naming ${text.name}'s bytes (extended e_shnum)`,
    expect: { outcome: 'error', message: 'names the same bytes as' },
    bytes: () => copiesOf(text, 65000),
  },
  {
    name: 'rela-headers-3000',
    description: `the issue's relocations concatenated per header: 3,000 headers naming ${rela.name}'s bytes`,
    expect: { outcome: 'error', message: 'names the same bytes as' },
    bytes: () => copiesOf(rela, 3000),
  },
  {
    name: 'rela-sections-3000',
    description: `3,000 more relocation sections for ${text.name}, each with its own copy of ${rela.name}'s entries: legal, gathered once per target`,
    expect: { outcome: 'ok' },
    bytes: () => relocationSections(rela, 3000),
  },
  {
    name: 'nobits-headers-65k',
    description: "the issue's 65k duplicated section headers: 65,000 copies of an empty SHT_NOBITS header (.bss), extended e_shnum",
    expect: { outcome: 'ok' },
    bytes: () => copiesOf(section('.bss'), 65000),
  },
  {
    name: 'code-copies-10000',
    description: `10,000 copies of ${text.name} and ${rela.name}, each with its own bytes: many sections to decode, none shared`,
    expect: { outcome: 'ok' },
    bytes: () => codeCopies(10000),
  },
  {
    name: 'overlapping-functions-2000',
    description: `2,000 functions overlapping in ${text.name}, each starting a byte further in and running to its end: work quadratic in the file's size, refused (found by scripts/fuzz.mjs on ext4.ko: 3,652 such functions, 7 s)`,
    expect: { outcome: 'error', message: 'more than the limit of 16 times its size' },
    bytes: () => overlappingFunctions(text, 2000),
  },
  {
    name: 'overlapping-functions-150',
    description: `150 functions overlapping in ${text.name}: within the limit, modelled`,
    expect: { outcome: 'ok' },
    bytes: () => overlappingFunctions(text, 150),
  },
  {
    name: 'extended-shnum-lie',
    description: 'e_shnum 0 and section 0 claiming 0xffffffff sections',
    expect: { outcome: 'error', message: 'lies outside the file' },
    bytes() {
      const buf = Buffer.from(src);
      put(buf, l.H.shnum[0], 2, 0n, l.le);
      put(buf, l.shoff + l.S.size[0], l.S.size[1], 0xffffffffn, l.le);
      return buf;
    },
  },
  {
    name: 'control-characters-in-name',
    description: `${rela.name} renamed with a newline and an escape character, and its size broken: the error must stay one printable line`,
    expect: { outcome: 'error', message: '\\\\x0a' },
    bytes() {
      const buf = Buffer.from(src);
      const shstr = l.sections[l.shstrndx];
      const nameAt = shstr.offset + Number(buf.readUInt32LE(rela.header));
      buf[nameAt + 2] = 0x0a;
      buf[nameAt + 3] = 0x1b;
      headerField(buf, rela, 'size', rela.size - 1);
      return buf;
    },
  },
];

mkdirSync(OUT, { recursive: true });
for (const c of cases) {
  const bytes = c.bytes();
  writeFileSync(join(OUT, `${c.name}.o.gz`), gzipSync(bytes, { level: 9 }));
  const meta = { description: c.description, base: BASE, partner: PARTNER, expect: c.expect, size: bytes.length, made_by: 'scripts/fuzz-reproducers.mjs' };
  writeFileSync(join(OUT, `${c.name}.json`), JSON.stringify(meta, null, 2) + '\n');
  process.stdout.write(`${c.name}: ${bytes.length} bytes\n`);
}
