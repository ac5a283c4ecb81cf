import { KIND_ADDRESS, KIND_JUMP, type ArchBackend, type SpecialSectionLayouts } from '../arch/backend.js';
import { SHF_EXECINSTR, SHN_UNDEF, type ElfObject } from '../elf/types.js';
import type { AddressTransfer, FunctionRecord, Transfer } from './function-record.js';
import type { Locator } from './locator.js';
import { mayBePartName } from './part-names.js';
import type { FunctionInfo, Location, ObjectModel } from './types.js';

/*
 * Transfers between functions, found before the parts because they are evidence for them
 * (design.md §3): jumps, jump tables, static branches, and code addresses taken.
 */

/** Jumps from one function into another, each also kept on the function it leaves. */
export function jumpsBetweenFunctions(functions: FunctionRecord[], locator: Locator): Transfer[] {
  const jumps: Transfer[] = [];
  for (const fn of functions) {
    const sectionCode = fn.code;
    for (let i = fn.firstReference; i < fn.endReference; i++) {
      if (sectionCode.kind[i] !== KIND_JUMP) continue;
      const location = locator.referenceTarget(sectionCode, i);
      if (location.kind === 'function' && location.fn !== fn) {
        const transfer: Transfer = { from: fn, kind: 'jump', location, at: sectionCode.insnOffset[i] - fn.offset, via: sectionCode.relocationType[i] >= 0 ? 'relocation' : 'resolved' };
        jumps.push(transfer);
        fn.addJumpOut(transfer);
      }
    }
  }
  return jumps;
}

/**
 * Addresses of code in other functions that a function's code takes (an address loaded
 * into a register): GCC's computed goto takes the addresses of labels, and a label gcc moved
 * into the function's cold part is such an address. Entries of functions are function
 * pointers, kept only where the target is named as a part (nothing calls one).
 */
export function codeAddressTransfers(object: ElfObject, functions: FunctionRecord[], locator: Locator): AddressTransfer[] {
  const out: AddressTransfer[] = [];
  for (const fn of functions) {
    const code = fn.code;
    for (let i = fn.firstReference; i < fn.endReference; i++) {
      if (code.kind[i] !== KIND_ADDRESS) continue;
      const symbolIndex = code.symbol[i];
      if (symbolIndex >= 0) {
        // Only references into executable sections can be code addresses.
        const symbol = object.symbols[symbolIndex];
        if (!symbol || symbol.shndx === SHN_UNDEF || symbol.reserved || ((object.sections[symbol.shndx]?.flags ?? 0) & SHF_EXECINSTR) === 0) continue;
      }
      const location = locator.referenceTarget(code, i);
      if (location.kind !== 'function' || location.fn === fn) continue;
      if (location.offset === 0 && !mayBePartName(location.fn.name)) continue;
      out.push({ from: fn, kind: 'address', location });
    }
  }
  return out;
}

/**
 * Static branches: objtool turns a jump to a static key's target into a NOP and leaves the
 * destination only in the table entry (`__jump_table`: {code, target, key}). Where the
 * target lies in another function (a cold part, typically), the entry is the jump.
 */
export function staticBranchTransfers(object: ElfObject, layouts: SpecialSectionLayouts, resolve: ObjectModel['resolve']): Transfer[] {
  const out: Transfer[] = [];
  for (const [name, layout] of Object.entries(layouts)) {
    if (layout.jumpTarget !== undefined) staticBranchTable(object, name, layout.size, layout.jumpTarget, resolve, out);
  }
  return out;
}

/** The static branches of the table `name` with entries of `size` bytes, into `out`. */
function staticBranchTable(object: ElfObject, name: string, size: number, jumpTarget: number, resolve: ObjectModel['resolve'], out: Transfer[]): void {
  const section = object.sections.find((s) => s.name === name);
  if (!section || section.size % size !== 0) return;
  const table = object.relocationTable(section.index);
  for (let r = 0; r + 1 < table.count; r++) {
    const at = table.offset[r];
    if (at % size !== 0 || table.offset[r + 1] !== at + jumpTarget) continue;
    // PC-relative data fields are `label - .`: the field plus its value is symbol + addend.
    const site = resolve({ kind: 'symbol', symbol: table.symbol[r], addend: table.addend[r] });
    const target = resolve({ kind: 'symbol', symbol: table.symbol[r + 1], addend: table.addend[r + 1] });
    if (site.kind !== 'function' || target.kind !== 'function' || target.fn === site.fn) continue;
    out.push({ from: site.fn, kind: 'jump', location: target, at: site.offset, via: 'jump-table' });
  }
}

