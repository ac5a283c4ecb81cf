import { backendNamed, type ArchBackend } from '../arch/index.js';
import type { CompareReport, DifferenceJson } from './types.js';

/**
 * Makes the assembler text of every instruction a report's differences hold only as bytes
 * (`encoded`), with the backend of the report's architecture. Reports are built so in
 * worker threads and completed here in the thread that writes them: one disassembler,
 * loaded and warmed up once, instead of one per worker.
 */
export function fillAssemblerText(report: CompareReport): void {
  const backend = backendNamed(report.arch);
  const textsByHex = backend ? textCache(backend) : new Map<string, string>();
  const textOf = (hex: string, address: number): string => {
    if (!backend) return `.byte ${hex}`;
    // The same instructions come back in difference after difference (a moved struct
    // field is read alike in hundreds of functions): their text by their hex, where it
    // does not depend on the address, without decoding the hex again.
    const known = textsByHex.get(hex);
    if (known !== undefined && known !== BY_ADDRESS) return known;
    const bytes = Buffer.from(hex, 'hex');
    const text = backend.instructionText(bytes, 0, bytes.length, address);
    if (known === undefined) {
      if (textsByHex.size >= MAX_TEXTS) textsByHex.clear();
      textsByHex.set(hex, backend.textDependsOnAddress(bytes, 0, bytes.length) ? BY_ADDRESS : text);
    }
    return text;
  };
  const fill = (differences: DifferenceJson[]) => {
    for (const d of differences) {
      for (const side of [d.original, d.patched]) {
        const encoded = side?.encoded;
        if (!side || !encoded) continue;
        const text = textOf(encoded.bytes, encoded.address) + encoded.suffix;
        if (encoded.into === 'value') side.value = text;
        else side.instruction = text;
        delete side.encoded;
      }
    }
  };
  for (const f of report.functions) fill(f.differences);
  for (const l of report.line_shifts) fill(l.differences);
}

/** Texts by instruction bytes (hex), per backend and thread, across reports; BY_ADDRESS where the text depends on the address. */
const textCaches = new Map<ArchBackend, Map<string, string>>();
function textCache(backend: ArchBackend): Map<string, string> {
  let cache = textCaches.get(backend);
  if (!cache) textCaches.set(backend, (cache = new Map()));
  return cache;
}
const BY_ADDRESS = '\0by address';
const MAX_TEXTS = 200_000;
