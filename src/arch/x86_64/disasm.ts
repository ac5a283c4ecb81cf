/**
 * Assembler text for single x86-64 instructions, for showing differing
 * instructions in reports.
 *
 * The text comes from a real disassembler, iced-x86 (Rust compiled to WASM,
 * shipped on npm with its .wasm file: no network, no native build), through its
 * GNU-assembler (AT&T) formatter. The formatter options below and a few small
 * rewrites bring its text to what GNU objdump 2.40 prints, with one space
 * between mnemonic and operands and no padding:
 *
 *   objdump:  mov    $0x3f,%edx            ours:  mov $0x3f,%edx
 *             call   1a <foo+0x1a>                call 0x1a
 *             nopw   0x0(%rax,%rax,1)             nopw 0x0(%rax,%rax,1)
 *             cs nopw 0x0(%rax,%rax,1)            cs nopw 0x0(%rax,%rax,1)
 *
 * Direct branch targets are printed as 0x-prefixed addresses (objdump prints
 * bare hex followed by `<symbol+off>`); objdump's `<symbol>` and `# comment`
 * annotations are not reproduced. Known remaining differences from objdump are
 * listed in test/disasm.test.ts.
 *
 * The caller has already found the instruction's length (decode.ts, which
 * follows objdump on instruction boundaries); when iced-x86 cannot decode
 * exactly those bytes as one instruction the text is `.byte 0x..,0x..`.
 */

import { createRequire } from 'node:module';
import type * as Iced from 'iced-x86';

type IcedModule = typeof Iced;

interface Engine {
  iced: IcedModule;
  formatter: Iced.Formatter;
}

let engine: Engine | undefined;
let unavailable = false;

/**
 * The disassembler, loaded on first use: iced-x86 is CommonJS and instantiates its WASM
 * synchronously when required (about 60 ms), which only runs that need assembler text pay
 * (a report with differences), once per thread.
 */
function loadEngine(): Engine | undefined {
  if (engine || unavailable) return engine;
  try {
    const iced = createRequire(import.meta.url)('iced-x86') as IcedModule;
    engine = { iced, formatter: makeFormatter(iced) };
  } catch {
    unavailable = true;
  }
  return engine;
}

/**
 * Disassembles the one instruction starting at `offset` of `code` (length given
 * by the caller, who decoded it already) at address `address`; AT&T syntax text
 * like objdump's ("mov $0x3f,%edx", "call 0x1a", "nopl 0x0(%rax,%rax,1)"),
 * mnemonic and operands separated by one space; falls back to `.byte 0xd6`
 * style text for undecodable bytes. Never throws.
 * `address` may be a bigint for addresses beyond 2^53 (a linked kernel's).
 */
export function disassembleOne(code: Uint8Array, offset: number, length: number, address: number | bigint): string {
  const start = Math.max(0, Math.min(code.length, Math.trunc(offset) || 0));
  const end = Math.max(start, Math.min(code.length, start + (Math.trunc(length) || 0)));
  const bytes = code.subarray(start, end);
  const loaded = bytes.length > 0 ? loadEngine() : undefined;
  if (!loaded) return byteText(bytes);
  try {
    return disassemble(loaded, bytes, toAddress(address)) ?? byteText(bytes);
  } catch {
    return byteText(bytes);
  }
}

// ---------------------------------------------------------------------------

const U64 = (1n << 64n) - 1n;

function toAddress(address: number | bigint): bigint {
  if (typeof address === 'bigint') return address & U64;
  if (!Number.isFinite(address)) return 0n;
  return BigInt(Math.trunc(address)) & U64;
}

/** `.byte 0x66,0xe8,0x00,0x00` */
function byteText(bytes: Uint8Array): string {
  if (bytes.length === 0) return '.byte';
  let s = '.byte ';
  for (let i = 0; i < bytes.length; i++) {
    if (i) s += ',';
    s += '0x' + bytes[i].toString(16).padStart(2, '0');
  }
  return s;
}

function makeFormatter(iced: IcedModule): Iced.Formatter {
  const f = new iced.Formatter(iced.FormatterSyntax.Gas);
  f.uppercaseAll = false;
  f.uppercaseHex = false;
  f.hexPrefix = '0x';
  f.hexSuffix = '';
  f.smallHexNumbersInDecimal = false; // objdump: $0x1, not $1
  f.addLeadingZeroToHexNumbers = false;
  f.leadingZeros = false;
  f.branchLeadingZeros = false;
  f.displacementLeadingZeros = false;
  f.signedImmediateOperands = false; // objdump: $0xffffffffffffffff
  f.signedMemoryDisplacements = true; // objdump: -0x8(%rbp)
  f.showBranchSize = false;
  f.gasShowMnemonicSizeSuffix = false; // suffix only where no register gives the size, as gas/objdump
  f.gasNakedRegisters = false;
  f.firstOperandCharIndex = 0; // one space after the mnemonic
  f.spaceAfterOperandSeparator = false;
  f.gasSpaceAfterMemoryOperandComma = false;
  f.ripRelativeAddresses = true; // objdump: 0x0(%rip), not the computed address
  f.showUselessPrefixes = false; // objdump's names for unused prefixes are added below
  f.usePseudoOps = true;
  return f;
}

