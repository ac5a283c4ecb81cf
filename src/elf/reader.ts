import { decompressed } from './compressed.js';
import { readFileSync, statSync } from 'node:fs';
import elfy from 'elfy';
import { ElfError, InputError } from '../errors.js';
import { lowerBound } from '../sorted.js';
import {
  ET_REL,
  SHN_UNDEF,
  SHN_LORESERVE,
  SHN_XINDEX,
  SHT_GROUP,
  SHT_NOBITS,
  SHT_NULL,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  SHF_EXECINSTR,
  STB_LOCAL,
  STT_FILE,
  STT_SECTION,
  type ElfGroup,
  type ElfObject,
  type ElfRelocation,
  type ElfRelocationSection,
  type ElfSection,
  type ElfSymbol,
  type RelocationTable,
} from './types.js';

/** Reads an ELF relocatable object from disk. Throws InputError/ElfError for anything wrong with it. */
export function readElfFile(path: string, options: ParseOptions = {}): ElfObject {
  let bytes: Buffer;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new InputError(path, 'is a directory, not an object file');
    // A device (/dev/zero) would be read forever; pipes are fine (process substitution).
    if (!st.isFile() && !st.isFIFO()) throw new InputError(path, 'is not a regular file');
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(path, describeFsError(err));
  }
  return parseElf(decompressed(bytes, path), path, options);
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not an object file';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    default:
      return (err as Error)?.message ?? String(err);
  }
}

/**
 * Bounds-checked little/big-endian reads over the whole file. Every read goes through
 * here so that a lying offset turns into an ElfError naming the file, not a RangeError.
 */
class FileView {
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

class StringTable {
  private readonly table: Buffer;
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
    // A plain loop: names are short, and Buffer.indexOf's native call costs more than the scan.
    const table = this.table;
    let end = offset;
    while (end < table.length && table[end] !== 0) end++;
    if (end === table.length) this.file.fail(`${this.what}: unterminated string at offset 0x${offset.toString(16)}`);
    this.budget -= end - offset;
    if (this.budget < 0) this.file.fail(`${this.what}: names overlap far more than any real string table's (corrupt name offsets)`);
    return this.table.toString('latin1', offset, end);
  }
}

export interface ParseOptions {
  /**
   * Leave `symbols` empty (`withSymbols()` reads them later): for callers that look at
   * sections and the symbol table's bytes first (the comparison's proof that a pair needs
   * no modelling).
   */
  skipSymbols?: boolean;
}

