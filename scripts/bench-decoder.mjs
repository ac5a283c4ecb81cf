#!/usr/bin/env node
// Speed check for the x86-64 length decoder: linear sweep over every executable
// section of an ELF object. Needs a build first (npm run build), because Node 20
// cannot import the TypeScript source directly.
//
//   node scripts/bench-decoder.mjs [file.o|file.ko] [rounds]
import { readFileSync } from 'node:fs';
import { decodeInsn, insnLength } from '../dist/arch/x86_64/decode.js';

const file = process.argv[2] ?? '/var/tmp/stackonly-kernels/6.1.0-54/lib/modules/6.1.0-54-amd64/kernel/fs/ext4/ext4.ko';
const rounds = Number(process.argv[3] ?? 20);

function execSections(path) {
  const b = readFileSync(path);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) throw new Error(`${path}: not an ELF64 LE file`);
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const strOff = Number(b.readBigUInt64LE(shoff + b.readUInt16LE(0x3e) * shentsize + 0x18));
  const out = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    const type = b.readUInt32LE(o + 4);
    const flags = Number(b.readBigUInt64LE(o + 8));
    const off = Number(b.readBigUInt64LE(o + 0x18));
    const size = Number(b.readBigUInt64LE(o + 0x20));
    if (type !== 1 || (flags & 4) === 0 || size === 0) continue;
    const nameAt = strOff + b.readUInt32LE(o);
    out.push({ name: b.toString('latin1', nameAt, b.indexOf(0, nameAt)), bytes: new Uint8Array(b.subarray(off, off + size)) });
  }
  return out;
}

function sweepObjects(code) {
  let n = 0;
  for (let p = 0; p < code.length; ) {
    const d = decodeInsn(code, p);
    p += d ? d.length : 1;
    n++;
  }
  return n;
}

function sweepLengths(code) {
  let n = 0;
  for (let p = 0; p < code.length; ) {
    const len = insnLength(code, p);
    p += len || 1;
    n++;
  }
  return n;
}

function time(label, fn, code) {
  for (let i = 0; i < 5; i++) fn(code); // let the JIT settle
  const t0 = performance.now();
  let n = 0;
  for (let i = 0; i < rounds; i++) n = fn(code);
  const ms = (performance.now() - t0) / rounds;
  console.log(`${label.padEnd(12)} ${ms.toFixed(2).padStart(8)} ms/sweep  ${n} insns  ${((code.length / 1e6) / (ms / 1e3)).toFixed(0)} MB/s`);
}

const secs = execSections(file);
const text = secs.find((s) => s.name === '.text') ?? secs[0];
console.log(`${file}: ${text.name} ${text.bytes.length} bytes (${secs.length} executable sections)`);
time('decodeInsn', sweepObjects, text.bytes);
time('insnLength', sweepLengths, text.bytes);
