/**
 * x86-64 (64-bit mode) instruction length decoder with branch classification.
 *
 * This is deliberately not a disassembler: it only needs to know where each
 * instruction ends, where its displacement/immediate fields sit (relocations
 * land there) and whether it is a call, jump, return or trap. That is all a
 * linear sweep over compiler output needs to find calls and tail calls.
 *
 * Encoding facts follow the Intel SDM opcode maps. Where real CPUs and GNU
 * objdump disagree on a corner case that compilers never emit (a REX byte
 * followed by another prefix, a 9b fwait in front of an x87 opcode, the 66
 * prefix on near branches), the decoder follows objdump 2.40 so that instruction
 * boundaries agree with the tool people read alongside our output; each such
 * place is commented.
 *
 * One file of some 750 lines on purpose: the opcode maps, the one pass that reads them and
 * its inlined fast path for the common opcodes are one table read in one order, and split
 * across modules they would be harder to check against the SDM's maps (and against each
 * other) than side by side.
 */

export type InsnKind =
  | 'call' // e8 rel32
  | 'jump' // e9 rel32, eb rel8
  | 'cond-jump' // 0f 80..8f rel32, 70..7f rel8, e0..e3 (loop/jrcxz) rel8
  | 'indirect-call' // ff /2, ff /3
  | 'indirect-jump' // ff /4, ff /5
  | 'ret' // c3, c2 iw, cb, ca iw, iret (48 cf / cf)
  | 'trap' // ud2 (0f 0b), ud1 (0f b9), ud0 (0f ff), int3 (cc), hlt (f4)
  | 'other';

export interface X86Insn {
  /** Total bytes including prefixes. */
  length: number;
  kind: InsnKind;
  /**
   * For direct relative branches (call/jump/cond-jump): offset of the
   * displacement field from the instruction start, its size in bytes (1, 2 or
   * 4) and the signed displacement value. Target = start + length + displacement.
   */
  relOffset?: number;
  relSize?: number;
  displacement?: number;
  /** Offset/size of the ModRM displacement field (disp8/disp32), if any. */
  dispOffset?: number;
  dispSize?: number;
  /** Offset/total size of the immediate field(s), if any. */
  immOffset?: number;
  immSize?: number;
  /** true for RIP-relative ModRM addressing (mod=00, rm=101). */
  ripRelative?: boolean;
}

// ---------------------------------------------------------------------------
// Opcode table encoding (one Uint16 per opcode per map).
//
// bits 0..3  immediate kind
// bit  4     has ModRM
// bit  5     invalid in 64-bit mode
// bit  6     ModRM.mod is ignored and treated as 3 (mov to/from CR/DR)
// bit  7     needs ModRM.reg (or prefix) dependent handling, see `group` below
// bits 8..10 branch kind
// bit  11    one-byte map only: an escape to another map (0f, VEX, EVEX, XOP),
//            so that the common one-byte opcode costs a single test
// ---------------------------------------------------------------------------

const I_NONE = 0;
const I_B = 1; // imm8
const I_W = 2; // imm16
const I_Z = 3; // imm16 with operand-size 16, else imm32
const I_V = 4; // imm64 with REX.W, imm16 with 66, else imm32 (b8+r only)
const I_WB = 5; // enter: imm16 + imm8
const I_MOFFS = 6; // a0..a3: 64-bit address, 32-bit with 67
const I_REL8 = 7;
const I_RELZ = 8; // rel32, or rel16 with 66 (objdump follows AMD here)
const I_D = 9; // imm32 regardless of prefixes (XOP map 0a)
const I_BB = 10; // two imm8 (SSE4a extrq/insertq)
const I_MASK = 0x0f;

/** Size in bytes of each immediate kind that has one whatever the prefixes; 0 for the others. */
const FIXED_SIZE = new Uint8Array(16);
FIXED_SIZE[I_B] = 1;
FIXED_SIZE[I_W] = 2;
FIXED_SIZE[I_WB] = 3;
FIXED_SIZE[I_REL8] = 1;
FIXED_SIZE[I_D] = 4;
FIXED_SIZE[I_BB] = 2;

const F_MODRM = 0x10;
const F_INVALID = 0x20;
const F_FORCE_REG = 0x40;
const F_GROUP = 0x80;
const F_ESCAPE = 0x800;

export const K_CALL = 1;
export const K_JUMP = 2;
export const K_COND = 3;
export const K_ICALL = 4;
export const K_IJUMP = 5;
export const K_RET = 6;
export const K_TRAP = 7;
const K_SHIFT = 8;

const KIND_NAMES: readonly InsnKind[] = [
  'other',
  'call',
  'jump',
  'cond-jump',
  'indirect-call',
  'indirect-jump',
  'ret',
  'trap',
];

