import { ElfError } from '../errors.js';
import type { ElfSection } from './types.js';

/**
 * Bounds-checked little/big-endian reads over the whole file. Every read goes through
 * here so that a lying offset turns into an ElfError naming the file, not a RangeError.
 */
export class FileView {
  private readonly view: DataView;
  constructor(
    readonly bytes: Buffer,
    readonly path: string,
    readonly le: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number {
    return this.bytes.length;
  }
  fail(problem: string): never {
    throw new ElfError(this.path, problem);
  }
  /** Asserts [offset, offset+size) lies inside the file. */
  range(offset: number, size: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0 || offset + size > this.length) {
      this.fail(`${what} (offset 0x${offset.toString(16)}, size 0x${size.toString(16)}) lies outside the file (size 0x${this.length.toString(16)}): truncated or corrupt`);
    }
  }
  u8(o: number): number {
    return this.view.getUint8(o);
  }
  u16(o: number): number {
    return this.view.getUint16(o, this.le);
  }
  u32(o: number): number {
    return this.view.getUint32(o, this.le);
  }
  i32(o: number): number {
    return this.view.getInt32(o, this.le);
  }
  /** 64-bit fields as numbers: object files never need more than 53 bits of offset or size. */
  u64(o: number): number {
    const lo = this.view.getUint32(o + (this.le ? 0 : 4), this.le);
    const hi = this.view.getUint32(o + (this.le ? 4 : 0), this.le);
    // `lo` itself when it is all: arithmetic makes a double of even a small result, and a
    // double stored in an object's field makes V8 box that field in every such object.
    return hi === 0 ? lo : hi * 0x1_0000_0000 + lo;
  }
  i64(o: number): number {
    const lo = this.view.getUint32(o + (this.le ? 0 : 4), this.le);
    const hi = this.view.getInt32(o + (this.le ? 4 : 0), this.le);
    return hi * 0x1_0000_0000 + lo;
  }
}

/**
 * Total characters of names decoded from one string table beyond which the table is
 * taken as corrupt: real objects name each symbol once and stay near the table's own
 * size, while a crafted one (thousands of symbols pointing into the middle of one long
 * string) would otherwise allocate gigabytes.
 */
const STRING_BUDGET_FACTOR = 16;
const STRING_BUDGET_MIN = 16 << 20;

/**
 * Longest string table decoded whole (see StringTable.get): far beyond any real one, and
 * far below the longest string V8 can make.
 */
const WHOLE_TABLE_MAX = 64 << 20;

export class StringTable {
  private readonly table: Buffer;
  private text: string | undefined;
  private budget: number;
  constructor(
    private readonly file: FileView,
    start: number,
    private readonly size: number,
    private readonly what: string,
  ) {
    // The caller has range-checked [start, start+size); the view keeps lookups inside it.
    this.table = file.bytes.subarray(start, start + size);
    this.budget = Math.max(STRING_BUDGET_MIN, size * STRING_BUDGET_FACTOR);
  }
  get(offset: number): string {
    if (offset >= this.size) {
      if (offset === 0 && this.size === 0) return '';
      this.file.fail(`${this.what}: string offset 0x${offset.toString(16)} is past the table's end (size 0x${this.size.toString(16)})`);
    }
    if (this.size > WHOLE_TABLE_MAX) return this.decodeOne(offset);
    // The table decoded once, its names cut from that string: a call into Buffer's decoder
    // per name cost more than the rest of reading a symbol, and a slice of a JavaScript
    // string is made without one (longer names share the table's characters).
    const text = (this.text ??= this.table.toString('latin1'));
    const end = text.indexOf('\0', offset);
    if (end < 0) this.file.fail(`${this.what}: unterminated string at offset 0x${offset.toString(16)}`);
    this.spend(end - offset);
    return text.slice(offset, end);
  }
  private decodeOne(offset: number): string {
    const table = this.table;
    let end = offset;
    while (end < table.length && table[end] !== 0) end++;
    if (end === table.length) this.file.fail(`${this.what}: unterminated string at offset 0x${offset.toString(16)}`);
    this.spend(end - offset);
    return table.toString('latin1', offset, end);
  }
  /** Names decoded may add up to STRING_BUDGET_FACTOR times the table's size, no more. */
  private spend(length: number): void {
    this.budget -= length;
    if (this.budget < 0) this.file.fail(`${this.what}: names overlap far more than any real string table's (corrupt name offsets)`);
  }
}

/** A section as error messages name it: index and name, the name escaped and shortened (it comes from the file). */
export function describeSection(s: ElfSection): string {
  return `section ${s.index} (${printableName(s.name) || 'unnamed'})`;
}

const NAME_SHOWN = 80;

/** A name from the file, made safe for a one-line message: control characters escaped, long names cut. */
function printableName(name: string): string {
  const cut = name.length > NAME_SHOWN ? `${name.slice(0, NAME_SHOWN)}...` : name;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
