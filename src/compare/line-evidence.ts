import type { FunctionInfo, Location, ObjectModel } from '../model/types.js';
import type { FunctionNamer, ReferenceCanon } from './canon.js';
import type { LineShift } from './code.js';

/**
 * What the original code says about a constant that moved like a line number: the
 * arguments of the call that receives it (a format that prints it as a line, a function's
 * name beside it). Read from the original build only: the evidence is about what the
 * value means, which the patch did not change.
 */
export class LineArgumentEvidence {
  constructor(
    private readonly model: ObjectModel,
    private readonly canon: ReferenceCanon,
    private readonly nameFunction: FunctionNamer,
  ) {}

  /**
   * Whether the call that receives `line` also receives a format string that prints that
   * argument as a line number (`"%s: line=%d\n"`): the program's own words for the value.
   */
  formatNamesLine(fn: FunctionInfo, line: LineShift): boolean {
    if (line.callOffset < 0 || line.argument < 0) return false;
    const model = this.model;
    const bytes = model.object.sectionData(fn.section).subarray(fn.offset, fn.offset + fn.size);
    const loads = model.backend.addressArguments(bytes, line.callOffset);
    const stringArgument = (argument: number) => {
      const at = loads.get(argument);
      return at === undefined ? undefined : this.stringLoadedAt(fn, at);
    };
    for (let format = line.argument - 1; format >= 0; format--) {
      const text = stringArgument(format);
      if (text === undefined || !text.includes('%')) continue;
      return conversionNamesLine(text, line.argument - format - 1, (k) => stringArgument(format + 1 + k));
    }
    return false;
  }

  /**
   * Whether an argument next to `line` is a function's name (`__func__`, a `__func__.N`
   * array): the kernel's `f(..., __func__, __LINE__)` and
   * `pr_info("[%d:%s] ", __LINE__, __func__)` idioms, which hold whatever the callee is (a
   * compiler clone such as `_dec_unacked.part.0`, or a driver's own helper).
   */
  functionNameBesideLine(fn: FunctionInfo, line: LineShift): boolean {
    if (line.callOffset < 0 || line.argument < 0 || line.argument > 5) return false;
    const model = this.model;
    const bytes = model.object.sectionData(fn.section).subarray(fn.offset, fn.offset + fn.size);
    const loads = model.backend.addressArguments(bytes, line.callOffset);
    for (const neighbour of [line.argument - 1, line.argument + 1]) {
      const at = loads.get(neighbour);
      if (at !== undefined && this.functionNameLoadedAt(fn, at)) return true;
    }
    return false;
  }

  private functionNameLoadedAt(fn: FunctionInfo, at: number): boolean {
    // GCC names each function's `__func__` array `__func__.N` (an inlined function's is its
    // own). Only the symbol counts: a literal that merely spells a function's name, as in
    // `report(7, "real_constant_fn")`, says nothing about the number beside it.
    const location = this.locationLoadedAt(fn, at);
    return location?.kind === 'section' && location.symbol !== undefined && location.symbolOffset === 0 && /^__func__(?:\.\d+)?$/.test(location.symbol.name);
  }

  /** Where the address that the instruction at `offset` of `fn` loads points. */
  private locationLoadedAt(fn: FunctionInfo, offset: number): Location | undefined {
    const code = fn.code;
    for (let i = fn.firstReference; i < fn.endReference; i++) if (code.insnOffset[i] - fn.offset === offset) return fn.target(i);
    return undefined;
  }

  /** The string literal whose address the instruction at `offset` of `fn` loads. */
  private stringLoadedAt(fn: FunctionInfo, offset: number): string | undefined {
    const code = fn.code;
    for (let i = fn.firstReference; i < fn.endReference; i++) {
      if (code.insnOffset[i] - fn.offset !== offset) continue;
      const location = fn.target(i);
      const c = this.canon.canonical(location, this.nameFunction);
      if (c.kind === 'string') return c.text.slice(2);
      // `__func__` and other named character arrays: the text up to the first NUL.
      if (location.kind !== 'section') return undefined;
      const data = this.model.object.sectionData(location.section);
      let end = location.offset;
      while (end < data.length && end - location.offset < 256 && data[end] >= 0x20 && data[end] < 0x7f) end++;
      return end < data.length && data[end] === 0 ? Buffer.from(data.subarray(location.offset, end)).toString('latin1') : undefined;
    }
    return undefined;
  }
}

/**
 * Whether the printf conversion that consumes argument `n` (0-based, after the format) is
 * an integer conversion that the format presents as a line number: the text right before it
 * names a line (`line %d`, `line=%u`, `Line: %d`), or it follows a `%s` that prints a C
 * identifier literal (`__func__`) or a source file name (`__FILE__`) with only a separator
 * between (`"%s:%d"`, `"%s():%d"`, `"%s %d"`): the kernel's idioms for where a message comes
 * from. `stringArgument(k)` is the string literal
 * passed as argument `k`, if one is. The kernel's `\001` log-level prefix and `%p`
 * extensions are read as printk reads them.
 */
function conversionNamesLine(format: string, n: number, stringArgument: (k: number) => string | undefined = () => undefined): boolean {
  let argument = 0;
  let textStart = 0;
  let previous: { conversion: string; argument: number } | undefined;
  for (let i = format.startsWith('\u0001') ? 2 : 0; i < format.length; i++) {
    if (format[i] !== '%') continue;
    if (format[i + 1] === '%') {
      i++;
      continue;
    }
    const text = format.slice(textStart, i);
    const spec = /^%[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?(hh|h|ll|l|z|t|j|L)?([a-zA-Z])/.exec(format.slice(i));
    if (!spec) return false;
    if (spec[1] === '*') argument++;
    if (spec[2] === '*') argument++;
    if (argument > n) return false;
    if (argument === n) {
      if (!/[diuxX]/.test(spec[4])) return false;
      if (/\bline(no)?\s*[:=#]?\s*$/i.test(text)) return true;
      if (previous?.conversion !== 's' || !/^(\(\))?[\s:@#]+$/.test(text)) return false;
      const name = stringArgument(previous.argument) ?? '';
      return /^[A-Za-z_]\w*$/.test(name) || /^[\w./+-]+\.[ch]$/.test(name);
    }
    previous = { conversion: spec[4], argument };
    argument++;
    i += spec[0].length - 1;
    textStart = i + 1;
    if (spec[4] === 'p') while (/[a-zA-Z]/.test(format[textStart] ?? '')) textStart++;
  }
  return false;
}