// Prefix classes for the prefix-scanning loop.
const P_NONE = 0;
const P_66 = 1;
const P_67 = 2;
const P_OTHER = 3; // segment overrides and lock: no effect on length
const P_REP = 4; // f2 / f3
const P_REX = 5;
const P_FWAIT = 6;

const PFX = new Uint8Array(256);
const T1 = new Uint16Array(256); // one-byte map
const T0F = new Uint16Array(256); // 0f xx
const T38 = new Uint16Array(256); // 0f 38 xx
const T3A = new Uint16Array(256); // 0f 3a xx
const TV1 = new Uint16Array(256); // VEX/EVEX map 1 (0f)
const TV2 = new Uint16Array(256); // VEX/EVEX maps 2, 5, 6 and XOP 09: ModRM, no immediate
const TV3 = new Uint16Array(256); // VEX/EVEX map 3 (0f 3a), XOP 08: ModRM + imm8
const TXA = new Uint16Array(256); // XOP 0a: ModRM + imm32

function set(t: Uint16Array, from: number, to: number, v: number): void {
  for (let i = from; i <= to; i++) t[i] = v;
}

function kind(k: number): number {
  return k << K_SHIFT;
}

function buildTables(): void {
  // Prefixes. 9b is an instruction, but objdump folds it into a following x87
  // opcode (fstcw = 9b d9 /7), so the scanner has to see it.
  for (const b of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0xf0]) PFX[b] = P_OTHER;
  PFX[0x66] = P_66;
  PFX[0x67] = P_67;
  PFX[0xf2] = P_REP;
  PFX[0xf3] = P_REP;
  for (let b = 0x40; b <= 0x4f; b++) PFX[b] = P_REX;
  PFX[0x9b] = P_FWAIT;

  // --- one-byte map ---
  // 00..3f: eight ALU rows of "Eb,Gb Ev,Gv Gb,Eb Gv,Ev AL,Ib eAX,Iz" then two
  // odd slots that are push/pop seg, BCD or prefixes (all gone in 64-bit mode).
  for (let row = 0; row < 8; row++) {
    const b = row * 8;
    set(T1, b, b + 3, F_MODRM);
    T1[b + 4] = I_B;
    T1[b + 5] = I_Z;
    T1[b + 6] = F_INVALID;
    T1[b + 7] = F_INVALID;
  }
  T1[0x0f] = F_ESCAPE;
  // 26/2e/36/3e are prefixes and never reach the table.
  // 40..4f REX, 50..5f push/pop reg: no operands bytes.
  T1[0x60] = F_INVALID; // pusha
  T1[0x61] = F_INVALID; // popa
  T1[0x62] = F_ESCAPE; // EVEX
  T1[0x63] = F_MODRM; // movsxd
  T1[0x68] = I_Z;
  T1[0x69] = F_MODRM | I_Z;
  T1[0x6a] = I_B;
  T1[0x6b] = F_MODRM | I_B;
  set(T1, 0x70, 0x7f, I_REL8 | kind(K_COND));
  T1[0x80] = F_MODRM | I_B;
  T1[0x81] = F_MODRM | I_Z;
  T1[0x82] = F_INVALID; // alias of 80 outside 64-bit mode
  T1[0x83] = F_MODRM | I_B;
  set(T1, 0x84, 0x8e, F_MODRM);
  T1[0x8f] = F_MODRM | F_GROUP | F_ESCAPE; // pop Ev (/0); other reg values are XOP
  T1[0x9a] = F_INVALID; // far call ptr16:32
  set(T1, 0xa0, 0xa3, I_MOFFS);
  T1[0xa8] = I_B;
  T1[0xa9] = I_Z;
  set(T1, 0xb0, 0xb7, I_B);
  set(T1, 0xb8, 0xbf, I_V);
  T1[0xc0] = F_MODRM | I_B;
  T1[0xc1] = F_MODRM | I_B;
  T1[0xc2] = I_W | kind(K_RET);
  T1[0xc3] = kind(K_RET);
  T1[0xc4] = F_ESCAPE; // VEX3
  T1[0xc5] = F_ESCAPE; // VEX2
  T1[0xc6] = F_MODRM | I_B | F_GROUP; // mov Eb,Ib (/0), xabort (c6 f8)
  T1[0xc7] = F_MODRM | I_Z | F_GROUP; // mov Ev,Iz (/0), xbegin (c7 f8 rel)
  T1[0xc8] = I_WB;
  T1[0xca] = I_W | kind(K_RET);
  T1[0xcb] = kind(K_RET);
  T1[0xcc] = kind(K_TRAP);
  T1[0xcd] = I_B;
  T1[0xce] = F_INVALID; // into
  T1[0xcf] = kind(K_RET); // iret
  set(T1, 0xd0, 0xd3, F_MODRM);
  T1[0xd4] = F_INVALID; // aam
  T1[0xd5] = F_INVALID; // aad
  T1[0xd6] = F_INVALID; // salc
  set(T1, 0xd8, 0xdf, F_MODRM); // x87
  set(T1, 0xe0, 0xe3, I_REL8 | kind(K_COND)); // loopne/loope/loop/jrcxz
  set(T1, 0xe4, 0xe7, I_B); // in/out imm8
  T1[0xe8] = I_RELZ | kind(K_CALL);
  T1[0xe9] = I_RELZ | kind(K_JUMP);
  T1[0xea] = F_INVALID; // far jmp ptr16:32
  T1[0xeb] = I_REL8 | kind(K_JUMP);
  T1[0xf4] = kind(K_TRAP); // hlt
  T1[0xf6] = F_MODRM | F_GROUP; // group 3: test Eb,Ib only for /0 and /1
  T1[0xf7] = F_MODRM | F_GROUP;
  T1[0xfe] = F_MODRM | F_GROUP;
  T1[0xff] = F_MODRM | F_GROUP;

  // --- 0f map ---
  set(T0F, 0x00, 0xff, F_MODRM); // the map is mostly ModRM forms; exceptions below
  T0F[0x04] = F_INVALID;
  for (const b of [0x05, 0x06, 0x07, 0x08, 0x09, 0x0e]) T0F[b] = 0; // syscall clts sysret invd wbinvd femms
  T0F[0x0a] = F_INVALID;
  T0F[0x0b] = kind(K_TRAP); // ud2
  T0F[0x0c] = F_INVALID;
  T0F[0x0f] = F_MODRM | I_B; // 3DNow!: the opcode is an imm8 suffix
  set(T0F, 0x20, 0x23, F_MODRM | F_FORCE_REG);
  set(T0F, 0x24, 0x27, F_INVALID); // mov to/from test registers (386 only)
  set(T0F, 0x30, 0x35, 0); // wrmsr rdtsc rdmsr rdpmc sysenter sysexit
  T0F[0x36] = F_INVALID;
  T0F[0x37] = 0; // getsec
  T0F[0x38] = F_INVALID; // escapes, dispatched before the lookup
  T0F[0x39] = F_INVALID;
  T0F[0x3a] = F_INVALID;
  set(T0F, 0x3b, 0x3f, F_INVALID);
  set(T0F, 0x70, 0x73, F_MODRM | I_B); // pshuf*, shift-by-immediate groups
  T0F[0x77] = 0; // emms
  T0F[0x78] = F_MODRM | F_GROUP; // vmread; with 66/f2 extrq/insertq ib,ib
  T0F[0x7a] = F_INVALID;
  T0F[0x7b] = F_INVALID;
  set(T0F, 0x80, 0x8f, I_RELZ | kind(K_COND));
  set(T0F, 0xa0, 0xa2, 0); // push fs, pop fs, cpuid
  T0F[0xa4] = F_MODRM | I_B; // shld imm
  // a6/a7 were cmpxchg on early 486s; VIA PadLock reuses them with a fixed
  // ModRM (montmul, xsha*, xstore, xcrypt-*), used by kernel and libcrypto.
  set(T0F, 0xa8, 0xaa, 0); // push gs, pop gs, rsm
  T0F[0xac] = F_MODRM | I_B; // shrd imm
  T0F[0xb9] = F_MODRM | kind(K_TRAP); // ud1
  T0F[0xba] = F_MODRM | I_B; // bt* Ev,Ib
  T0F[0xc2] = F_MODRM | I_B; // cmpps
  set(T0F, 0xc4, 0xc6, F_MODRM | I_B); // pinsrw pextrw shufps
  set(T0F, 0xc8, 0xcf, 0); // bswap
  T0F[0xff] = F_MODRM | kind(K_TRAP); // ud0

  // --- 0f 38 / 0f 3a: every form has ModRM; 0f 3a always adds imm8 ---
  set(T38, 0x00, 0xff, F_MODRM);
  set(T3A, 0x00, 0xff, F_MODRM | I_B);

  // --- VEX / EVEX / XOP maps: ModRM always, except VEX vzeroupper/vzeroall ---
  set(TV1, 0x00, 0xff, F_MODRM);
  set(TV1, 0x70, 0x73, F_MODRM | I_B);
  TV1[0xc2] = F_MODRM | I_B;
  set(TV1, 0xc4, 0xc6, F_MODRM | I_B);
  set(TV2, 0x00, 0xff, F_MODRM);
  set(TV3, 0x00, 0xff, F_MODRM | I_B);
  set(TXA, 0x00, 0xff, F_MODRM | I_D);
}

