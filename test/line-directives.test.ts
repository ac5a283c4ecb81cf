import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../src/api.js';
import { buildFromCompilationDatabase, type CompileDbResult } from '../src/compile/compiledb.js';
import { withLineDirectives } from '../src/compile/line-directives.js';
import { CompileError } from '../src/errors.js';
import { compareTrees } from '../src/tree/compare-tree.js';
import { repoRoot, runCli } from './helpers/cli.js';

/*
 * The patched side compiles from copies with `#line` directives after each changed region
 * (src/compile/line-directives.ts), so that lines the patch did not touch keep their
 * original numbers. First the pure function, then what gcc makes of its output, then the
 * three ways the tool compiles a patched side: two C files (testdata/compare/line-directives,
 * run by compare-fixtures.test.ts, and here with includes), a source and --patch, and
 * --source-dir with a compilation database (testdata/compiledb/lines).
 */

const lines = (...l: string[]) => l.map((s) => `${s}\n`).join('');

describe('withLineDirectives', () => {
  it('returns the patched text itself when nothing moved', () => {
    const text = lines('a', 'b', 'c');
    expect(withLineDirectives(text, text)).toBe(text);
    // One line replaced by one line: every later line keeps its number without a directive.
    const patched = lines('a', 'B', 'c');
    expect(withLineDirectives(text, patched)).toBe(patched);
  });

  it('lines added at the start: a directive before the first unchanged line', () => {
    expect(withLineDirectives(lines('a', 'b'), lines('x', 'y', 'a', 'b'))).toBe(lines('x', 'y', '#line 1', 'a', 'b'));
  });

  it('lines removed at the start: a directive before the first line', () => {
    expect(withLineDirectives(lines('a', 'b', 'c', 'd'), lines('c', 'd'))).toBe(lines('#line 3', 'c', 'd'));
  });

  it('a pure addition in the middle', () => {
    expect(withLineDirectives(lines('a', 'b', 'c', 'd'), lines('a', 'b', 'n1', 'n2', 'c', 'd'))).toBe(lines('a', 'b', 'n1', 'n2', '#line 3', 'c', 'd'));
  });

  it('a pure deletion in the middle', () => {
    expect(withLineDirectives(lines('a', 'b', 'c', 'd', 'e'), lines('a', 'd', 'e'))).toBe(lines('a', '#line 4', 'd', 'e'));
  });

  it('a replacement of a different length, and several hunks', () => {
    const original = lines('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
    const patched = lines('a', 'B1', 'B2', 'B3', 'c', 'd', 'f', 'g', 'h', 'i');
    expect(withLineDirectives(original, patched)).toBe(lines('a', 'B1', 'B2', 'B3', '#line 3', 'c', 'd', '#line 6', 'f', 'g', 'h', 'i'));
  });

  it('replacements that keep every other line where it was: the patched text itself, even inside an open comment or macro', () => {
    const original = lines('a', '/* b', 'c */', 'd', '#define M \\', '  e', 'f');
    const patched = lines('a', '/* B', 'C */', 'd', '#define M \\', '  E', 'f');
    expect(withLineDirectives(original, patched)).toBe(patched);
  });

  it('changes at the end: no directive where nothing follows', () => {
    expect(withLineDirectives(lines('a', 'b'), lines('a', 'b', 'c', 'd'))).toBe(lines('a', 'b', 'c', 'd'));
    expect(withLineDirectives(lines('a', 'b', 'c', 'd'), lines('a', 'b'))).toBe(lines('a', 'b'));
  });

  it('a change inside a multi-line macro: the directive goes below the macro', () => {
    const original = lines('#define M(x) \\', '\tdo { \\', '\t\tf(x); \\', '\t} while (0)', 'int l = __LINE__;');
    const patched = lines('#define M(x) \\', '\tdo { \\', '\t\tg(x); \\', '\t\tf(x); \\', '\t} while (0)', 'int l = __LINE__;');
    expect(withLineDirectives(original, patched)).toBe(lines('#define M(x) \\', '\tdo { \\', '\t\tg(x); \\', '\t\tf(x); \\', '\t} while (0)', '#line 5', 'int l = __LINE__;'));
  });

  it('a change followed by a multi-line comment: the directive goes before the comment', () => {
    const original = lines('int a;', '/*', ' * about b', ' */', 'int b;');
    const patched = lines('int a;', 'int n;', '/*', ' * about b', ' */', 'int b;');
    expect(withLineDirectives(original, patched)).toBe(lines('int a;', 'int n;', '#line 2', '/*', ' * about b', ' */', 'int b;'));
  });

  it('a change inside a multi-line comment: the directive goes below the comment', () => {
    const original = lines('/*', ' * one', ' */', 'int b;');
    const patched = lines('/*', ' * one', ' * two', ' */', 'int b;');
    expect(withLineDirectives(original, patched)).toBe(lines('/*', ' * one', ' * two', ' */', '#line 4', 'int b;'));
  });

  it('inside parentheses (a macro invocation spanning lines): below the closing one', () => {
    const original = lines('x = SUM(1,', '\t2);', 'int l = __LINE__;');
    const patched = lines('x = SUM(1,', '\t5,', '\t2);', 'int l = __LINE__;');
    expect(withLineDirectives(original, patched)).toBe(lines('x = SUM(1,', '\t5,', '\t2);', '#line 3', 'int l = __LINE__;'));
  });

  it('inside a string continued on the next line, and inside a raw string: below them', () => {
    const continued = lines('const char *s = "abc\\', 'def";', 'int l = __LINE__;');
    const continuedPatched = lines('const char *s = "abc\\', 'xyz\\', 'def";', 'int l = __LINE__;');
    expect(withLineDirectives(continued, continuedPatched)).toBe(lines('const char *s = "abc\\', 'xyz\\', 'def";', '#line 3', 'int l = __LINE__;'));
    const raw = lines('const char *s = R"x(', 'a', ')x";', 'int l = __LINE__;');
    const rawPatched = lines('const char *s = R"x(', 'n', 'a', ')x";', 'int l = __LINE__;');
    expect(withLineDirectives(raw, rawPatched)).toBe(lines('const char *s = R"x(', 'n', 'a', ')x";', '#line 4', 'int l = __LINE__;'));
  });

  it('a directive in a conditional group is repeated after the group ends', () => {
    const original = lines('#ifdef A', 'int a;', '#endif', 'int b;', '#ifdef C', 'int c;', '#endif', 'int d;');
    const patched = lines('#ifdef A', 'int n;', 'int a;', '#endif', 'int b;', '#ifdef C', 'int c;', '#endif', 'int d;');
    expect(withLineDirectives(original, patched)).toBe(lines('#ifdef A', 'int n;', '#line 2', 'int a;', '#endif', '#line 4', 'int b;', '#ifdef C', 'int c;', '#endif', 'int d;'));
  });

  it('unbalanced parentheses in #if 0 text do not stop the directives', () => {
    const original = lines('#if 0', 'see (this', '#endif', 'int a;', 'int b;');
    const patched = lines('#if 0', 'see (this', '#endif', 'int a;', 'int n;', 'int b;');
    expect(withLineDirectives(original, patched)).toBe(lines('#if 0', 'see (this', '#endif', 'int a;', 'int n;', '#line 5', 'int b;'));
  });

  it('CRLF files get CRLF directives; a last line without a newline stays so', () => {
    expect(withLineDirectives('a\r\nb\r\nc', 'n\r\na\r\nb\r\nc')).toBe('n\r\n#line 1\r\na\r\nb\r\nc');
    expect(withLineDirectives('a\nb\nc', 'a\nn\nb\nc')).toBe('a\nn\n#line 2\nb\nc');
    expect(withLineDirectives('a\nb', 'a\nn\nb')).toBe('a\nn\n#line 2\nb');
    // A newline added at the end of the last line changes no line number.
    expect(withLineDirectives('a\nb', 'a\nb\n')).toBe('a\nb\n');
  });

  it('leaves files with their own line directives or linemarkers alone', () => {
    expect(withLineDirectives(lines('#line 10 "gen.y"', 'a', 'b'), lines('#line 10 "gen.y"', 'n', 'a', 'b'))).toBe(lines('#line 10 "gen.y"', 'n', 'a', 'b'));
    expect(withLineDirectives(lines('# 1 "x.c"', 'a'), lines('# 1 "x.c"', 'n', 'a'))).toBe(lines('# 1 "x.c"', 'n', 'a'));
  });
});

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'stackonly-line-directives-test-'));
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('what gcc makes of it', () => {
  it('every unchanged line has its original __LINE__, with -pedantic-errors', async () => {
    const original = lines(
      '/* a fixture */',
      '#define SUM(a, b) ((a) + (b))',
      '#define TWICE(x) \\',
      '\t((x) + \\',
      '\t (x))',
      'int v_a = __LINE__;',
      '/*',
      ' * about v_b',
      ' */',
      'int v_b = __LINE__;',
      '#ifdef NOT_DEFINED',
      'int hidden;',
      '#endif',
      'int v_c = __LINE__;',
      'int v_d = SUM(1,',
      '\t2);',
      'int v_e = __LINE__;',
      'int gone_1;',
      'int gone_2;',
      'int v_f = __LINE__;',
      'const char *v_g = "a\\',
      'b"; int v_h = __LINE__;',
      'int v_i = __LINE__;',
    );
    const patched = lines(
      '/* a fixture */',
      '/* a line more */',
      '#define SUM(a, b) ((a) + (b))',
      '#define TWICE(x) \\',
      '\t((x) + \\',
      '\t (x) + \\',
      '\t (x))',
      'int v_a = __LINE__;',
      '/*',
      ' * about v_b',
      ' * and more',
      ' */',
      'int v_b = __LINE__;',
      '#ifdef NOT_DEFINED',
      'int hidden;',
      'int hidden_too;',
      '#endif',
      'int v_c = __LINE__;',
      'int v_d = SUM(1,',
      '\t3 +',
      '\t2);',
      'int v_e = __LINE__;',
      'int v_f = __LINE__;',
      'const char *v_g = "a\\',
      'b"; int v_h = __LINE__;',
      'int v_i = __LINE__;',
    );
    const expected = new Map<string, number>();
    original.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(/int (v_\w+) = __LINE__/g)) expected.set(m[1], i + 1);
    });
    const file = join(scratch, 'pp.c');
    writeFileSync(file, withLineDirectives(original, patched));
    const { stdout } = await execa('gcc', ['-E', '-P', '-std=c11', '-pedantic-errors', '-Werror', file]);
    const got = new Map([...stdout.matchAll(/int (v_\w+) = (\d+);/g)].map((m) => [m[1], Number(m[2])]));
    expect(got).toEqual(expected);
    // Without the directives, they would not be.
    writeFileSync(file, patched);
    const plain = (await execa('gcc', ['-E', '-P', file])).stdout;
    expect(plain).not.toContain(`int v_i = ${expected.get('v_i')};`);
  });
});

