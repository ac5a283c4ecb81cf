import { SHF_EXECINSTR, SHT_NOBITS, SHT_REL, SHT_RELA, SHT_STRTAB, SHT_SYMTAB, STT_FUNC, type ElfObject } from '../elf/types.js';
import { SPECIAL_SECTIONS } from '../model/special.js';
import { normalizeName } from './match.js';

/** Section names the comparison reads by name, whatever refers to them. */
const READ_BY_NAME = new Set([...Object.keys(SPECIAL_SECTIONS), ...Object.values(SPECIAL_SECTIONS).flatMap((l) => (l.parallel ? [l.parallel.section] : []))]);

/**
 * Whether the full comparison of two builds of an object would find no difference, proven
 * from what that comparison reads without modelling either object. The comparison reads:
 * executable sections and their relocations; the symbols (names, types, bindings, sections,
 * values, sizes); the kernel's tables about code, by name; and data only where a relocation
 * leads to it. So a section may differ between the builds only if it is none of these:
 * not executable, not such a table, and no relocation (outside the differing sections
 * themselves) names a symbol in it: build IDs, `.modinfo`, `__versions`, BTF, CRC tables
 * and the like. Every other section must be byte-identical, and the symbol tables must agree
 * entry for entry (values and sizes only outside the differing sections; names exactly, or
 * up to `__COUNTER__`-style numbers for symbols that are not functions, which the comparison
 * does not report on).
 *
 * This is the comparison's own rule, not a second one: anything it cannot prove goes to the
 * full comparison, and `test/same-inputs.test.ts` checks it against that comparison.
 */
export function sameComparisonInputs(a: ElfObject, b: ElfObject): boolean {
  if (a.machine !== b.machine || a.sections.length !== b.sections.length || a.symbols.length !== b.symbols.length) return false;
  const differing = new Uint8Array(a.sections.length);
  for (let i = 0; i < a.sections.length; i++) {
    const x = a.sections[i];
    const y = b.sections[i];
    if (x.name !== y.name || x.type !== y.type || x.flags !== y.flags || x.link !== y.link || x.info !== y.info) return false;
    if (x.size === y.size && (x.type === SHT_NOBITS || sameBytes(a.sectionData(i), b.sectionData(i)))) continue;
    // Names and symbols are compared entry by entry below; their tables' bytes may differ.
    if (x.type === SHT_SYMTAB || x.type === SHT_STRTAB) continue;
    if (x.flags & SHF_EXECINSTR || READ_BY_NAME.has(x.name)) return false;
    differing[i] = 1;
  }
  // Relocations of a differing section belong to it; any other relocation section must be
  // identical (checked above) and must not lead into a differing section.
  for (let i = 0; i < a.sections.length; i++) {
    const section = a.sections[i];
    if (section.type !== SHT_RELA && section.type !== SHT_REL) continue;
    if (differing[i] && !differing[section.info]) return false;
  }
  if (!symbolsAgree(a, b, differing)) return false;
  for (const side of [a, b]) {
    for (const section of side.sections) {
      if ((section.type !== SHT_RELA && section.type !== SHT_REL) || differing[section.info]) continue;
      const table = side.relocationTable(section.info);
      for (let r = 0; r < table.count; r++) {
        const symbol = side.symbols[table.symbol[r]];
        if (symbol && !symbol.reserved && differing[symbol.shndx]) return false;
      }
    }
  }
  return true;
}

function symbolsAgree(a: ElfObject, b: ElfObject, differing: Uint8Array): boolean {
  for (let i = 0; i < a.symbols.length; i++) {
    const x = a.symbols[i];
    const y = b.symbols[i];
    if (x.type !== y.type || x.bind !== y.bind || x.visibility !== y.visibility || x.shndx !== y.shndx || x.reserved !== y.reserved) return false;
    if (x.name !== y.name) {
      const inCode = !x.reserved && (a.sections[x.shndx]?.flags ?? 0) & SHF_EXECINSTR;
      if (x.type === STT_FUNC || inCode || normalizeName(x.name) !== normalizeName(y.name)) return false;
    }
    if (!x.reserved && differing[x.shndx]) continue;
    if (x.value !== y.value || x.size !== y.size) return false;
  }
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