buildTables();

// What a ModRM byte with a memory operand (mod != 3) brings after it, by the byte:
// table lookups instead of tests of mod and rm, whose outcomes no branch predictor
// can guess in compiled code.
const M_DISP_SIZE = 0x07; // displacement bytes that mod and rm alone imply: 0, 1 or 4
const M_SIB = 0x08; // rm=100: a SIB byte follows
const M_SIB_DISP32 = 0x10; // mod=00 with SIB: base=101 means "no base, disp32"
const M_RIP = 0x20; // mod=00, rm=101: 64-bit mode turns "disp32 only" into RIP-relative

/** The M_* of every ModRM byte; 0 for register operands (mod=11) and the plainest memory ones. */
const MODRM_FORMS = new Uint8Array(256);
for (let modrm = 0; modrm < 0xc0; modrm++) {
  const mod = modrm >> 6;
  const rm = modrm & 7;
  let form = mod === 1 ? 1 : mod === 2 ? 4 : 0;
  if (rm === 4) form |= M_SIB | (mod === 0 ? M_SIB_DISP32 : 0);
  else if (mod === 0 && rm === 5) form |= 4 | M_RIP;
  MODRM_FORMS[modrm] = form;
}

// ---------------------------------------------------------------------------
// Core decoder. It returns everything it found as one small integer, the
// instruction's "shape" (layout below): a V8 small integer lives in a register,
// so the hot loop neither allocates nor stores to memory per instruction, and a
// linear sweep tests the few bits it cares about (is there a branch field, a
// RIP-relative one?) at once. The public forms unpack it.
// ---------------------------------------------------------------------------