/** Legacy prefixes and objdump's names for them when the instruction does not use them. */
const PREFIX_NAMES: Record<number, string> = {
  0xf0: 'lock',
  0xf2: 'repnz',
  0xf3: 'repz',
  0x2e: 'cs',
  0x36: 'ss',
  0x3e: 'ds',
  0x26: 'es',
  0x64: 'fs',
  0x65: 'gs',
  0x66: 'data16',
  0x67: 'addr32',
};

function rexName(b: number): string {
  let s = 'rex';
  if (b & 0xf) s += '.' + (b & 8 ? 'W' : '') + (b & 4 ? 'R' : '') + (b & 2 ? 'X' : '') + (b & 1 ? 'B' : '');
  return s;
}

/** iced-x86 text of `bytes` as exactly one instruction, or undefined. */
function icedText(e: Engine, bytes: Uint8Array, ip: bigint): { text: string; code: string } | undefined {
  const { iced, formatter } = e;
  const decoder = new iced.Decoder(64, bytes, iced.DecoderOptions.None);
  try {
    decoder.ip = ip;
    const ins = decoder.decode();
    try {
      if (ins.isInvalid || ins.length !== bytes.length) return undefined;
      // objdump shows a displacement whenever one is encoded (0x0(%rax,%rax,1))
      // and the scale whenever there is an index register.
      formatter.showZeroDisplacements = ins.memoryDisplSize > 0;
      formatter.alwaysShowScale = ins.memoryIndex !== iced.Register.None;
      const code = iced.Code[ins.code] ?? '';
      return { text: formatter.format(ins), code };
    } finally {
      ins.free();
    }
  } finally {
    decoder.free();
  }
}

function without(bytes: Uint8Array, drop: (i: number) => boolean): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (!drop(i)) out.push(bytes[i]);
  return Uint8Array.from(out);
}

function disassemble(e: Engine, bytes: Uint8Array, ip: bigint): string | undefined {
  // objdump folds an fwait (9b) into the x87 instruction after it: 9b d9 7d fc
  // is `fstcw`, the waiting form of `fnstcw` (decode.ts gives one length).
  if (bytes[0] === 0x9b && bytes.length > 1) {
    const rest = disassemble(e, bytes.subarray(1), ip + 1n);
    if (rest === undefined || rest.startsWith('.byte')) return undefined;
    return rest.replace(/^fn/, 'f');
  }
  // A REX byte that is followed by another prefix does nothing; decode.ts and
  // objdump make it an instruction of its own.
  if (bytes.length === 1 && (bytes[0] & 0xf0) === 0x40) return rexName(bytes[0]);

  const main = icedText(e, bytes, ip);
  if (!main) return undefined;

  // Prefix bytes the instruction does not use: iced-x86 leaves them out,
  // objdump names them ("cs nopw", "data16 cs nopw", "ds jmp", "rex.W").
  // A prefix is unused when the instruction reads the same without it.
  let p = 0;
  while (p < bytes.length - 1 && PREFIX_NAMES[bytes[p]] !== undefined) p++;
  const hasRex = p < bytes.length - 1 && (bytes[p] & 0xf0) === 0x40;
  // The shortened copy is decoded at an address moved up by the bytes taken
  // out, so that relative branch targets stay the same.
  const unused: string[] = [];
  const readsTheSame = (drop: (k: number) => boolean): boolean => {
    const shorter = without(bytes, drop);
    const other = icedText(e, shorter, (ip + BigInt(bytes.length - shorter.length)) & U64);
    return other !== undefined && other.text === main.text;
  };
  for (let i = 0; i < p; i++) {
    const b = bytes[i];
    let last = true;
    for (let j = i + 1; j < p; j++) if (bytes[j] === b) last = false;
    if (!last) {
      unused.push(PREFIX_NAMES[b]); // a repeated prefix counts once, at its last copy
      continue;
    }
    if (readsTheSame((k) => k < p && bytes[k] === b)) unused.push(PREFIX_NAMES[b]);
  }
  if (hasRex && readsTheSame((k) => k === p)) unused.push(rexName(bytes[p]));
  let text = objdumpStyle(main.text, main.code);
  if (unused.length) text = unused.join(' ') + ' ' + text;
  return text;
}