export function parseElf(input: Buffer | Uint8Array, path: string, options: ParseOptions = {}): ElfObject {
  // elfy needs Buffer methods; wrapping a Uint8Array shares its memory.
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length < 16 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError(path, bytes.length === 0 ? 'empty file, not an ELF object' : 'not an ELF file (bad magic)');
  }
  const classByte = bytes[4];
  const dataByte = bytes[5];
  if (classByte !== 1 && classByte !== 2) throw new ElfError(path, `unknown ELF class ${classByte}`);
  if (dataByte !== 1 && dataByte !== 2) throw new ElfError(path, `unknown ELF data encoding ${dataByte}`);
  const is64 = classByte === 2;
  const file = new FileView(bytes, path, dataByte === 1);
  const ehsize = is64 ? 64 : 52;
  if (bytes.length < ehsize) file.fail(`truncated ELF header (${bytes.length} of ${ehsize} bytes)`);

  const parser = new elfy.Parser();
  const header = parser.parseHeader(bytes);
  // elfy turns e_type and e_machine into names and drops values it does not know: read the numbers.
  const type = file.u16(16);
  const machine = file.u16(18);
  if (type !== ET_REL) {
    const kind = ({ 2: 'an executable', 3: 'a shared object or PIE executable', 4: 'a core file' } as Record<number, string>)[type] ?? `ELF type ${type}`;
    file.fail(`is ${kind}, not a relocatable object (.o/.ko)`);
  }

  const shentsize = is64 ? 64 : 40;
  let shnum = header.shnum;
  let shstrndx = header.shstrndx;
  const shoff = header.shoff;
  if (shoff === 0) file.fail('has no section header table');
  if (header.shentsize !== shentsize) file.fail(`e_shentsize is ${header.shentsize}, expected ${shentsize}`);
  file.range(shoff, shentsize, 'section header 0');

  // Extended numbering: counts that do not fit e_shnum/e_shstrndx live in section 0.
  if (shnum === 0) shnum = is64 ? file.u64(shoff + 32) : file.u32(shoff + 20);
  if (shstrndx === SHN_XINDEX) shstrndx = file.u32(shoff + (is64 ? 40 : 24));
  file.range(shoff, shnum * shentsize, `section header table (${shnum} entries)`);
  if (shstrndx === SHN_UNDEF || shstrndx >= shnum) file.fail(`section name table index ${shstrndx} is out of range (${shnum} sections)`);

  const sections: ElfSection[] = new Array(shnum);
  const nameOffsets: number[] = new Array(shnum);
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    // The project reads the section table with elfy, taking the fields it reads right
    // (name, addr, offset, size, link, info) and reading the rest itself: elfy reads
    // sh_addralign and sh_entsize of ELF64 at the wrong offsets, folds sh_flags into
    // names, and maps sh_type through a name table that loses unknown values.
    const raw = parser.parseSection(bytes.subarray(at, at + shentsize), header, bytes);
    const section: ElfSection = {
      index: i,
      name: '',
      type: file.u32(at + 4),
      flags: is64 ? file.u64(at + 8) : file.u32(at + 8),
      addr: raw.addr,
      offset: raw.off,
      size: raw.size,
      link: raw.link,
      info: raw.info,
      addralign: is64 ? file.u64(at + 48) : file.u32(at + 32),
      entsize: is64 ? file.u64(at + 56) : file.u32(at + 36),
    };
    const nameOffset = raw.name;
    if (i === 0 && section.type !== SHT_NULL) file.fail('section 0 is not SHT_NULL');
    if (section.type !== SHT_NOBITS && section.type !== SHT_NULL) {
      file.range(section.offset, section.size, `section ${i}`);
    }
    sections[i] = section;
    nameOffsets[i] = nameOffset;
  }

  const shstr = sections[shstrndx];
  if (shstr.type !== SHT_STRTAB) file.fail(`section name table (section ${shstrndx}) is not a string table`);
  const sectionNames = new StringTable(file, shstr.offset, shstr.size, 'section name table');
  for (const section of sections) section.name = sectionNames.get(nameOffsets[section.index]);
  checkDisjoint(file, sections, ehsize, shoff, shnum * shentsize);
  return buildObject(file, path, is64, type, machine, sections, options.skipSymbols ?? false);
}

/** A section as error messages name it: index and name, the name escaped and shortened (it comes from the file). */
function describeSection(s: ElfSection): string {
  return `section ${s.index} (${printableName(s.name) || 'unnamed'})`;
}

const NAME_SHOWN = 80;

