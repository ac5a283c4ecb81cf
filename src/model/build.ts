import type { ReferenceTarget } from '../arch/backend.js';
import { backendFor } from '../arch/index.js';
import type { ElfObject } from '../elf/types.js';
import { decodeSections, warnUndecodable } from './decode.js';
import type { FunctionRecord } from './function-record.js';
import { Locator } from './locator.js';
import { findParts } from './parts.js';
import { assignSymbolPositions, collectFunctions, functionsByName, groupBySection } from './symbols.js';
import { codeAddressTransfers, jumpTableTransfers, jumpsBetweenFunctions, staticBranchTransfers } from './transfers.js';
import type { ObjectModel } from './types.js';

export interface ModelOptions {
  /**
   * Another build of the same object, already modelled (the original, when this is the
   * patched one): ranges of code whose bytes are the same in both are not decoded again.
   */
  twin?: ObjectModel;
}

/**
 * Reads an object's functions, their references, parts and edges: the function table
 * (symbols.ts), the code of every executable section as the object's backend decodes it
 * (decode.ts, twin.ts), where references land (locator.ts), the transfers between
 * functions (transfers.ts), the parts they show (parts.ts); each function's edges are
 * derived when first asked for (function-record.ts, edges.ts).
 *
 * Each step is a function or method of its own: V8 compiles hot code again for every
 * worker thread, and one large function with its closures took it 100 to 400 ms per
 * compile (measured with --trace-opt over a kernel tree), several times per thread.
 */
export function buildModel(object: ElfObject, options: ModelOptions = {}): ObjectModel {
  const backend = backendFor(object);
  const warnings: string[] = [];
  const functions = collectFunctions(object);
  const byName = functionsByName(functions);
  assignSymbolPositions(object, functions);
  const functionsBySection = groupBySection(functions);
  const locator = new Locator(object, functionsBySection);
  const code = decodeSections(object, backend, functionsBySection, locator, options.twin);
  warnUndecodable(object, functions, warnings);

  // Jumps between functions are evidence for parts, so they are found now; the other edges
  // are made when someone asks (tree mode only asks for the changed functions' edges).
  const jumps = jumpsBetweenFunctions(functions, locator);
  const locate = (section: number, offset: number) => locator.locate(section, offset);
  const resolve = (target: ReferenceTarget) => locator.resolve(target);
  // Code addresses a function takes (label addresses of computed gotos, in its code or in a
  // table it uses) enter the code they point at as a jump would: evidence for parts too.
  const addresses = codeAddressTransfers(object, functions, locator);
  for (const transfers of [jumpTableTransfers(object, functions, locate, backend, addresses), staticBranchTransfers(object, backend.specialSections, resolve)]) {
    for (const t of transfers) {
      jumps.push(t);
      (t.from as FunctionRecord).addJumpOut(t);
    }
  }

  findParts({ functions, byName, raw: addresses.length > 0 ? [...jumps, ...addresses] : jumps, warnings, object });

  return { object, backend, functions, byName, code, warnings, resolve, functionAt: (section, offset) => locator.functionAt(section, offset) };
}
