import { compileSource, compilerSettings } from './compile/gcc.js';
import { inputKind, preparePair, type CompileOptions, type PairRequest } from './compile/inputs.js';
import { withTempDir } from './compile/tempdir.js';
import { readElfFile } from './elf/reader.js';
import { UsageError } from './errors.js';
import { buildModel } from './model/build.js';
import type { ObjectModel } from './model/types.js';
import { compareElfObjects, type CompareResult, type PipelineOptions } from './pipeline.js';
import { buildInspectReport } from './report/build.js';
import type { InspectReport } from './report/types.js';
import { basename, dirname, join, resolve } from 'node:path';

/** Reads and models one object file. */
export function modelObject(path: string): ObjectModel {
  return buildModel(readElfFile(path));
}

export type { CompareResult };

/** Compares two objects already on disk. */
export function compareObjects(original: string, patched: string, labels = { original, patched }, options: PipelineOptions = {}): CompareResult {
  return compareElfObjects(readElfFile(original, { skipSymbols: true }), readElfFile(patched, { skipSymbols: true }), labels, options);
}

/** The main job: sources (compiled), a source and a patch, or two objects. */
export async function compare(request: PairRequest & PipelineOptions): Promise<CompareResult> {
  const pair = await preparePair(request);
  try {
    const labels = { original: request.original, patched: request.patched ?? `${request.original} + ${request.patch}` };
    return compareObjects(pair.original, pair.patched, labels, { stamps: request.stamps });
  } finally {
    pair.dispose();
  }
}

export interface InspectResult {
  model: ObjectModel;
  report: InspectReport;
}

/** One object's model; a C source is compiled first. */
export async function inspect(path: string, options: CompileOptions = {}): Promise<InspectResult> {
  const kind = inputKind(path);
  if (kind === 'directory') throw new UsageError(`${path}: inspect takes one object or C source, not a directory`);
  if (kind === 'object') {
    const model = modelObject(path);
    return { model, report: buildInspectReport(model, path) };
  }
  return withTempDir('inspect', async (dir) => {
    const output = join(dir, basename(path).replace(/\.[^.]*$/, '') + '.o');
    await compileSource(compilerSettings(options), {
      source: path,
      directory: dirname(resolve(path)),
      logicalName: basename(path),
      output,
      side: 'given',
      scratch: join(dir, 'scratch'),
      signal: options.signal,
    });
    const model = modelObject(output);
    return { model, report: buildInspectReport(model, path) };
  });
}