/** A name from the file, made safe for a one-line message: control characters escaped, long names cut. */
function printableName(name: string): string {
  const cut = name.length > NAME_SHOWN ? `${name.slice(0, NAME_SHOWN)}...` : name;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Every byte of the file belongs to at most one section, and none to the ELF header or the
 * section header table: assemblers and linkers lay objects out so, and it is what bounds
 * the work on an object by its size. Without it, thousands of headers naming the same
 * bytes (one `.text` decoded once per header, one `.rela.text` sorted once per copy, one
 * group member list read once per group) cost time and memory quadratic in the file's size.
 */
function checkDisjoint(file: FileView, sections: ElfSection[], ehsize: number, shoff: number, shsize: number): void {
  const withBytes = sections.filter((s) => s.type !== SHT_NOBITS && s.type !== SHT_NULL && s.size > 0);
  withBytes.sort((a, b) => a.offset - b.offset || a.index - b.index);
  let previous: ElfSection | undefined;
  for (const s of withBytes) {
    if (s.offset < ehsize) file.fail(`${describeSection(s)} (offset 0x${s.offset.toString(16)}) overlaps the ELF header`);
    if (s.offset < shoff + shsize && shoff < s.offset + s.size) file.fail(`${describeSection(s)} overlaps the section header table: corrupt`);
    if (previous && s.offset < previous.offset + previous.size) {
      const same = s.offset === previous.offset && s.size === previous.size;
      file.fail(
        `${describeSection(s)} ${same ? 'names the same bytes as' : 'overlaps'} ${describeSection(previous)} (offset 0x${s.offset.toString(16)}): every byte belongs to at most one section`,
      );
    }
    previous = s;
  }
}

/** Section types relocations cannot apply to: tables of the object's own structure. */
const UNRELOCATABLE: ReadonlySet<number> = new Set([SHT_NULL, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_REL, SHT_GROUP, SHT_SYMTAB_SHNDX]);

function buildObject(
  file: FileView,
  path: string,
  is64: boolean,
  type: number,
  machine: number,
  sections: ElfSection[],
  skipSymbols: boolean,
): ElfObject {
  const describe = describeSection;
  const symtabs = sections.filter((s) => s.type === SHT_SYMTAB);
  if (symtabs.length > 1) file.fail(`has ${symtabs.length} symbol tables`);
  const symtab = symtabs[0];
  const symbols: ElfSymbol[] = symtab && !skipSymbols ? readSymbols(file, sections, symtab, is64, describe) : [];

  const relocationSections: (ElfRelocationSection & { count: number; columns(): Columns; columnsInto(into: Columns, first: number): void })[] = [];
  for (const section of sections) {
    if (section.type !== SHT_RELA && section.type !== SHT_REL) continue;
    const rela = section.type === SHT_RELA;
    const entsize = is64 ? (rela ? 24 : 16) : rela ? 12 : 8;
    if (section.entsize !== entsize && section.entsize !== 0) file.fail(`${describe(section)}: entry size ${section.entsize}, expected ${entsize}`);
    if (section.size % entsize !== 0) file.fail(`${describe(section)}: size ${section.size} is not a multiple of ${entsize}`);
    if (section.info === 0 || section.info >= sections.length) file.fail(`${describe(section)}: applies to section ${section.info}, which does not exist`);
    if (section.link !== symtab?.index) file.fail(`${describe(section)}: linked symbol table ${section.link} is not the object's symbol table`);
    const target = sections[section.info];
    if (target === section) file.fail(`${describe(section)}: applies to itself (sh_info names its own index)`);
    if (UNRELOCATABLE.has(target.type)) file.fail(`${describe(section)}: applies to ${describe(target)}, a section of type ${target.type} that relocations cannot apply to`);
    // Callers read the bytes a relocation patches: an entry outside its section is corrupt.
    const targetSize = target.type === SHT_NOBITS ? 0 : target.size;
    const count = section.size / entsize;
    // Entries are decoded on first use: tree mode proves most objects unchanged from the
    // raw section bytes and never needs them. Their errors are ElfErrors all the same.
    // Into `columns` from entry `first` on: a target's several relocation sections fill one
    // set of columns, not a set each to be joined and dropped.
    const parseColumns = (columns: Columns = newColumns(count), first = 0): Columns => {
      const symbolCount = symtab ? symtab.size / (is64 ? 24 : 16) : 0;
      if (is64 && rela && file.le && readRela64Words(file.bytes, section.offset, count, symbolCount, targetSize, columns, first)) return columns;
      for (let i = 0; i < count; i++) {
        const at = section.offset + i * entsize;
        let offset: number, symbol: number, rtype: number, addend = 0;
        if (is64) {
          offset = file.u64(at);
          const infoLo = file.u32(at + (file.le ? 8 : 12));
          const infoHi = file.u32(at + (file.le ? 12 : 8));
          symbol = infoHi;
          rtype = infoLo;
          if (rela) addend = file.i64(at + 16);
        } else {
          offset = file.u32(at);
          const info = file.u32(at + 4);
          symbol = info >>> 8;
          rtype = info & 0xff;
          if (rela) addend = file.i32(at + 8);
        }
        if (symbol >= symbolCount) file.fail(`${describe(section)}: relocation ${i} refers to symbol ${symbol}, but there are ${symbolCount}`);
        if (offset >= targetSize) file.fail(`${describe(section)}: relocation ${i} at offset 0x${offset.toString(16)} lies outside ${describe(target)} (size 0x${targetSize.toString(16)})`);
        columns.offset[first + i] = offset;
        columns.type[first + i] = rtype;
        columns.symbol[first + i] = symbol;
        columns.addend[first + i] = addend;
      }
      return columns;
    };
    let columns: Columns | undefined;
    let objects: ElfRelocation[] | undefined;
    const entry = {
      index: section.index,
      target: section.info,
      explicitAddends: rela,
      count,
      columns: () => (columns ??= parseColumns()),
      columnsInto: (into: Columns, first: number) => (columns ? copyColumns(columns, into, first) : parseColumns(into, first)),
      get relocations(): ElfRelocation[] {
        if (!objects) {
          const c = entry.columns();
          objects = new Array(count);
          for (let i = 0; i < count; i++) objects[i] = { offset: c.offset[i], type: c.type[i], symbol: c.symbol[i], addend: c.addend[i] };
        }
        return objects;
      },
    };
    relocationSections.push(entry);
  }
  // Relocation sections by the section they apply to, gathered once: an object may have
  // tens of thousands of each, and a search of all of them per target is quadratic.
  const byTarget = new Map<number, (typeof relocationSections)[number][]>();
  for (const rs of relocationSections) {
    const list = byTarget.get(rs.target);
    if (list) list.push(rs);
    else byTarget.set(rs.target, [rs]);
  }
  // Two relocation sections for one target are legal: their entries are joined once, into
  // one array of the total length (not by repeated concat, quadratic in the number of
  // sections, nor with push(...), which overflows the call stack past ~100k entries).
  const bySection = new Map<number, ElfRelocation[]>();
  const noRelocations: ElfRelocation[] = [];
  const relocationsFor = (index: number): ElfRelocation[] => {
    let list = bySection.get(index);
    if (!list) {
      const parts = byTarget.get(index);
      if (!parts) list = noRelocations;
      else if (parts.length === 1) list = parts[0].relocations;
      else {
        list = new Array(parts.reduce((n, rs) => n + rs.relocations.length, 0));
        let at = 0;
        for (const rs of parts) for (const r of rs.relocations) list[at++] = r;
      }
      bySection.set(index, list);
    }
    return list;
  };
  const tables = new Map<number, RelocationTable>();
  const relocationTable = (index: number): RelocationTable => {
    let table = tables.get(index);
    if (!table) {
      const parts = byTarget.get(index) ?? [];
      let joined: Columns;
      if (parts.length === 1) joined = parts[0].columns();
      else {
        joined = newColumns(parts.reduce((n, rs) => n + rs.count, 0));
        let at = 0;
        for (const rs of parts) {
          rs.columnsInto(joined, at);
          at += rs.count;
        }
      }
      table = sortedTable(joined);
      tables.set(index, table);
    }
    return table;
  };

  const groups: ElfGroup[] = [];
  let groupOf: Int32Array | undefined;
  for (const section of sections) {
    if (section.type !== SHT_GROUP) continue;
    if (section.size % 4 !== 0 || section.size < 4) file.fail(`${describe(section)}: size ${section.size} is not a whole number of words`);
    if (!symtab || section.link !== symtab.index) file.fail(`${describe(section)}: linked symbol table ${section.link} is not the object's symbol table`);
    const symbolCount = symtab ? symtab.size / (is64 ? 24 : 16) : 0;
    if (section.info >= symbolCount) file.fail(`${describe(section)}: signature symbol ${section.info} does not exist (${symbolCount} symbols)`);
    const words = section.size / 4;
    const members: number[] = new Array(words - 1);
    for (let i = 1; i < words; i++) {
      const member = file.u32(section.offset + i * 4);
      if (member === 0 || member >= sections.length) file.fail(`${describe(section)}: member ${member} does not exist`);
      const memberSection = sections[member];
      if (memberSection.type === SHT_GROUP) file.fail(`${describe(section)}: member ${describe(memberSection)} is a group itself`);
      // A section belongs to at most one group (gABI): a member named twice is a corrupt table.
      const owner = (groupOf ??= new Int32Array(sections.length))[member];
      if (owner !== 0) file.fail(`${describe(section)}: member ${describe(memberSection)} is already a member of ${owner === section.index ? 'this group' : describe(sections[owner])}`);
      groupOf[member] = section.index;
      members[i - 1] = member;
    }
    groups.push({ index: section.index, flags: file.u32(section.offset), signature: section.info, members });
  }

  const empty = new Uint8Array(0);
  const views: (Uint8Array | undefined)[] = new Array(sections.length);
  return {
    path,
    elfClass: is64 ? 64 : 32,
    endian: file.le ? 'little' : 'big',
    type,
    machine,
    sections,
    symbols,
    relocationSections,
    groups,
    fileSize: file.length,
    ...(skipSymbols ? { withSymbols: () => buildObject(file, path, is64, type, machine, sections, false) } : {}),
    relocationsFor,
    relocationTable,
    sectionData: (index) => {
      const s = sections[index];
      if (!s || s.type === SHT_NOBITS || s.type === SHT_NULL) return empty;
      // One view per section: comparing asks for the same sections' bytes for every function.
      return (views[index] ??= file.bytes.subarray(s.offset, s.offset + s.size));
    },
  };
}

/** The symbol table, one object per symbol (a loop of its own: V8 compiles it apart from the rest). */
function readSymbols(file: FileView, sections: ElfSection[], symtab: ElfSection, is64: boolean, describe: (s: ElfSection) => string): ElfSymbol[] {
  const symbols: ElfSymbol[] = [];
  const entsize = is64 ? 24 : 16;
  if (symtab.entsize !== entsize && symtab.entsize !== 0) file.fail(`${describe(symtab)}: entry size ${symtab.entsize}, expected ${entsize}`);
  if (symtab.size % entsize !== 0) file.fail(`${describe(symtab)}: size ${symtab.size} is not a multiple of ${entsize}`);
  const strtab = sections[symtab.link];
  if (!strtab || strtab.type !== SHT_STRTAB) file.fail(`${describe(symtab)}: linked string table ${symtab.link} is missing or not a string table`);
  const names = new StringTable(file, strtab.offset, strtab.size, describe(strtab));
  const shndxSection = sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === symtab.index);
  const count = symtab.size / entsize;
  if (shndxSection && shndxSection.size < count * 4) file.fail(`${describe(shndxSection)} is smaller than its symbol table`);
  let currentFile: string | undefined;
  for (let i = 0; i < count; i++) {
    const at = symtab.offset + i * entsize;
    const nameOffset = file.u32(at);
    let value: number, size: number, info: number, other: number, rawShndx: number;
    if (is64) {
      info = file.u8(at + 4);
      other = file.u8(at + 5);
      rawShndx = file.u16(at + 6);
      value = file.u64(at + 8);
      size = file.u64(at + 16);
    } else {
      value = file.u32(at + 4);
      size = file.u32(at + 8);
      info = file.u8(at + 12);
      other = file.u8(at + 13);
      rawShndx = file.u16(at + 14);
    }
    let shndx = rawShndx;
    if (rawShndx === SHN_XINDEX) {
      if (!shndxSection) file.fail(`symbol ${i} uses SHN_XINDEX but there is no SHT_SYMTAB_SHNDX section`);
      shndx = file.u32(shndxSection.offset + i * 4);
    }
    if (shndx !== SHN_UNDEF && shndx < SHN_LORESERVE && shndx >= sections.length && rawShndx !== SHN_XINDEX) {
      file.fail(`symbol ${i} refers to section ${shndx}, but there are ${sections.length}`);
    }
    if (rawShndx === SHN_XINDEX && shndx >= sections.length) file.fail(`symbol ${i} refers to section ${shndx}, but there are ${sections.length}`);
    const symType = info & 0xf;
    const bind = info >> 4;
    const name = names.get(nameOffset);
    if (symType === STT_FILE) currentFile = name;
    symbols.push({
      index: i,
      name,
      value,
      size,
      type: symType,
      bind,
      visibility: other & 0x3,
      shndx,
      reserved: rawShndx >= SHN_LORESERVE && rawShndx !== SHN_XINDEX,
      file: bind === STB_LOCAL && symType !== STT_FILE ? currentFile : undefined,
    });
  }
  checkCodeCoverage(file, sections, symbols, describe);
  return symbols;
}

