import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { x86_64Backend } from '../src/arch/x86_64/backend.js';
import { disassembleOne } from '../src/arch/x86_64/disasm.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function dis(s: string, address: number | bigint = 0): string {
  const b = hex(s);
  return disassembleOne(b, 0, b.length, address);
}

interface Row {
  off: number;
  bytes: string;
  len: number;
  /** objdump's text, normalised as described at normalise(). */
  text: string;
}

const BRANCH = /^((?:\S+ )*?)(j[a-z]+(?:,p[nt])?|call[wlq]?|loop[a-z]*|xbegin[wl]?) ([0-9a-f]+)$/;

/**
 * objdump's text made comparable: whitespace collapsed, `<symbol+off>`
 * annotations and `# comments` dropped, and direct branch targets, which
 * objdump prints as bare hex ("call 1a <f+0x1a>"), given the 0x prefix that
 * disassembleOne uses ("call 0x1a").
 */
function normalise(text: string): string {
  let t = text
    .replace(/\s*#.*$/, '')
    .replace(/\s*<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  const m = BRANCH.exec(t);
  if (m) t = `${m[1]}${m[2]} 0x${m[3]}`;
  return t;
}

/** Instruction rows of `objdump -d -w -z` for a one-section object. */
async function objdumpRows(obj: string): Promise<Row[]> {
  const { stdout } = await run('objdump', ['-d', '-w', '-z', obj], { encoding: 'latin1', maxBuffer: 1 << 26 });
  const rows: Row[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*)$/.exec(line);
    if (!m) continue;
    const bytes = m[2].trim();
    rows.push({ off: parseInt(m[1], 16), bytes, len: bytes.split(' ').length, text: normalise(m[3]) });
  }
  return rows;
}

/** The section's bytes, rebuilt from the rows (objdump -z prints every byte). */
function codeOf(rows: Row[]): Uint8Array {
  const last = rows[rows.length - 1];
  const code = new Uint8Array(last.off + last.len);
  for (const r of rows) code.set(hex(r.bytes), r.off);
  return code;
}

/**
 * Where our text knowingly differs from objdump 2.40's, keyed by the
 * instruction's bytes, with our text and the reason.
 */
const KNOWN_DIFFERENCES: Record<string, { ours: string; why: string }> = {
  // objdump marks the VEX form of an instruction that also has an EVEX form
  // (AVX-VNNI); iced-x86 prints the plain mnemonic.
  'c4 e2 6d 50 d9': { ours: 'vpdpbusd %ymm1,%ymm2,%ymm3', why: '{vex} pseudo-prefix not shown' },
  // objdump (like AMD CPUs) gives a 66-prefixed near branch a 16-bit
  // displacement; iced-x86 follows Intel, where 66 is ignored and the
  // displacement stays 32-bit, so these bytes are not one instruction for it.
  // Compilers never emit them.
  '66 e8 00 00': { ours: '.byte 0x66,0xe8,0x00,0x00', why: '16-bit near call (AMD semantics)' },
  '66 0f 84 00 00': { ours: '.byte 0x66,0x0f,0x84,0x00,0x00', why: '16-bit near jcc (AMD semantics)' },
};

const tmp = mkdtempSync(path.join(tmpdir(), 'stackonly-disasm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('disassembleOne', () => {
  it('prints AT&T text like objdump, single-spaced', () => {
    expect(dis('ba 3f 00 00 00')).toBe('mov $0x3f,%edx');
    expect(dis('0f 1f 44 00 00')).toBe('nopl 0x0(%rax,%rax,1)');
    expect(dis('66 2e 0f 1f 84 00 00 00 00 00')).toBe('cs nopw 0x0(%rax,%rax,1)');
    expect(dis('e8 00 00 00 00', 0x15)).toBe('call 0x1a');
    expect(dis('e9 00 00 00 00', 0)).toBe('jmp 0x5');
    expect(dis('75 f5', 0xf3)).toBe('jne 0xea');
    expect(dis('c3')).toBe('ret');
    expect(dis('48 8b 05 00 00 00 00')).toBe('mov 0x0(%rip),%rax');
    expect(dis('48 83 e4 f0')).toBe('and $0xfffffffffffffff0,%rsp');
    expect(dis('48 8b 14 c5 00 00 00 82')).toBe('mov -0x7e000000(,%rax,8),%rdx');
  });

  it('computes branch targets from the address, up to 64 bits', () => {
    // A backward branch at 0 wraps, as objdump prints it.
    expect(dis('eb fe', 0)).toBe('jmp 0x0');
    expect(dis('eb fc', 0)).toBe('jmp 0xfffffffffffffffe');
    expect(dis('e8 00 00 00 00', 0xffffffff81000000n)).toBe('call 0xffffffff81000005');
    expect(dis('e8 00 00 00 00', 0x1000)).toBe('call 0x1005');
  });

  it("the backend's text of a relative branch, made once per bytes and retargeted, is the disassembler's at every address", () => {
    // call, jmp rel32 and rel8, jcc rel32 and rel8, loop, jrcxz, bnd jmp, xbegin, and the
    // 16-bit form (66 e9), which the backend leaves to the disassembler.
    const branches = ['e8 00 00 00 00', 'e8 fb ff ff ff', 'e9 10 00 00 00', 'eb fe', 'eb 05', '0f 84 10 00 00 00', '74 f0', 'e2 fe', 'e3 02', 'f2 e9 00 00 00 00', 'c7 f8 00 01 00 00', '66 e9 01 00'];
    const addresses = [0, 7, 0x22, 0x1000, 0xfff0, 0x7fff_fff0];
    for (const branch of branches) {
      const code = hex(branch);
      for (const address of addresses) {
        expect(x86_64Backend.instructionText(code, 0, code.length, address), `${branch} at 0x${address.toString(16)}`).toBe(disassembleOne(code, 0, code.length, address));
      }
    }
  });

  it('reads the instruction at an offset of a larger buffer', () => {
    const code = hex('90 ba 3f 00 00 00 c3');
    expect(disassembleOne(code, 1, 5, 1)).toBe('mov $0x3f,%edx');
    expect(disassembleOne(code, 6, 1, 6)).toBe('ret');
  });

  it('gives .byte text for undecodable or truncated bytes, and never throws', () => {
    expect(dis('d6')).toBe('.byte 0xd6'); // no instruction in 64-bit mode (objdump: (bad))
    expect(dis('48 8b')).toBe('.byte 0x48,0x8b'); // mov cut off before its ModRM
    expect(dis('e8 00 00')).toBe('.byte 0xe8,0x00,0x00'); // rel32 cut short
    expect(dis('0f ff')).toBe('.byte 0x0f,0xff'); // ud0 without its ModRM
    // A length shorter than the instruction: not one instruction either.
    expect(disassembleOne(hex('b8 01 00 00 00'), 0, 3, 0)).toBe('.byte 0xb8,0x01,0x00');
    // A length longer than the instruction: two instructions are not one.
    expect(disassembleOne(hex('90 90'), 0, 2, 0)).toBe('.byte 0x90,0x90');
    // Arguments outside the buffer are clamped.
    expect(disassembleOne(hex('90'), 0, 5, 0)).toBe('nop');
    expect(disassembleOne(hex('90'), 3, 1, 0)).toBe('.byte');
    expect(disassembleOne(hex('90'), 0, 0, 0)).toBe('.byte');
    expect(disassembleOne(hex('90'), -2, 1, 0)).toBe('nop');
    expect(disassembleOne(hex('e8 00 00 00 00'), 0, 5, Number.NaN)).toBe('call 0x5');
  });

  it('survives random bytes', () => {
    // Deterministic xorshift, so a failure reproduces.
    let s = 0x2545f491;
    const rnd = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return s >>> 0;
    };
    const buf = new Uint8Array(4096);
    for (let i = 0; i < buf.length; i++) buf[i] = rnd() & 0xff;
    let decoded = 0;
    const bad: string[] = [];
    for (let n = 0; n < 20_000; n++) {
      const off = rnd() % buf.length;
      const len = 1 + (rnd() % 15);
      const t = disassembleOne(buf, off, len, rnd());
      if (typeof t !== 'string' || t !== t.trim() || /\s{2}|\t|\n/.test(t) || t.length === 0) bad.push(JSON.stringify(t));
      else if (!t.startsWith('.byte')) decoded++;
    }
    expect(bad).toEqual([]);
    expect(decoded).toBeGreaterThan(1000);
  });

  for (const [name, src] of [
    ['testdata/disasm/sample.S (kernel-style code)', 'testdata/disasm/sample.S'],
    ['testdata/decode/insns.S (system, vector and odd encodings)', 'testdata/decode/insns.S'],
  ] as const) {
    it(`agrees with objdump -d on ${name}`, async () => {
      const obj = path.join(tmp, path.basename(src, '.S') + '.o');
      await run('gcc', ['-c', '-w', '-o', obj, path.join(root, src)]);
      const rows = await objdumpRows(obj);
      expect(rows.length).toBeGreaterThan(50);
      const code = codeOf(rows);
      const mismatches: string[] = [];
      const knownSeen = new Set<string>();
      for (const r of rows) {
        const ours = disassembleOne(code, r.off, r.len, r.off);
        const known = KNOWN_DIFFERENCES[r.bytes];
        if (known) {
          knownSeen.add(r.bytes);
          if (ours !== known.ours) mismatches.push(`${r.off.toString(16)} [${r.bytes}] known difference changed: ${ours}`);
          continue;
        }
        if (ours !== r.text) mismatches.push(`${r.off.toString(16)} [${r.bytes}] objdump: ${r.text} | ours: ${ours}`);
      }
      expect(mismatches, mismatches.join('\n')).toEqual([]);
      if (src.endsWith('insns.S')) expect([...knownSeen].sort()).toEqual(Object.keys(KNOWN_DIFFERENCES).sort());
    });
  }
});
