import { backendFor } from '../arch/index.js';
import { decompressed } from '../elf/compressed.js';
import { ObjectFileReader, objectFromBytes } from '../elf/open.js';
import { parseElf } from '../elf/reader.js';
import { moduleName as moduleNameOf } from '../elf/modinfo.js';
import { InputError } from '../errors.js';
import { compareElfObjects } from '../pipeline.js';
import { familyListings, type FamilyListing } from '../report/listings.js';
import type { CompareReport } from '../report/types.js';
import type { BuildStamp } from '../compare/code.js';

export interface ObjectPairRequest {
  path: string;
  original: string;
  patched: string;
  /** Build stamps to compare string literals under, besides each module's kernel release. */
  stamps?: BuildStamp[];
  /** Both objects were compiled by this tool, the patched one with `#line` directives. */
  linesPinned?: boolean;
  /** Also list the changed families' code whole (for the HTML report of a small tree). */
  listings?: boolean;
}

export interface ObjectPairResult {
  path: string;
  /**
   * identical: the same bytes; unchanged: no function changed; build_noise: functions differ
   * only by build stamps; changed: see report.
   */
  status: 'identical' | 'unchanged' | 'changed' | 'build_noise' | 'error';
  /** The kernel module's name from .modinfo (`name=`), for a .ko. */
  moduleName?: string;
  report?: CompareReport;
  /** The backend's name (as `uname -m` spells it) of an identical pair, which has no report to say it. */
  arch?: string;
  /** With `listings` asked for: the changed families' code, by family name. */
  listings?: Record<string, FamilyListing>;
  error?: string;
}

// One reader per side, each reusing its buffer from pair to pair: nothing of a pair's
// comparison keeps a view of them once it returns.
const originalReader = new ObjectFileReader(true);
const patchedReader = new ObjectFileReader(true);

/** An object is changed when a function is; build noise alone leaves it without a klp_object. */
function objectStatus(report: CompareReport): 'unchanged' | 'changed' | 'build_noise' {
  if (report.functions.some((f) => f.status !== 'build_noise')) return 'changed';
  return report.functions.length > 0 ? 'build_noise' : 'unchanged';
}

/** Compares one pair of a tree; runs in a worker thread, so it returns data, never throws for bad input. */
export function compareObjectPair(request: ObjectPairRequest): ObjectPairResult {
  try {
    let a = originalReader.read(request.original);
    let b = patchedReader.read(request.patched);
    // The same bytes need no backend to be the same: an identical pair is never an error
    // (a kernel build tree holds i386 vDSO objects). Its architecture, where there is a
    // backend for it, names the tree's when no pair was compared.
    if (a.equals(b)) return { path: request.path, status: 'identical', ...archOf(a, request.original) };
    // Compressed modules (either side, or both: foo.ko against foo.ko.xz) are compared as
    // what they decompress to.
    a = decompressed(a, request.original);
    b = decompressed(b, request.patched);
    if (a.equals(b)) return { path: request.path, status: 'identical', ...archOf(a, request.original) };
    const original = parseElf(a, request.original, { skipSymbols: true });
    // Most pairs differ only inside sections: the patched side takes the original's section table over.
    const patched = parseElf(b, request.patched, { skipSymbols: true, twin: original });
    const moduleName = request.path.endsWith('.ko') ? moduleNameOf(original) : undefined;
    const { report, comparison } = compareElfObjects(original, patched, { original: request.original, patched: request.patched }, { stamps: request.stamps, linesPinned: request.linesPinned, deferAssemblerText: true });
    const status = objectStatus(report);
    const listings = request.listings && comparison && report.functions.length > 0 ? familyListings(comparison) : undefined;
    return { path: request.path, status, moduleName, report, ...(listings ? { listings } : {}) };
  } catch (err) {
    if (err instanceof InputError) return { path: request.path, status: 'error', error: err.message };
    return { path: request.path, status: 'error', error: `${request.path}: internal error: ${(err as Error).message}` };
  }
}

function archOf(bytes: Buffer, path: string): { arch?: string } {
  try {
    return { arch: backendFor(objectFromBytes(bytes, path, { skipSymbols: true })).name };
  } catch {
    return {};
  }
}
