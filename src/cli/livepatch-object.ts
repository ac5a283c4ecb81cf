import { statSync } from 'node:fs';
import { readLivepatchNames, withLivepatchNames } from '../derive/livepatch-names.js';
import { UsageError } from '../errors.js';
import type { CompareReport } from '../report/types.js';

interface LivepatchObjectOptions {
  format: string;
  newPrefix?: string;
  livepatchObject?: string;
  klpModule?: boolean;
  atomicReplace?: boolean;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The options that shape a livepatch module's C output, where they do not go. */
export function checkLivepatchOptions(opts: LivepatchObjectOptions, original: string | undefined, sourceDir: boolean): void {
  // A plain stat: the input may be a FIFO, read once, later.
  const treeMode = sourceDir || (original !== undefined && isDirectory(original));
  for (const [given, name] of [
    [opts.livepatchObject !== undefined, '--livepatch-object'],
    [opts.klpModule, '--klp-module'],
    [opts.atomicReplace, '--atomic-replace'],
  ] as const) {
    if (!given) continue;
    if (opts.format !== 'c') throw new UsageError(`${name} goes with --format c`);
    if (name === '--livepatch-object' && treeMode) throw new UsageError('--livepatch-object compares one object pair: it does not go with tree mode or --source-dir');
  }
  if (opts.atomicReplace && !opts.klpModule) throw new UsageError('--atomic-replace goes with --klp-module');
}

/**
 * With `--livepatch-object`: the report renamed after the built livepatch module (its
 * copies and its own disable set, see deriveLivepatchNames), the prefix to render it with
 * (none: the names are final), and the warnings to show (one line each).
 */
export function applyLivepatchObject(report: CompareReport, opts: LivepatchObjectOptions): { report: CompareReport; newPrefix?: string; warnings: string[] } {
  if (opts.livepatchObject === undefined) return { report, newPrefix: opts.newPrefix, warnings: [] };
  const names = readLivepatchNames(report, opts.livepatchObject, opts.newPrefix);
  return { report: withLivepatchNames(report, names), newPrefix: undefined, warnings: names.warnings };
}
