import { backendNamed } from '../arch/index.js';
import type { CompareReport, DifferenceJson } from './types.js';

/**
 * Makes the assembler text of every instruction a report's differences hold only as bytes
 * (`encoded`), with the backend of the report's architecture. Reports are built so in
 * worker threads and completed here in the thread that writes them: one disassembler,
 * loaded and warmed up once, instead of one per worker.
 */
export function fillAssemblerText(report: CompareReport): void {
  const backend = backendNamed(report.arch);
  const fill = (differences: DifferenceJson[]) => {
    for (const d of differences) {
      for (const side of [d.original, d.patched]) {
        const encoded = side?.encoded;
        if (!side || !encoded) continue;
        const bytes = Buffer.from(encoded.bytes, 'hex');
        const text = (backend ? backend.instructionText(bytes, 0, bytes.length, encoded.address) : `.byte ${encoded.bytes}`) + encoded.suffix;
        if (encoded.into === 'value') side.value = text;
        else side.instruction = text;
        delete side.encoded;
      }
    }
  };
  for (const f of report.functions) fill(f.differences);
  for (const l of report.line_shifts) fill(l.differences);
}
