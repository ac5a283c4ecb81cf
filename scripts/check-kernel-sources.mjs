#!/usr/bin/env node
// Checks a tree report of `stackonly compare` (two kernel module trees) against the real
// source changes between the two kernel versions. A report, not a test: exit status 0.
//
//   node scripts/check-kernel-sources.mjs ORIG_SRC PATCHED_SRC TREE_REPORT.json
//
// ORIG_SRC / PATCHED_SRC: the two unpacked kernel source trees (e.g. Debian's
// linux-source-6.1 tarballs). TREE_REPORT.json: `stackonly compare A B --format json` of
// the two module trees (its objects[].original/patched give the .ko paths used with nm).
// Optional environment: CHECK_JSON=FILE writes the per-function details as JSON;
// CHECK_CONFIG=FILE a kernel .config (default: boot/config-* next to the module trees);
// CHECK_SAMPLE=N how many unexplained/missed entries to list (default 25).
//
// Heuristics (rough by design, see the printed notes):
// - Functions: top-level `... name(...) {` blocks found by brace matching after blanking
//   comments, strings and preprocessor lines; compared with comments removed and
//   whitespace collapsed. Only .c/.h files and Makefile/Kbuild are compared.
// - .c -> module: the Kbuild `obj-*` / `<mod>-y|-m|-objs|-$(CONFIG_X)` lines of the .ko's
//   directory (and up to two parents), evaluated with the kernel .config when there is one;
//   a changed file that maps to no module this way is attributed by symbol: a module in the
//   tree that defines (nm) one of the file's changed functions and shares the file's
//   top-level directory.
// - Headers: `diff -U0` of comment-stripped copies; a hunk inside a struct/union marks the
//   struct changed and the fields after the hunk as shifted; inside an inline function or
//   a #define it marks that symbol changed. Changed symbols are closed over all inline
//   functions and macros of include/ and arch/x86/include (a macro or inline that uses a
//   changed one is changed too).
import { readFileSync, readdirSync, statSync, existsSync, writeFileSync, mkdtempSync, rmSync, } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, relative, basename, resolve, posix } from 'node:path';
import { tmpdir } from 'node:os';

const [ORIG, PATCHED, REPORT] = process.argv.slice(2).map((p) => p && resolve(p));
if (!ORIG || !PATCHED || !REPORT) {
  process.stderr.write('usage: node scripts/check-kernel-sources.mjs ORIG_SRC PATCHED_SRC TREE_REPORT.json\n');
  process.exit(2);
}
for (const [p, what] of [[ORIG, 'ORIG_SRC'], [PATCHED, 'PATCHED_SRC']]) {
  if (!existsSync(join(p, 'Makefile'))) {
    process.stderr.write(`${what} does not look like a kernel source tree: ${p}\n`);
    process.exit(2);
  }
}
for (const cmd of ['nm', 'diff']) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    process.stderr.write(`'${cmd}' not found in PATH (nm: binutils, diff: diffutils)\n`);
    process.exit(2);
  }
}
const SAMPLE = Number(process.env.CHECK_SAMPLE || 25);
const t0 = Date.now();
const log = (m) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);

// ---------------------------------------------------------------- report
const report = JSON.parse(readFileSync(REPORT, 'utf8'));
const objects = report.objects || [];
const objByPath = new Map(objects.map((o) => [o.path, o]));
const SUFFIX = /\.(?:constprop|isra|part|cold|llvm|lto_priv|localalias)(?:\.\d+)*/g;
const base = (name) => name.replace(SUFFIX, '').replace(/\.\d+$/, '');
const reported = new Map(); // module -> Map(baseName -> [fn])
for (const f of report.functions || []) {
  if (!reported.has(f.object)) reported.set(f.object, new Map());
  const m = reported.get(f.object);
  const b = base(f.name);
  if (!m.has(b)) m.set(b, []);
  m.get(b).push(f);
}
const koPath = (mod, side) => {
  const o = objByPath.get(mod);
  return o ? (side === 'orig' ? o.original : o.patched) : null;
};

// ---------------------------------------------------------------- config
function findConfig() {
  if (process.env.CHECK_CONFIG) return process.env.CHECK_CONFIG;
  const some = objects.find((o) => o.patched)?.patched;
  if (!some) return null;
  const i = some.indexOf('/lib/modules/');
  if (i < 0) return null;
  const bootDir = join(some.slice(0, i), 'boot');
  try {
    const c = readdirSync(bootDir).find((n) => n.startsWith('config-'));
    return c ? join(bootDir, c) : null;
  } catch {
    return null;
  }
}
const configPath = findConfig();
const config = new Map();
if (configPath && existsSync(configPath)) {
  for (const line of readFileSync(configPath, 'utf8').split('\n')) {
    const m = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (m) config.set(m[1], m[2]);
  }
}
const configOn = (sym) => (config.size === 0 ? true : ['y', 'm'].includes(config.get(sym)));

// ---------------------------------------------------------------- file walk / diff
const SKIP_TOP = new Set(['Documentation', 'tools', 'samples', 'LICENSES', 'usr', '.git']);
const interesting = (name) => name.endsWith('.c') || name.endsWith('.h') || name === 'Makefile' || name === 'Kbuild';
function walk(root) {
  const out = new Set();
  const visit = (rel) => {
    let entries;
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!rel && SKIP_TOP.has(e.name)) continue;
        if (rel === 'arch' && e.name !== 'x86') continue; // an amd64 tree
        visit(r);
      } else if (e.isFile() && interesting(e.name)) out.add(r);
    }
  };
  visit('');
  return out;
}
log('walking both source trees');
const filesA = walk(ORIG);
const filesB = walk(PATCHED);
const changedFiles = [];
const addedFiles = [];
const removedFiles = [];
for (const f of filesB) {
  if (!filesA.has(f)) {
    addedFiles.push(f);
    continue;
  }
  const a = join(ORIG, f);
  const b = join(PATCHED, f);
  if (statSync(a).size !== statSync(b).size || !readFileSync(a).equals(readFileSync(b))) changedFiles.push(f);
}
for (const f of filesA) if (!filesB.has(f)) removedFiles.push(f);
const touched = [...changedFiles, ...addedFiles, ...removedFiles].sort();
log(`${changedFiles.length} changed, ${addedFiles.length} added, ${removedFiles.length} removed files (.c/.h/Makefile/Kbuild, arch/x86 only)`);

