import { SHF_ALLOC, SHN_UNDEF, STB_LOCAL, STT_FILE, STT_SECTION, type ElfSection, type ElfSymbol } from '../elf/types.js';

/*
 * `.old_sympos` as the kernel counts it. klp_find_object_symbol() (kernel/livepatch/core.c)
 * walks the object's kallsyms and counts every symbol whose name is the one asked for,
 * whatever its type: sympos N is the N-th, 1-based; sympos 0 means "the only one", and the
 * patch is refused ("unresolvable ambiguity") when there are several. So a position is a
 * property of the linked object, not of the unit the function was compiled in:
 *
 * - a module: module_kallsyms_on_each_symbol() walks the module's symbol table in its
 *   order, skipping SHN_UNDEF. Once the module has run its init, that table is the "core"
 *   one add_kallsyms() keeps (kernel/module/kallsyms.c, is_core_symbol): named, defined in
 *   a real section (not SHN_ABS and the like) that is SHF_ALLOC and not laid out in the init
 *   area (`.init*`; `.exit*` only without CONFIG_MODULE_UNLOAD, which distributions enable),
 *   data included (CONFIG_LIVEPATCH depends on CONFIG_KALLSYMS_ALL). While the module is
 *   still loading (klp_module_coming(), for a livepatch enabled before the module is
 *   loaded) it is the whole table: the positions can differ when a same-named symbol is in
 *   an init or non-allocated section, which is reported.
 * - vmlinux: kallsyms_on_each_symbol() walks kallsyms, which scripts/kallsyms sorts by
 *   address (ties in the order `nm -n` lists them, here the symbol-table order). It lists
 *   named symbols of real sections: not FILE or SECTION symbols (nm does not print them)
 *   nor absolute ones (scripts/kallsyms drops type A).
 */

/** What this module needs of a linked object (see src/elf/linked-symbols.ts). */
export interface LinkedSymbols {
  /** Relocatable (a module, `ld -r`) or linked at its addresses (vmlinux). */
  relocatable: boolean;
  sections: ElfSection[];
  symbols: ElfSymbol[];
  bytesOf(symbol: ElfSymbol): Uint8Array;
}

/** The symbol of the unit the position is wanted for, as the unit's own object has it. */
export interface UnitSymbol {
  name: string;
  bind: number;
  /** The unit's STT_FILE name (gcc: the source's base name, `extents.c`). */
  file?: string;
  size: number;
  /** Its code (a relocatable object's, relocated fields still zero), for the last tie-break. */
  bytes?: Uint8Array;
}

export interface Placement {
  /** `.old_sympos`: 0 when the name is unique; undefined when it cannot be told (see `problem`). */
  sympos: number | undefined;
  /** How many symbols of that name kallsyms lists. */
  count: number;
  /** Why there is no position, or why it holds only in part; for a warning. */
  problem?: string;
}

const isInit = (section: ElfSection) => section.name.startsWith('.init');

/** A module's symbol kallsyms keeps after init (is_core_symbol), or while loading (`loading`). */
function moduleListed(linked: LinkedSymbols, symbol: ElfSymbol, loading: boolean): boolean {
  if (symbol.index === 0 || symbol.shndx === SHN_UNDEF) return false;
  if (loading) return true;
  if (symbol.name === '' || symbol.reserved || symbol.shndx >= linked.sections.length) return false;
  const section = linked.sections[symbol.shndx];
  return (section.flags & SHF_ALLOC) !== 0 && !isInit(section);
}

const vmlinuxListed = (symbol: ElfSymbol) =>
  symbol.index !== 0 && symbol.shndx !== SHN_UNDEF && !symbol.reserved && symbol.name !== '' && symbol.type !== STT_FILE && symbol.type !== STT_SECTION;