/** How many times over its own size a section's code may be covered by symbols (see checkCodeCoverage). */
const MAX_CODE_COVERAGE = 16;
/** Bytes of cover every executable section may have beyond that (many aliases of a tiny stub). */
const COVERAGE_SLACK = 4096;

/**
 * The bytes of each executable section that its sized symbols cover, counted once per
 * symbol, may not exceed MAX_CODE_COVERAGE times the section's size (plus a little). Every
 * function's code is decoded, aligned and compared on its own, so the work on an object
 * grows with this sum: thousands of functions overlapping in one section (each starting
 * one byte further in and running to the end) would make it quadratic in the file's size.
 * Real objects cover their code at most twice (a function and its alias: 2.0 on all 4,023
 * modules of Debian's 6.1 kernel).
 */
function checkCodeCoverage(file: FileView, sections: ElfSection[], symbols: ElfSymbol[], describe: (s: ElfSection) => string): void {
  let cover: Float64Array | undefined;
  for (const symbol of symbols) {
    if (symbol.size === 0 || symbol.reserved || symbol.shndx === SHN_UNDEF || symbol.type === STT_SECTION || symbol.type === STT_FILE) continue;
    const section = sections[symbol.shndx];
    if ((section.flags & SHF_EXECINSTR) === 0 || section.type === SHT_NOBITS) continue;
    (cover ??= new Float64Array(sections.length))[symbol.shndx] += Math.min(symbol.size, Math.max(0, section.size - symbol.value));
  }
  if (!cover) return;
  for (let i = 0; i < sections.length; i++) {
    if (cover[i] > MAX_CODE_COVERAGE * sections[i].size + COVERAGE_SLACK) {
      file.fail(
        `${describe(sections[i])}: its symbols cover ${cover[i]} bytes of its ${sections[i].size}, more than the limit of ${MAX_CODE_COVERAGE} times its size plus ${COVERAGE_SLACK} bytes (overlapping functions far beyond any real object's)`,
      );
    }
  }
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * ELF64 little-endian RELA entries read as 32-bit words of the file, where the host is
 * little-endian and the section is 4-byte aligned in memory (always, in practice): a kernel
 * tree's changed modules have millions of relocations, and one DataView read per field cost
 * several times as much. False, with nothing filled in for certain, when the words cannot
 * be used or an entry is out of range: the field-by-field reader then says which.
 */
function readRela64Words(bytes: Uint8Array, offset: number, count: number, symbolCount: number, targetSize: number, columns: Columns, first: number): boolean {
  if (!HOST_LITTLE_ENDIAN || (bytes.byteOffset + offset) % 4 !== 0) return false;
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + offset, count * 6);
  const { offset: offsets, type, symbol, addend } = columns;
  for (let i = first, w = 0; i < first + count; i++, w += 6) {
    const offsetHigh = words[w + 1];
    const at = offsetHigh === 0 ? words[w] : offsetHigh * 0x1_0000_0000 + words[w];
    const sym = words[w + 3];
    if (sym >= symbolCount || at >= targetSize) return false;
    offsets[i] = at;
    type[i] = words[w + 2];
    symbol[i] = sym;
    addend[i] = (words[w + 5] | 0) * 0x1_0000_0000 + words[w + 4];
  }
  return true;
}