/** Bits 0..3: the length in bytes, 1..15; a shape of 0 means undecodable. */
export const SHAPE_LENGTH = 0xf;
/** Bits 4..6: K_*. */
const SHAPE_KIND_SHIFT = 4;
/**
 * Bits 7..10 and 11..14: offset and size of the field that follows opcode and ModRM
 * (size 0: none). It is a branch displacement when SHAPE_RELATIVE is set, else an
 * immediate: an instruction has one or the other.
 */
const SHAPE_FIELD_OFFSET_SHIFT = 7;
const SHAPE_FIELD_SIZE_SHIFT = 11;
export const SHAPE_RELATIVE = 1 << 15;
/** Bits 16..19 and 20..23: offset and size of the ModRM displacement (size 0: none). */
const SHAPE_DISP_OFFSET_SHIFT = 16;
const SHAPE_DISP_SIZE_SHIFT = 20;
/** RIP-relative ModRM addressing (mod=00, rm=101); its displacement is 4 bytes. */
export const SHAPE_RIP = 1 << 24;

/** K_* of a shape. */
export function shapeKind(shape: number): number {
  return (shape >> SHAPE_KIND_SHIFT) & 7;
}

/** Offset from the instruction's start of its immediate or branch displacement field. */
export function shapeFieldOffset(shape: number): number {
  return (shape >> SHAPE_FIELD_OFFSET_SHIFT) & 0xf;
}

/** Size of that field; 0 if the instruction has none. */
export function shapeFieldSize(shape: number): number {
  return (shape >> SHAPE_FIELD_SIZE_SHIFT) & 0xf;
}

/** Offset of the ModRM displacement field. */
export function shapeDispOffset(shape: number): number {
  return (shape >> SHAPE_DISP_OFFSET_SHIFT) & 0xf;
}

/** Size of the ModRM displacement field; 0 if the instruction has none. */
function shapeDispSize(shape: number): number {
  return (shape >> SHAPE_DISP_SIZE_SHIFT) & 0xf;
}

/** The signed little-endian field of `size` (1, 2 or 4) bytes at `p`. */
export function readSigned(code: Uint8Array, p: number, size: number): number {
  if (size === 1) return (code[p] << 24) >> 24;
  if (size === 2) return ((code[p] | (code[p + 1] << 8)) << 16) >> 16;
  return code[p] | (code[p + 1] << 8) | (code[p + 2] << 16) | (code[p + 3] << 24);
}

// ---------------------------------------------------------------------------
// Fast path. Most instructions of compiled code are one-byte opcodes with no
// prefix but REX: for them decodeShape does decodeCore's work in few enough
// lines that V8 inlines it into the sweep, which then makes no call for them.
// It gives exactly decodeCore's shapes: with 15 bytes at hand no read can run
// past the end, and the longest such instruction has 12 bytes. (The 0f map's
// common opcodes, movzx and jcc rel32 among them, go the same way.)
// ---------------------------------------------------------------------------

