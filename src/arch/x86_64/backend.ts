import type { RelocationTable } from '../../elf/types.js';
import {
  KIND_ADDRESS,
  KIND_CALL,
  KIND_JUMP,
  SectionCodeBuilder,
  type ArchBackend,
  type CodeSection,
  type DecodedTwin,
  type InstructionShape,
  type LineArgument,
  type SectionCode,
  type UndecodableRange,
} from '../backend.js';
import { LINE_CALLEES } from '../linux/line-callees.js';
import { lowerBound } from '../../sorted.js';
import { disassembleOne } from './disasm.js';
import { X86_64_SPECIAL_SECTIONS, x86_64KernelThunk } from './kernel.js';
import { K_CALL, K_COND, K_ICALL, K_IJUMP, K_JUMP, K_RET, K_TRAP, decodeInto, decodeNext, decoded, emptyInsn, type X86Insn } from './decode.js';

/** x86-64 relocation types (psABI), with the size of the field each one patches. */
const RELOCATIONS: Record<number, { name: string; size: number; pcRelative: boolean; address: boolean }> = {
  0: { name: 'R_X86_64_NONE', size: 0, pcRelative: false, address: false },
  1: { name: 'R_X86_64_64', size: 8, pcRelative: false, address: true },
  2: { name: 'R_X86_64_PC32', size: 4, pcRelative: true, address: true },
  3: { name: 'R_X86_64_GOT32', size: 4, pcRelative: false, address: true },
  4: { name: 'R_X86_64_PLT32', size: 4, pcRelative: true, address: true },
  9: { name: 'R_X86_64_GOTPCREL', size: 4, pcRelative: true, address: true },
  10: { name: 'R_X86_64_32', size: 4, pcRelative: false, address: true },
  11: { name: 'R_X86_64_32S', size: 4, pcRelative: false, address: true },
  12: { name: 'R_X86_64_16', size: 2, pcRelative: false, address: true },
  13: { name: 'R_X86_64_PC16', size: 2, pcRelative: true, address: true },
  14: { name: 'R_X86_64_8', size: 1, pcRelative: false, address: true },
  15: { name: 'R_X86_64_PC8', size: 1, pcRelative: true, address: true },
  19: { name: 'R_X86_64_TLSGD', size: 4, pcRelative: true, address: false },
  20: { name: 'R_X86_64_TLSLD', size: 4, pcRelative: true, address: false },
  21: { name: 'R_X86_64_DTPOFF32', size: 4, pcRelative: false, address: false },
  22: { name: 'R_X86_64_GOTTPOFF', size: 4, pcRelative: true, address: false },
  23: { name: 'R_X86_64_TPOFF32', size: 4, pcRelative: false, address: false },
  24: { name: 'R_X86_64_PC64', size: 8, pcRelative: true, address: true },
  26: { name: 'R_X86_64_GOTPC32', size: 4, pcRelative: true, address: false },
  32: { name: 'R_X86_64_SIZE32', size: 4, pcRelative: false, address: false },
  33: { name: 'R_X86_64_SIZE64', size: 8, pcRelative: false, address: false },
  41: { name: 'R_X86_64_GOTPCRELX', size: 4, pcRelative: true, address: true },
  42: { name: 'R_X86_64_REX_GOTPCRELX', size: 4, pcRelative: true, address: true },
};

/** Assembler text by instruction bytes (and address, for relative operands). */
const instructionTexts = new Map<string, string>();
const MAX_INSTRUCTION_TEXTS = 100_000;

/** The longest x86-64 instruction, in bytes: also how many instruction starts are tried before a relocation. */
const MAX_INSTRUCTION = 15;

/** e_machine of x86-64 objects (gABI). */
const EM_X86_64 = 62;

function relocationInfo(type: number) {
  return RELOCATIONS[type] ?? { name: `R_X86_64_${type}`, size: 4, pcRelative: false, address: false };
}

