import { lineTable } from '../elf/dwarf-lines.js';
import type { FunctionInfo, ObjectModel } from '../model/types.js';
import type { LineShift } from './code.js';

/**
 * Whether the objects' own line tables say that a differing constant is the source line of
 * the code that uses it: on each side, the line of the instruction that loads it (or of the
 * call that receives it) is that side's value. `__LINE__` is the line it is written on, so
 * a constant that moved exactly with its own line in both builds is a line number; a real
 * constant that happens to move by the same amount is not the line of its own code.
 */
export function dwarfNamesLine(o: FunctionInfo, p: FunctionInfo, line: LineShift, original: ObjectModel, patched: ObjectModel): boolean {
  if (line.table) return false;
  const before = lineTable(original.object);
  const after = lineTable(patched.object);
  if (!before || !after) return false;
  for (const offset of [line.offset, line.callOffset]) {
    if (offset < 0 || offset >= o.size || offset >= p.size) continue;
    if (before.lineAt(o.section, o.offset + offset) === line.original && after.lineAt(p.section, p.offset + offset) === line.original + line.shift) return true;
  }
  return false;
}