/**
 * What the fast path needs of each opcode it takes: the shape bits the opcode alone gives
 * (kind; size of the immediate or branch displacement with no 66 or 67 prefix, and which
 * of the two it is), and PLAIN_* flags. 0 for the opcodes it leaves to decodeCore:
 * prefixes, escapes to other maps, invalid ones, groups but the three below.
 */
const PLAIN = new Int32Array(256);
/** The same for the opcodes after 0f. */
const PLAIN_0F = new Int32Array(256);
const PLAIN_SHAPE = (1 << 25) - 1;
const PLAIN_MODRM = 1 << 25;
const PLAIN_IMM64_WITH_REX_W = 1 << 26;
/** Plain only with ModRM.reg 0: c6 /0 and c7 /0 (mov; other values are xabort, xbegin or invalid), 8f /0 (pop; others are XOP). */
const PLAIN_REG_0 = 1 << 27;
const PLAIN_TAKEN = 1 << 28;

/** The PLAIN entry for the opcode with table entry `e`, flags `flags` added. */
function plainEntry(e: number, flags: number): number {
  const imm = e & I_MASK;
  // The sizes that depend on prefixes, without them.
  const size = imm === I_Z || imm === I_RELZ || imm === I_V ? 4 : imm === I_MOFFS ? 8 : FIXED_SIZE[imm];
  return (
    PLAIN_TAKEN |
    flags |
    (((e >> K_SHIFT) & 7) << SHAPE_KIND_SHIFT) |
    (size << SHAPE_FIELD_SIZE_SHIFT) |
    (imm === I_REL8 || imm === I_RELZ ? SHAPE_RELATIVE : 0) |
    ((e & F_MODRM) !== 0 ? PLAIN_MODRM : 0) |
    (imm === I_V ? PLAIN_IMM64_WITH_REX_W : 0)
  );
}

for (let b = 0; b < 256; b++) {
  const e = T1[b];
  if (b === 0xc6 || b === 0xc7 || b === 0x8f) PLAIN[b] = plainEntry(e, PLAIN_REG_0);
  else if (PFX[b] === P_NONE && (e & (F_ESCAPE | F_GROUP | F_INVALID)) === 0) PLAIN[b] = plainEntry(e, 0);
  const e0f = T0F[b];
  // 0f 38 and 0f 3a (escapes) are F_INVALID in T0F.
  if ((e0f & (F_GROUP | F_INVALID | F_FORCE_REG)) === 0) PLAIN_0F[b] = plainEntry(e0f, 0);
}

