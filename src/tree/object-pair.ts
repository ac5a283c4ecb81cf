import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { compareModels } from '../compare/compare.js';
import { deriveStackOnly } from '../derive/stack-only.js';
import { describeFsError, parseElf } from '../elf/reader.js';
import type { ElfObject } from '../elf/types.js';
import { InputError } from '../errors.js';
import { buildModel } from '../model/build.js';
import { buildCompareReport } from '../report/build.js';
import type { CompareReport } from '../report/types.js';
import { sameCode, sameCodeQuick } from './unchanged.js';

export interface ObjectPairRequest {
  path: string;
  original: string;
  patched: string;
}

export interface ObjectPairResult {
  path: string;
  /** identical: the same bytes; unchanged: no function changed; changed: see report. */
  status: 'identical' | 'unchanged' | 'changed' | 'error';
  /** The kernel module's name from .modinfo (`name=`), for a .ko. */
  moduleName?: string;
  report?: CompareReport;
  error?: string;
}

/** `name=` from a module's .modinfo: the name klp_object needs. */
export function moduleNameOf(object: ElfObject): string | undefined {
  const modinfo = object.sections.find((s) => s.name === '.modinfo');
  if (!modinfo) return undefined;
  const text = Buffer.from(object.sectionData(modinfo.index)).toString('latin1');
  for (const entry of text.split('\0')) if (entry.startsWith('name=')) return entry.slice(5);
  return undefined;
}

/**
 * Reads files into buffers kept for the next pair: a tree has thousands of objects of up
 * to tens of megabytes, and fresh buffers for each cost page faults and collections.
 * Nothing of a pair's comparison may keep a view of them once it returns.
 */
class FileReader {
  private buffer = Buffer.allocUnsafe(1 << 20);

  read(path: string): Buffer {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'r');
      const size = fstatSync(fd).size;
      if (size > this.buffer.length) this.buffer = Buffer.allocUnsafe(Math.max(size, this.buffer.length * 2));
      let done = 0;
      while (done < size) {
        const n = readSync(fd, this.buffer, done, size - done, done);
        if (n === 0) break;
        done += n;
      }
      return this.buffer.subarray(0, done);
    } catch (err) {
      throw new InputError(path, describeFsError(err));
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

const originalReader = new FileReader();
const patchedReader = new FileReader();

/** Compares one pair of a tree; runs in a worker thread, so it returns data, never throws for bad input. */
export function compareObjectPair(request: ObjectPairRequest): ObjectPairResult {
  try {
    const a = originalReader.read(request.original);
    const b = patchedReader.read(request.patched);
    if (a.equals(b)) return { path: request.path, status: 'identical' };
    // Most pairs of a rebuilt tree differ only in build noise: prove that from the section
    // table and the symbol table's bytes before making an object of every symbol.
    const quickOriginal = parseElf(a, request.original, { skipSymbols: true });
    const quickPatched = parseElf(b, request.patched, { skipSymbols: true });
    const moduleName = request.path.endsWith('.ko') ? moduleNameOf(quickOriginal) : undefined;
    if (sameCodeQuick(quickOriginal, quickPatched)) return { path: request.path, status: 'unchanged', moduleName };
    const original = quickOriginal.withSymbols!();
    const patched = quickPatched.withSymbols!();
    if (sameCode(original, patched)) return { path: request.path, status: 'unchanged', moduleName };
    const originalModel = buildModel(original);
    const comparison = compareModels(originalModel, buildModel(patched, { twin: originalModel }));
    const sets = deriveStackOnly(comparison);
    const report = buildCompareReport(comparison, sets, { original: request.original, patched: request.patched });
    const status = report.functions.length > 0 ? 'changed' : 'unchanged';
    return { path: request.path, status, moduleName, report };
  } catch (err) {
    if (err instanceof InputError) return { path: request.path, status: 'error', error: err.message };
    return { path: request.path, status: 'error', error: `${request.path}: internal error: ${(err as Error).message}` };
  }
}
