/** The reader's errors for inputs that are not ELF relocatable objects at all. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ElfError, InputError } from '../src/errors.js';
import { openObject } from '../src/elf/open.js';
import { parseElf } from '../src/elf/reader.js';

const FIXTURE = join(import.meta.dirname, '..', 'testdata', 'elf', 'i386-funcs-O2.o');

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('did not throw');
}

describe('openObject errors', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stackonly-elf-errors-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('missing file', () => {
    const path = join(dir, 'nope.o');
    const err = thrown(() => openObject(path));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(`${path}: no such file or directory`);
  });

  test('directory', () => {
    const err = thrown(() => openObject(dir));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(`${dir}: is a directory, not an object file`);
  });

  test('a device is not read forever', () => {
    const err = thrown(() => openObject('/dev/zero'));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe('/dev/zero: is not a regular file');
  });

  test('empty file', () => {
    const path = join(dir, 'empty.o');
    writeFileSync(path, '');
    const err = thrown(() => openObject(path));
    expect(err).toBeInstanceOf(ElfError);
    expect(err.message).toBe(`${path}: empty file, not an ELF object`);
  });

  test('a C source given as an object', () => {
    const path = join(dir, 'x.c');
    writeFileSync(path, 'int main(void) { return 0; }\n');
    const err = thrown(() => openObject(path));
    expect(err).toBeInstanceOf(ElfError);
    expect(err.message).toBe(`${path}: not an ELF file (bad magic)`);
  });

  test('an executable or shared object is refused', () => {
    // node itself: an ELF executable (ET_EXEC, or ET_DYN when built as PIE) on Linux.
    const err = thrown(() => openObject(process.execPath));
    expect(err).toBeInstanceOf(ElfError);
    expect(err.message).toMatch(/: is (an executable|a shared object or PIE executable), not a relocatable object \(\.o\/\.ko\)$/);
  });

  test('unknown class and byte order', () => {
    const bytes = readFileSync(FIXTURE);
    const badClass = Buffer.from(bytes);
    badClass[4] = 3;
    expect(thrown(() => parseElf(badClass, 'c.o')).message).toBe('c.o: unknown ELF class 3');
    const badData = Buffer.from(bytes);
    badData[5] = 0;
    expect(thrown(() => parseElf(badData, 'd.o')).message).toBe('d.o: unknown ELF data encoding 0');
  });

  test('truncated header', () => {
    const bytes = readFileSync(FIXTURE).subarray(0, 40);
    const err = thrown(() => parseElf(bytes, 't.o'));
    expect(err).toBeInstanceOf(ElfError);
    expect(err.message).toBe('t.o: truncated ELF header (40 of 52 bytes)');
  });
});