// ---------------------------------------------------------------- C lexing
const readText = (root, rel) => {
  try {
    return readFileSync(join(root, rel), 'latin1');
  } catch {
    return null;
  }
};
/** Blanks comments (keeps newlines); with `strings`, also string and char literal contents. */
function blank(src, strings) {
  const out = src.split('');
  const n = src.length;
  let i = 0;
  while (i < n) {
    const c = src[i];
    if (c === '/' && src[i + 1] === '*') {
      const e = src.indexOf('*/', i + 2);
      const end = e < 0 ? n : e + 2;
      for (let k = i; k < end; k++) if (out[k] !== '\n') out[k] = ' ';
      i = end;
    } else if (c === '/' && src[i + 1] === '/') {
      let k = i;
      while (k < n && src[k] !== '\n') out[k++] = ' ';
      i = k;
    } else if (c === '"' || c === "'") {
      let k = i + 1;
      while (k < n && src[k] !== c && src[k] !== '\n') k += src[k] === '\\' ? 2 : 1;
      if (strings) for (let j = i + 1; j < k && j < n; j++) out[j] = ' ';
      i = k + 1;
    } else i++;
  }
  return out.join('');
}
/** Blanks preprocessor lines; with firstBranch, also #else/#elif branches and #if 0 blocks. */
function blankPreproc(text, firstBranch) {
  const lines = text.split('\n');
  const stack = [];
  let active = true;
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*#\s*(\w+)/.exec(lines[i]);
    if (m) {
      const d = m[1];
      if (d === 'if' || d === 'ifdef' || d === 'ifndef') {
        const zero = d === 'if' && /^\s*#\s*if\s+0\b/.test(lines[i]);
        stack.push({ parent: active, zero });
        active = active && !zero;
      } else if ((d === 'else' || d === 'elif') && stack.length) {
        const top = stack[stack.length - 1];
        active = top.parent && (top.zero || !firstBranch);
        top.zero = false;
      } else if (d === 'endif' && stack.length) {
        active = stack.pop().parent;
      }
      let j = i;
      for (;;) {
        const cont = /\\\s*$/.test(lines[j]);
        lines[j] = ' '.repeat(lines[j].length);
        if (!cont || j + 1 >= lines.length) break;
        j++;
      }
      i = j;
      continue;
    }
    if (!active) lines[i] = ' '.repeat(lines[i].length);
  }
  return lines.join('\n');
}
const ATTRS = new Set(['__attribute__', '__attribute', '__section', '__aligned', '__printf', '__scanf', '__must_hold',
  '__acquires', '__releases', '__diag_push', '__alias', '__no_sanitize_address', 'asm', '__asm__', '__cond_lock',
  'noinline_for_stack', '__visible', '__malloc', '__nocfi', '__counted_by', 'ALIGN', '__cacheline_aligned']);
const ID = /[A-Za-z_]\w*/y;

/**
 * Top-level blocks of a C file: { kind: 'fn'|'struct'|'union'|'enum', name, start, end,
 * headStart, text, line, isInline, isStatic }. text: comment-free, whitespace-collapsed.
 */
function parseC(src) {
  const noCom = blank(src, false);
  const lexed = blank(src, true);
  let struct = blankPreproc(lexed, false);
  if (!balanced(struct)) struct = blankPreproc(lexed, true);
  const blocks = [];
  let depth = 0;
  let boundary = 0; // start of the current top-level declaration
  let open = -1;
  const n = struct.length;
  for (let i = 0; i < n; i++) {
    const c = struct[i];
    if (c === '{') {
      if (depth === 0) open = i;
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth < 0) depth = 0;
      if (depth === 0 && open >= 0) {
        const head = struct.slice(boundary, open);
        const b = classify(head);
        if (b) {
          const headStart = boundary + (head.length - head.trimStart().length);
          // a struct may go on to name an object/typedef; find the end of that declaration
          let end = i + 1;
          let tail = '';
          if (b.kind !== 'fn') {
            const semi = struct.indexOf(';', i);
            if (semi >= 0 && !/[{}]/.test(struct.slice(i + 1, semi))) {
              tail = struct.slice(i + 1, semi).trim();
              end = semi + 1;
              if (!b.name) b.name = (/(\w+)\s*$/.exec(tail) || [])[1] || '';
            }
          }
          blocks.push({
            ...b,
            start: open,
            end,
            headStart,
            bodyStruct: struct.slice(open, i + 1),
            text: noCom.slice(headStart, i + 1).replace(/\s+/g, ' ').trim(),
            line: lineOf(src, headStart),
          });
          boundary = end;
          i = end - 1;
          open = -1;
          continue;
        }
        boundary = i + 1;
        open = -1;
      }
    } else if (c === ';' && depth === 0) boundary = i + 1;
  }
  return { blocks, noCom, struct };
}
function balanced(s) {
  let d = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '{') d++;
    else if (s[i] === '}' && --d < 0) return false;
  }
  return d === 0;
}
const lineStarts = new WeakMap();
const lineIndex = new Map();
function lineOf(src, off) {
  let starts = lineIndex.get(src);
  if (!starts) {
    starts = [0];
    for (let i = 0; i < src.length; i++) if (src.charCodeAt(i) === 10) starts.push(i + 1);
    if (lineIndex.size > 64) lineIndex.clear();
    lineIndex.set(src, starts);
  }
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= off) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}
void lineStarts;
function classify(head) {
  const h = head.replace(/\s+/g, ' ').trim();
  if (!h) return null;
  // an initializer: '=' outside parentheses
  let pd = 0;
  for (const ch of h) {
    if (ch === '(') pd++;
    else if (ch === ')') pd--;
    else if (ch === '=' && pd === 0) return null;
  }
  const t = /(?:^|\s)(struct|union|enum)\s+(\w+)?\s*(?:__\w+(?:\(\([^)]*\)\))?\s*)*$/.exec(h);
  if (t && !/\)\s*$/.test(h.replace(/__attribute__\s*\(\(.*\)\)\s*$/, ''))) {
    return { kind: t[1], name: t[2] || '' };
  }
  if (!h.includes('(')) return null;
  // the first identifier followed by '(' at paren depth 0 that is not an attribute-like macro
  pd = 0;
  for (let i = 0; i < h.length; i++) {
    const ch = h[i];
    if (ch === '(') pd++;
    else if (ch === ')') pd--;
    else if (pd === 0 && /[A-Za-z_]/.test(ch) && (i === 0 || !/\w/.test(h[i - 1]))) {
      ID.lastIndex = i;
      const m = ID.exec(h);
      const id = m[0];
      const after = h.slice(i + id.length).trimStart();
      if (after.startsWith('(') && !ATTRS.has(id) && !/^__(?:printf|section|aligned|must_hold|acquires|releases)/.test(id)) {
        if (['if', 'for', 'while', 'switch', 'return', 'sizeof'].includes(id)) return null;
        return {
          kind: 'fn',
          name: id,
          isInline: /\binline\b|__always_inline/.test(h.slice(0, i)),
          isStatic: /\bstatic\b/.test(h.slice(0, i)),
        };
      }
      i += id.length - 1;
    }
  }
  return null;
}
/** #define NAME -> { name, text, line } from comment-free text. */
function parseMacros(noCom, src) {
  const out = [];
  const lines = noCom.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*#\s*define\s+(\w+)/.exec(lines[i]);
    if (!m) continue;
    let j = i;
    let text = lines[i];
    while (/\\\s*$/.test(lines[j]) && j + 1 < lines.length) text += `\n${lines[++j]}`;
    out.push({ name: m[1], text: text.replace(/\s+/g, ' ').trim(), line: i + 1, endLine: j + 1 });
    i = j;
  }
  return out;
}
const idents = (text) => new Set(text.match(/[A-Za-z_]\w*/g) || []);