/** The shape of the instruction at `start` (before `end`, within `code`), or 0 if invalid / truncated. */
function decodeCore(code: Uint8Array, start: number, end: number): number {
  // The architectural limit is 15 bytes; anything longer raises #GP.
  const lim = end - start > 15 ? start + 15 : end;
  let dispSize = 0;
  let dispOffset = 0;
  let rip = false;

  let p = start;
  let has66 = false;
  let has67 = false;
  let rexW = false;
  let lastRep = 0;
  let anyPrefix = false;
  let fwaitAt = -1;
  let b = 0;

  for (;;) {
    // Running out of bytes after an fwait leaves a complete fwait.
    if (p >= lim) return fwaitAt < 0 ? 0 : code[start] === 0x9b ? 1 : fwaitAt + 1 - start;
    b = code[p];
    const pk = PFX[b];
    if (pk === P_NONE) break;
    if (pk === P_REX) {
      if (p + 1 >= lim) return fwaitAt < 0 ? 0 : 1;
      // A REX that is not the last prefix is ignored by the CPU; objdump
      // prints it (and the prefixes before it) as an instruction of its own.
      // Splitting the same way keeps our boundaries identical to objdump's.
      // A leading fwait then stands alone, as it does before non-x87 opcodes.
      if (PFX[code[p + 1]] !== P_NONE) return fwaitAt >= 0 ? fwaitAt + 1 - start : p + 1 - start;
      rexW = (b & 8) !== 0;
      b = code[++p];
      break;
    }
    if (pk === P_FWAIT) {
      // fwait after other prefixes ends the prefix run (objdump gives those
      // prefixes to the fwait); a leading fwait lets scanning continue.
      fwaitAt = p++;
      if (anyPrefix) {
        if (p >= lim) return code[start] === 0x9b ? 1 : fwaitAt + 1 - start;
        b = code[p];
        break;
      }
      anyPrefix = true;
      continue;
    }
    anyPrefix = true;
    if (pk === P_66) has66 = true;
    else if (pk === P_67) has67 = true;
    else if (pk === P_REP) lastRep = b;
    p++;
  }

  // objdump folds fwait into an x87 opcode that follows (fstcw, fstsw, ...);
  // otherwise the fwait stands alone: a leading one as a single byte, a later
  // one together with the prefixes in front of it.
  if (fwaitAt >= 0 && (b < 0xd8 || b > 0xdf)) return code[start] === 0x9b ? 1 : fwaitAt + 1 - start;

  // REX.W wins over 66 for operand size.
  const op16 = has66 && !rexW;
  p++; // past the first opcode byte
  let e = T1[b];
  let legacyMap = 1; // 1 = one-byte map, 2 = 0f map, 0 = anything else
  let op = b;

  if ((e & F_ESCAPE) !== 0) {
    legacyMap = 0;
    if (b === 0x0f) {
      if (p >= lim) return 0;
      op = code[p++];
      if (op === 0x38) {
        if (p >= lim) return 0;
        op = code[p++];
        e = T38[op];
      } else if (op === 0x3a) {
        if (p >= lim) return 0;
        op = code[p++];
        e = T3A[op];
      } else {
        e = T0F[op];
        legacyMap = 2;
      }
    } else if (b === 0xc5) {
      // Two-byte VEX: in 64-bit mode c5 is always VEX (LDS is gone).
      if (p + 1 >= lim) return 0;
      op = code[p + 1];
      p += 2;
      // vzeroupper / vzeroall are the only VEX forms without ModRM.
      e = op === 0x77 ? 0 : TV1[op];
    } else if (b === 0xc4) {
      if (p + 2 >= lim) return 0;
      const m = code[p] & 0x1f;
      op = code[p + 2];
      p += 3;
      if (m === 1) e = op === 0x77 ? 0 : TV1[op];
      else if (m === 2) e = TV2[op];
      else if (m === 3) e = TV3[op];
      else return 0;
    } else if (b === 0x62) {
      // EVEX: P0 bit 3 is reserved-zero and P1 bit 2 reserved-one; objdump
      // rejects violations, and this is what separates EVEX from garbage.
      if (p + 3 >= lim) return 0;
      const p0 = code[p];
      if ((p0 & 0x08) !== 0 || (code[p + 1] & 0x04) === 0) return 0;
      const m = p0 & 7;
      op = code[p + 3];
      p += 4;
      if (m === 1) e = TV1[op];
      else if (m === 2 || m === 5 || m === 6) e = TV2[op];
      else if (m === 3) e = TV3[op];
      else return 0;
    } else if (p < lim && (code[p] & 0x38) !== 0) {
      // 8f: XOP shares it with pop Ev; a nonzero ModRM.reg field selects XOP.
      if (p + 2 >= lim) return 0;
      const m = code[p] & 0x1f;
      op = code[p + 2];
      p += 3;
      if (m === 8) e = TV3[op];
      else if (m === 9) e = TV2[op];
      else if (m === 10) e = TXA[op];
      else return 0;
    } else {
      legacyMap = 1; // 8f /0: pop Ev
    }
  }

  if ((e & F_INVALID) !== 0) return 0;

  let modrm = 0;
  if ((e & F_MODRM) !== 0) {
    if (p >= lim) return 0;
    modrm = code[p++];
    const form = (e & F_FORCE_REG) === 0 ? MODRM_FORMS[modrm] : 0;
    if (form !== 0) {
      dispSize = form & M_DISP_SIZE;
      if ((form & M_SIB) !== 0) {
        if (p >= lim) return 0;
        // SIB with base=101 and mod=00 means "no base, disp32".
        if ((form & M_SIB_DISP32) !== 0 && (code[p] & 7) === 5) dispSize = 4;
        p++;
      }
      rip = (form & M_RIP) !== 0;
      if (dispSize !== 0) {
        dispOffset = p - start;
        p += dispSize;
        if (p > lim) return 0;
      }
    }
  }

  let imm = e & I_MASK;
  let k = (e >> K_SHIFT) & 7;

  if ((e & F_GROUP) !== 0) {
    const reg = (modrm >> 3) & 7;
    if (legacyMap === 1) {
      switch (op) {
        case 0xf6:
          if (reg < 2) imm = I_B;
          break;
        case 0xf7:
          if (reg < 2) imm = I_Z;
          break;
        case 0xfe:
          if (reg > 1) return 0;
          break;
        case 0xff:
          if (reg === 7) return 0;
          if (reg >= 2 && reg <= 5) {
            // Far forms need a memory operand.
            if ((reg === 3 || reg === 5) && modrm >= 0xc0) return 0;
            k = reg <= 3 ? K_ICALL : K_IJUMP;
          }
          break;
        case 0xc6:
        case 0xc7:
          // Only mov (/0) and xabort/xbegin (exactly ModRM f8) exist.
          if (reg !== 0 && modrm !== 0xf8) return 0;
          break;
        default:
          break; // 8f /0: pop
      }
    } else if (legacyMap === 2) {
      // 0f 78. objdump picks the mandatory prefix as the last of f2/f3,
      // else 66: f2 = insertq, 66 = extrq (both ib,ib), none = vmread.
      if (lastRep === 0xf3) return 0;
      if (lastRep === 0xf2 || has66) imm = I_BB;
    }
  }

  let shape = (k << SHAPE_KIND_SHIFT) | (dispSize << SHAPE_DISP_SIZE_SHIFT) | (dispOffset << SHAPE_DISP_OFFSET_SHIFT) | (rip ? SHAPE_RIP : 0);
  if (imm !== I_NONE) {
    let size = FIXED_SIZE[imm];
    if (size === 0) {
      // The sizes that depend on prefixes.
      if (imm === I_Z || imm === I_RELZ) size = op16 ? 2 : 4;
      else if (imm === I_V) size = rexW ? 8 : op16 ? 2 : 4;
      else size = has67 ? 4 : 8; // I_MOFFS
    }
    if (p + size > lim) return 0;
    shape |= ((p - start) << SHAPE_FIELD_OFFSET_SHIFT) | (size << SHAPE_FIELD_SIZE_SHIFT);
    if (imm === I_REL8 || imm === I_RELZ) shape |= SHAPE_RELATIVE;
    p += size;
  }
  return shape | (p - start);
}

