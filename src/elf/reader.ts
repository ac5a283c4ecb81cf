import elfy, { type ElfyHeader } from 'elfy';
import { ElfError } from '../errors.js';
import { describeSection, FileView, StringTable } from './file-view.js';
import { readGroups } from './groups.js';
import { RelocationIndex, RelocationSection } from './relocation-columns.js';
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
  type ElfSection,
  type ElfSymbol,
} from './types.js';

export interface ParseOptions {
  /**
   * Leave `symbols` empty (`withSymbols()` reads them later): for callers that look at
   * sections and the symbol table's bytes first (the comparison's proof that a pair needs
   * no modelling).
   */
  skipSymbols?: boolean;
  /**
   * The other build of the same object, parsed by parseElf, its bytes still valid: where
   * both files have the same size, section header table and section names, byte for byte,
   * its section table is taken over instead of being parsed and checked again. Two builds
   * of a module usually differ only inside sections (3,148 of the 4,023 pairs of Debian's
   * 6.1.0-54 and -55 trees).
   */
  twin?: ElfObject;
}

/** What a parse leaves for a twin to compare against: the file and its section table. */
interface SectionTableOrigin {
  bytes: Buffer;
  is64: boolean;
  le: boolean;
  shoff: number;
  shnum: number;
  shstrndx: number;
  sections: ElfSection[];
}

/**
 * The key of an object's SectionTableOrigin, a property of the object that no one else
 * sees (not enumerable). Not a WeakMap: thousands of objects a second, each dead after its
 * pair, made every scavenge sweep the map's entries (hot loop of parseElf: 2.5 times the time).
 */
const SECTION_TABLE_ORIGIN = Symbol('section table origin');

function originOf(object: ElfObject): SectionTableOrigin | undefined {
  return (object as ElfObject & { [SECTION_TABLE_ORIGIN]?: SectionTableOrigin })[SECTION_TABLE_ORIGIN];
}

/**
 * One elfy parser for every file: parseHeader sets its byte order and word size anew for
 * each, and nothing else of its state outlives a call.
 */
const elfyParser = new elfy.Parser();
/**
 * Where each section header is copied for elfy, one per class: only the fields the reader
 * takes from elfy (name, and addr through info) are copied, so the rest stay zero and elfy
 * has no flags to fold into names.
 */
const elfyEntry64 = Buffer.alloc(64);
const elfyEntry32 = Buffer.alloc(40);
/**
 * What elfy slices each section's bytes from: nothing. Its `data` views went unused, two
 * Buffers made per section of every file (with the entry's own view) and thrown away;
 * the reader makes a section's view when asked for it (`sectionData`).
 */
const NO_SECTION_DATA = { slice: () => undefined };

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

  const header = elfyParser.parseHeader(bytes);
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

  const origin: SectionTableOrigin = { bytes, is64, le: file.le, shoff, shnum, shstrndx, sections: [] };
  const twin = options.twin && originOf(options.twin);
  if (twin && sameSectionTable(twin, origin, shentsize)) {
    // Every check below depends only on these bytes and the file's size: it passed for the twin.
    origin.sections = twin.sections.map((s) => ({ ...s }));
  } else {
    origin.sections = readSectionTable(file, header, shoff, shnum, shentsize, shstrndx, is64);
    checkDisjoint(file, origin.sections, ehsize, shoff, shnum * shentsize);
  }
  const object = buildObject(file, path, is64, type, machine, origin.sections, options.skipSymbols ?? false);
  Object.defineProperty(object, SECTION_TABLE_ORIGIN, { value: origin });
  return object;
}

/** Whether a twin's file has this one's size, section header table and section name table, byte for byte. */
function sameSectionTable(twin: SectionTableOrigin, here: SectionTableOrigin, shentsize: number): boolean {
  if (twin.bytes.length !== here.bytes.length || twin.is64 !== here.is64 || twin.le !== here.le) return false;
  if (twin.shoff !== here.shoff || twin.shnum !== here.shnum || twin.shstrndx !== here.shstrndx) return false;
  const tableEnd = here.shoff + here.shnum * shentsize;
  if (here.bytes.compare(twin.bytes, here.shoff, tableEnd, here.shoff, tableEnd) !== 0) return false;
  // The same table places the name table at the same bytes in both files.
  const names = twin.sections[twin.shstrndx];
  return here.bytes.compare(twin.bytes, names.offset, names.offset + names.size, names.offset, names.offset + names.size) === 0;
}

/** The section headers, each checked, and their names. */
function readSectionTable(file: FileView, header: ElfyHeader, shoff: number, shnum: number, shentsize: number, shstrndx: number, is64: boolean): ElfSection[] {
  const bytes = file.bytes;
  // elfy reads an entry from the start of the buffer it is given: each is copied into this one.
  const entry = is64 ? elfyEntry64 : elfyEntry32;
  // sh_addr, sh_offset, sh_size, sh_link and sh_info, one run of bytes in both classes.
  const elfyFieldsStart = is64 ? 16 : 12;
  const elfyFieldsEnd = is64 ? 48 : 32;
  const sections: ElfSection[] = new Array(shnum);
  const nameOffsets = new Uint32Array(shnum);
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    // The project reads the section table with elfy, taking the fields it reads right
    // (name, addr, offset, size, link, info) and reading the rest itself: elfy reads
    // sh_addralign and sh_entsize of ELF64 at the wrong offsets, folds sh_flags into
    // names, and maps sh_type through a name table that loses unknown values.
    for (let k = 0; k < 4; k++) entry[k] = bytes[at + k];
    for (let k = elfyFieldsStart; k < elfyFieldsEnd; k++) entry[k] = bytes[at + k];
    const raw = elfyParser.parseSection(entry, header, NO_SECTION_DATA);
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
    if (i === 0 && section.type !== SHT_NULL) file.fail('section 0 is not SHT_NULL');
    if (section.type !== SHT_NOBITS && section.type !== SHT_NULL) {
      file.range(section.offset, section.size, `section ${i}`);
    }
    sections[i] = section;
    nameOffsets[i] = raw.name;
  }

  const shstr = sections[shstrndx];
  if (shstr.type !== SHT_STRTAB) file.fail(`section name table (section ${shstrndx}) is not a string table`);
  const sectionNames = new StringTable(file, shstr.offset, shstr.size, 'section name table');
  for (let i = 0; i < shnum; i++) sections[i].name = sectionNames.get(nameOffsets[i]);
  return sections;
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
  let symtab: ElfSection | undefined;
  let symtabCount = 0;
  for (const section of sections) {
    if (section.type !== SHT_SYMTAB) continue;
    symtab ??= section;
    symtabCount++;
  }
  if (symtabCount > 1) file.fail(`has ${symtabCount} symbol tables`);
  const symbols: ElfSymbol[] = symtab && !skipSymbols ? readSymbols(file, sections, symtab, is64, describe) : [];

  const relocationSections: RelocationSection[] = [];
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
    const symbolCount = symtab ? symtab.size / (is64 ? 24 : 16) : 0;
    relocationSections.push(new RelocationSection(file, section, target, is64, symbolCount));
  }
  const relocations = new RelocationIndex(relocationSections);

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
    relocationsFor: (index) => relocations.relocationsFor(index),
    relocationTable: (index) => relocations.table(index),
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