export const x86_64Backend: ArchBackend = {
  name: 'x86_64',
  machine: EM_X86_64,
  elfClass: 64,
  endian: 'little',
  maxInstructionLength: MAX_INSTRUCTION,

  kernelThunk: x86_64KernelThunk,
  specialSections: X86_64_SPECIAL_SECTIONS,
  lineCallees: LINE_CALLEES,

  instructionAt(code: Uint8Array, offset: number, end: number): InstructionShape {
    const length = decodeNext(code, offset, end);
    const kind = decoded.kind;
    const branch = length > 0 && (kind === K_CALL || kind === K_JUMP || kind === K_COND) && decoded.relOffset >= 0;
    shape.length = length;
    shape.branchField = branch ? decoded.relOffset : -1;
    shape.branchSize = branch ? decoded.relSize : 0;
    return shape;
  },

  addressArguments(code: Uint8Array, callOffset: number): Map<number, number> {
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
  },

  instructionText(code: Uint8Array, offset: number, length: number, address: number): string {
    // A tree's differences repeat the same instructions (a struct field that moved is read
    // the same way in hundreds of functions); the text depends on the address only for
    // relative operands.
    const end = offset + length;
    const relative = decodeNext(code, offset, end) !== length || decoded.relOffset >= 0 || decoded.ripRelative;
    const key = Buffer.from(code.buffer, code.byteOffset + offset, length).toString('latin1') + (relative ? `@${address}` : '');
    let text = instructionTexts.get(key);
    if (text === undefined) {
      if (instructionTexts.size >= MAX_INSTRUCTION_TEXTS) instructionTexts.clear();
      text = disassembleOne(code, offset, length, address);
      instructionTexts.set(key, text);
    }
    return text;
  },

  dataReference(relocationType: number) {
    const info = relocationInfo(relocationType);
    if (!info.address) return undefined;
    return { pcRelative: info.pcRelative, size: info.size };
  },

  lineNumberShifts(a: Uint8Array, b: Uint8Array): LineArgument[] | undefined {
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
  },

  decodeSection(section: CodeSection, twin?: DecodedTwin): SectionCode {
    const code = section.bytes;
    const table = section.relocations;
    const relocationCount = table.count;
    const sortedStarts = sortedUniqueStarts(section.starts, code.length);

    const out = new SectionCodeBuilder(section.index, relocationCount + (code.length >> 5));
    const codeEnd = code.length;
    let r = 0;
    // Offset of the next relocation: checked at every instruction, so kept at hand.
    let nextRelocation = relocationCount > 0 ? table.offset[0] : Infinity;

    for (let si = 0; si < sortedStarts.length; si++) {
      const rangeStart = sortedStarts[si];
      const rangeEnd = si + 1 < sortedStarts.length ? sortedStarts[si + 1] : codeEnd;
      let pc = rangeStart;
      // Relocations that fall before this range (inside bytes we could not decode) still
      // count, as plain address references.
      while (r < relocationCount && table.offset[r] < rangeStart) pushAddressReference(out, table, r++);
      const twinStart = twin?.rangeFor(rangeStart, rangeEnd);
      if (twinStart !== undefined) {
        const copied = copyTwinRange(twin!, twinStart, rangeStart, rangeEnd, table, r, out);
        if (copied >= 0) {
          r = copied;
          continue;
        }
      }
      nextRelocation = r < relocationCount ? table.offset[r] : Infinity;
      // Undecodable stretches of this range so far, as [first bad byte, resume point] pairs.
      let gaps: number[] | undefined;
      while (pc < rangeEnd) {
        const length = decodeNext(code, pc, codeEnd);
        if (length === 0) {
          // Data or an opcode the decoder does not know: one undecodable range up to the
          // next point decoding can trust, whose relocations are plain address references.
          const resume = resumePoint(code, table, r, rangeStart, rangeEnd, pc, gaps);
          out.undecodable.push({ offset: pc, length: resume - pc });
          while (r < relocationCount && table.offset[r] < resume) pushAddressReference(out, table, r++);
          nextRelocation = r < relocationCount ? table.offset[r] : Infinity;
          (gaps ??= []).push(pc, resume);
          pc = resume;
          continue;
        }
        const end = pc + length;
        out.instructionCount++;
        const kind = decoded.kind;
        const isBranch = kind === K_CALL || kind === K_JUMP || kind === K_COND;
        let relocated = 0;
        if (nextRelocation < end) {
          relocated = pushRelocatedFields(out, table, r, pc, end, isBranch);
          while (r < relocationCount && table.offset[r] < end) r++;
          nextRelocation = r < relocationCount ? table.offset[r] : Infinity;
        }
        // The assembler resolves PC-relative fields aimed at its own section; those
        // references leave no relocation but must be seen all the same.
        if (isBranch && (relocated & BRANCH_FIELD) === 0 && decoded.relOffset >= 0) {
          const target = end + decoded.displacement;
          if (target < rangeStart || target >= rangeEnd) {
            out.push(pc, pc + decoded.relOffset, decoded.relSize, kind === K_CALL ? KIND_CALL : KIND_JUMP, kind === K_COND, -1, target, -1);
          }
        } else if (decoded.ripRelative && (relocated & RIP_FIELD) === 0 && decoded.dispOffset >= 0) {
          const field = pc + decoded.dispOffset;
          const target = end + readInt32(code, field);
          if (target < rangeStart || target >= rangeEnd) out.push(pc, field, 4, KIND_ADDRESS, false, -1, target, -1);
        }
        pc = end;
      }
      // Relocations past the range's last instruction (one running past the next symbol), as address references.
      while (r < relocationCount && table.offset[r] < rangeEnd) pushAddressReference(out, table, r++);
    }
    while (r < relocationCount) pushAddressReference(out, table, r++);
    return out.finish();
  },
};

