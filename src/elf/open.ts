import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { describeFsError, InputError } from '../errors.js';
import { decompressed } from './compressed.js';
import { parseElf, type ParseOptions } from './reader.js';
import type { ElfObject } from './types.js';

/*
 * The one way from a path to an object, for every mode: read the file (plain, or a
 * compressed module), then parse it. Tree mode keeps a reader per side, whose buffer serves
 * pair after pair.
 */

/** Reads files, into one buffer kept for the next file when `reuse` is set. */
/** The largest buffer a reusing reader keeps from one read to the next. */
const REUSE_LIMIT = 8 << 20;

export class ObjectFileReader {
  private buffer = Buffer.allocUnsafe(0);

  /**
   * With `reuse`, the bytes returned are valid only until the next read: a tree has
   * thousands of objects of up to tens of megabytes, and fresh buffers for each cost page
   * faults and collections.
   */
  constructor(private readonly reuse = false) {}

  /** The file's bytes as they are on disk (still compressed, for a compressed module). */
  read(path: string): Buffer {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'r');
      const st = fstatSync(fd);
      if (st.isDirectory()) throw new InputError(path, 'is a directory, not an object file');
      // A device (/dev/zero) would be read forever; pipes are read to their end (process substitution).
      if (!st.isFile() && !st.isFIFO()) throw new InputError(path, 'is not a regular file');
      return st.isFIFO() ? readToEnd(fd) : this.readSized(fd, st.size);
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(path, describeFsError(err));
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  private readSized(fd: number, size: number): Buffer {
    let buffer = this.buffer;
    // The few objects past REUSE_LIMIT (a distribution's amdgpu.ko: 19 MB) get a buffer of
    // their own, dropped after their pair: kept, it would stay for the rest of the tree.
    if (!this.reuse || size > REUSE_LIMIT) buffer = Buffer.allocUnsafe(size);
    else if (size > buffer.length) buffer = this.buffer = Buffer.allocUnsafe(Math.min(REUSE_LIMIT, Math.max(size, buffer.length * 2, 1 << 20)));
    let done = 0;
    while (done < size) {
      const n = readSync(fd, buffer, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return buffer.subarray(0, done);
  }
}

function readToEnd(fd: number): Buffer {
  const chunks: Buffer[] = [];
  for (;;) {
    const chunk = Buffer.allocUnsafe(1 << 16);
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) return Buffer.concat(chunks);
    chunks.push(chunk.subarray(0, n));
  }
}

/** An object from bytes read from `path`: decompressed when they are a compressed module, then parsed. */
export function objectFromBytes(bytes: Buffer, path: string, options: ParseOptions = {}): ElfObject {
  return parseElf(decompressed(bytes, path), path, options);
}

/** Reads and parses an ELF relocatable object (`.o`, `.ko`, or `.ko.xz/.zst/.gz`). Throws InputError/ElfError for anything wrong with it. */
export function openObject(path: string, options: ParseOptions & { reader?: ObjectFileReader } = {}): ElfObject {
  return objectFromBytes((options.reader ?? new ObjectFileReader()).read(path), path, options);
}
