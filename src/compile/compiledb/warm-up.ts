import { disassembleOne } from '../../arch/x86_64/disasm.js';

/**
 * A few common instructions (call, mov from the stack, nopl, jmp, ret): their text, made
 * once, compiles the disassembler's WebAssembly paths the report's text goes through.
 */
const WARM_UP_CODE = Uint8Array.from([0xe8, 0, 0, 0, 0, 0x48, 0x8b, 0x45, 0xf8, 0x0f, 0x1f, 0x44, 0, 0, 0xe9, 0, 0, 0, 0, 0xc3]);
const WARM_UP_LENGTHS = [5, 4, 5, 5, 1];

/**
 * Does, while the compilers run, what comparing their objects does anyway the first time:
 * load the x86 disassembler behind the report's assembler text (iced-x86, WebAssembly:
 * about 80 ms to load and instantiate, measured on a kernel unit) and disassemble with it
 * (V8 compiles WebAssembly functions on their first call: another 20 ms). Otherwise both
 * are spent after the last compile. The engine is the one src/arch/x86_64/disasm.ts keeps.
 */
export function warmUpComparison(): void {
  let offset = 0;
  for (const length of WARM_UP_LENGTHS) {
    disassembleOne(WARM_UP_CODE, offset, length, offset);
    offset += length;
  }
}