function validRange(code: Uint8Array, offset: number, end: number | undefined): number {
  let e = end === undefined || end > code.length ? code.length : end;
  if (!Number.isInteger(e)) e = Math.floor(e);
  if (!Number.isInteger(offset) || offset < 0 || offset >= e) return -1;
  return e;
}

/**
 * Decode one instruction at `offset` in `code`. Returns null if the bytes are
 * not a valid instruction or run past `end` (default code.length). Never throws.
 *
 * Optional fields that do not apply are present with value `undefined`, which
 * keeps every result the same object shape for the JIT.
 */
export function decodeInsn(code: Uint8Array, offset: number, end?: number): X86Insn | null {
  const insn = emptyInsn();
  return decodeInto(code, offset, end, insn) ? insn : null;
}

/** A reusable result for decodeInto. */
export function emptyInsn(): X86Insn {
  return {
    length: 0,
    kind: 'other',
    relOffset: undefined,
    relSize: undefined,
    displacement: undefined,
    dispOffset: undefined,
    dispSize: undefined,
    immOffset: undefined,
    immSize: undefined,
    ripRelative: undefined,
  };
}

/**
 * decodeInsn without the allocation: fills `out` and returns false where decodeInsn
 * returns null. For linear sweeps over whole sections, where one object per instruction
 * is most of the garbage.
 */
export function decodeInto(code: Uint8Array, offset: number, end: number | undefined, out: X86Insn): boolean {
  const e = validRange(code, offset, end);
  if (e < 0) return false;
  const shape = decodeCore(code, offset, e);
  if (shape === 0) return false;
  const fieldSize = shapeFieldSize(shape);
  const relative = fieldSize !== 0 && (shape & SHAPE_RELATIVE) !== 0;
  const immediate = fieldSize !== 0 && !relative;
  const dispSize = shapeDispSize(shape);
  out.length = shape & SHAPE_LENGTH;
  out.kind = KIND_NAMES[shapeKind(shape)];
  out.relOffset = relative ? shapeFieldOffset(shape) : undefined;
  out.relSize = relative ? fieldSize : undefined;
  out.displacement = relative ? readSigned(code, offset + shapeFieldOffset(shape), fieldSize) : undefined;
  out.dispOffset = dispSize !== 0 ? shapeDispOffset(shape) : undefined;
  out.dispSize = dispSize !== 0 ? dispSize : undefined;
  out.immOffset = immediate ? shapeFieldOffset(shape) : undefined;
  out.immSize = immediate ? fieldSize : undefined;
  out.ripRelative = (shape & SHAPE_RIP) !== 0 ? true : undefined;
  return true;
}

/**
 * The shape of the instruction at `offset` (before `end`), or 0 if undecodable: for
 * linear sweeps, which read the fields they need from it (see SHAPE_LENGTH and below).
 */
function decodeShape(code: Uint8Array, offset: number, end: number): number {
  if (offset < 0 || offset >= end || end > code.length) return 0;
  return decodeShapeInRange(code, offset, end);
}

