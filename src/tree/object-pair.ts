import { readFileSync } from 'node:fs';
import { compareModels } from '../compare/compare.js';
import { deriveStackOnly } from '../derive/stack-only.js';
import { parseElf } from '../elf/reader.js';
import type { ElfObject } from '../elf/types.js';
import { InputError } from '../errors.js';
import { buildModel } from '../model/build.js';
import { buildCompareReport } from '../report/build.js';
import type { CompareReport } from '../report/types.js';
import { sameCode } from './unchanged.js';

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

function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new InputError(path, (err as Error).message);
  }
}

/** Compares one pair of a tree; runs in a worker thread, so it returns data, never throws for bad input. */
export function compareObjectPair(request: ObjectPairRequest): ObjectPairResult {
  try {
    const a = readBytes(request.original);
    const b = readBytes(request.patched);
    if (a.equals(b)) return { path: request.path, status: 'identical' };
    const original = parseElf(a, request.original);
    const patched = parseElf(b, request.patched);
    const moduleName = request.path.endsWith('.ko') ? moduleNameOf(original) : undefined;
    if (sameCode(original, patched)) return { path: request.path, status: 'unchanged', moduleName };
    const comparison = compareModels(buildModel(original), buildModel(patched));
    const sets = deriveStackOnly(comparison);
    const report = buildCompareReport(comparison, sets, { original: request.original, patched: request.patched });
    const status = report.functions.length > 0 ? 'changed' : 'unchanged';
    return { path: request.path, status, moduleName, report };
  } catch (err) {
    if (err instanceof InputError) return { path: request.path, status: 'error', error: err.message };
    return { path: request.path, status: 'error', error: `${request.path}: internal error: ${(err as Error).message}` };
  }
}
