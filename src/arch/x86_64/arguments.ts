import type { LineArgument } from '../backend.js';
import { K_CALL, K_COND, K_ICALL, K_IJUMP, K_JUMP, K_RET, K_TRAP, decodeNext, decoded } from './decode.js';

/*
 * The calling convention (SysV, as the kernel uses it) read back from code: which
 * constants a call receives in which argument, for the line-number evidence, and which
 * addresses, for the format-string evidence.
 */

/** See `ArchBackend.lineNumberShifts`. */
export function lineNumberShifts(a: Uint8Array, b: Uint8Array): LineArgument[] | undefined {
  if (a.length !== b.length) return undefined;
  const found: LineArgument[] = [];
  for (let pc = 0; pc < a.length; ) {
    const otherLength = decodeNext(b, pc, b.length);
    const length = decodeNext(a, pc, a.length);
    if (length === 0 || length !== otherLength) return undefined;
    const end = pc + length;
    let same = true;
    for (let i = pc; i < end; i++) if (a[i] !== b[i]) same = false;
    if (!same) {
      const constant = differingImmediate(a, b, pc, length);
      if (constant === undefined) return undefined;
      found.push(constant);
    }
    pc = end;
  }
  return found.length > 0 ? found : undefined;
}

/** See `ArchBackend.addressArguments`. */
export function addressArguments(code: Uint8Array, callOffset: number): Map<number, number> {
  const loads = new Map<number, number>();
  for (let pc = 0; pc < callOffset; ) {
    const length = decodeNext(code, pc, callOffset);
    if (length === 0) break;
    // A call clobbers the argument registers: only loads after the last one count.
    if (decoded.kind === K_CALL) loads.clear();
    const register = addressLoadRegister(code, pc, length);
    if (register !== undefined && ARGUMENT_INDEX[register] !== undefined) loads.set(ARGUMENT_INDEX[register], pc);
    pc += length;
  }
  return loads;
}

/** Argument registers of the SysV and kernel calling conventions, by their ModRM/opcode number (REX.B adds 8). */
const ARGUMENT_REGISTERS = new Set([7, 6, 2, 1, 8, 9]);
/** Position of each argument register in the calling convention: rdi, rsi, rdx, rcx, r8, r9. */
const ARGUMENT_INDEX: Record<number, number> = { 7: 0, 6: 1, 2: 2, 1: 3, 8: 4, 9: 5 };
const MAX_LINE = 200_000;

/**
 * The register an instruction loads an address into: `mov $imm32, %r64` (sign-extended, as
 * the kernel's code model loads a symbol), `mov $imm32, %r32`, or `lea disp32(%rip), %r64`.
 */
function addressLoadRegister(code: Uint8Array, at: number, length: number): number | undefined {
  const rex = code[at] >= 0x40 && code[at] <= 0x4f ? code[at] : 0;
  const p = rex ? at + 1 : at;
  const opcode = code[p];
  if (length === (rex ? 7 : 6) && opcode === 0xc7 && (code[p + 1] & 0xf8) === 0xc0) return (code[p + 1] & 7) + (rex & 1 ? 8 : 0);
  if (length === (rex ? 6 : 5) && opcode >= 0xb8 && opcode <= 0xbf && !(rex & 8)) return opcode - 0xb8 + (rex & 1 ? 8 : 0);
  if (length === (rex ? 7 : 6) && opcode === 0x8d && (code[p + 1] & 0xc7) === 0x05) return ((code[p + 1] >> 3) & 7) + (rex & 4 ? 8 : 0);
  return undefined;
}

/** `register` of a constant pushed on the stack, and the position of the first stack argument. */
const STACK = -1;
const STACK_ARGUMENTS = 6;

/** push of a register, an immediate or a memory operand. */
function isPush(code: Uint8Array, at: number, length: number): boolean {
  const rex = code[at] >= 0x40 && code[at] <= 0x4f ? 1 : 0;
  const opcode = code[at + rex];
  return (opcode >= 0x50 && opcode <= 0x57) || opcode === 0x68 || opcode === 0x6a || (opcode === 0xff && ((code[at + rex + 1] >> 3) & 7) === 6 && length > rex + 1);
}

/** `mov $imm32, %r32` into an argument register, with the value, if it looks like a line number. */
function lineArgument(code: Uint8Array, at: number, length: number): { register: number; value: number } | undefined {
  // push $imm32: an argument past the sixth, passed on the stack.
  if (length === 5 && code[at] === 0x68) {
    const value = (code[at + 1] | (code[at + 2] << 8) | (code[at + 3] << 16) | (code[at + 4] << 24)) >>> 0;
    return value === 0 || value > MAX_LINE ? undefined : { register: STACK, value };
  }
  let p = at;
  let rexB = 0;
  if (length === 6 && code[p] >= 0x40 && code[p] <= 0x4f) {
    if (code[p] & 0x08) return undefined; // REX.W: a 64-bit move, not an int argument
    rexB = code[p] & 1 ? 8 : 0;
    p++;
  } else if (length !== 5) return undefined;
  const opcode = code[p];
  if (opcode < 0xb8 || opcode > 0xbf) return undefined;
  const register = (opcode - 0xb8) + rexB;
  const value = (code[p + 1] | (code[p + 2] << 8) | (code[p + 3] << 16) | (code[p + 4] << 24)) >>> 0;
  if (!ARGUMENT_REGISTERS.has(register) || value === 0 || value > MAX_LINE) return undefined;
  return { register, value };
}

