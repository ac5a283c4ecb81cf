import { moduleOfCommand } from './compile/compiledb/command-words.js';
import { compileSource, compilerSettings } from './compile/gcc.js';
import { inputKind, preparePair, type CompileOptions, type PairRequest } from './compile/inputs.js';
import { withTempDir } from './compile/tempdir.js';
import { openObject } from './elf/open.js';
import { UsageError } from './errors.js';
import { buildModel } from './model/build.js';
import type { ObjectModel } from './model/types.js';
import { compareElfObjects, type CompareResult, type PipelineOptions } from './pipeline.js';
import { moduleName } from './elf/modinfo.js';
import { buildInspectReport, nameTreeObjects, withObjectName } from './report/build.js';
import { VMLINUX, type InspectReport, type TreeReport } from './report/types.js';
import { basename, dirname, join, resolve } from 'node:path';

/** Reads and models one object file. */
export function modelObject(path: string): ObjectModel {
  return buildModel(openObject(path));
}

export type { CompareResult };
export { placeInLinkedObjects, type LinkedPositionsRequest } from './compile/compiledb/linked-positions.js';

/** How objects that are not kernel modules are named as klp_objects. */
export interface ObjectNaming {
  /** The klp_object name of an object that is not a kernel module (default `vmlinux`). */
  objectName?: string;
}

/**
 * Compares two objects already on disk. The report names their klp_object: a kernel
 * module by its `.modinfo` `name=`, anything else `options.objectName` or vmlinux.
 */
export function compareObjects(original: string, patched: string, labels = { original, patched }, options: PipelineOptions & ObjectNaming = {}): CompareResult {
  const a = openObject(original, { skipSymbols: true });
  const b = openObject(patched, { skipSymbols: true });
  const names = [moduleName(a), moduleName(b)];
  const result = compareElfObjects(a, b, labels, options);
  const fileName = [original, patched].find((f) => MODULE_FILE.test(f));
  let report = withObjectName(result.report, names[0] ?? names[1] ?? (fileName ? moduleFileName(fileName) : undefined) ?? options.objectName ?? VMLINUX);
  if (names[0] && names[1] && names[0] !== names[1]) {
    report = { ...report, warnings: [...report.warnings, `the two objects are different kernel modules (${names[0]}, ${names[1]}): the klp_object is named ${names[0]}`] };
  }
  return { ...result, report };
}

/** The main job: sources (compiled), a source and a patch, or two objects. */
export async function compare(request: PairRequest & PipelineOptions & ObjectNaming): Promise<CompareResult> {
  const pair = await preparePair(request);
  try {
    const patches = request.patch === undefined ? [] : [request.patch].flat();
    const labels = { original: request.original, patched: request.patched ?? `${request.original} + ${patches.join(' + ')}` };
    // A source compiled as kbuild compiles a module's (-DMODULE -DKBUILD_MODNAME=...) names it.
    let objectName = request.objectName;
    if (inputKind(request.original) === 'source') {
      const flags = moduleOfCommand(compilerSettings(request).cflags);
      if (flags.module && flags.modname) objectName = flags.modname;
    }
    const result = compareObjects(pair.original, pair.patched, labels, { stamps: request.stamps, linesPinned: pair.linesPinned, objectName });
    if (!pair.warnings?.length) return result;
    return { ...result, report: { ...result.report, warnings: [...pair.warnings, ...result.report.warnings] } };
  } finally {
    pair.dispose();
  }
}

/**
 * Names every object of a tree report by its klp_object (design.md §7: never null): a
 * kernel module by its `.modinfo` `name=` (as tree mode found it; read here for pairs it did
 * not read, or from the file name as kbuild makes it), a unit of a compilation database by
 * its command (`names`, by relative path), anything else `objectName` or vmlinux.
 */
export function nameTreeReport(report: TreeReport, options: ObjectNaming & { originalDir?: string; names?: ReadonlyMap<string, string> } = {}): TreeReport {
  return nameTreeObjects(report, (object) => {
    if (object.object_name) return object.object_name;
    const named = options.names?.get(object.path);
    if (named) return named;
    if (MODULE_FILE.test(object.path)) {
      if (options.originalDir !== undefined) {
        try {
          const name = moduleName(openObject(join(options.originalDir, object.path), { skipSymbols: true }));
          if (name) return name;
        } catch {
          // the file name, below
        }
      }
      return moduleFileName(object.path);
    }
    return options.objectName ?? VMLINUX;
  });
}

/** A kernel module's file name (compressed ones too). */
const MODULE_FILE = /\.ko(?:\.(?:xz|zst|gz))?$/;

/** The name kbuild gives a module file's module (KBUILD_MODNAME): its base name, - and , as _. */
function moduleFileName(path: string): string {
  return basename(path).replace(MODULE_FILE, '').replace(/[-,]/g, '_');
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