const STRING_CODE = /^(Movs|Cmps|Stos|Lods|Scas|Ins|Outs)[bwdq]_(m|AL|AX|EAX|RAX|DX)|^Xlat_/;
const PORT_DX_CODE = /^(In|Out)_.*DX|^(Ins|Outs)[bwd]_/;

/** Rewrites of iced-x86's GAS text where objdump 2.40 spells things differently. */
function objdumpStyle(text: string, code: string): string {
  let t = text;
  // iced-x86 writes a lone base as "(%rbx,)" when asked to always show the scale.
  t = t.replace(/,\)/g, ')');
  const sp = t.indexOf(' ');
  let head = sp < 0 ? t : t.slice(0, sp);
  let ops = sp < 0 ? '' : t.slice(sp + 1);
  // Prefix words iced-x86 prints before the mnemonic.
  const prefixes: string[] = [];
  while (/^(lock|rep|repe|repne|xacquire|xrelease|bnd|notrack)$/.test(head) && ops) {
    prefixes.push(head);
    const s = ops.indexOf(' ');
    head = s < 0 ? ops : ops.slice(0, s);
    ops = s < 0 ? '' : ops.slice(s + 1);
  }
  const isString = STRING_CODE.test(code);
  const repKeepsName = /^(Movs|Stos|Lods|Ins|Outs)/.test(code);
  for (let i = 0; i < prefixes.length; i++) {
    if (prefixes[i] === 'repne') prefixes[i] = 'repnz';
    else if ((prefixes[i] === 'rep' || prefixes[i] === 'repe') && !repKeepsName) prefixes[i] = 'repz';
  }

  // Mnemonics: objdump 2.40 drops the q of 64-bit-default push/pop/call/jmp.
  switch (head) {
    case 'pushq':
    case 'popq':
    case 'callq':
    case 'jmpq':
      head = head.slice(0, -1);
      break;
    case 'ljmpl':
    case 'lcalll':
      head = head.slice(0, -1);
      break;
    case 'iretl':
      head = 'iret';
      break;
  }
  if (code === 'Xbegin_rel16') head = 'xbeginw';

  if (isString) {
    // objdump names the implied segments of string operands.
    ops = ops.replace(/(^|,)\((%[re]?si)\)/g, '$1%ds:($2)').replace(/(^|,)\((%[re]?di)\)/g, '$1%es:($2)');
    ops = ops.replace(/(^|,)\((%[re]?bx)\)/g, '$1%ds:($2)'); // xlat
  }
  if (PORT_DX_CODE.test(code)) ops = ops.replace(/(^|,)%dx(?=,|$)/, '$1(%dx)');
  // D0/D1/D2/D3-style shifts by an implied 1: objdump shows no count.
  if (/_1$/.test(code) && ops.startsWith('$0x1,')) ops = ops.slice(5);
  // imul $imm,%reg,%reg: iced-x86 shortens it to two operands when the
  // registers are the same; objdump always prints three.
  if (/^Imul_r\d+_rm\d+_imm/.test(code)) {
    const m = /^(\$[^,]+),(%[a-z0-9]+)$/.exec(ops);
    if (m) ops = `${m[1]},${m[2]},${m[2]}`;
  }
  // Debug registers: objdump says %db0..%db7.
  ops = ops.replace(/%dr(\d+)/g, '%db$1');
  // Implicit operands objdump spells out.
  switch (code) {
    case 'Monitorq':
      ops = '%rax,%ecx,%edx';
      break;
    case 'Monitord':
      ops = '%eax,%ecx,%edx';
      break;
    case 'Mwait':
      ops = '%eax,%ecx';
      break;
    case 'Monitorxq':
      ops = '%rax,%ecx,%edx';
      break;
    case 'Monitorxd':
      ops = '%eax,%ecx,%edx';
      break;
    case 'Mwaitx':
      ops = '%eax,%ecx,%ebx';
      break;
  }
  // x87 register forms whose %st(1) iced-x86 leaves implicit.
  if (!ops) {
    const m = /_(st0_sti|sti_st0|sti)(_[0-9A-F]{4})?$/.exec(code);
    if (m) {
      ops = m[1] === 'sti_st0' ? '%st,%st(1)' : '%st(1)';
    }
  }

  let out = prefixes.length ? prefixes.join(' ') + ' ' + head : head;
  if (ops) out += ' ' + ops;
  return out;
}