/**
 * The instruction at `at` differs between `a` and `b` only in its immediate operand: that
 * constant, with the call that receives it when it is loaded into an argument register or
 * pushed as a stack argument (`callOffset` -1 when no call is found: then only the span of
 * proven lines can show it is a line number).
 */
function differingImmediate(a: Uint8Array, b: Uint8Array, at: number, length: number): LineArgument | undefined {
  decodeNext(a, at, a.length);
  const immOffset = decoded.immOffset;
  const immSize = decoded.immSize;
  if (immOffset < 0) return undefined;
  decodeNext(b, at, b.length);
  if (decoded.immOffset !== immOffset || decoded.immSize !== immSize) return undefined;
  const first = at + immOffset;
  const last = first + immSize;
  for (let i = at; i < at + length; i++) if ((i < first || i >= last) && a[i] !== b[i]) return undefined;
  const original = readImmediate(a, first, immSize);
  const shift = readImmediate(b, first, immSize) - original;
  const loaded = lineArgument(a, at, length);
  const consumer = loaded === undefined ? undefined : consumerOf(a, at + length, loaded.register);
  if (loaded === undefined || consumer === undefined) return { shift, original, register: -1, argument: -1, offset: at, callOffset: -1 };
  const argument = loaded.register === STACK ? STACK_ARGUMENTS + consumer.pushes : ARGUMENT_INDEX[consumer.register];
  return { shift, original, register: consumer.register, argument, offset: at, callOffset: consumer.callOffset };
}

function readImmediate(code: Uint8Array, at: number, size: number): number {
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + code[at + i];
  return value;
}

/** Steps followed from a constant to the call that consumes it, over all paths. */
const CONSUMER_STEPS = 64;
/** Conditional branches whose other side is tried when a path ends without a call. */
const CONSUMER_BRANCHES = 4;

/**
 * The call that receives a constant just loaded into `register` (or pushed, STACK): the
 * first call reached with the value still in an argument register, following the
 * function's own jumps (GCC shares one call between several error paths, each of which
 * loads its own `__LINE__` and jumps to it) and, where a path loses the value (the register
 * overwritten, a return), the other side of the conditional branches passed on the way.
 * A jump whose target field is zero leaves the function (its relocation was masked): a
 * tail call, which passes arguments as a call does.
 */
function consumerOf(code: Uint8Array, start: number, register: number): { callOffset: number; register: number; pushes: number } | undefined {
  const branches: { pc: number; live: number; pushes: number }[] = [];
  let pc = start;
  let live = register === STACK ? 0 : 1 << register;
  let pushes = 0;
  let tried = 0;
  for (let steps = 0; steps < CONSUMER_STEPS; steps++) {
    const length = pc < code.length ? decodeNext(code, pc, code.length) : 0;
    let ended = length === 0;
    if (!ended) {
      const kind = decoded.kind;
      const target = pc + length + decoded.displacement;
      const inside = decoded.relOffset >= 0 && decoded.displacement !== 0 && target >= 0 && target < code.length;
      if (kind === K_CALL || kind === K_ICALL || (kind === K_JUMP && !inside)) {
        const argumentRegister = firstArgumentRegister(live);
        if (register === STACK || argumentRegister >= 0) return { callOffset: pc, register: register === STACK ? STACK : argumentRegister, pushes };
        ended = true;
      } else if (kind === K_JUMP) {
        pc = target;
        continue;
      } else if (kind === K_RET || kind === K_IJUMP || kind === K_TRAP) ended = true;
      else {
        if (kind === K_COND && inside && branches.length < CONSUMER_BRANCHES) branches.push({ pc: target, live, pushes });
        if (register === STACK) {
          if (isPush(code, pc, length)) pushes++;
          else if (releasesStack(code, pc, length)) ended = true;
        } else {
          const effect = registerEffect(code, pc, length);
          if (effect.copyFrom >= 0 && live & (1 << effect.copyFrom)) live |= 1 << effect.copyTo;
          else live &= ~effect.writes;
          if (live === 0) ended = true;
        }
      }
    }
    if (ended) {
      const next = branches.shift();
      if (next === undefined || ++tried > CONSUMER_BRANCHES) return undefined;
      ({ pc, live, pushes } = next);
      continue;
    }
    pc += length;
  }
  return undefined;
}