// ---------------------------------------------------------------- changed functions (.c)
/** Map name -> concatenated text of all definitions in the file (an #ifdef may give two). */
function fnMap(parsed) {
  const m = new Map();
  for (const b of parsed.blocks) {
    if (b.kind !== 'fn') continue;
    const prev = m.get(b.name);
    m.set(b.name, prev ? { ...prev, text: `${prev.text}\n${b.text}` } : { ...b });
  }
  return m;
}
const parseCache = new Map();
function parsedFile(root, rel) {
  const key = `${root}\0${rel}`;
  if (parseCache.has(key)) return parseCache.get(key);
  const src = readText(root, rel);
  const p = src == null ? null : { ...parseC(src), src };
  parseCache.set(key, p);
  return p;
}
const changedFns = []; // { file, name, change: changed|added|removed, isInline, isStatic }
const cFiles = touched.filter((f) => f.endsWith('.c'));
log(`parsing ${cFiles.length} touched .c files`);
for (const f of cFiles) {
  const pa = filesA.has(f) ? parsedFile(ORIG, f) : null;
  const pb = filesB.has(f) ? parsedFile(PATCHED, f) : null;
  const ma = pa ? fnMap(pa) : new Map();
  const mb = pb ? fnMap(pb) : new Map();
  for (const [name, b] of mb) {
    const a = ma.get(name);
    if (!a) changedFns.push({ file: f, name, change: 'added', isInline: b.isInline, isStatic: b.isStatic, line: b.line });
    else if (a.text !== b.text) changedFns.push({ file: f, name, change: 'changed', isInline: b.isInline, isStatic: b.isStatic, line: b.line });
  }
  for (const [name, a] of ma) {
    if (!mb.has(name)) changedFns.push({ file: f, name, change: 'removed', isInline: a.isInline, isStatic: a.isStatic, line: a.line });
  }
  parseCache.clear();
}
log(`${changedFns.length} functions differ in source`);

