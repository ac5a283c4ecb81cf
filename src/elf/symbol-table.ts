import { SHF_EXECINSTR, SHN_LORESERVE, SHN_UNDEF, SHN_XINDEX, SHT_NOBITS, SHT_STRTAB, SHT_SYMTAB_SHNDX, STB_LOCAL, STT_FILE, STT_SECTION, type ElfSection, type ElfSymbol } from './types.js';
import { StringTable, type FileView } from './file-view.js';

/** The symbol table, one object per symbol (a loop of its own: V8 compiles it apart from the rest). */
export function readSymbols(file: FileView, sections: ElfSection[], symtab: ElfSection, is64: boolean, describe: (s: ElfSection) => string): ElfSymbol[] {
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
