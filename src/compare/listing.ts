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
  // of all the memory a tree comparison allocated. They come from a pool (`release`):
  // tens of thousands of listings each making and growing seven arrays cost a sixth of
  // explaining a tree's changes.
  starts!: Int32Array;
  lengths!: Int32Array;
  /** Index of each instruction's first reference in the function's code columns, and the end. */
  firstRef!: Int32Array;
  endRef!: Int32Array;
  branchField!: Int32Array;
  branchSize!: Int32Array;
  /** Bytes that did not decode are one entry each: the undecodable range (1). */
  undecodable!: Uint8Array;
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
    this.adopt(spareColumns.pop() ?? newColumns(INITIAL_LISTING));
  }

  /**
   * Gives the columns back for the next listing: this one must not be read afterwards.
   * Nothing taken from a listing (differences, texts) keeps a view of them.
   */
  release(): void {
    if (spareColumns.length >= MAX_SPARE_COLUMNS) return;
    spareColumns.push(Object.fromEntries(COLUMNS.map((key) => [key, this[key]])) as unknown as ListingColumns);
  }

  private adopt(columns: ListingColumns): void {
    for (const key of COLUMNS) (this[key] as ListingColumns[typeof key]) = columns[key];
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
    const bigger = newColumns(this.starts.length * 2);
    for (const key of COLUMNS) bigger[key].set(this[key]);
    this.adopt(bigger);
  }
}

interface ListingColumns {
  starts: Int32Array;
  lengths: Int32Array;
  firstRef: Int32Array;
  endRef: Int32Array;
  branchField: Int32Array;
  branchSize: Int32Array;
  undecodable: Uint8Array;
}

function newColumns(capacity: number): ListingColumns {
  return {
    starts: new Int32Array(capacity),
    lengths: new Int32Array(capacity),
    firstRef: new Int32Array(capacity),
    endRef: new Int32Array(capacity),
    branchField: new Int32Array(capacity),
    branchSize: new Int32Array(capacity),
    undecodable: new Uint8Array(capacity),
  };
}

const COLUMNS = ['starts', 'lengths', 'firstRef', 'endRef', 'branchField', 'branchSize', 'undecodable'] as const;

/** Columns of released listings (a comparison lists two functions at a time). */
const spareColumns: ListingColumns[] = [];
const MAX_SPARE_COLUMNS = 4;