const candidate = emptyInsn();

/**
 * Where decoding resumes after the undecodable byte at `bad` in the range [rangeStart,
 * rangeEnd) (decoded up to `bad`, apart from the earlier `gaps`): the first point after it
 * that decoding can trust, else the range's end (the next symbol). A point to trust is the
 * target of a branch decoded earlier in the range, or an instruction start that puts one
 * of its relocatable fields (branch displacement, ModRM displacement, immediate) of the
 * relocation's size exactly on a relocation; of the few starts before a relocation, the
 * earliest that does (it keeps prefixes: `48 8b 05` rather than `05`).
 * Depends only on the range's bytes (and 15 after it) and its relocations' offsets and
 * types, so that a twin's copy of a range is what decoding it gives.
 */
function resumePoint(code: Uint8Array, table: RelocationTable, r: number, rangeStart: number, rangeEnd: number, bad: number, gaps: readonly number[] | undefined): number {
  let best = Math.min(rangeEnd, branchTargetAfter(code, table, rangeStart, rangeEnd, bad, gaps));
  for (let k = r; k < table.count && table.offset[k] - MAX_INSTRUCTION < best; k++) {
    const type = table.type[k];
    const at = table.offset[k];
    if (type === 0 || at <= bad + 1) continue;
    const info = relocationInfo(type);
    for (let s = Math.max(bad + 1, at - MAX_INSTRUCTION); s < at && s < best; s++) {
      if (!decodeInto(code, s, rangeEnd, candidate) || s + candidate.length <= at) continue;
      if (fieldOnRelocation(candidate, at - s, info.size, info.pcRelative)) {
        best = s;
        break;
      }
    }
  }
  return best;
}

/** Whether the instruction in `candidate` has a relocatable field of `size` bytes at `field` from its start. */
function fieldOnRelocation(insn: X86Insn, field: number, size: number, pcRelative: boolean): boolean {
  if (insn.relOffset === field) return pcRelative && insn.relSize === size;
  if (insn.dispOffset === field) return insn.dispSize === size && pcRelative === (insn.ripRelative === true);
  if (insn.immOffset === field) return !pcRelative && insn.immSize === size;
  return false;
}

/**
 * The first target after `bad` of the branches that decoding met in [rangeStart, bad), or
 * Infinity. Decodes that stretch again (it only happens at undecodable bytes, which real
 * code hardly has), skipping the earlier gaps as the first decoding did. Branches whose
 * displacement a relocation fills are left out: their field holds no target.
 */