interface Report {
  functions: { name: string; status: string }[];
  line_shifts: { name: string; shift: number }[];
}

const names = (report: Report) => report.functions.map((f) => `${f.name}:${f.status}`).sort();
const shifts = (report: Report) => report.line_shifts.map((l) => l.name).sort();
/** What differs at all: reported as changed, or as shifted lines only (the comparer's rules decide which). */
const differing = (report: Report) => [...report.functions.map((f) => f.name), ...report.line_shifts.map((l) => l.name)].sort();

/** A source with a sibling header, both using __LINE__, and a patch adding lines to both. */
function writePatchCase(dir: string): { source: string; patch: string } {
  mkdirSync(dir, { recursive: true });
  const header = lines(
    '#ifndef DRV_H',
    '#define DRV_H',
    'extern void drv_report(int line, const char *file) __attribute__((cold));',
    'extern int drv_io(int request);',
    'static inline int drv_checked(int v)',
    '{',
    '\tif (__builtin_expect(v < 0, 0)) {',
    '\t\tdrv_report(__LINE__, __FILE__);',
    '\t\treturn 0;',
    '\t}',
    '\treturn v;',
    '}',
    '#endif',
  );
  const source = lines(
    '#include "drv.h"',
    '',
    'int drv_changed(int x)',
    '{',
    '\treturn drv_io(x) + 1;',
    '}',
    '',
    'int drv_step(int x)',
    '{',
    '\tint r = drv_io(x);',
    '',
    '\tif (__builtin_expect(r < 0, 0)) {',
    '\t\tdrv_report(__LINE__, __FILE__);',
    '\t\tr = drv_io(-r);',
    '\t}',
    '\treturn drv_checked(r) * 2;',
    '}',
  );
  writeFileSync(join(dir, 'drv.h'), header);
  writeFileSync(join(dir, 'drv.c'), source);
  const patchedHeader = header.replace('extern int drv_io', '/* The device may sleep. */\n/* Callers retry. */\nextern int drv_io');
  const patchedSource = source.replace('\treturn drv_io(x) + 1;', '\tint r = drv_io(x);\n\n\tr += drv_io(x);\n\treturn r + 1;');
  const patch = createTwoFilesPatch('a/drv.c', 'b/drv.c', source, patchedSource) + createTwoFilesPatch('a/drv.h', 'b/drv.h', header, patchedHeader);
  writeFileSync(join(dir, 'fix.patch'), patch.replace(/^=+\n/gm, ''));
  return { source: join(dir, 'drv.c'), patch: join(dir, 'fix.patch') };
}