/**
 * Jump tables: relocations in data sections that point into code at non-entry offsets,
 * attributed to the function that loads the table's address. A cold part that holds
 * cases of its parent's switch is entered this way.
 */
export function jumpTableTransfers(
  object: ElfObject,
  functions: FunctionInfo[],
  locate: (section: number, offset: number) => Location,
  backend: ArchBackend,
  addresses: AddressTransfer[],
) {
  const out: Transfer[] = [];
  const users = tableUsers(object, functions);
  for (const [dataSection, starts] of users) tableTransfers(object, dataSection, starts, locate, backend, out, addresses);
  return out;
}

type TableUser = { offset: number; fn: FunctionInfo; at: number };

/** Where code takes the address of a data section that holds code addresses: the candidate table starts. */
function tableUsers(object: ElfObject, functions: FunctionInfo[]): Map<number, TableUser[]> {
  const users = new Map<number, TableUser[]>();
  // Only data sections with relocations into code can hold a jump table.
  const candidates = new Map<number, boolean>();
  const holdsCodeAddresses = (index: number): boolean => {
    let known = candidates.get(index);
    if (known === undefined) {
      known = false;
      const section = object.sections[index];
      if (section && (section.flags & SHF_EXECINSTR) === 0) {
        const table = object.relocationTable(index);
        for (let r = 0; r < table.count && !known; r++) {
          const target = object.symbols[table.symbol[r]];
          if (target && target.shndx !== SHN_UNDEF && !target.reserved && (object.sections[target.shndx]?.flags ?? 0) & SHF_EXECINSTR) known = true;
        }
      }
      candidates.set(index, known);
    }
    return known;
  };
  for (const fn of functions) {
    const code = fn.code;
    for (let i = fn.firstReference; i < fn.endReference; i++) {
      if (code.kind[i] !== KIND_ADDRESS || code.symbol[i] < 0) continue;
      // Data sections hold no functions: the symbol's section and offset are the location.
      const symbol = object.symbols[code.symbol[i]];
      if (!symbol || symbol.shndx === SHN_UNDEF || symbol.reserved) continue;
      if (!holdsCodeAddresses(symbol.shndx)) continue;
      const offset = symbol.value + code.value[i];
      const list = users.get(symbol.shndx) ?? [];
      list.push({ offset, fn, at: code.insnOffset[i] - fn.offset });
      users.set(symbol.shndx, list);
    }
  }
  return users;
}

/** The jump-table transfers of one data section's tables, into `out`. */
function tableTransfers(
  object: ElfObject,
  dataSection: number,
  starts: TableUser[],
  locate: (section: number, offset: number) => Location,
  backend: ArchBackend,
  out: Transfer[],
  addresses: AddressTransfer[],
): void {
  const relocations = object.relocationTable(dataSection);
  if (relocations.count === 0) return;
  const usersAt = new Map<number, { fn: FunctionInfo; at: number }[]>();
  for (const u of starts) {
    const list = usersAt.get(u.offset) ?? [];
    list.push(u);
    usersAt.set(u.offset, list);
  }
  // A table is a run of same-sized entries starting where code takes an address.
  let table: { start: number; next: number; users: { fn: FunctionInfo; at: number }[] } | undefined;
  for (let r = 0; r < relocations.count; r++) {
    const at = relocations.offset[r];
    const ref = backend.dataReference(relocations.type[r]);
    const startsHere = usersAt.get(at);
    if (startsHere && ref) table = { start: at, next: at, users: startsHere };
    if (!ref || !table || at !== table.next) {
      table = undefined;
      continue;
    }
    table.next = at + ref.size;
    const symbol = object.symbols[relocations.symbol[r]];
    if (!symbol || symbol.shndx === SHN_UNDEF || symbol.reserved) continue;
    const targetSection = object.sections[symbol.shndx];
    if (!targetSection || (targetSection.flags & SHF_EXECINSTR) === 0) continue;
    const offset = symbol.value + relocations.addend[r] - (ref.pcRelative ? at - table.start : 0);
    const location = locate(symbol.shndx, offset);
    if (location.kind !== 'function') continue;
    if (location.offset === 0) {
      // A function pointer, or the address of a computed goto's label that starts a
      // part (a table of label addresses): the table's user enters the part there.
      if (mayBePartName(location.fn.name)) for (const u of table.users) if (u.fn !== location.fn) addresses.push({ from: u.fn, kind: 'address', location });
      continue;
    }
    for (const u of table.users) out.push({ from: u.fn, kind: 'jump', location, at: u.at, via: 'jump-table' });
  }
}