function branchTargetAfter(code: Uint8Array, table: RelocationTable, rangeStart: number, rangeEnd: number, bad: number, gaps: readonly number[] | undefined): number {
  let first = Infinity;
  let g = 0;
  let pc = rangeStart;
  while (pc < bad) {
    if (gaps !== undefined && g < gaps.length && pc === gaps[g]) {
      pc = gaps[g + 1];
      g += 2;
      continue;
    }
    const length = decodeNext(code, pc, code.length);
    if (length === 0) break; // cannot happen: these bytes decoded before
    const kind = decoded.kind;
    if ((kind === K_CALL || kind === K_JUMP || kind === K_COND) && decoded.relOffset >= 0) {
      const field = pc + decoded.relOffset;
      const target = pc + length + decoded.displacement;
      let relocated = false;
      for (let r = table.lowerBound(field); r < table.count && table.offset[r] < field + decoded.relSize; r++) if (table.type[r] !== 0) relocated = true;
      if (!relocated && target > bad && target < rangeEnd && target < first) first = target;
    }
    pc += length;
  }
  return first;
}

/** instructionAt's answer, filled in place: explaining a tree's changes asks it millions of times. */
const shape: InstructionShape = { length: 0, branchField: -1, branchSize: 0 };

/** What pushRelocatedFields found relocated: the branch displacement, the RIP-relative one. */
const BRANCH_FIELD = 1;
const RIP_FIELD = 2;

/**
 * The references of the relocations from `r` that patch the instruction at [pc, end) (the
 * one `decoded` describes); returns which of its PC-relative fields they were. Kept out of
 * the decoding loop so that V8's compiles of that loop stay small: it compiles it once per
 * worker thread, and again after every deoptimization.
 */
