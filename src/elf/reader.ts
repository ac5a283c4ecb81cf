import elfy from 'elfy';
import { ElfError } from '../errors.js';
import { describeSection, FileView, StringTable } from './file-view.js';
import { readGroups } from './groups.js';
import { copyColumns, newColumns, readRela64Words, sortedTable, type Columns } from './relocation-columns.js';
import { readSymbols } from './symbol-table.js';
import {
  ET_REL,
  SHN_UNDEF,
  SHN_XINDEX,
  SHT_GROUP,
  SHT_NOBITS,
  SHT_NULL,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  type ElfObject,
  type ElfRelocation,
  type ElfRelocationSection,
  type ElfSection,
  type ElfSymbol,
  type RelocationTable,
} from './types.js';

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

  const groups = readGroups(file, sections, symtab, is64, describe);
  const empty = new Uint8Array(0);
  const views: (Uint8Array | undefined)[] = new Array(sections.length);
  const object: ElfObject = {
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
    relocationsFor,
    relocationTable,
    sectionData: (index) => {
      const s = sections[index];
      if (!s || s.type === SHT_NOBITS || s.type === SHT_NULL) return empty;
      // One view per section: comparing asks for the same sections' bytes for every function.
      return (views[index] ??= file.bytes.subarray(s.offset, s.offset + s.size));
    },
  };
  // The symbols added to the same object: the relocations and section views it has already
  // read stay read.
  if (skipSymbols) object.withSymbols = () => ({ ...object, symbols: symtab ? readSymbols(file, sections, symtab, is64, describe) : [], withSymbols: undefined });
  return object;
}

