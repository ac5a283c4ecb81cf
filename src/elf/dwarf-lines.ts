import type { ElfObject } from './types.js';

/*
 * The DWARF line table of a relocatable object (`.debug_line`, versions 2 to 5): for each
 * code section, which source line each address belongs to. In an object file the table's
 * addresses are relocations against the code sections (DW_LNE_set_address), so each
 * sequence is placed by its relocation, not by the zero the assembler wrote.
 *
 * Only what placing an address needs is read: the header is skipped by its length, file
 * and directory tables are not decoded.
 */

/** Rows of one section, by ascending address: the line from each address on (-1: none, after a sequence's end). */
interface SectionRows {
  address: Float64Array;
  line: Int32Array;
}

export interface LineTable {
  /** The source line of the instruction at `offset` of code section `section`, if the table covers it. */
  lineAt(section: number, offset: number): number | undefined;
}

const DW_LNS_copy = 1;
const DW_LNS_advance_pc = 2;
const DW_LNS_advance_line = 3;
const DW_LNS_const_add_pc = 8;
const DW_LNS_fixed_advance_pc = 9;
const DW_LNE_end_sequence = 1;
const DW_LNE_set_address = 2;

const cache = new WeakMap<ElfObject, LineTable | null>();

/** The object's line table; undefined when it has none (built without -g) or it cannot be read. */
export function lineTable(object: ElfObject): LineTable | undefined {
  let table = cache.get(object);
  if (table === undefined) {
    try {
      table = readLineTable(object);
    } catch {
      // Debug information is evidence when it is there and sound; a table that does not
      // read is no evidence, not an error in the object the comparison needs.
      table = null;
    }
    cache.set(object, table);
  }
  return table ?? undefined;
}

function readLineTable(object: ElfObject): LineTable | null {
  const section = object.sections.find((s) => s.name === '.debug_line');
  if (!section) return null;
  const data = object.sectionData(section.index);
  const relocations = object.relocationTable(section.index);
  const le = object.endian === 'little';
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const rows = new Map<number, { address: number[]; line: number[] }>();
  const emit = (sectionIndex: number, address: number, line: number) => {
    let list = rows.get(sectionIndex);
    if (!list) rows.set(sectionIndex, (list = { address: [], line: [] }));
    list.address.push(address);
    list.line.push(line);
  };

  let unit = 0;
  while (unit + 4 <= data.length) {
    let at = unit;
    let length = view.getUint32(at, le);
    at += 4;
    let offsetSize = 4;
    if (length === 0xffffffff) {
      length = Number(view.getBigUint64(at, le));
      at += 8;
      offsetSize = 8;
    }
    const end = at + length;
    if (end > data.length || length < 2) return null;
    const version = view.getUint16(at, le);
    at += 2;
    if (version < 2 || version > 5) return null;
    if (version >= 5) at += 2; // address_size, segment_selector_size: the relocation places the address
    const headerLength = offsetSize === 8 ? Number(view.getBigUint64(at, le)) : view.getUint32(at, le);
    at += offsetSize;
    const program = at + headerLength;
    const minimumInstructionLength = data[at++];
    if (version >= 4) at++; // maximum_operations_per_instruction (VLIW only)
    at++; // default_is_stmt
    const lineBase = (data[at++] << 24) >> 24;
    const lineRange = data[at++];
    const opcodeBase = data[at++];
    const standardLengths = Array.from(data.subarray(at, at + opcodeBase - 1));
    if (lineRange === 0 || program > end) return null;

    at = program;
    let address = 0;
    let sectionIndex = -1;
    let line = 1;
    const reset = () => {
      address = 0;
      sectionIndex = -1;
      line = 1;
    };
    const row = () => {
      if (sectionIndex >= 0) emit(sectionIndex, address, line);
    };
    const uleb = () => {
      let result = 0;
      let shift = 0;
      for (;;) {
        const byte = data[at++];
        result += (byte & 0x7f) * 2 ** shift;
        shift += 7;
        if ((byte & 0x80) === 0 || at >= end) return result;
      }
    };
    const sleb = () => {
      let result = 0;
      let shift = 0;
      let byte = 0;
      do {
        byte = data[at++];
        result += (byte & 0x7f) * 2 ** shift;
        shift += 7;
      } while (byte & 0x80 && at < end);
      return byte & 0x40 ? result - 2 ** shift : result;
    };
    while (at < end) {
      const opcode = data[at++];
      if (opcode >= opcodeBase) {
        const adjusted = opcode - opcodeBase;
        address += Math.floor(adjusted / lineRange) * minimumInstructionLength;
        line += lineBase + (adjusted % lineRange);
        row();
      } else if (opcode === 0) {
        const size = uleb();
        const next = at + size;
        const sub = data[at++];
        if (sub === DW_LNE_end_sequence) {
          if (sectionIndex >= 0) emit(sectionIndex, address, -1);
          reset();
        } else if (sub === DW_LNE_set_address) {
          // Where the sequence lies: the relocation on the operand (section symbol plus addend).
          const r = relocations.lowerBound(at);
          const symbol = r < relocations.count && relocations.offset[r] === at ? object.symbols[relocations.symbol[r]] : undefined;
          if (symbol && symbol.shndx > 0 && symbol.shndx < object.sections.length) {
            sectionIndex = symbol.shndx;
            address = symbol.value + relocations.addend[r];
          } else {
            sectionIndex = -1;
          }
        }
        at = next;
      } else if (opcode === DW_LNS_copy) row();
      else if (opcode === DW_LNS_advance_pc) address += uleb() * minimumInstructionLength;
      else if (opcode === DW_LNS_advance_line) line += sleb();
      else if (opcode === DW_LNS_const_add_pc) address += Math.floor((255 - opcodeBase) / lineRange) * minimumInstructionLength;
      else if (opcode === DW_LNS_fixed_advance_pc) {
        address += view.getUint16(at, le);
        at += 2;
      } else {
        // set_file, set_column, negate_stmt, set_basic_block, prologue/epilogue, set_isa,
        // and opcodes of later versions: skip their operands.
        for (let k = 0; k < (standardLengths[opcode - 1] ?? 0); k++) uleb();
      }
    }
    unit = end;
  }

  const bySection = new Map<number, SectionRows>();
  for (const [sectionIndex, list] of rows) {
    // Stable by address: of rows at one address, the last one says what the instruction there is.
    const order = list.address.map((_, i) => i).sort((a, b) => list.address[a] - list.address[b] || a - b);
    bySection.set(sectionIndex, { address: Float64Array.from(order, (i) => list.address[i]), line: Int32Array.from(order, (i) => list.line[i]) });
  }
  return {
    lineAt(sectionIndex: number, offset: number): number | undefined {
      const table = bySection.get(sectionIndex);
      if (!table) return undefined;
      // The last row at or before the offset.
      let lo = 0;
      let hi = table.address.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (table.address[mid] <= offset) lo = mid + 1;
        else hi = mid;
      }
      if (lo === 0) return undefined;
      const line = table.line[lo - 1];
      return line > 0 ? line : undefined;
    },
  };
}
