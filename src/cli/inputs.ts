import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describeFsError, InputError, UsageError } from '../errors.js';
import { makeTempDir, removeTempDir } from '../compile/tempdir.js';

/** `-` names standard input where one input is enough (`inspect -`, one side of `compare`). */
const STDIN = '-';

/** The name standard input goes by in reports and messages. */
const STDIN_LABEL = '<stdin>';

/** The most a stream input may hold: the most a file can be read into memory in one piece. */
const MAX_STREAM_INPUT = 2 ** 31 - 1;

const CHUNK = 1 << 20;

/**
 * Inputs that cannot be read twice or seeked in (a FIFO, a pipe, a socket, process
 * substitution's `/dev/fd/N`, `-` for standard input) are copied whole into a temporary
 * file first: the reader looks at a file's first bytes to tell an object from a source,
 * then reads it again, and the compiler opens sources by name. Reports and messages name
 * such an input as the user did, not by its temporary copy.
 */
export class StagedInputs {
  private dir: string | undefined;
  /** Temporary path -> the name the user gave. */
  private readonly labels = new Map<string, string>();

  /** The path to read `path` from: itself unless it is a stream (or `-`), else a whole copy of it. */
  stage(path: string): string {
    if (path === STDIN) {
      if ([...this.labels.values()].includes(STDIN_LABEL)) throw new UsageError("only one input can be '-' (standard input)");
      return this.copy(0, STDIN_LABEL, 'stdin');
    }
    let stream: boolean;
    try {
      const st = statSync(path);
      stream = st.isFIFO() || st.isSocket();
    } catch {
      // Missing, unreadable: the reader says so, naming the path.
      return path;
    }
    if (!stream) return path;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new InputError(path, describeFsError(err));
    }
    try {
      return this.copy(fd, path, basename(path));
    } finally {
      closeSync(fd);
    }
  }

  /** Copies what `fd` yields up to its end into a temporary file, in chunks (no copy of it in memory). */
  private copy(fd: number, label: string, name: string): string {
    this.dir ??= makeTempDir('input');
    // Keep a meaningful extension (.o, .ko, .c): sources are told apart by it.
    const staged = join(this.dir, `${this.labels.size}-${name.replace(/[^\w.+-]/g, '_') || 'input'}`);
    const out = openSync(staged, 'w');
    const buffer = Buffer.allocUnsafe(CHUNK);
    let total = 0;
    try {
      for (;;) {
        const n = readChunk(fd, buffer, label);
        if (n === 0) break;
        total += n;
        if (total > MAX_STREAM_INPUT) throw new InputError(label, `more than ${MAX_STREAM_INPUT} bytes (2 GiB), the most stackonly reads from one input`);
        writeSync(out, buffer, 0, n);
      }
    } finally {
      closeSync(out);
    }
    this.labels.set(staged, label);
    return staged;
  }

  /** Whether any input was staged (and so reports and messages need `unstage`). */
  get any(): boolean {
    return this.labels.size > 0;
  }

  /** Text with each staged copy's path replaced by the name the user gave. */
  unstageText(text: string): string {
    let out = text;
    for (const [staged, label] of this.labels) out = out.split(staged).join(label);
    return out;
  }

  /** A report (plain JSON data) with every string unstaged; the same object when nothing was staged. */
  unstage<T>(value: T): T {
    if (!this.any) return value;
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return this.unstageText(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      return v;
    };
    return walk(value) as T;
  }

  dispose(): void {
    if (this.dir) removeTempDir(this.dir);
    this.dir = undefined;
  }
}

/** One read from a stream; a non-blocking descriptor (stdin inherited so) is waited on, not failed. */
function readChunk(fd: number, buffer: Buffer, label: string): number {
  for (;;) {
    try {
      return readSync(fd, buffer, 0, buffer.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      if (code === 'EOF') return 0;
      throw new InputError(label, describeFsError(err));
    }
  }
}
