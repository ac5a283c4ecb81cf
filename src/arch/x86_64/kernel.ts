import { specialSectionLayouts, type KernelThunk, type TransferKind } from '../backend.js';

/**
 * The kernel's tables about code on x86-64, Linux 6.1 layouts (arch/x86/include/asm/:
 * jump_label.h, alternative.h, extable.h, static_call_types.h, bug.h (generic), and
 * orc_types.h for ORC's parallel `.orc_unwind`). Every entry starts with a PC-relative
 * pointer to its site.
 */
export const X86_64_SPECIAL_SECTIONS = specialSectionLayouts({
  // struct jump_entry { s32 code; s32 target; long key; }
  __jump_table: { size: 16, jumpTarget: 4 },
  // struct alt_instr { s32 instr_offset; s32 repl_offset; u16 cpuid; u8 instrlen; u8 replacementlen; }
  '.altinstructions': { size: 12, replacement: { pointer: 4, length: 11 } },
  // struct exception_table_entry { int insn, fixup, data; }
  __ex_table: { size: 12 },
  // struct static_call_site { s32 addr; s32 key; }
  '.static_call_sites': { size: 8 },
  // struct bug_entry { int bug_addr_disp; int file_disp; unsigned short line, flags; }
  __bug_table: { size: 12, line: { offset: 8, size: 2 }, flags: { offset: 10, size: 2 } },
  // s32 per instruction, with a struct orc_entry (6 bytes) at the same index of .orc_unwind.
  '.orc_unwind_ip': { size: 4, parallel: { section: '.orc_unwind', size: 6 }, skipEntryAtStart: true },
});

/** The retpoline thunks: `__x86_indirect_thunk_<reg>`, and their `call_` and `jump_` variants. */
const INDIRECT_THUNK = /^__x86_indirect_(?:call_|jump_)?thunk_/;

/**
 * The kernel's helper thunks on x86-64: the ftrace hook (`call __fentry__`, or `mcount`
 * without -mfentry), returns through `__x86_return_thunk` (`jmp`), and indirect calls and
 * jumps through the retpoline thunks. Position-independent code calls the ftrace hook
 * through the GOT: an address of `__fentry__` is the hook too.
 */
export function x86_64KernelThunk(name: string, kind: TransferKind): KernelThunk | undefined {
  if (kind === 'address') return name === '__fentry__' ? 'ftrace' : undefined;
  if (name === '__fentry__' || name === '__mcount' || name === 'mcount') return 'ftrace';
  if (name === '__x86_return_thunk') return 'return';
  if (INDIRECT_THUNK.test(name)) return 'indirect';
  return undefined;
}
