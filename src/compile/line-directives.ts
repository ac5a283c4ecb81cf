import { diffArrays } from 'diff';

/*
 * `#line` directives that give the patched build the original line numbers.
 *
 * A patch that adds or removes lines moves every later `__LINE__` (and the line fields of
 * the kernel's `__bug_table`), so functions the patch did not touch would differ in their
 * line numbers only. Where stackonly compiles the patched side itself, it compiles a copy
 * of each patched file with a `#line N` directive after each changed region, N being the
 * original line number of the line that follows: every line outside the changed regions
 * then keeps its original number, and what still differs is a real change. The kernel's
 * klp-build does the same in its "fix-patch-lines" step.
 *
 * `#line N` names no file, so the presumed file name stays whatever the compile makes it
 * (the compile's -ffile-prefix-map keeps `__FILE__` and the STT_FILE symbol those of the
 * original build).
 *
 * A directive is only inserted where it is a directive and means what it says: at the
 * start of a line that does not continue an earlier one (no backslash-newline before it),
 * outside comments and string literals (raw strings included: gcc knows them in the GNU C
 * dialects), and outside parentheses (a directive inside a macro invocation's arguments is
 * not portable, and an error with -pedantic-errors). Where the natural position is not
 * safe, the directive moves down to the first safe position before an unchanged line. A
 * directive in a conditional group that the build skips has no effect, so after one that
 * may be skipped (inside `#if`), one more follows each later `#elif`/`#else`/`#endif`,
 * until one is placed outside every conditional. A file that already has line directives
 * or linemarkers (generated code, preprocessed `.i` files), that holds a lone carriage
 * return, or that starts with a byte-order mark where a directive would go first, keeps
 * the patched text as it is. A missed directive only makes the comparison report more
 * differences, never fewer.
 */

interface SplitText {
  /** Line contents, without their terminators. */
  lines: string[];
  /** Each line's terminator: '\n', '\r\n', or '' for a last line with none. */
  ends: string[];
}

function splitLines(text: string): SplitText {
  const lines: string[] = [];
  const ends: string[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) {
      lines.push(text.slice(start));
      ends.push('');
      break;
    }
    const crlf = nl > start && text[nl - 1] === '\r';
    lines.push(text.slice(start, crlf ? nl - 1 : nl));
    ends.push(crlf ? '\r\n' : '\n');
    start = nl + 1;
  }
  return { lines, ends };
}

/** A `#line` directive or a GNU linemarker (`# 12 "file"`) at the start of a line. */
const LINE_DIRECTIVE = /^[ \t\f\v]*#[ \t\f\v]*(?:line\b|[0-9])/m;

/**
 * For each line of `patched`, its line number (1-based) in `original` when the line is
 * unchanged, or 0 when the patch added it; undefined when the diff gives up.
 */
function originalNumbers(original: string[], patched: string[]): number[] | undefined {
  const numbers = new Array<number>(patched.length).fill(0);
  let head = 0;
  while (head < original.length && head < patched.length && original[head] === patched[head]) {
    numbers[head] = head + 1;
    head++;
  }
  let tail = 0;
  while (tail < original.length - head && tail < patched.length - head && original[original.length - 1 - tail] === patched[patched.length - 1 - tail]) {
    numbers[patched.length - 1 - tail] = original.length - tail;
    tail++;
  }
  const oldMiddle = original.slice(head, original.length - tail);
  const newMiddle = patched.slice(head, patched.length - tail);
  if (oldMiddle.length === 0 || newMiddle.length === 0) return numbers;
  // Bounded, so that a patch rewriting a large file costs little: past the bound, no directives.
  const changes = diffArrays(oldMiddle, newMiddle, { maxEditLength: 2000 });
  if (!changes) return undefined;
  let o = head;
  let p = head;
  for (const change of changes) {
    const count = change.count ?? change.value.length;
    if (change.added) p += count;
    else if (change.removed) o += count;
    else {
      for (let k = 0; k < count; k++) numbers[p + k] = o + k + 1;
      o += count;
      p += count;
    }
  }
  return numbers;
}

/** What the lexer knows about each line of the patched text. */
interface LineFacts {
  /** A directive placed right after this line is at the start of a fresh line, outside comments, strings and parentheses. */
  safeAfter: boolean[];
  /** This line is an `#elif`/`#else`/`#endif` (and the like): a group a build may skip ends here. */
  groupEnd: boolean[];
  /** How many conditional groups are open after this line. */
  condDepth: number[];
}

