import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { describeFsError, InputError } from '../errors.js';
import { decompressed } from './compressed.js';
import { describeSection, FileView, StringTable } from './file-view.js';
import { ObjectFileReader } from './open.js';
import { readSymbols } from './symbol-table.js';
import { ET_REL, SHN_UNDEF, SHN_XINDEX, SHT_NOBITS, SHT_SYMTAB, SHT_SYMTAB_SHNDX, type ElfSection, type ElfSymbol } from './types.js';

/*
 * The symbol table of a linked object: a module (`foo.ko`, or the `ld -r` of its objects,
 * `foo.o`) or `vmlinux`, where `.old_sympos` is counted. parseElf takes relocatable objects
 * only and reads the whole file; a build tree's vmlinux is an executable of hundreds of
 * megabytes, mostly debug information. Here only the ELF header, the section headers, the
 * symbol table with its strings and `.modinfo` are read, into a buffer of the file's size
 * whose other pages are never touched (so never backed by memory): the project's FileView
 * and symbol-table reader then work on it unchanged, offsets and bounds checks included.
 */

export interface LinkedObject {
  path: string;
  /** ET_REL (a `.ko`, an `ld -r` object) or not (vmlinux, linked at its addresses). */
  relocatable: boolean;
  sections: ElfSection[];
  symbols: ElfSymbol[];
  /** `.modinfo` `name=` (a `.ko`; the `ld -r` object of a module has no `name=` yet). */
  moduleName?: string;
  /** The bytes a symbol covers in the file (empty for SHT_NOBITS or outside the file). */
  bytesOf(symbol: ElfSymbol): Uint8Array;
}

export function readLinkedObject(path: string): LinkedObject {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, 4));
    readSync(fd, head, 0, head.length, 0);
    if (head.length === 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) {
      const buffer = Buffer.allocUnsafe(size);
      let open: number | undefined = fd;
      // Ranges read while parsing use the open file; bytesOf() (later, and rarely) opens it again.
      const load = (offset: number, length: number) => {
        let handle: number;
        try {
          handle = open ?? openSync(path, 'r');
        } catch (err) {
          throw new InputError(path, describeFsError(err));
        }
        try {
          let done = 0;
          while (done < length) {
            const n = readSync(handle, buffer, offset + done, length - done, offset + done);
            if (n === 0) break;
            done += n;
          }
        } finally {
          if (open === undefined) closeSync(handle);
        }
      };
      try {
        return parseLinked(buffer, path, load);
      } finally {
        open = undefined;
      }
    }
    // A compressed module is small: read and decompressed whole.
    return parseLinked(decompressed(new ObjectFileReader().read(path), path), path, () => {});
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(path, describeFsError(err));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Parses what it needs of `bytes`, calling `load` for each range before reading it. */
function parseLinked(bytes: Buffer, path: string, load: (offset: number, length: number) => void): LinkedObject {
  load(0, Math.min(64, bytes.length));
  if (bytes.length < 52 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw new InputError(path, 'is not an ELF file');
  const is64 = bytes[4] === 2;
  if (bytes[4] !== 1 && !is64) throw new InputError(path, `unknown ELF class ${bytes[4]}`);
  const file: FileView = new FileView(bytes, path, bytes[5] === 1);
  const type = file.u16(16);
  const shoff = is64 ? file.u64(40) : file.u32(32);
  const shentsize = file.u16(is64 ? 58 : 46);
  let shnum = file.u16(is64 ? 60 : 48);
  let shstrndx = file.u16(is64 ? 62 : 50);
  if (shoff === 0) file.fail('has no section header table');
  if (shentsize !== (is64 ? 64 : 40)) file.fail(`e_shentsize is ${shentsize}`);
  file.range(shoff, shentsize, 'section header 0');
  load(shoff, shentsize);
  // Extended numbering, as in parseElf.
  if (shnum === 0) shnum = is64 ? file.u64(shoff + 32) : file.u32(shoff + 20);
  if (shstrndx === SHN_XINDEX) shstrndx = file.u32(shoff + (is64 ? 40 : 24));
  file.range(shoff, shnum * shentsize, `section header table (${shnum} entries)`);
  load(shoff, shnum * shentsize);
  const sections: ElfSection[] = [];
  const nameOffsets: number[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    const word = (o64: number, o32: number) => (is64 ? file.u64(at + o64) : file.u32(at + o32));
    nameOffsets.push(file.u32(at));
    sections.push({
      index: i,
      name: '',
      type: file.u32(at + 4),
      flags: word(8, 8),
      addr: word(16, 12),
      offset: word(24, 16),
      size: word(32, 20),
      link: file.u32(at + (is64 ? 40 : 24)),
      info: file.u32(at + (is64 ? 44 : 28)),
      addralign: word(48, 32),
      entsize: word(56, 36),
    });
  }
  const withBytes = (s: ElfSection | undefined): ElfSection | undefined => {
    if (!s || s.type === SHT_NOBITS) return s;
    file.range(s.offset, s.size, describeSection(s));
    load(s.offset, s.size);
    return s;
  };
  const shstr = withBytes(sections[shstrndx]);
  if (!shstr || shstrndx === SHN_UNDEF) file.fail(`section name table index ${shstrndx} is out of range`);
  const names = new StringTable(file, shstr.offset, shstr.size, 'section name table');
  for (const s of sections) s.name = names.get(nameOffsets[s.index]);

  const symtab = withBytes(sections.find((s) => s.type === SHT_SYMTAB));
  let symbols: ElfSymbol[] = [];
  if (symtab) {
    withBytes(sections[symtab.link]);
    withBytes(sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === symtab.index));
    symbols = readSymbols(file, sections, symtab, is64, describeSection);
  }
  const modinfo = withBytes(sections.find((s) => s.name === '.modinfo' && s.type !== SHT_NOBITS));
  const moduleName = modinfo
    ? bytes
        .toString('latin1', modinfo.offset, modinfo.offset + modinfo.size)
        .split('\0')
        .find((e) => e.startsWith('name='))
        ?.slice(5)
    : undefined;
  const relocatable = type === ET_REL;
  return {
    path,
    relocatable,
    sections,
    symbols,
    ...(moduleName ? { moduleName } : {}),
    bytesOf: (symbol) => {
      const s = sections[symbol.shndx];
      if (!s || symbol.reserved || s.type === SHT_NOBITS) return new Uint8Array(0);
      // A relocatable object's symbol values are section offsets, a linked file's addresses.
      const start = s.offset + (relocatable ? symbol.value : symbol.value - s.addr);
      if (start < s.offset || start + symbol.size > s.offset + s.size) return new Uint8Array(0);
      load(start, symbol.size);
      return bytes.subarray(start, start + symbol.size);
    },
  };
}
