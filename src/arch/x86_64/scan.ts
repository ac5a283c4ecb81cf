import type { RelocationTable } from '../../elf/types.js';
import { KIND_ADDRESS, KIND_CALL, KIND_JUMP, SectionCodeBuilder, type CodeSection, type DecodedTwin, type SectionCode } from '../backend.js';
import { TwinCursor, copyTwinRange, sortedUniqueStarts } from '../decoding.js';
import {
  K_CALL,
  K_COND,
  K_JUMP,
  SHAPE_LENGTH,
  SHAPE_RELATIVE,
  SHAPE_RIP,
  decodeInto,
  decodeNext,
  decodeShapeInRange,
  decoded,
  emptyInsn,
  readSigned,
  shapeDispOffset,
  shapeFieldOffset,
  shapeFieldSize,
  shapeKind,
  type X86Insn,
} from './decode.js';
import { relocationInfo } from './relocations.js';

/** The longest x86-64 instruction, in bytes: also how many instruction starts are tried before a relocation. */
export const MAX_INSTRUCTION = 15;

/** See `ArchBackend.decodeSection`: linear decoding from every symbol start, with the relocations beside it. */
export function decodeSection(section: CodeSection, twin?: DecodedTwin): SectionCode {
  const code = section.bytes;
  const table = section.relocations;
  const relocationCount = table.count;
  const sortedStarts = sortedUniqueStarts(section.starts, code.length);

  // A reference per relocation, and one per 128 bytes for the fields the assembler resolved:
  // over a kernel tree that allocates 1.25 times the references found, and 1.5 % of the
  // builders grow. (One per 32 bytes allocated 1.8 times: the finished columns are views of
  // the builder's, so a model keeps all of that.)
  const out = new SectionCodeBuilder(section.index, relocationCount + (code.length >> 7));
  const codeEnd = code.length;
  let r = 0;
  // Offset of the next relocation: checked at every instruction, so kept at hand.
  let nextRelocation = relocationCount > 0 ? table.offset[0] : Infinity;
  const relocationOffsets = table.offset;
  // Counted here, not in the builder: one store less per instruction.
  let instructionCount = 0;

  const cursor = new TwinCursor();

  for (let si = 0; si < sortedStarts.length; si++) {
    const rangeStart = sortedStarts[si];
    const rangeEnd = si + 1 < sortedStarts.length ? sortedStarts[si + 1] : codeEnd;
    let pc = rangeStart;
    // Relocations that fall before this range (inside bytes we could not decode) still
    // count, as plain address references.
    while (r < relocationCount && table.offset[r] < rangeStart) pushAddressReference(out, table, r++);
    const twinStart = twin?.rangeFor(rangeStart, rangeEnd);
    if (twinStart !== undefined) {
      const copied = copyTwinRange(twin!, twinStart, rangeStart, rangeEnd, table, r, out, cursor);
      if (copied >= 0) {
        r = copied;
        continue;
      }
    }
    nextRelocation = r < relocationCount ? table.offset[r] : Infinity;
    // Undecodable stretches of this range so far, as [first bad byte, resume point] pairs.
    let gaps: number[] | undefined;
    while (pc < rangeEnd) {
      const shape = decodeShapeInRange(code, pc, codeEnd);
      if (shape === 0) {
        // Data or an opcode the decoder does not know: one undecodable range up to the
        // next point decoding can trust, whose relocations are plain address references.
        const resume = resumePoint(code, table, r, rangeStart, rangeEnd, pc, gaps);
        out.undecodable.push({ offset: pc, length: resume - pc });
        while (r < relocationCount && relocationOffsets[r] < resume) pushAddressReference(out, table, r++);
        nextRelocation = r < relocationCount ? relocationOffsets[r] : Infinity;
        (gaps ??= []).push(pc, resume);
        pc = resume;
        continue;
      }
      const end = pc + (shape & SHAPE_LENGTH);
      instructionCount++;
      // Most instructions have no relocation, no branch displacement and no RIP-relative
      // operand: nothing to record.
      if (nextRelocation >= end && (shape & (SHAPE_RELATIVE | SHAPE_RIP)) === 0) {
        pc = end;
        continue;
      }
      const kind = shapeKind(shape);
      const isBranch = kind === K_CALL || kind === K_JUMP || kind === K_COND;
      let relocated = 0;
      if (nextRelocation < end) {
        relocated = pushRelocatedFields(out, table, r, pc, end, shape, isBranch);
        while (r < relocationCount && relocationOffsets[r] < end) r++;
        nextRelocation = r < relocationCount ? relocationOffsets[r] : Infinity;
      }
      // The assembler resolves PC-relative fields aimed at its own section; those
      // references leave no relocation but must be seen all the same.
      if (isBranch && (relocated & BRANCH_FIELD) === 0 && (shape & SHAPE_RELATIVE) !== 0) {
        const field = pc + shapeFieldOffset(shape);
        const size = shapeFieldSize(shape);
        const target = end + readSigned(code, field, size);
        if (target < rangeStart || target >= rangeEnd) {
          out.push(pc, field, size, kind === K_CALL ? KIND_CALL : KIND_JUMP, kind === K_COND, -1, target, -1);
        }
      } else if ((shape & SHAPE_RIP) !== 0 && (relocated & RIP_FIELD) === 0) {
        const field = pc + shapeDispOffset(shape);
        const target = end + readSigned(code, field, 4);
        if (target < rangeStart || target >= rangeEnd) out.push(pc, field, 4, KIND_ADDRESS, false, -1, target, -1);
      }
      pc = end;
    }
    // Relocations past the range's last instruction (one running past the next symbol), as address references.
    while (r < relocationCount && table.offset[r] < rangeEnd) pushAddressReference(out, table, r++);
  }
  while (r < relocationCount) pushAddressReference(out, table, r++);
  out.instructionCount += instructionCount;
  return out.finish();
}