type Mode = { kind: 'code' } | { kind: 'block-comment' } | { kind: 'line-comment' } | { kind: 'quote'; quote: '"' | "'" } | { kind: 'raw'; close: string };

const IDENT = /[A-Za-z0-9_$]/;
const RAW_PREFIXES = new Set(['R', 'LR', 'uR', 'UR', 'u8R']);
const CONDITIONAL_OPEN = new Set(['if', 'ifdef', 'ifndef']);
const CONDITIONAL_NEXT = new Set(['elif', 'else', 'elifdef', 'elifndef']);

interface Conditional {
  /** Parenthesis depth where the group began: each branch starts from it. */
  entryDepth: number;
  /** The deepest parenthesis depth a finished branch ended at. */
  endDepth: number;
  /** The branch being read is `#if 0`: its text is not code. */
  dead: boolean;
}

/**
 * Lexes `text` (one logical line, splices removed) from `mode`: returns the mode at its
 * end; `onParen` sees each parenthesis outside comments and literals.
 */
function scan(text: string, start: Mode, onParen?: (c: '(' | ')') => void): Mode {
  let mode = start;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (mode.kind === 'block-comment') {
      const end = text.indexOf('*/', i);
      if (end < 0) return mode;
      mode = { kind: 'code' };
      i = end + 2;
      continue;
    }
    if (mode.kind === 'line-comment') return mode;
    if (mode.kind === 'quote') {
      if (c === '\\') i += 2;
      else {
        if (c === mode.quote) mode = { kind: 'code' };
        i++;
      }
      continue;
    }
    if (mode.kind === 'raw') {
      const close = mode.close;
      const end = text.indexOf(close, i);
      if (end < 0) return mode;
      mode = { kind: 'code' };
      i = end + close.length;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      mode = { kind: 'block-comment' };
      i += 2;
    } else if (c === '/' && text[i + 1] === '/') {
      return { kind: 'line-comment' };
    } else if (c === '"') {
      let from = i;
      while (from > 0 && IDENT.test(text[from - 1])) from--;
      const open = RAW_PREFIXES.has(text.slice(from, i)) ? /^"([^\s()\\]{0,16})\(/.exec(text.slice(i)) : null;
      if (open) {
        mode = { kind: 'raw', close: `)${open[1]}"` };
        i += open[0].length;
      } else {
        mode = { kind: 'quote', quote: '"' };
        i++;
      }
    } else if (c === "'") {
      mode = { kind: 'quote', quote: "'" };
      i++;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      if (i > 0 && IDENT.test(text[i - 1])) {
        i++;
        continue;
      }
      // A preprocessing number, C23 digit separators included (1'000'000).
      i++;
      while (i < text.length) {
        if (/[eEpP]/.test(text[i]) && /[+-]/.test(text[i + 1] ?? '')) i += 2;
        else if (/[A-Za-z0-9_.]/.test(text[i])) i++;
        else if (text[i] === "'" && /[A-Za-z0-9_]/.test(text[i + 1] ?? '')) i += 2;
        else break;
      }
    } else {
      if (c === '(' || c === ')') onParen?.(c);
      i++;
    }
  }
  return mode;
}

/** A backslash-newline (gcc also takes whitespace between them, with a warning; and the trigraph ??/ where trigraphs are on). */
const SPLICE = /(?:\\|\?\?\/)[ \t\f\v]*$/;

