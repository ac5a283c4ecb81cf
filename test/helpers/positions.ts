import type { TreeReport } from '../../src/report/types.js';

/** `.old_sympos` by object and name, as testdata/compiledb/linked/expected.json gives them (0: none). */
export type Positions = Record<string, Record<string, number>>;

/**
 * Each object's running-kernel names (changed functions' `original`, the enable set) with
 * their positions, from the per-object reports; objects keyed by `keyOf(path)`.
 */
export function positionsOf(r: TreeReport, keyOf: (path: string) => string = (path) => path): Positions {
  const out: Positions = {};
  for (const object of r.objects) {
    const names: Record<string, number> = {};
    for (const f of object.functions) if (f.original) names[f.original.symbol] = f.original.sympos ?? 0;
    for (const e of object.stack_only.enable) names[e.name] = e.sympos ?? 0;
    if (Object.keys(names).length) out[keyOf(object.path)] = names;
  }
  return out;
}