function pushRelocatedFields(out: SectionCodeBuilder, table: RelocationTable, r: number, pc: number, end: number, isBranch: boolean): number {
  let relocated = 0;
  const kind = decoded.kind;
  for (; r < table.count && table.offset[r] < end; r++) {
    const fieldOffset = table.offset[r];
    const type = table.type[r];
    // R_X86_64_NONE patches nothing: objtool leaves one where it turned a static
    // branch's jmp into a NOP (the destination lives on in __jump_table).
    if (type === 0) continue;
    const info = relocationInfo(type);
    const addend = table.addend[r] + (info.pcRelative ? end - fieldOffset : 0);
    const isBranchField = isBranch && decoded.relOffset >= 0 && pc + decoded.relOffset === fieldOffset;
    if (isBranchField) relocated |= BRANCH_FIELD;
    if (decoded.ripRelative && decoded.dispOffset >= 0 && pc + decoded.dispOffset === fieldOffset) relocated |= RIP_FIELD;
    const referenceKind = isBranchField ? (kind === K_CALL ? KIND_CALL : KIND_JUMP) : KIND_ADDRESS;
    out.push(pc, fieldOffset, info.size, referenceKind, isBranchField && kind === K_COND, table.symbol[r], addend, type);
  }
  return relocated;
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

/** `mov $imm32, %r32` into an argument register, with the value, if it looks like a line number. */
/** `register` of a constant pushed on the stack, and the position of the first stack argument. */
const STACK = -1;
const STACK_ARGUMENTS = 6;

/** push of a register, an immediate or a memory operand. */
function isPush(code: Uint8Array, at: number, length: number): boolean {
  const rex = code[at] >= 0x40 && code[at] <= 0x4f ? 1 : 0;
  const opcode = code[at + rex];
  return (opcode >= 0x50 && opcode <= 0x57) || opcode === 0x68 || opcode === 0x6a || (opcode === 0xff && ((code[at + rex + 1] >> 3) & 7) === 6 && length > rex + 1);
}

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

function pushAddressReference(out: SectionCodeBuilder, table: RelocationTable, r: number): void {
  const type = table.type[r];
  if (type === 0) return;
  const info = relocationInfo(type);
  // Without the instruction we cannot know where it ends; for a 4-byte field the usual
  // case is that it ends the instruction.
  const at = table.offset[r];
  out.push(at, at, info.size, KIND_ADDRESS, false, table.symbol[r], table.addend[r] + (info.pcRelative ? info.size : 0), type);
}

/**
 * Copies the references of the twin's range starting at `from` into [start, end) of this
 * section, whose bytes are the same: relocated ones take this section's relocation (same
 * place, same type) with the twin's correction to the addend, resolved ones move with the
 * range. Returns the index of the first relocation after the range, or -1 (and pushes
 * nothing) when the relocations do not line up, or an instruction runs past the range:
 * then the range is decoded.
 */
function copyTwinRange(twin: DecodedTwin, from: number, start: number, end: number, table: RelocationTable, r: number, out: SectionCodeBuilder): number {
  const a = twin.code;
  const rel = twin.relocations;
  const delta = start - from;
  const fromEnd = from + (end - start);
  const mark = out.count;
  const fail = () => {
    out.truncate(mark);
    return -1;
  };
  // References are sorted by field, and a field lies in its instruction: start at `from`.
  let ra = rel.lowerBound(from);
  for (let k = lowerBound(a.fieldOffset, from); k < a.count && a.fieldOffset[k] < fromEnd + 16; k++) {
    const insn = a.insnOffset[k];
    if (insn < from || insn >= fromEnd) continue;
    if (a.fieldOffset[k] + a.fieldSize[k] > fromEnd) return fail();
    if (a.relocationType[k] < 0) {
      out.push(insn + delta, a.fieldOffset[k] + delta, a.fieldSize[k], a.kind[k], a.conditional[k] === 1, -1, a.value[k] + delta, -1);
      continue;
    }
    while (r < table.count && table.type[r] === 0 && table.offset[r] < end) r++;
    while (ra < rel.count && rel.offset[ra] < a.fieldOffset[k]) ra++;
    if (r >= table.count || table.offset[r] !== a.fieldOffset[k] + delta || table.type[r] !== a.relocationType[k]) return fail();
    if (ra >= rel.count || rel.offset[ra] !== a.fieldOffset[k] || rel.type[ra] !== a.relocationType[k]) return fail();
    // What the decoder added to the addend (the field's distance to the instruction's end).
    const correction = a.value[k] - rel.addend[ra];
    out.push(insn + delta, a.fieldOffset[k] + delta, a.fieldSize[k], a.kind[k], a.conditional[k] === 1, table.symbol[r], table.addend[r] + correction, table.type[r]);
    r++;
  }
  while (r < table.count && table.offset[r] < end) {
    if (table.type[r] !== 0) return fail();
    r++;
  }
  // The twin's undecodable ranges in the range, moved with it: decoding stopped and resumed
  // at the same places, as those depend only on the bytes and the relocations' places.
  const gaps = a.undecodable;
  if (gaps.length > 0) {
    const first = firstRangeEndingAfter(gaps, from);
    let last = first;
    while (last < gaps.length && gaps[last].offset < fromEnd) last++;
    // Ranges never cross a symbol start, where decoding restarts; were one to, decode.
    if (last > first && (gaps[first].offset < from || gaps[last - 1].offset + gaps[last - 1].length > fromEnd)) return fail();
    for (let g = first; g < last; g++) out.undecodable.push({ offset: gaps[g].offset + delta, length: gaps[g].length });
  }
  return r;
}

/** Index of the first of the ascending, disjoint `ranges` that ends after `offset`. */
function firstRangeEndingAfter(ranges: readonly UndecodableRange[], offset: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid].offset + ranges[mid].length <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where linear decoding restarts: every symbol start in the section, and its beginning. */
function sortedUniqueStarts(starts: readonly number[], size: number): Float64Array {
  const sorted = new Float64Array(starts.length + 1);
  sorted[0] = 0;
  for (let i = 0; i < starts.length; i++) sorted[i + 1] = starts[i];
  sorted.sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) {
    const s = sorted[i];
    if (s < 0 || s >= size || (n > 0 && sorted[n - 1] === s)) continue;
    sorted[n++] = s;
  }
  return sorted.subarray(0, n);
}

function readInt32(code: Uint8Array, at: number): number {
  return (code[at] | (code[at + 1] << 8) | (code[at + 2] << 16) | (code[at + 3] << 24)) | 0;
}