/**
 * decodeShape for an `offset` in [0, `end`), `end` at most the code's length: for sweeps,
 * whose offsets are in range by construction. It takes the fast path and is small
 * enough for V8 to inline into them (bytecode of at most 460 bytes: it has 430), so that
 * most instructions cost no call; it leaves what the fast path does not take to
 * decodeCore, and so the instructions within 15 bytes of the end, where decodeCore checks
 * every read.
 */
export function decodeShapeInRange(code: Uint8Array, offset: number, end: number): number {
  plain: {
    if (end - offset < 15) break plain;
    let p = offset;
    let b = code[p];
    let rex = 0;
    if ((b & 0xf0) === 0x40) {
      rex = b;
      b = code[++p];
    }
    const plain = b === 0x0f ? PLAIN_0F[code[++p]] : PLAIN[b];
    // Not a plain opcode; or undefined, `offset` not being an integer: decodeCore says no.
    if (!(plain > 0)) break plain;
    p++;
    let shape = plain & PLAIN_SHAPE;
    if ((plain & PLAIN_MODRM) !== 0) {
      const modrm = code[p++];
      if ((plain & PLAIN_REG_0) !== 0 && (modrm & 0x38) !== 0) break plain;
      const form = MODRM_FORMS[modrm];
      if (form !== 0) {
        let dispSize = form & M_DISP_SIZE;
        if ((form & M_SIB) !== 0) {
          if ((form & M_SIB_DISP32) !== 0 && (code[p] & 7) === 5) dispSize = 4;
          p++;
        }
        if ((form & M_RIP) !== 0) shape |= SHAPE_RIP;
        if (dispSize !== 0) {
          shape |= (dispSize << SHAPE_DISP_SIZE_SHIFT) | ((p - offset) << SHAPE_DISP_OFFSET_SHIFT);
          p += dispSize;
        }
      }
    }
    // b8+r with REX.W: the immediate grows from 4 to 8 bytes.
    if ((rex & 8) !== 0 && (plain & PLAIN_IMM64_WITH_REX_W) !== 0) shape += 4 << SHAPE_FIELD_SIZE_SHIFT;
    const size = shapeFieldSize(shape);
    if (size !== 0) {
      shape |= (p - offset) << SHAPE_FIELD_OFFSET_SHIFT;
      p += size;
    }
    return shape | (p - offset);
  }
  return decodeCore(code, offset, end);
}

/**
 * The fields of the last instruction `decodeNext` decoded, as plain numbers, for callers
 * that look at a few instructions here and there; scanning a whole section reads shapes.
 * Offsets are from the instruction's first byte; -1 where the instruction has no such field.
 */
export const decoded = { kind: 0, relOffset: -1, relSize: 0, displacement: 0, dispOffset: -1, ripRelative: false, immOffset: -1, immSize: 0 };

/** Decodes the instruction at `offset` (before `end`) into `decoded`; its length, or 0 if undecodable. */
export function decodeNext(code: Uint8Array, offset: number, end: number): number {
  const shape = decodeShape(code, offset, end);
  if (shape === 0) return 0;
  const fieldSize = shapeFieldSize(shape);
  const relative = fieldSize !== 0 && (shape & SHAPE_RELATIVE) !== 0;
  const immediate = fieldSize !== 0 && !relative;
  decoded.kind = shapeKind(shape);
  decoded.relOffset = relative ? shapeFieldOffset(shape) : -1;
  decoded.relSize = relative ? fieldSize : 0;
  decoded.displacement = relative ? readSigned(code, offset + shapeFieldOffset(shape), fieldSize) : 0;
  decoded.dispOffset = shapeDispSize(shape) !== 0 ? shapeDispOffset(shape) : -1;
  decoded.ripRelative = (shape & SHAPE_RIP) !== 0;
  decoded.immOffset = immediate ? shapeFieldOffset(shape) : -1;
  decoded.immSize = immediate ? fieldSize : 0;
  return shape & SHAPE_LENGTH;
}

/**
 * Length of the instruction at `offset`, or 0 if invalid/truncated. Allocation
 * free, for callers that only need boundaries.
 */
export function insnLength(code: Uint8Array, offset: number, end?: number): number {
  const e = validRange(code, offset, end);
  if (e < 0) return 0;
  return decodeCore(code, offset, e) & SHAPE_LENGTH;
}

/** Absolute target of a direct relative branch decoded at `at`, else undefined. */
export function branchTarget(insn: X86Insn, at: number): number | undefined {
  if (insn.displacement === undefined) return undefined;
  return at + insn.length + insn.displacement;
}