interface Columns {
  offset: Float64Array;
  type: Uint32Array;
  symbol: Uint32Array;
  addend: Float64Array;
}

function newColumns(count: number): Columns {
  return { offset: new Float64Array(count), type: new Uint32Array(count), symbol: new Uint32Array(count), addend: new Float64Array(count) };
}

function copyColumns(from: Columns, into: Columns, first: number): void {
  into.offset.set(from.offset, first);
  into.type.set(from.type, first);
  into.symbol.set(from.symbol, first);
  into.addend.set(from.addend, first);
}

/** The relocations of one section (all its relocation sections' entries), sorted by offset (stable). */
function sortedTable(joined: Columns): RelocationTable {
  const count = joined.offset.length;
  let sorted = true;
  for (let i = 1; i < count; i++) if (joined.offset[i] < joined.offset[i - 1]) sorted = false;
  if (!sorted) {
    const order = stableOrder(joined.offset);
    const o = { offset: new Float64Array(count), type: new Uint32Array(count), symbol: new Uint32Array(count), addend: new Float64Array(count) };
    for (let to = 0; to < count; to++) {
      const from = order[to];
      o.offset[to] = joined.offset[from];
      o.type[to] = joined.type[from];
      o.symbol[to] = joined.symbol[from];
      o.addend[to] = joined.addend[from];
    }
    joined = o;
  }
  const offsets = joined.offset;
  return {
    count,
    ...joined,
    lowerBound: (offset: number): number => lowerBound(offsets, offset),
  };
}

/**
 * The indices of `offsets` in ascending order of offset, equal offsets in index order. The
 * offsets lie inside a section of the file, so `offset * count + index` is an exact double
 * for any real file, and a native sort of those keys takes a fraction of the time of a sort
 * with a comparator (millions of entries: relocation sections joined for one target).
 */
function stableOrder(offsets: Float64Array): ArrayLike<number> {
  const count = offsets.length;
  let max = 0;
  for (let i = 0; i < count; i++) if (offsets[i] > max) max = offsets[i];
  if ((max + 1) * count > Number.MAX_SAFE_INTEGER) {
    return Array.from({ length: count }, (_, i) => i).sort((a, b) => offsets[a] - offsets[b] || a - b);
  }
  const keys = new Float64Array(count);
  for (let i = 0; i < count; i++) keys[i] = offsets[i] * count + i;
  keys.sort();
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = keys[i] % count;
  return order;
}