/** The instruction at a start that resumePoint tries, decoded in place. */
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

/** What pushRelocatedFields found relocated: the branch displacement, the RIP-relative one. */
const BRANCH_FIELD = 1;
const RIP_FIELD = 2;

/**
 * The references of the relocations from `r` that patch the instruction of `shape` at
 * [pc, end); returns which of its PC-relative fields they were. Kept out of the decoding
 * loop so that V8's compiles of that loop stay small: it compiles it once per worker
 * thread, and again after every deoptimization.
 */
function pushRelocatedFields(out: SectionCodeBuilder, table: RelocationTable, r: number, pc: number, end: number, shape: number, isBranch: boolean): number {
  let relocated = 0;
  const kind = shapeKind(shape);
  const branchField = isBranch && (shape & SHAPE_RELATIVE) !== 0 ? pc + shapeFieldOffset(shape) : -1;
  const ripField = (shape & SHAPE_RIP) !== 0 ? pc + shapeDispOffset(shape) : -1;
  for (; r < table.count && table.offset[r] < end; r++) {
    const fieldOffset = table.offset[r];
    const type = table.type[r];
    // R_X86_64_NONE patches nothing: objtool leaves one where it turned a static
    // branch's jmp into a NOP (the destination lives on in __jump_table).
    if (type === 0) continue;
    const info = relocationInfo(type);
    const addend = table.addend[r] + (info.pcRelative ? end - fieldOffset : 0);
    const isBranchField = fieldOffset === branchField;
    if (isBranchField) relocated |= BRANCH_FIELD;
    if (fieldOffset === ripField) relocated |= RIP_FIELD;
    const referenceKind = isBranchField ? (kind === K_CALL ? KIND_CALL : KIND_JUMP) : KIND_ADDRESS;
    out.push(pc, fieldOffset, info.size, referenceKind, isBranchField && kind === K_COND, table.symbol[r], addend, type);
  }
  return relocated;
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

