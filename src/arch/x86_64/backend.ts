import type { ArchBackend, InstructionShape } from '../backend.js';
import { LINE_CALLEES } from '../linux/line-callees.js';
import { addressArguments, lineNumberShifts } from './arguments.js';
import { K_CALL, K_COND, K_JUMP, decodeNext, decoded } from './decode.js';
import { disassembleOne } from './disasm.js';
import { X86_64_SPECIAL_SECTIONS, x86_64KernelThunk } from './kernel.js';
import { relocationInfo } from './relocations.js';
import { MAX_INSTRUCTION, decodeSection } from './scan.js';

/** Assembler text by instruction bytes (and address, for relative operands). */
const instructionTexts = new Map<string, string>();
const MAX_INSTRUCTION_TEXTS = 100_000;

/**
 * A relative branch's text is its text at address 0 with the target written anew: the
 * target (`jmp 0x43`, `call 0x22`) is the last operand, in hex. Made once per bytes, from
 * the disassembler's own text, and used only where that text ends with the target this
 * decoder computes (not for 16-bit displacements, whose targets wrap). Otherwise undefined:
 * the disassembler is asked at the address.
 */
function branchText(code: Uint8Array, offset: number, length: number, address: number, bytes: string): string | undefined {
  if (decodeNext(code, offset, offset + length) !== length || decoded.relOffset < 0 || decoded.relSize === 2) return undefined;
  const displacement = decoded.displacement;
  let head = branchHeads.get(bytes);
  if (head === undefined) {
    const atZero = disassembleOne(code, offset, length, 0);
    const target = targetHex(length + displacement);
    head = atZero.endsWith(target) ? atZero.slice(0, atZero.length - target.length) : null;
    if (branchHeads.size >= MAX_INSTRUCTION_TEXTS) branchHeads.clear();
    branchHeads.set(bytes, head);
  }
  return head === null ? undefined : head + targetHex(address + length + displacement);
}

/** A branch target as the disassembler writes it: 64-bit, hex, no leading zeros. */
function targetHex(target: number): string {
  return `0x${(BigInt(target) & 0xffff_ffff_ffff_ffffn).toString(16)}`;
}

/** Branch texts without their target, by instruction bytes; null where the text does not end with the target. */
const branchHeads = new Map<string, string | null>();

/** e_machine of x86-64 objects (gABI). */
const EM_X86_64 = 62;

/** instructionAt's answer, filled in place: explaining a tree's changes asks it millions of times. */
const shape: InstructionShape = { length: 0, branchField: -1, branchSize: 0 };

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

  addressArguments,
  lineNumberShifts,
  decodeSection,

  instructionText(code: Uint8Array, offset: number, length: number, address: number): string {
    // A tree's differences repeat the same instructions (a struct field that moved is read
    // the same way in hundreds of functions); the text depends on the address only for
    // relative branches. RIP-relative operands are shown as their displacement, as objdump
    // shows them (`0x0(%rip)`; disasm.ts), whatever the address.
    const relative = this.textDependsOnAddress(code, offset, length);
    const bytes = Buffer.from(code.buffer, code.byteOffset + offset, length).toString('latin1');
    if (relative) {
      const text = branchText(code, offset, length, address, bytes);
      if (text !== undefined) return text;
    }
    const key = bytes + (relative ? `@${address}` : '');
    let text = instructionTexts.get(key);
    if (text === undefined) {
      if (instructionTexts.size >= MAX_INSTRUCTION_TEXTS) instructionTexts.clear();
      text = disassembleOne(code, offset, length, address);
      instructionTexts.set(key, text);
    }
    return text;
  },

  textDependsOnAddress(code: Uint8Array, offset: number, length: number): boolean {
    if (decodeNext(code, offset, offset + length) !== length || decoded.relOffset >= 0) return true;
    // xbegin (c7 f8 rel) is decoded as a mov's immediate, but printed with its target.
    const imm = decoded.immOffset;
    return imm >= 2 && code[offset + imm - 1] === 0xf8 && code[offset + imm - 2] === 0xc7;
  },

  dataReference(relocationType: number) {
    // The table's own entry, not a copy: asked once per relocation of every data table.
    const info = relocationInfo(relocationType);
    return info.address ? info : undefined;
  },
};
