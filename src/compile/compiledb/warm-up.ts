import { createRequire } from 'node:module';

/**
 * Loads, while the compilers run, what comparing their objects loads anyway: the x86
 * disassembler behind the report's assembler text (iced-x86, WebAssembly: about 80 ms to
 * load and instantiate, measured on a kernel unit, otherwise spent after the last compile).
 * Node's module cache hands the same instance to src/arch/x86_64/disasm.ts.
 */
export function warmUpComparison(): void {
  try {
    createRequire(import.meta.url)('iced-x86');
  } catch {
    // Loaded when it is needed, as without this.
  }
}
