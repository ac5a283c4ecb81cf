/** x86-64 relocation types (psABI), with the size of the field each one patches. */
const RELOCATIONS: Record<number, { name: string; size: number; pcRelative: boolean; address: boolean }> = {
  0: { name: 'R_X86_64_NONE', size: 0, pcRelative: false, address: false },
  1: { name: 'R_X86_64_64', size: 8, pcRelative: false, address: true },
  2: { name: 'R_X86_64_PC32', size: 4, pcRelative: true, address: true },
  3: { name: 'R_X86_64_GOT32', size: 4, pcRelative: false, address: true },
  4: { name: 'R_X86_64_PLT32', size: 4, pcRelative: true, address: true },
  9: { name: 'R_X86_64_GOTPCREL', size: 4, pcRelative: true, address: true },
  10: { name: 'R_X86_64_32', size: 4, pcRelative: false, address: true },
  11: { name: 'R_X86_64_32S', size: 4, pcRelative: false, address: true },
  12: { name: 'R_X86_64_16', size: 2, pcRelative: false, address: true },
  13: { name: 'R_X86_64_PC16', size: 2, pcRelative: true, address: true },
  14: { name: 'R_X86_64_8', size: 1, pcRelative: false, address: true },
  15: { name: 'R_X86_64_PC8', size: 1, pcRelative: true, address: true },
  19: { name: 'R_X86_64_TLSGD', size: 4, pcRelative: true, address: false },
  20: { name: 'R_X86_64_TLSLD', size: 4, pcRelative: true, address: false },
  21: { name: 'R_X86_64_DTPOFF32', size: 4, pcRelative: false, address: false },
  22: { name: 'R_X86_64_GOTTPOFF', size: 4, pcRelative: true, address: false },
  23: { name: 'R_X86_64_TPOFF32', size: 4, pcRelative: false, address: false },
  24: { name: 'R_X86_64_PC64', size: 8, pcRelative: true, address: true },
  26: { name: 'R_X86_64_GOTPC32', size: 4, pcRelative: true, address: false },
  32: { name: 'R_X86_64_SIZE32', size: 4, pcRelative: false, address: false },
  33: { name: 'R_X86_64_SIZE64', size: 8, pcRelative: false, address: false },
  41: { name: 'R_X86_64_GOTPCRELX', size: 4, pcRelative: true, address: true },
  42: { name: 'R_X86_64_REX_GOTPCRELX', size: 4, pcRelative: true, address: true },
};

/** What a relocation type patches; unknown types are 4-byte fields that hold no address. */
export function relocationInfo(type: number): { name: string; size: number; pcRelative: boolean; address: boolean } {
  return RELOCATIONS[type] ?? { name: `R_X86_64_${type}`, size: 4, pcRelative: false, address: false };
}
