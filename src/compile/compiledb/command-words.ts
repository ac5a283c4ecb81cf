import { basename } from 'node:path';

/*
 * Reading the words of a database command after the compiler: which are the inputs, the
 * output, the dependency-file options, the paths the preprocessor reads and the prefix
 * maps. Both describing an entry (dependencies.ts) and rewriting its command (rewrite.ts)
 * work on these tokens, so that the two agree on what each word is.
 */

/** Wrappers whose next word is the real compiler. */
const WRAPPERS = new Set(['ccache', 'sccache', 'distcc', 'icecc', 'buildcache']);

/** Options whose value is the next word (when not joined), so it is not taken for an input. */
const SEPARATE = new Set([
  '-o', '-I', '-D', '-U', '-include', '-imacros', '-isystem', '-iquote', '-idirafter', '-iprefix',
  '-iwithprefix', '-iwithprefixbefore', '-isysroot', '-imultilib', '-x', '-MF', '-MT', '-MQ', '-MJ',
  '-Xpreprocessor', '-Xassembler', '-Xlinker', '-Xclang', '-aux-info', '--param', '-A', '-L', '-l',
  '-T', '-u', '-z', '-e', '-B', '-G', '-dumpbase', '-dumpdir', '-dumpbase-ext', '--sysroot', '-target',
  '-arch', '-include-pch', '-iframework', '-F',
]);

/** Options naming files or directories the preprocessor reads: moved into the shadow tree. */
const PATH_OPTIONS = ['-include', '-imacros', '-idirafter', '-iquote', '-isystem', '-I'];

/** Dependency-generation options without a value. */
const DEP_FLAGS = new Set(['-M', '-MM', '-MD', '-MMD', '-MP', '-MG']);
/** Dependency-generation options with a value (separate or joined). */
const DEP_VALUED = ['-MF', '-MT', '-MQ', '-MJ'];

const PREFIX_MAP = /^(-f(?:file|macro|debug|profile)-prefix-map=)(.*)$/;

type Token =
  | { kind: 'keep'; words: string[] }
  | { kind: 'input'; value: string }
  | { kind: 'output'; value: string }
  | { kind: 'deps'; file?: string; writes: boolean }
  | { kind: 'path'; option: string; joined: boolean; value: string }
  | { kind: 'wp'; kept: string[]; file?: string; writes: boolean }
  | { kind: 'prefix-map'; option: string; old: string; new: string }
  | { kind: 'save-temps' }
  | { kind: 'dumpdir' };

/** Reads `-Wp,a,b,c`: the dependency items (with their values) are taken out. */
function scanWp(items: string[]): { kept: string[]; file?: string; writes: boolean } {
  const kept: string[] = [];
  let file: string | undefined;
  let writes = false;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item === '-MD' || item === '-MMD') {
      // cpp's own -MD/-MMD take the file as their argument.
      writes = true;
      if (i + 1 < items.length) file = items[++i];
    } else if (item === '-MF') {
      if (i + 1 < items.length) file = items[++i];
    } else if (item.startsWith('-MF') && item.length > 3) {
      file = item.slice(3);
    } else if (item === '-MT' || item === '-MQ') {
      i++;
    } else if (/^-M[TQ]./.test(item) || DEP_FLAGS.has(item)) {
      // dropped
    } else {
      kept.push(item);
    }
  }
  return { kept, file, writes };
}

