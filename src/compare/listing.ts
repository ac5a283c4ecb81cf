import type { FunctionInfo, ObjectModel } from '../model/types.js';

/** Instructions a listing has room for before its columns grow. */
const INITIAL_LISTING = 64;

/**
 * One function's instructions, decoded as far as they are asked for: starts relative to
 * the function, and each one's references. Explaining a change stops after the first few
 * differences, so most of a long function is never decoded twice.
 */
export class Listing {
  readonly bytes: Uint8Array;
  // Columns of typed arrays, grown by doubling: the changed functions of a kernel tree
  // list millions of instructions, and seven growing JS arrays per function were an eighth
  // of all the memory a tree comparison allocated.
  starts = new Int32Array(INITIAL_LISTING);
  lengths = new Int32Array(INITIAL_LISTING);
  /** Index of each instruction's first reference in the function's code columns, and the end. */
  firstRef = new Int32Array(INITIAL_LISTING);
  endRef = new Int32Array(INITIAL_LISTING);
  branchField = new Int32Array(INITIAL_LISTING);
  branchSize = new Int32Array(INITIAL_LISTING);
  /** Bytes that did not decode are one entry each: the undecodable range (1). */
  undecodable = new Uint8Array(INITIAL_LISTING);
  /** Instructions listed so far. */
  private listed = 0;
  private at = 0;
  private ref: number;
  private range = 0;

  constructor(
    readonly fn: FunctionInfo,
    readonly model: ObjectModel,
  ) {
    this.bytes = model.object.sectionData(fn.section).subarray(fn.offset, fn.offset + fn.size);
    this.ref = fn.firstReference;
  }

  /** Whether instruction `i` exists (decoding up to it). */
  has(i: number): boolean {
    while (this.listed <= i && this.at < this.bytes.length) this.next();
    return i < this.listed;
  }

  /** How many instructions there are (decoding all). */
  count(): number {
    this.has(Number.MAX_SAFE_INTEGER);
    return this.listed;
  }

  private next(): void {
    const { fn, bytes } = this;
    const at = this.at;
    const range = fn.undecodable[this.range];
    let length: number;
    let branchField = -1;
    let branchSize = 0;
    let bad = false;
    if (range && range.offset === at) {
      length = range.length;
      bad = true;
      this.range++;
    } else {
      const shape = this.model.backend.instructionAt(bytes, at, range ? range.offset : bytes.length);
      length = shape.length;
      branchField = shape.branchField;
      branchSize = shape.branchSize;
      if (length === 0) {
        length = bytes.length - at;
        bad = true;
      }
    }
    const code = fn.code;
    while (this.ref < fn.endReference && code.insnOffset[this.ref] - fn.offset < at) this.ref++;
    const first = this.ref;
    while (this.ref < fn.endReference && code.insnOffset[this.ref] - fn.offset < at + length) this.ref++;
    const n = this.listed;
    if (n === this.starts.length) this.grow();
    this.starts[n] = at;
    this.lengths[n] = length;
    this.firstRef[n] = first;
    this.endRef[n] = this.ref;
    this.branchField[n] = branchField;
    this.branchSize[n] = branchSize;
    this.undecodable[n] = bad ? 1 : 0;
    this.listed = n + 1;
    this.at = at + length;
  }

  private grow(): void {
    const twice = <T extends Int32Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(a.length * 2);
      b.set(a);
      return b;
    };
    this.starts = twice(this.starts);
    this.lengths = twice(this.lengths);
    this.firstRef = twice(this.firstRef);
    this.endRef = twice(this.endRef);
    this.branchField = twice(this.branchField);
    this.branchSize = twice(this.branchSize);
    this.undecodable = twice(this.undecodable);
  }
}
