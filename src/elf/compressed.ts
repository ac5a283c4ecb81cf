import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import { InputError } from '../errors.js';

/**
 * Distributions ship kernel modules compressed: `.ko.xz` (Debian since 6.6, Fedora, RHEL),
 * `.ko.zst` (Ubuntu, SUSE), `.ko.gz`. A compressed object is recognised by its magic bytes
 * (whatever its name) and decompressed whole before it is parsed.
 *
 * Decompressors, measured on Debian's amdgpu.ko (19.4 MB) on this project's machines:
 * gzip with node:zlib 57 ms; zstd with node:zlib where Node has it (22.15 and later),
 * else fzstd (pure JavaScript, 166 ms); xz with @napi-rs/lzma (prebuilt native liblzma,
 * 338 ms; the WASM xz-embedded port took 437 ms and is streaming-only). All three are
 * loaded only when a compressed object is met.
 */
export type Compression = 'xz' | 'zstd' | 'gzip';

/** What an object may grow to when decompressed: a bound against decompression bombs. */
const MAX_DECOMPRESSED = 1 << 30;

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC = [0x1f, 0x8b];

/** The compression of `bytes`, by their magic number; undefined for anything else (an ELF file). */
export function compressionOf(bytes: Uint8Array): Compression | undefined {
  const starts = (magic: number[]) => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
  if (starts(XZ_MAGIC)) return 'xz';
  if (starts(ZSTD_MAGIC)) return 'zstd';
  if (starts(GZIP_MAGIC)) return 'gzip';
  return undefined;
}

/** The file name without a compression suffix: `ext4.ko.xz` -> `ext4.ko`. */
export function withoutCompressionSuffix(path: string): string {
  return path.replace(/\.(?:xz|zst|gz)$/, '');
}

const require = createRequire(import.meta.url);

/** `bytes` decompressed when they are compressed, else as they are. */
export function decompressed(bytes: Buffer, path: string): Buffer {
  const kind = compressionOf(bytes);
  if (kind === undefined) return bytes;
  let out: Buffer;
  try {
    out = decompress(kind, bytes);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new InputError(path, `corrupt ${kind} data: ${reason.split('\n')[0]}`);
  }
  if (out.length > MAX_DECOMPRESSED) throw new InputError(path, `decompresses to more than ${MAX_DECOMPRESSED} bytes, the limit for one object`);
  return out;
}

function decompress(kind: Compression, bytes: Buffer): Buffer {
  switch (kind) {
    case 'gzip':
      return zlib.gunzipSync(bytes, { maxOutputLength: MAX_DECOMPRESSED + 1 });
    case 'zstd': {
      const native = (zlib as unknown as { zstdDecompressSync?: (b: Buffer, o: object) => Buffer }).zstdDecompressSync;
      if (native) return native(bytes, { maxOutputLength: MAX_DECOMPRESSED + 1 });
      const { decompress: fzstd } = require('fzstd') as { decompress: (b: Uint8Array) => Uint8Array };
      const out = fzstd(bytes);
      return Buffer.from(out.buffer, out.byteOffset, out.length);
    }
    case 'xz': {
      const { decompressSync } = require('@napi-rs/lzma/xz') as { decompressSync: (b: Uint8Array) => Buffer };
      return decompressSync(bytes);
    }
  }
}