/** Splits a command's words (after the compiler) into what the rewriting needs to know. */
export function scanArguments(args: string[]): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i];
    const next = () => (i + 1 < args.length ? args[++i] : '');
    if (word === '-o') {
      tokens.push({ kind: 'output', value: next() });
      continue;
    }
    if (word.startsWith('-o') && word.length > 2) {
      tokens.push({ kind: 'output', value: word.slice(2) });
      continue;
    }
    if (DEP_FLAGS.has(word)) {
      tokens.push({ kind: 'deps', writes: word === '-MD' || word === '-MMD' });
      continue;
    }
    const depValued = DEP_VALUED.find((o) => word === o || word.startsWith(o));
    if (depValued) {
      const value = word === depValued ? next() : word.slice(depValued.length).replace(/^=/, '');
      tokens.push({ kind: 'deps', writes: false, file: depValued === '-MF' ? value : undefined });
      continue;
    }
    if (word.startsWith('-Wp,')) {
      const wp = scanWp(word.slice(4).split(','));
      tokens.push({ kind: 'wp', ...wp });
      continue;
    }
    const pathOption = PATH_OPTIONS.find((o) => word === o || word.startsWith(o));
    if (pathOption) {
      if (word === pathOption) tokens.push({ kind: 'path', option: pathOption, joined: false, value: next() });
      else tokens.push({ kind: 'path', option: pathOption, joined: true, value: word.slice(pathOption.length) });
      continue;
    }
    const map = PREFIX_MAP.exec(word);
    if (map) {
      const eq = map[2].lastIndexOf('=');
      if (eq >= 0) {
        tokens.push({ kind: 'prefix-map', option: map[1], old: map[2].slice(0, eq), new: map[2].slice(eq + 1) });
        continue;
      }
    }
    if (word === '-save-temps' || word === '-save-temps=cwd') {
      tokens.push({ kind: 'save-temps' });
      continue;
    }
    if (word === '-dumpdir') {
      next();
      tokens.push({ kind: 'dumpdir' });
      continue;
    }
    if (SEPARATE.has(word)) {
      tokens.push({ kind: 'keep', words: [word, next()] });
      continue;
    }
    if (!word.startsWith('-') || word === '-') {
      tokens.push({ kind: 'input', value: word });
      continue;
    }
    tokens.push({ kind: 'keep', words: [word] });
  }
  return tokens;
}

/** The compiler word(s) of a command: argv[0], and the compiler after a known wrapper. */
export function compilerLength(argv: string[]): number {
  const first = basename(argv[0]);
  return WRAPPERS.has(first) && argv.length > 1 && !argv[1].startsWith('-') ? 2 : 1;
}

/** What a command's macros say about the klp_object its code goes into. */
export interface ModuleOfCommand {
  /** `-DMODULE`: built as (part of) a loadable module, not into vmlinux. */
  module: boolean;
  /** `KBUILD_MODNAME` (without its quotes): the module's name, for a module or built-in code alike. */
  modname?: string;
}

/**
 * Reads `-DMODULE` and `-DKBUILD_MODNAME=...` from a command's words (after the compiler),
 * as kbuild spells them (`-DKBUILD_MODNAME='"ext4"'`, which a shell or the database's
 * splitting leaves as `-DKBUILD_MODNAME="ext4"`; `\"ext4\"` in `arguments`; the older
 * `KBUILD_STR(ext4)`), joined or as `-D NAME`; a later `-U` undoes an earlier `-D`.
 */
export function moduleOfCommand(args: readonly string[]): ModuleOfCommand {
  let module = false;
  let modname: string | undefined;
  for (let i = 0; i < args.length; i++) {
    let word = args[i];
    let option: string;
    if (word === '-D' || word === '-U') {
      option = word;
      word = args[++i] ?? '';
    } else if (word.startsWith('-D') || word.startsWith('-U')) {
      option = word.slice(0, 2);
      word = word.slice(2);
    } else continue;
    const eq = word.indexOf('=');
    const macro = eq < 0 ? word : word.slice(0, eq);
    if (macro === 'MODULE') module = option === '-D';
    else if (macro === 'KBUILD_MODNAME') modname = option === '-D' && eq >= 0 ? unquoteModname(word.slice(eq + 1)) : undefined;
  }
  return { module, ...(modname !== undefined ? { modname } : {}) };
}

function unquoteModname(value: string): string | undefined {
  let v = value.trim();
  const str = /^KBUILD_STR\((.*)\)$/.exec(v);
  if (str) v = str[1];
  // Quotes and escaped quotes, as many layers as the command kept.
  v = v.replace(/^(?:\\?["'])+/, '').replace(/(?:\\?["'])+$/, '');
  return /^[A-Za-z0-9_-]+$/.test(v) ? v : undefined;
}