/** Calling-convention order: rdi, rsi, rdx, rcx, r8, r9. */
const ARGUMENT_ORDER = [7, 6, 2, 1, 8, 9];

function firstArgumentRegister(live: number): number {
  for (const r of ARGUMENT_ORDER) if (live & (1 << r)) return r;
  return -1;
}

/** `pop` or `add $n,%rsp`: the pushed arguments are gone. */
function releasesStack(code: Uint8Array, at: number, length: number): boolean {
  const rex = code[at] >= 0x40 && code[at] <= 0x4f ? 1 : 0;
  const opcode = code[at + rex];
  if (opcode >= 0x58 && opcode <= 0x5f) return true;
  return (opcode === 0x83 || opcode === 0x81) && length > rex + 1 && code[at + rex + 1] === 0xc4;
}

const effect = { writes: 0, copyFrom: -1, copyTo: -1 };
const LEGACY_PREFIXES = new Set([0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65, 0xf0]);

/**
 * The general registers (as a bit mask) an instruction writes, for the forms compilers use
 * between loading an argument and the call; a register-to-register `mov` is a copy. Forms
 * not listed here are taken to write no register.
 */
function registerEffect(code: Uint8Array, at: number, length: number): typeof effect {
  effect.writes = 0;
  effect.copyFrom = -1;
  effect.copyTo = -1;
  const end = at + length;
  let p = at;
  while (p < end && LEGACY_PREFIXES.has(code[p])) p++;
  const rex = p < end && code[p] >= 0x40 && code[p] <= 0x4f ? code[p++] : 0;
  if (p >= end) return effect;
  const opcode = code[p];
  const modrm = p + 1 < end ? code[p + 1] : 0;
  const mod = modrm >> 6;
  const reg = ((modrm >> 3) & 7) + (rex & 4 ? 8 : 0);
  const rm = (modrm & 7) + (rex & 1 ? 8 : 0);
  const direct = mod === 3;
  const write = (r: number) => (effect.writes |= 1 << r);
  if (opcode === 0x0f) {
    const second = p + 1 < end ? code[p + 1] : 0;
    const m = p + 2 < end ? code[p + 2] : 0;
    const r2 = ((m >> 3) & 7) + (rex & 4 ? 8 : 0);
    if (second === 0xb6 || second === 0xb7 || second === 0xbe || second === 0xbf || second === 0xaf || (second >= 0x40 && second <= 0x4f)) write(r2);
    else if (second >= 0x90 && second <= 0x9f && m >> 6 === 3) write((m & 7) + (rex & 1 ? 8 : 0));
    return effect;
  }
  if (opcode >= 0xb8 && opcode <= 0xbf) write(opcode - 0xb8 + (rex & 1 ? 8 : 0));
  else if (opcode >= 0xb0 && opcode <= 0xb7) write(opcode - 0xb0 + (rex & 1 ? 8 : 0));
  else if (opcode >= 0x58 && opcode <= 0x5f) write(opcode - 0x58 + (rex & 1 ? 8 : 0));
  else if (opcode === 0x89 && direct) {
    effect.copyFrom = reg;
    effect.copyTo = rm;
    write(rm);
  } else if (opcode === 0x8b) {
    if (direct) {
      effect.copyFrom = rm;
      effect.copyTo = reg;
    }
    write(reg);
  } else if (opcode === 0x8d || opcode === 0x63 || opcode === 0x69 || opcode === 0x6b) write(reg);
  else if ((opcode === 0xc7 || opcode === 0xc6) && direct) write(rm);
  else if (opcode < 0x40 && (opcode & 7) <= 3 && (opcode & 0xf8) !== 0x38) {
    // add/or/adc/sbb/and/sub/xor: direction bit 1 writes the reg operand.
    if (opcode & 2) write(reg);
    else if (direct) write(rm);
  } else if ((opcode === 0x80 || opcode === 0x81 || opcode === 0x83) && direct && ((modrm >> 3) & 7) !== 7) write(rm);
  else if ((opcode === 0xc0 || opcode === 0xc1 || (opcode >= 0xd0 && opcode <= 0xd3)) && direct) write(rm);
  else if ((opcode === 0xf6 || opcode === 0xf7) && ((modrm >> 3) & 7) >= 2) {
    if (((modrm >> 3) & 7) <= 3) {
      if (direct) write(rm);
    } else {
      write(0);
      write(2);
    }
  } else if (opcode === 0xff && direct && ((modrm >> 3) & 7) <= 1) write(rm);
  else if (opcode === 0x87 && direct) {
    write(reg);
    write(rm);
  } else if (opcode >= 0x91 && opcode <= 0x97) {
    write(0);
    write(opcode - 0x90 + (rex & 1 ? 8 : 0));
  } else if (opcode === 0x99) write(2);
  else if (opcode === 0x98) write(0);
  return effect;
}