function snapshot(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((f) => `${f} ${statSync(join(dir, f)).mtimeMs} ${readFileSync(join(dir, f), 'latin1')}`);
}

describe('compare <source> --patch', () => {
  it('the patched source and its patched header keep their original line numbers', async () => {
    const dir = join(scratch, 'patch-mode');
    const { source, patch } = writePatchCase(dir);
    const before = snapshot(dir);
    const { report } = await compare({ original: source, patch, cc: 'gcc', cflags: '-O2' });
    expect(names(report)).toEqual(['drv_changed:changed']);
    expect(shifts(report)).toEqual([]);
    expect(snapshot(dir)).toEqual(before);
    // Without the directives, drv_step's lines move (by 3 for its own __LINE__, by 2 for the header's).
    const plain = await compare({ original: source, patch, cc: 'gcc', cflags: '-O2', lineDirectives: false });
    expect(differing(plain.report)).toEqual(['drv_changed', 'drv_step']);
  });
});

describe('compare <original.c> <patched.c>', () => {
  it("compiles a copy with directives; quoted includes still resolve in the patched file's directory", async () => {
    const a = join(scratch, 'two-a');
    const b = join(scratch, 'two-b');
    mkdirSync(a);
    mkdirSync(b);
    const body = lines('#include "cfg.h"', 'extern void note(int line, const char *file);', 'int scaled(int x) { return x * SCALE; }', 'void where(void) { note(__LINE__, __FILE__); }');
    writeFileSync(join(a, 'cfg.h'), '#define SCALE 3\n');
    writeFileSync(join(b, 'cfg.h'), '#define SCALE 5\n');
    writeFileSync(join(a, 'dev.c'), body);
    writeFileSync(join(b, 'dev-fixed.c'), body.replace('int scaled', '/* SCALE comes from this directory */\nint scaled'));
    const before = snapshot(b);
    const result = await runCli(['compare', join(a, 'dev.c'), join(b, 'dev-fixed.c'), '--format', 'json'], { env: { CC: 'gcc', CFLAGS: '' } });
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as Report;
    // scaled took SCALE from b/cfg.h; where() kept its line and its __FILE__.
    expect(names(report)).toEqual(['scaled:changed']);
    expect(shifts(report)).toEqual([]);
    expect(snapshot(b)).toEqual(before);
    const plain = JSON.parse((await runCli(['compare', join(a, 'dev.c'), join(b, 'dev-fixed.c'), '--format', 'json', '--no-line-directives'])).stdout) as Report;
    expect(differing(plain)).toEqual(['scaled', 'where']);
  });

  it("a patched file that does not compile: gcc's diagnostics give its own line numbers", async () => {
    const dir = join(scratch, 'broken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'ok.c'), lines('int a;', 'int b;', 'int f(void) { return 0; }'));
    // The error is on line 5 of broken.c, line 3 by the directives' numbering.
    writeFileSync(join(dir, 'broken.c'), lines('int a;', '/* one */', '/* two */', 'int b;', 'int f(void) { return missing_variable; }'));
    const result = await runCli(['compare', join(dir, 'ok.c'), join(dir, 'broken.c')]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/:5:\d+: error: .missing_variable. undeclared/);
  });
});

describe('compare --source-dir --patch (testdata/compiledb/lines)', () => {
  const fixture = join(repoRoot, 'testdata', 'compiledb', 'lines');
  let proj: string;
  const open: CompileDbResult[] = [];

  beforeAll(async () => {
    proj = join(scratch, 'lines-project');
    cpSync(join(fixture, 'project'), proj, { recursive: true });
    writeFileSync(join(proj, 'compile_commands.json'), readFileSync(join(fixture, 'compile_commands.in.json'), 'utf8').replaceAll('@DIR@', proj));
    mkdirSync(join(proj, 'build'));
    // The "configure build": it leaves build/lines.d, which names the header.
    await execa('gcc', ['-O2', '-Wall', '-MD', '-c', '-o', 'build/lines.o', 'src/lines.c'], { cwd: proj });
  });
  afterAll(() => {
    for (const result of open.splice(0)) result.dispose();
  });

  async function treeReport(patch: string, lineDirectives?: boolean): Promise<Report> {
    const built = await buildFromCompilationDatabase({ sourceDir: proj, patch: join(fixture, patch), jobs: 2, lineDirectives });
    open.push(built);
    const { report } = await compareTrees(built.originalDir, built.patchedDir, { jobs: 1 });
    return report as unknown as Report;
  }

  it('lines added to the unit: only the changed function, no line shifts', async () => {
    const report = await treeReport('add-lines.patch');
    expect(names(report)).toEqual(['lines_changed:changed']);
    expect(shifts(report)).toEqual([]);
    const plain = await treeReport('add-lines.patch', false);
    expect(differing(plain)).toEqual(['lines_again', 'lines_changed', 'lines_step']);
  });

  it('lines added to a header: nothing changed, no line shifts (the CLI)', async () => {
    const result = await runCli(['compare', '--source-dir', proj, '--patch', join(fixture, 'add-header-lines.patch'), '--format', 'json', '-j', '2']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(names(report)).toEqual([]);
    expect(shifts(report)).toEqual([]);
    const plain = JSON.parse((await runCli(['compare', '--source-dir', proj, '--patch', join(fixture, 'add-header-lines.patch'), '--format', 'json', '--no-line-directives'])).stdout) as Report;
    expect(differing(plain)).toEqual(['lines_again', 'lines_step']);
  });

  it("a patched unit that does not compile: gcc's diagnostics give the patched file's own line numbers", async () => {
    // Two lines added near the top, and a syntax error further down.
    const source = readFileSync(join(proj, 'src/lines.c'), 'utf8');
    const broken = source.replace('\n\treturn r + 1;', '\n\t/* one */\n\t/* two */\n\treturn r + 1;').replace('return lines_checked(r) * 2;', 'return lines_checked(r) * 2 +;');
    const patch = join(scratch, 'break-lines.patch');
    writeFileSync(patch, createTwoFilesPatch('a/src/lines.c', 'b/src/lines.c', source, broken).replace(/^=+\n/gm, ''));
    let error: unknown;
    try {
      open.push(await buildFromCompilationDatabase({ sourceDir: proj, patch, jobs: 2 }));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CompileError);
    // Line 20 of the patched lines.c (line 18 by the directives' numbering).
    expect((error as CompileError).details).toMatch(/^src\/lines\.c:20:\d+: error: expected expression/m);
  });
});