// ---------------------------------------------------------------- header analysis
function diffHunks(textA, textB) {
  const dir = mkdtempSync(join(tmpdir(), 'cks-'));
  try {
    writeFileSync(join(dir, 'a'), textA);
    writeFileSync(join(dir, 'b'), textB);
    const r = spawnSync('diff', ['-U0', '-b', '-B', join(dir, 'a'), join(dir, 'b')], { encoding: 'latin1', maxBuffer: 1 << 28 });
    const hunks = [];
    for (const line of r.stdout.split('\n')) {
      const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
      if (m) {
        const ac = m[2] === undefined ? 1 : Number(m[2]);
        const bc = m[4] === undefined ? 1 : Number(m[4]);
        hunks.push({ a: Number(m[1]), ac, b: Number(m[3]), bc, linesA: [], linesB: [] });
      } else if (hunks.length && line.startsWith('-')) hunks[hunks.length - 1].linesA.push(line.slice(1));
      else if (hunks.length && line.startsWith('+')) hunks[hunks.length - 1].linesB.push(line.slice(1));
    }
    return hunks;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
/** Field names of a struct body (structural text), with line numbers. */
function structFields(src, block) {
  const body = block.bodyStruct.slice(1, -1);
  const off0 = block.start + 1;
  const fields = [];
  let declStart = 0;
  for (let i = 0; i <= body.length; i++) {
    const ch = body[i];
    if (ch === ';' || ch === '{' || ch === '}' || i === body.length) {
      if (ch === ';') {
        const decl = body.slice(declStart, i).replace(/__attribute__\s*\(\([\s\S]*$/, '').replace(/\b_*cacheline_aligned\w*/g, '');
        const fp = /\(\s*\*\s*(\w+)\s*\)/.exec(decl);
        let name = fp ? fp[1] : null;
        if (!name) {
          const d = decl.replace(/\[[^\]]*\]/g, '').replace(/:\s*\w+\s*$/, '').replace(/__\w+\s*(\([^)]*\))?/g, ' ');
          name = (/(\w+)\s*$/.exec(d.trim()) || [])[1];
        }
        if (name) {
          for (const part of decl.split(',')) {
            const nm = (/(\w+)\s*(?:\[[^\]]*\])?\s*(?::\s*\w+)?\s*$/.exec(part.trim()) || [])[1];
            if (nm && part !== decl) fields.push({ name: nm, line: lineOf(src, off0 + declStart + part.length) });
          }
          if (!decl.includes(',') || fp) fields.push({ name, line: lineOf(src, off0 + i) });
        }
      }
      declStart = i + 1;
    }
  }
  return fields;
}
const KEYWORDS = new Set(['int', 'long', 'char', 'void', 'unsigned', 'signed', 'short', 'struct', 'union', 'enum', 'const',
  'volatile', 'static', 'inline', 'return', 'if', 'else', 'for', 'while', 'do', 'switch', 'case', 'break', 'default',
  'sizeof', 'typeof', 'bool', 'true', 'false', 'NULL', 'u8', 'u16', 'u32', 'u64', 'extern', 'goto', 'continue']);

const hdrFiles = touched.filter((f) => f.endsWith('.h'));
const changedStructs = new Map(); // name -> { header, shifted:Set, added:[], removed:[], atEnd }
const changedSyms = new Map(); // inline fn / macro / enum const name -> why
const headerDecls = []; // hunks outside structs/inlines/macros (prototypes etc.)
log(`analysing ${hdrFiles.length} touched headers`);
for (const h of hdrFiles) {
  const srcA = filesA.has(h) ? readText(ORIG, h) : '';
  const srcB = filesB.has(h) ? readText(PATCHED, h) : '';
  const pa = parseC(srcA);
  const pb = parseC(srcB);
  const hunks = diffHunks(pa.noCom, pb.noCom);
  const ctx = (parsed, src) => {
    const blocks = parsed.blocks.map((b) => ({ ...b, l0: lineOf(src, b.headStart), l1: lineOf(src, b.end) }));
    const macros = parseMacros(parsed.noCom, src);
    return { blocks, macros, src };
  };
  const ca = ctx(pa, srcA);
  const cb = ctx(pb, srcB);
  const place = (c, from, count, side) => {
    const res = [];
    if (count === 0) {
      // pure insertion/deletion point: lies between from and from+1
      for (const b of c.blocks) if (b.l0 <= from && b.l1 > from) res.push({ block: b, line: from + 0.5 });
      return res;
    }
    for (let l = from; l < from + count; l++) {
      const mac = c.macros.find((m) => m.line <= l && m.endLine >= l);
      if (mac) {
        res.push({ macro: mac });
        continue;
      }
      const b = c.blocks.find((bl) => bl.l0 <= l && bl.l1 >= l);
      if (b) res.push({ block: b, line: l });
      else res.push({ decl: l, side });
    }
    return res;
  };
  for (const hk of hunks) {
    const hits = [...place(ca, hk.a, hk.ac, 'a'), ...place(cb, hk.b, hk.bc, 'b')];
    for (const x of hits) {
      if (x.macro) {
        if (!changedSyms.has(x.macro.name)) changedSyms.set(x.macro.name, `#define in ${h}`);
      } else if (x.block) {
        const b = x.block;
        if (b.kind === 'fn') {
          if ((b.isInline || b.isStatic) && !changedSyms.has(b.name)) changedSyms.set(b.name, `inline in ${h}`);
        } else if ((b.kind === 'struct' || b.kind === 'union') && b.name) {
          const c = b === x.block && ca.blocks.includes(b) ? ca : cb;
          const fields = structFields(c.src, b);
          let s = changedStructs.get(b.name);
          if (!s) changedStructs.set(b.name, (s = { header: h, shifted: new Set(), atEnd: true, hunks: 0 }));
          s.hunks++;
          const after = fields.filter((f) => f.line > x.line);
          if (after.length) s.atEnd = false;
          for (const f of after) s.shifted.add(f.name);
        } else if (b.kind === 'enum') {
          // constants after the change may be renumbered
          const c = ca.blocks.includes(b) ? ca : cb;
          const re = /[A-Za-z_]\w*/g;
          let m;
          while ((m = re.exec(b.bodyStruct))) {
            if (!/^[A-Z_][A-Z0-9_]*$/.test(m[0]) || lineOf(c.src, b.start + m.index) <= x.line) continue;
            if (!changedSyms.has(m[0])) changedSyms.set(m[0], `enum ${b.name || '(anon)'} in ${h}`);
          }
        }
      } else if (x.decl) {
        const text = (x.side === 'a' ? hk.linesA : hk.linesB).join(' ').trim();
        if (text) headerDecls.push({ header: h, text: text.slice(0, 120) });
      }
    }
  }
}
const seedSyms = new Map(changedSyms);
log(`${changedStructs.size} structs/unions and ${changedSyms.size} macros/inlines/enum constants changed in headers`);

// Field frequency over all headers of include/ and arch/x86/include; inline/macro bodies for the closure.
const globalHeaders = [...filesB].filter((f) => f.endsWith('.h') && (f.startsWith('include/') || f.startsWith('arch/x86/include/')));
log(`indexing ${globalHeaders.length} global headers (inlines, macros, struct fields)`);
const fieldFreq = new Map();
const defs = new Map(); // symbol -> Set(idents) of its body (inline fn / macro)
const embeds = new Map(); // struct X -> [{ outer, after:Set(fields after the member) }]
for (const h of globalHeaders) {
  const src = readText(PATCHED, h);
  if (!src) continue;
  const p = parseC(src);
  for (const b of p.blocks) {
    if ((b.kind === 'struct' || b.kind === 'union') && b.name) {
      const fields = structFields(src, b);
      for (const f of new Set(fields.map((x) => x.name))) fieldFreq.set(f, (fieldFreq.get(f) || 0) + 1);
      // by-value members of another struct: `struct X name;`
      const re = /\bstruct\s+(\w+)\s+(\w+)\s*(?:\[[^\]]*\])?\s*;/g;
      let m;
      while ((m = re.exec(b.bodyStruct))) {
        const line = lineOf(src, b.start + m.index);
        const after = new Set(fields.filter((f) => f.line > line).map((f) => f.name));
        if (!embeds.has(m[1])) embeds.set(m[1], []);
        embeds.get(m[1]).push({ outer: b.name, after, header: h });
      }
    } else if (b.kind === 'fn' && (b.isInline || b.isStatic)) {
      const prev = defs.get(b.name);
      defs.set(b.name, { ids: new Set([...(prev?.ids || []), ...idents(b.text)]), text: `${prev?.text || ''}\n${b.text}` });
    }
  }
  for (const m of parseMacros(p.noCom, src)) {
    const body = m.text.replace(/^#\s*define\s+\w+/, '');
    const prev = defs.get(m.name);
    defs.set(m.name, { ids: new Set([...(prev?.ids || []), ...idents(body)]), text: `${prev?.text || ''}\n${body}` });
  }
}
// A changed struct that is embedded by value in another shifts that one's later fields.
for (let round = 0; round < 2; round++) {
  for (const [name, s] of [...changedStructs]) {
    if (s.atEnd && s.shifted.size === 0 && round > 0) continue;
    for (const e of embeds.get(name) || []) {
      if (e.outer === name) continue;
      let o = changedStructs.get(e.outer);
      if (!o) changedStructs.set(e.outer, (o = { header: e.header, shifted: new Set(), atEnd: e.after.size === 0, hunks: 0, via: name }));
      for (const f of e.after) o.shifted.add(f);
      if (e.after.size) o.atEnd = false;
    }
  }
}
const isGlobal = (h) => h.startsWith('include/') || h.startsWith('arch/x86/include/');
/** A local (non-include/) header is taken to concern a module whose directory is related. */
const related = (h, mod) => {
  if (isGlobal(h)) return true;
  const hd = posix.dirname(h);
  const md = posix.dirname(mod);
  return md === hd || md.startsWith(`${hd}/`) || hd.startsWith(`${md}/`) || hd.split('/').slice(0, 3).join('/') === md.split('/').slice(0, 3).join('/');
};
const distinctive = (f) => (fieldFreq.get(f) || 0) <= 2 && f.length >= 4 && !KEYWORDS.has(f);
/** Which changed structs a body touches through a shifted field or sizeof; mod limits local structs. */
function fieldUses(text, ids, mod) {
  const out = [];
  for (const [sname, s] of changedStructs) {
    if (!ids.has(sname) && s.shifted.size === 0) continue;
    if (mod ? !related(s.header, mod) : !isGlobal(s.header)) continue;
    if (ids.has(sname) && new RegExp(`sizeof\\s*\\(\\s*struct\\s+${sname}\\s*\\)`).test(text)) {
      out.push(`sizeof(struct ${sname})`);
      continue;
    }
    const named = ids.has(sname);
    for (const f of s.shifted) {
      if (!ids.has(f)) continue;
      if (!named && !distinctive(f)) continue;
      if (new RegExp(`(?:->|\\.)\\s*${f}\\b`).test(text)) {
        out.push(`${sname}.${f}`);
        break;
      }
    }
  }
  return out;
}
// Closure: inline functions and macros of include/ that use a changed global symbol or field.
const why = new Map([...changedSyms].filter(([, w]) => isGlobal(w.replace(/^.* in /, ''))));
for (const [name, d] of defs) {
  if (why.has(name)) continue;
  const fu = fieldUses(d.text, d.ids, null);
  if (fu.length) why.set(name, `uses ${fu[0]}`);
}
const localSyms = new Map([...changedSyms].filter(([, w]) => !isGlobal(w.replace(/^.* in /, ''))));
const rdeps = new Map();
for (const [name, { ids }] of defs) for (const id of ids) {
  if (id === name) continue;
  if (!rdeps.has(id)) rdeps.set(id, []);
  rdeps.get(id).push(name);
}
{
  const queue = [...why.keys()];
  while (queue.length) {
    const s = queue.shift();
    for (const user of rdeps.get(s) || []) {
      if (why.has(user)) continue;
      why.set(user, `-> ${s}`);
      queue.push(user);
    }
  }
}
const chain = (s) => {
  const parts = [s];
  let cur = s;
  for (let k = 0; k < 8; k++) {
    const w = why.get(cur);
    if (!w || !w.startsWith('-> ')) {
      if (w) parts.push(`(${w})`);
      break;
    }
    cur = w.slice(3);
    parts.push(cur);
  }
  return parts.join(' -> ').replace(/ -> \(/, ' (');
};
log(`${why.size} header symbols affected after closure`);

// ---------------------------------------------------------------- Kbuild: module -> sources
const makeCache = new Map();
function makeVars(dir) {
  if (makeCache.has(dir)) return makeCache.get(dir);
  const vars = [];
  for (const root of [PATCHED, ORIG]) {
    for (const name of ['Kbuild', 'Makefile']) {
      const text = readText(root, dir ? `${dir}/${name}` : name);
      if (!text) continue;
      const joined = text.replace(/\\\n/g, ' ').split('\n');
      for (const raw of joined) {
        const line = raw.replace(/#.*$/, '');
        const m = /^\s*([\w\-\/\.$()]+?)\s*(\+=|:=|\?=|=)\s*(.*)$/.exec(line);
        if (m) vars.push({ lhs: m[1], value: m[3] });
      }
    }
  }
  makeCache.set(dir, vars);
  return vars;
}
function expand(value, vars, depth = 0) {
  let v = value.replace(/\$\(subst m,y,(\$\(CONFIG_\w+\))\)/g, '$1');
  v = v.replace(/\$\(addprefix\s+([^,]+),\s*([^)]*)\)/g, (_, pre, list) => list.trim().split(/\s+/).map((t) => pre.trim() + t).join(' '));
  if (depth < 4) {
    v = v.replace(/\$\(([\w-]+)\)/g, (all, name) => {
      if (name.startsWith('CONFIG_')) return all;
      const vals = vars.filter((x) => x.lhs === name).map((x) => x.value);
      return vals.length ? expand(vals.join(' '), vars, depth + 1) : '';
    });
  }
  return v;
}
function lhsEnabled(suffix) {
  if (['y', 'm', 'objs', 'obj', 'objs-y'].includes(suffix)) return true;
  const c = /^\$\((CONFIG_\w+)\)$/.exec(suffix);
  return c ? configOn(c[1]) : false;
}
/** .c files (relative to the source root) that make `stem` (path without .o) in Makefile dir `dir`. */
function compositeSources(dir, stem, seen = new Set()) {
  const key = `${dir}:${stem}`;
  if (seen.has(key)) return [];
  seen.add(key);
  const vars = makeVars(dir);
  const parts = [];
  for (const v of vars) {
    if (!v.lhs.startsWith(`${stem}-`)) continue;
    const suffix = v.lhs.slice(stem.length + 1);
    if (!lhsEnabled(suffix)) continue;
    for (const tok of expand(v.value, vars).split(/\s+/)) if (tok.endsWith('.o')) parts.push(tok.slice(0, -2));
  }
  const prefix = dir ? `${dir}/` : '';
  if (parts.length === 0) return [`${prefix}${stem}.c`];
  const out = [];
  for (const p of parts) {
    if (p === stem) out.push(`${prefix}${p}.c`);
    else out.push(...compositeSources(dir, p, seen));
  }
  return out;
}
const moduleSources = new Map(); // module path -> [.c files]
const fileToModules = new Map();
for (const o of objects) {
  const mod = o.path;
  const koDir = posix.dirname(mod);
  const name = posix.basename(mod, '.ko');
  let srcs = [];
  // the Makefile that builds it: the .ko's directory, or a parent naming it with a sub-path
  let dir = koDir === '.' ? '' : koDir;
  for (let up = 0; up < 3 && srcs.length === 0; up++) {
    const rel = relative(dir, koDir);
    const stem = rel ? `${rel}/${name}` : name;
    const vars = makeVars(dir);
    if (vars.some((v) => v.lhs.startsWith(`${stem}-`)) || up === 0) {
      const s = compositeSources(dir, stem).filter((f) => filesB.has(f) || filesA.has(f));
      if (s.length) srcs = s;
    }
    if (!dir) break;
    dir = dir.includes('/') ? dir.slice(0, dir.lastIndexOf('/')) : '';
  }
  moduleSources.set(mod, srcs);
  for (const f of srcs) {
    if (!fileToModules.has(f)) fileToModules.set(f, new Set());
    fileToModules.get(f).add(mod);
  }
}
log(`Kbuild mapped ${[...moduleSources.values()].filter((s) => s.length).length}/${objects.length} modules to their .c files`);

// ---------------------------------------------------------------- nm
const nmCache = new Map(); // ko path -> Set(base names of defined functions)
function nmBatch(paths) {
  const todo = paths.filter((p) => p && !nmCache.has(p) && existsSync(p));
  for (let i = 0; i < todo.length; i += 200) {
    const chunk = todo.slice(i, i + 200);
    for (const p of chunk) nmCache.set(p, new Set());
    const r = spawnSync('nm', ['-A', '--defined-only', ...chunk], { encoding: 'utf8', maxBuffer: 1 << 30 });
    for (const line of r.stdout.split('\n')) {
      const m = /^(.*\.ko):[0-9a-f]+ ([tTwW]) (\S+)$/.exec(line);
      if (m) nmCache.get(m[1])?.add(base(m[3]));
    }
  }
}
const nmHas = (ko, name) => (ko ? (nmBatch([ko]), nmCache.get(ko)?.has(name)) : false);

// Changed .c files that Kbuild did not map: attribute by symbol + top-level directory.
const unmappedChanged = [...new Set(changedFns.map((c) => c.file))].filter((f) => !fileToModules.has(f));
const byFile = new Map();
for (const c of changedFns) {
  if (!byFile.has(c.file)) byFile.set(c.file, []);
  byFile.get(c.file).push(c);
}
if (unmappedChanged.length) {
  log(`${unmappedChanged.length} changed .c files not mapped by Kbuild: trying symbols (nm of all modules)`);
  nmBatch(objects.flatMap((o) => [o.original, o.patched]));
  for (const f of unmappedChanged) {
    const top = f.split('/').slice(0, 2).join('/');
    const names = byFile.get(f).filter((c) => !c.isInline).map((c) => c.name);
    for (const o of objects) {
      if (!o.path.startsWith(`${top}/`)) continue;
      const setA = nmCache.get(o.original);
      const setB = nmCache.get(o.patched);
      if (names.some((n) => setA?.has(n) || setB?.has(n))) {
        if (!fileToModules.has(f)) fileToModules.set(f, new Set());
        fileToModules.get(f).add(o.path);
        const list = moduleSources.get(o.path);
        if (!list.includes(f)) list.push(f);
        fileToModules.get(f).bySymbol = true;
      }
    }
  }
}

// System.map for functions only in vmlinux
const sysmap = new Set();
{
  const some = objects.find((o) => o.patched)?.patched || '';
  const i = some.indexOf('/lib/modules/');
  if (i >= 0) {
    const bootDir = join(some.slice(0, i), 'boot');
    try {
      const f = readdirSync(bootDir).find((n) => n.startsWith('System.map'));
      if (f) for (const line of readFileSync(join(bootDir, f), 'utf8').split('\n')) {
        const m = /^[0-9a-f]+ [tTwW] (\S+)$/.exec(line);
        if (m) sysmap.add(base(m[1]));
      }
    } catch { /* none */ }
  }
}

// ---------------------------------------------------------------- recall
log('recall: source-changed functions vs the report');
const recall = { reported: [], inKoNotReported: [], notInKo: [], inlineNotInKo: [], notInTree: [], vmlinux: [] };
const statusCount = {};
for (const c of changedFns) {
  const mods = fileToModules.get(c.file);
  if (!mods || mods.size === 0) {
    if (sysmap.has(c.name)) recall.vmlinux.push(c);
    else recall.notInTree.push(c);
    continue;
  }
  let best = null;
  for (const mod of mods) {
    const rep = reported.get(mod)?.get(c.name);
    if (rep) {
      best = { kind: 'reported', mod, status: rep.map((r) => r.status).join('+') };
      break;
    }
    const ka = koPath(mod, 'orig');
    const kb = koPath(mod, 'patched');
    const inA = nmHas(ka, c.name);
    const inB = nmHas(kb, c.name);
    if (inA || inB) best = best || { kind: 'inKo', mod, inA, inB, objStatus: objByPath.get(mod)?.status };
  }
  const mod = [...mods][0];
  if (best?.kind === 'reported') {
    recall.reported.push({ ...c, mod: best.mod, status: best.status });
    const k = `${c.change}->${best.status}`;
    statusCount[k] = (statusCount[k] || 0) + 1;
  } else if (best?.kind === 'inKo') recall.inKoNotReported.push({ ...c, mod: best.mod, inA: best.inA, inB: best.inB, objStatus: best.objStatus });
  else if (c.isInline) recall.inlineNotInKo.push({ ...c, mod });
  else recall.notInKo.push({ ...c, mod });
}
// A function present in .ko but not reported: is its machine code really identical?
// (objdump both; compare mnemonics+operands with addresses and relocation targets kept.)
const elfCache = new Map();
function elfInfo(ko) {
  if (elfCache.has(ko)) return elfCache.get(ko);
  const syms = new Map();
  const secs = new Map();
  const r = spawnSync('readelf', ['-sW', '-SW', ko], { encoding: 'utf8', maxBuffer: 1 << 28 });
  for (const line of r.stdout.split('\n')) {
    const sm = /^\s*\d+:\s+([0-9a-f]+)\s+(\d+)\s+FUNC\s+\w+\s+\w+\s+(\d+)\s+(\S+)$/.exec(line);
    if (sm && !syms.has(sm[4])) syms.set(sm[4], { value: parseInt(sm[1], 16), size: Number(sm[2]), ndx: sm[3] });
    // a base name also finds its gcc clone (foo.isra.0, foo.constprop.0), not a .cold part
    if (sm && !/\.cold/.test(sm[4]) && base(sm[4]) !== sm[4] && !syms.has(base(sm[4]))) syms.set(base(sm[4]), syms.get(sm[4]));
    const se = /^\s*\[\s*(\d+)\]\s+(\S+)/.exec(line);
    if (se) secs.set(se[1], se[2]);
  }
  const info = { syms, secs };
  if (elfCache.size > 8) elfCache.clear();
  elfCache.set(ko, info);
  return info;
}
/** Disassembly of exactly the symbol `name` (objdump -dr over its range), addresses removed. */
function disasm(ko, name) {
  const { syms, secs } = elfInfo(ko);
  const sym = syms.get(name);
  if (!sym || !secs.get(sym.ndx)) return null;
  const r = spawnSync('objdump', ['-dr', '--no-show-raw-insn', '-j', secs.get(sym.ndx), `--start-address=${sym.value}`,
    `--stop-address=${sym.value + sym.size}`, ko], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const lines = r.stdout.split('\n');
  const i = lines.findIndex((l) => />:$/.test(l));
  if (i < 0) return null;
  return lines.slice(i + 1).filter((l) => l.trim()).map((l) => l.replace(/^\s*[0-9a-f]+:\s*/, '')
    .replace(/\b[0-9a-f]+ <([^>]+)>/g, '<$1>').replace(/\s+/g, ' ').trim()).join('\n');
}
const noSecOffsets = (t) => t.replace(/(\.[\w.]+)\+0x[0-9a-f]+/g, '$1');
for (const x of recall.inKoNotReported) {
  if (!(x.inA && x.inB)) {
    x.asm = 'only-one-side';
    continue;
  }
  const a = disasm(koPath(x.mod, 'orig'), x.name);
  const b = disasm(koPath(x.mod, 'patched'), x.name);
  x.asm = a == null || b == null ? 'not-found' : a === b ? 'identical' : noSecOffsets(a) === noSecOffsets(b) ? 'section-offsets' : 'differs';
}

// ---------------------------------------------------------------- precision
log('precision: classifying reported functions');
const changedByMod = new Map(); // module -> Set(names changed in source)
for (const c of changedFns) for (const mod of fileToModules.get(c.file) || []) {
  if (!changedByMod.has(mod)) changedByMod.set(mod, new Set());
  changedByMod.get(mod).add(c.name);
}
const changedFileSet = new Set(touched);
const changedHeaderBase = new Map(); // basename -> [paths]
for (const h of hdrFiles) {
  const b = basename(h);
  if (!changedHeaderBase.has(b)) changedHeaderBase.set(b, []);
  changedHeaderBase.get(b).push(h);
}
const CLASSES = ['own-source', 'calls-changed', 'header-direct', 'same-file', 'header-module', 'unexplained', 'not-in-source'];
const precision = Object.fromEntries(CLASSES.map((c) => [c, []]));
const byModFns = new Map();
for (const f of report.functions || []) {
  if (!byModFns.has(f.object)) byModFns.set(f.object, []);
  byModFns.get(f.object).push(f);
}
for (const [mod, fns] of byModFns) {
  // parse the module's sources (patched side; the original side for functions removed there)
  const srcs = moduleSources.get(mod) || [];
  const defsHere = new Map(); // name -> { file, text, ids }
  const fileIncludes = new Map();
  const parseInto = (files, root) => {
    for (const f of files) {
      const p = parsedFile(root, f);
      if (!p) continue;
      fileIncludes.set(f, [...p.src.matchAll(/^\s*#\s*include\s*[<"]([^>"]+)[>"]/gm)].map((m) => m[1]));
      for (const b of p.blocks) {
        if (b.kind !== 'fn' || defsHere.has(b.name)) continue;
        defsHere.set(b.name, { file: f, text: b.text, ids: idents(b.text) });
      }
      // #included .c files
      for (const inc of fileIncludes.get(f)) {
        if (!inc.endsWith('.c')) continue;
        const incPath = posix.normalize(posix.join(posix.dirname(f), inc));
        if (!files.includes(incPath) && (filesB.has(incPath) || filesA.has(incPath))) parseInto([incPath], root);
      }
    }
  };
  parseInto(srcs, PATCHED);
  parseInto(srcs.filter((f) => filesA.has(f)), ORIG);
  if (fns.some((f) => !defsHere.has(base(f.name)))) {
    // fall back: every .c in the .ko's directory tree
    const d = posix.dirname(mod);
    const extra = [...filesB].filter((f) => f.endsWith('.c') && f.startsWith(`${d}/`) && !srcs.includes(f));
    if (extra.length && extra.length < 400) parseInto(extra, PATCHED);
  }
  parseCache.clear();
  const chg = changedByMod.get(mod) || new Set();
  // module-level header use: headers included by its sources that changed, or changed symbols used
  const incChanged = new Set();
  for (const [f, incs] of fileIncludes) {
    for (const inc of incs) {
      const cands = changedHeaderBase.get(basename(inc)) || [];
      const full = [posix.normalize(posix.join(posix.dirname(f), inc)), `include/${inc}`, `arch/x86/include/${inc}`];
      const hit = cands.find((c) => full.includes(c));
      if (hit) incChanged.add(hit);
    }
  }
  // direct evidence per function
  const direct = new Map();
  for (const [name, d] of defsHere) {
    if (chg.has(name)) {
      direct.set(name, { cls: 'own-source', why: `source of ${name} changed` });
      continue;
    }
    const sym = [...d.ids].find((id) => why.has(id) && id !== name);
    const loc = [...d.ids].find((id) => localSyms.has(id) && related(localSyms.get(id).replace(/^.* in /, ''), mod));
    const fu = fieldUses(d.text, d.ids, mod);
    if (sym) direct.set(name, { cls: 'header-direct', why: `uses ${chain(sym)}` });
    else if (loc) direct.set(name, { cls: 'header-direct', why: `uses ${loc} (${localSyms.get(loc)})` });
    else if (fu.length) direct.set(name, { cls: 'header-direct', why: `accesses shifted field ${fu[0]}` });
  }
  // callees: a function calling (possibly inlining) an affected function of the module, 2 rounds
  for (let round = 0; round < 3; round++) {
    for (const [name, d] of defsHere) {
      if (direct.has(name)) continue;
      const callee = [...d.ids].find((id) => id !== name && direct.has(id) && defsHere.has(id));
      if (callee) {
        const c = direct.get(callee);
        direct.set(name, {
          cls: c.cls === 'own-source' || c.cls === 'calls-changed' ? 'calls-changed' : 'header-direct',
          why: `calls ${callee} (${c.why})`,
        });
      }
    }
  }
  for (const f of fns) {
    const b = base(f.name);
    const d = defsHere.get(b);
    let entry;
    if (chg.has(b)) entry = { cls: 'own-source', why: 'source changed' };
    else if (!d && /^(?:perf_trace|trace_event_raw_event|trace_raw_output|__bpf_trace|trace_event_get_offsets)_/.test(b)) entry = { cls: 'not-in-source', why: 'tracepoint code generated by TRACE_EVENT' };
    else if (!d) entry = { cls: 'not-in-source', why: 'no definition found in the module sources (macro-generated?)' };
    else if (direct.has(b)) entry = direct.get(b);
    else if (changedFileSet.has(d.file)) entry = { cls: 'same-file', why: `${d.file} changed` };
    else if (incChanged.size) entry = { cls: 'header-module', why: `sources include ${[...incChanged].slice(0, 3).join(', ')}` };
    else entry = { cls: 'unexplained', why: '' };
    precision[entry.cls].push({ mod, name: f.name, status: f.status, reasons: f.reasons || [], file: d?.file, why: entry.why });
  }
}

// ---------------------------------------------------------------- print
const pct = (a, b) => (b ? `${((100 * a) / b).toFixed(1)}%` : '-');
const out = [];
const p = (s = '') => out.push(s);
p(`# check-kernel-sources: ${ORIG} -> ${PATCHED}`);
p(`report: ${REPORT} (${objects.length} objects, ${report.functions?.length ?? 0} functions: ${['changed', 'added', 'removed'].map((s) => `${(report.functions || []).filter((f) => f.status === s).length} ${s}`).join(', ')})`);
p(`config: ${configPath && config.size ? configPath : 'none (all Kbuild conditions taken as enabled)'}`);
p();
p('## Source changes');
p(`files (.c/.h/Makefile/Kbuild, arch/x86 only, no Documentation/tools): ${changedFiles.length} changed, ${addedFiles.length} added, ${removedFiles.length} removed`);
p(`functions differing in .c files: ${changedFns.length} (${['changed', 'added', 'removed'].map((s) => `${changedFns.filter((c) => c.change === s).length} ${s}`).join(', ')})`);
p(`headers touched: ${hdrFiles.length}; structs/unions with changed bodies: ${[...changedStructs.values()].filter((s) => !s.via).length} (+${[...changedStructs.values()].filter((s) => s.via).length} embedding them by value)`);
const layout = [...changedStructs].filter(([, s]) => !s.via).sort((a, b) => b[1].shifted.size - a[1].shifted.size);
p('structs whose later fields move (name, header, #fields after the change; a struct changed only at its end changes size only):');
for (const [n, s] of layout.slice(0, 40)) p(`  struct ${n} (${s.header}): ${s.atEnd ? 'at end / size only' : `${s.shifted.size} fields after`}`);
if (layout.length > 40) p(`  ... ${layout.length - 40} more`);
p(`changed header inlines/macros/enum constants: ${seedSyms.size}; after closure over include/ inlines and macros: ${why.size}`);
const seedList = [...seedSyms].filter(([, w]) => !w.startsWith('enum'));
p(`  seeds (inline/macro): ${seedList.slice(0, 60).map(([n]) => n).join(' ')}${seedList.length > 60 ? ' ...' : ''}`);
p();
p('## Recall: functions changed in source, in a .c file of a module in the tree');
const inTree = recall.reported.length + recall.inKoNotReported.length + recall.notInKo.length + recall.inlineNotInKo.length;
const mappedBySym = [...fileToModules.values()].filter((s) => s.bySymbol).length;
p(`mapping: Kbuild (+ ${mappedBySym} files attributed by nm symbol); ${recall.vmlinux.length} source-changed functions are in vmlinux (System.map), ${recall.notInTree.length} in neither (other arch/config, inlined or not built)`);
p(`in-tree source-changed functions: ${inTree}`);
p(`  reported by the tool:                        ${recall.reported.length}  (${Object.entries(statusCount).map(([k, v]) => `${k}: ${v}`).join(', ')})`);
const asmCount = (k) => recall.inKoNotReported.filter((x) => x.asm === k).length;
p(`  symbol in .ko, not reported:                 ${recall.inKoNotReported.length}  (objdump of the symbol: ${asmCount('identical')} identical = tool right, ${asmCount('section-offsets')} differ only in section-relative addends, ${asmCount('differs')} differ = possible miss, ${asmCount('only-one-side')} on one side only, ${asmCount('not-found')} not found)`);
p(`  not a symbol in either .ko, declared inline: ${recall.inlineNotInKo.length}`);
p(`  not a symbol in either .ko, not inline:      ${recall.notInKo.length}  (inlined by gcc, or compiled out by config)`);
const denom = recall.reported.length + recall.inKoNotReported.length;
p(`recall over functions that exist as symbols: ${recall.reported.length}/${denom} = ${pct(recall.reported.length, denom)}; counting only the ones whose objdump differs as misses: ${recall.reported.length}/${recall.reported.length + asmCount('differs') + asmCount('only-one-side')} = ${pct(recall.reported.length, recall.reported.length + asmCount('differs') + asmCount('only-one-side'))}`);
const miss = recall.inKoNotReported.filter((x) => x.asm !== 'identical' && x.asm !== 'section-offsets');
if (miss.length) {
  p('  possible misses (symbol present, code differs per objdump, not reported):');
  for (const x of miss.slice(0, SAMPLE)) p(`    ${x.mod} ${x.name} [${x.change}, ${x.file}, objdump ${x.asm}, object ${x.objStatus}]`);
}
const same = recall.inKoNotReported.filter((x) => x.asm === 'identical');
if (same.length) p(`  source changed but identical code (sample): ${same.slice(0, 12).map((x) => `${x.name}@${posix.basename(x.mod)}`).join(' ')}`);
p();
p('## Precision: every function the tool reports, by the first class that explains it');
const total = Object.values(precision).reduce((a, l) => a + l.length, 0);
const desc = {
  'own-source': 'its own definition changed in source',
  'calls-changed': 'calls a source-changed function of the module (inlined)',
  'header-direct': 'uses a changed header inline/macro/field (directly or via a callee)',
  'same-file': 'defined in a changed .c file (no finer evidence)',
  'header-module': 'its module includes a changed header (no finer evidence)',
  unexplained: 'no source explanation found',
  'not-in-source': 'no definition found in the module sources',
};
for (const c of CLASSES) p(`  ${c.padEnd(14)} ${String(precision[c].length).padStart(6)}  ${pct(precision[c].length, total).padStart(6)}  ${desc[c]}`);
p(`  total          ${String(total).padStart(6)}`);
p(`  not-in-source: ${precision['not-in-source'].filter((e) => e.why.startsWith('tracepoint')).length} are TRACE_EVENT-generated (perf_trace_*, trace_event_raw_event_*, ...)`);
const top = new Map();
for (const e of precision['header-direct']) {
  const m = /uses (\S+)|accesses shifted field (\S+)|calls \S+ \((?:uses (\S+)|accesses shifted field (\S+))/.exec(e.why);
  const k = m ? m[1] || m[2] || m[3] || m[4] : e.why.slice(0, 40);
  top.set(k, (top.get(k) || 0) + 1);
}
p('  header-direct, most common first symbol:');
p(`    ${[...top].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, v]) => `${k}:${v}`).join('  ')}`);
for (const c of ['unexplained', 'not-in-source']) {
  if (!precision[c].length) continue;
  p(`  ${c} (sample of ${Math.min(SAMPLE, precision[c].length)}):`);
  const step = Math.max(1, Math.floor(precision[c].length / SAMPLE));
  for (let i = 0; i < precision[c].length && i / step < SAMPLE; i += step) {
    const e = precision[c][i];
    p(`    ${e.mod} ${e.name} [${e.status}: ${e.reasons.join(',')}]${e.file ? ` ${e.file}` : ''}`);
  }
}
p();
p(`(${((Date.now() - t0) / 1000).toFixed(0)} s)`);
process.stdout.write(`${out.join('\n')}\n`);
if (process.env.CHECK_JSON) {
  writeFileSync(process.env.CHECK_JSON, JSON.stringify({
    changedFns, changedStructs: Object.fromEntries([...changedStructs].map(([k, s]) => [k, { ...s, shifted: [...s.shifted] }])),
    changedSyms: Object.fromEntries(seedSyms), recall, precision, headerDecls,
  }, null, 1));
}
process.exit(0);