/** A small C lexer: only as much as deciding where a directive may go needs. */
function lexLines(lines: string[]): LineFacts {
  const safeAfter: boolean[] = [];
  const groupEnd: boolean[] = [];
  const condDepth: number[] = [];
  let mode: Mode = { kind: 'code' };
  let parens = 0;
  const conditionals: Conditional[] = [];

  for (let first = 0; first < lines.length; ) {
    // One logical line: physical lines joined where they end in a splice, unless the
    // backslash is inside a raw string (gcc reverts splices there).
    let logical = '';
    let last = first;
    for (;;) {
      const line = lines[last];
      const splice = SPLICE.exec(line);
      if (!splice || last + 1 >= lines.length || scan(logical + line, mode).kind === 'raw') {
        logical += line;
        break;
      }
      logical += line.slice(0, splice.index);
      last++;
    }

    let isGroupEnd = false;
    let inDirective = false;
    if (mode.kind === 'code') {
      const directive = /^[ \t\f\v]*#[ \t\f\v]*([A-Za-z_]\w*)?/.exec(logical);
      inDirective = directive !== null;
      const name = directive?.[1] ?? '';
      if (CONDITIONAL_OPEN.has(name)) {
        const outerDead = conditionals[conditionals.length - 1]?.dead ?? false;
        const ifZero = /^[ \t\f\v]*#[ \t\f\v]*if[ \t\f\v]+0[ \t\f\v]*(?:\/[*/].*)?$/.test(logical);
        conditionals.push({ entryDepth: parens, endDepth: parens, dead: outerDead || ifZero });
      } else if (CONDITIONAL_NEXT.has(name)) {
        isGroupEnd = true;
        const top = conditionals[conditionals.length - 1];
        if (top) {
          top.endDepth = Math.max(top.endDepth, parens);
          parens = top.entryDepth;
          top.dead = conditionals[conditionals.length - 2]?.dead ?? false;
        }
      } else if (name === 'endif') {
        isGroupEnd = true;
        const top = conditionals.pop();
        if (top) parens = Math.max(top.endDepth, parens);
      }
    }
    const counting = !inDirective && !(conditionals[conditionals.length - 1]?.dead ?? false);
    mode = scan(logical, mode, (c) => {
      if (!counting) return;
      parens = c === '(' ? parens + 1 : Math.max(0, parens - 1);
    });
    // The end of a line ends a line comment and an unterminated quote (gcc warns and goes
    // on); a block comment or a raw string goes on.
    if (mode.kind === 'line-comment' || mode.kind === 'quote') mode = { kind: 'code' };
    for (let k = first; k <= last; k++) {
      safeAfter.push(k === last && mode.kind === 'code' && parens === 0);
      groupEnd.push(k === last && isGroupEnd);
      condDepth.push(conditionals.length);
    }
    first = last + 1;
  }
  return { safeAfter, groupEnd, condDepth };
}

/**
 * The patched text with a `#line N` directive after each changed region (see above), so
 * that every line the patch left alone keeps its line number in `original`. Returns
 * `patched` itself when no directive is needed or none can be placed safely.
 */
export function withLineDirectives(original: string, patched: string): string {
  if (original === patched) return patched;
  if (LINE_DIRECTIVE.test(original) || LINE_DIRECTIVE.test(patched)) return patched;
  // A lone carriage return is a line break to gcc but not here: leave such a file alone.
  if (/\r(?!\n)/.test(original) || /\r(?!\n)/.test(patched)) return patched;
  const old = splitLines(original);
  const neu = splitLines(patched);
  const numbers = originalNumbers(old.lines, neu.lines);
  if (!numbers) return patched;
  // No line the patch left alone moved (it changed lines in place, or added or removed them
  // only at the end): the loop below would place no directive, and lexing the file (20 ms
  // for a 6,000-line kernel unit) is on the way to the patched compile.
  if (numbers.every((number, j) => number === 0 || number === j + 1)) return patched;
  const facts = lexLines(neu.lines);
  const startsWithBom = patched.startsWith('\uFEFF') || patched.startsWith('\xEF\xBB\xBF');

  const out: string[] = [];
  /** A directive is owed before the next unchanged line. */
  let owed = false;
  /** The last directive placed may be in a conditional group a build skips. */
  let fragile = false;
  /** Where the last directive was placed (before patched line `anchor`) and the number it gave. */
  let anchor = 0;
  let anchorNumber = 1;
  let previous = 0;
  for (let j = 0; j < neu.lines.length; j++) {
    const number = numbers[j];
    if (number === 0) {
      owed = true;
    } else {
      if (number !== previous + 1) owed = true; // lines removed before this one
      if (j > 0 && fragile && facts.groupEnd[j - 1]) owed = true;
      const safe = j === 0 ? !startsWithBom : facts.safeAfter[j - 1];
      if (owed && safe) {
        // A region that adds as many lines as it removes moves nothing: no directive, unless
        // the last one may have been skipped.
        if (fragile || number !== anchorNumber + (j - anchor)) {
          const eol = j > 0 ? neu.ends[j - 1] : neu.ends[0] || '\n';
          out.push(`#line ${number}${eol}`);
          anchor = j;
          anchorNumber = number;
          fragile = j > 0 && facts.condDepth[j - 1] > 0;
        }
        owed = false;
      }
      previous = number;
    }
    out.push(neu.lines[j] + neu.ends[j]);
  }
  const result = out.join('');
  return result.length === patched.length ? patched : result;
}