/** The symbols named `name` in the order klp_find_object_symbol() counts them. */
function kallsymsMatches(linked: LinkedSymbols, name: string, kind: 'module' | 'vmlinux', loading = false): ElfSymbol[] {
  const named = linked.symbols.filter((s) => s.name === name);
  if (kind === 'module') return named.filter((s) => moduleListed(linked, s, loading));
  const address = (s: ElfSymbol) => s.value;
  return named.filter(vmlinuxListed).sort((a, b) => address(a) - address(b) || a.index - b.index);
}

const base = (file: string) => file.slice(file.lastIndexOf('/') + 1);

/**
 * Which of the same-named symbols is the unit's: a global by its binding; a local by the
 * STT_FILE symbol that precedes its unit's locals (the exact name, else the base name: clang
 * writes the path as given); then, when two units have the same file name, by size, and in
 * a relocatable object by its bytes.
 */
function ours(candidates: ElfSymbol[], unit: UnitSymbol, linked: LinkedSymbols): { found: ElfSymbol[]; by: string } {
  if (unit.bind !== STB_LOCAL) return { found: candidates.filter((s) => s.bind !== STB_LOCAL), by: 'binding' };
  let found = candidates.filter((s) => s.bind === STB_LOCAL);
  if (unit.file !== undefined) {
    const exact = found.filter((s) => s.file === unit.file);
    found = exact.length > 0 ? exact : found.filter((s) => s.file !== undefined && base(s.file) === base(unit.file!));
  }
  if (found.length <= 1) return { found, by: 'file' };
  const sized = found.filter((s) => s.size === unit.size && s.type === found[0].type);
  if (sized.length === 1) return { found: sized, by: 'size' };
  if (sized.length > 1 && linked.relocatable && unit.bytes) {
    const same = sized.filter((s) => Buffer.from(linked.bytesOf(s)).equals(unit.bytes!));
    if (same.length >= 1) return { found: same, by: 'bytes' };
  }
  return { found: sized.length > 0 ? sized : found, by: 'size' };
}

/** The position of the unit's `unit.name` in the linked object (see the comment at the top). */
export function placeInLinked(linked: LinkedSymbols, unit: UnitSymbol, kind: 'module' | 'vmlinux'): Placement {
  const candidates = kallsymsMatches(linked, unit.name, kind);
  const count = candidates.length;
  const where = unit.file ? ` of ${unit.file}` : '';
  if (count === 0) return { sympos: undefined, count, problem: `${unit.name}${where} is not in it (a build of other sources?)` };
  const { found } = ours(candidates, unit, linked);
  if (found.length === 0) {
    const files = [...new Set(candidates.map((s) => s.file ?? (s.bind === STB_LOCAL ? '?' : 'global')))].join(', ');
    return { sympos: undefined, count, problem: `its ${unit.name} ${count === 1 ? 'is' : 'are'} not the one${where} (${files}): a build of other sources?` };
  }
  if (found.length > 1) {
    return { sympos: undefined, count, problem: `${unit.name}${where} is ${found.length} of its ${count} symbols of that name, which neither the file name nor the code tells apart` };
  }
  const sympos = count === 1 ? 0 : candidates.indexOf(found[0]) + 1;
  const placement: Placement = { sympos, count };
  if (kind === 'module') {
    // A livepatch enabled before the module loads resolves the name while it loads.
    const loading = kallsymsMatches(linked, unit.name, kind, true);
    const early = loading.length === 1 ? 0 : loading.indexOf(found[0]) + 1;
    if (early !== sympos) {
      const at = (n: number) => (n === 0 ? 'the only one' : `number ${n}`);
      placement.problem = `${unit.name}${where} is ${at(sympos)} of its name among the module's symbols after its init, but ${at(early)} while the module loads (a same-named symbol in an init or non-allocated section): .old_sympos = ${sympos || 'none'} holds for a module loaded before the livepatch, not for one loaded after it`;
    }
  }
  if (found[0].size !== unit.size && !placement.problem) {
    placement.problem = `${unit.name}${where} has ${found[0].size} bytes there, ${unit.size} as compiled now: is the linked object from this tree's build?`;
  }
  return placement;
}
