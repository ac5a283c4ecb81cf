/**
 * Bad command-line inputs (issue 13), one row each: every one ends with exit status 2 and
 * exactly one line starting `stackonly:` on stderr (a compiler's diagnostics or a failing
 * hunk may follow it, never a stack trace), except inputs that are only awkward to read (a
 * FIFO, process substitution, `-` for standard input), which are read whole and work.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, repoRoot, runCli } from './helpers/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'stackonly-cli-inputs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const upstream = join(repoRoot, 'testdata', 'compare', 'upstream-example');
const original = join(repoRoot, 'testdata', 'objects', 'cold-lost', 'original.o');
const patched = join(repoRoot, 'testdata', 'objects', 'cold-lost', 'patched.o');
const at = (name: string) => join(scratch, name);

beforeAll(async () => {
  writeFileSync(at('empty.o'), '');
  writeFileSync(at('notes.txt'), 'just some text\n');
  writeFileSync(at('broken.c'), 'int f(void) { return missing_variable; }\n');
  writeFileSync(at('bad.json'), '{ "schema_version": 1, ');
  writeFileSync(at('bad.patch'), ['--- a/orig.c', '+++ b/orig.c', '@@ -1,3 +1,3 @@', ' this line is not there', '-nor this one', '+replacement', ' end', ''].join('\n'));
  writeFileSync(at('main.c'), 'int value(int x) { return x + 1; }\nint main(void) { return value(0); }\n');
  await execa('gcc', ['-O2', '-no-pie', at('main.c'), '-o', at('program')]);
  await execa('gcc', ['-O2', '-shared', '-fPIC', at('main.c'), '-o', at('libvalue.so')]);
  // A core file's header: an object whose e_type says ET_CORE (4).
  const core = readFileSync(original);
  core.writeUInt16LE(4, 16);
  writeFileSync(at('core'), core);
  mkdirSync(at('a-directory'));
  copyFileSync(original, join(at('a-directory'), 'x.o'));
}, 60_000);

interface Row {
  name: string;
  args: () => string[];
  /** What the one `stackonly:` line must say. */
  message: RegExp;
  /** Lines that may follow it (compiler diagnostics, a hunk). */
  details?: RegExp;
}

const most = 4 * availableParallelism();

const ROWS: Row[] = [
  { name: 'missing file', args: () => ['inspect', at('missing.o')], message: /missing\.o: no such file or directory$/ },
  { name: 'missing file (compare)', args: () => ['compare', original, at('missing.o')], message: /missing\.o: no such file or directory$/ },
  { name: 'empty file', args: () => ['inspect', at('empty.o')], message: /empty\.o: (empty file|not an ELF file)/ },
  { name: 'text file', args: () => ['inspect', at('notes.txt')], message: /notes\.txt: neither an ELF object nor a C source/ },
  { name: '32-bit object', args: () => ['inspect', join(repoRoot, 'testdata', 'elf', 'i386-funcs-O2.o')], message: /no backend for architecture i386/ },
  { name: 'big-endian object', args: () => ['compare', join(repoRoot, 'testdata', 'elf', 'ppc64-funcs-O2.o'), join(repoRoot, 'testdata', 'elf', 'ppc64-funcs-O2.o')], message: /no backend for architecture/ },
  { name: 'executable', args: () => ['inspect', at('program')], message: /program: is an executable, not a relocatable object/ },
  { name: 'shared object', args: () => ['compare', at('libvalue.so'), patched], message: /libvalue\.so: is a shared object or PIE executable, not a relocatable object/ },
  { name: 'core file', args: () => ['inspect', at('core')], message: /core: is a core file, not a relocatable object/ },
  { name: 'unreadable input (a directory)', args: () => ['inspect', at('a-directory')], message: /a-directory.*not a directory|a-directory: inspect takes one object or C source, not a directory/ },
  { name: 'a directory against a file', args: () => ['compare', at('a-directory'), patched], message: /is a directory but .* is not/ },
  { name: 'bad JSON for replace', args: () => ['replace', at('bad.json'), at('bad.json')], message: /bad\.json: not JSON/ },
  { name: 'broken C', args: () => ['compare', join(upstream, 'orig.c'), at('broken.c')], message: /broken\.c: gcc failed on the patched source/, details: /missing_variable/ },
  { name: 'a patch that does not apply', args: () => ['compare', join(upstream, 'orig.c'), '--patch', at('bad.patch')], message: /hunk 1 of 1 does not apply/, details: /-nor this one/ },
  { name: 'bad -j (too many)', args: () => ['compare', at('a-directory'), at('a-directory'), '-j', '100000'], message: new RegExp(`-j takes a whole number from 1 to ${most} .*not '100000'`) },
  { name: 'bad -j (zero)', args: () => ['compare', original, patched, '-j', '0'], message: /-j takes a whole number from 1 to/ },
  { name: 'bad -j (not a number)', args: () => ['compare', original, patched, '-j', 'many'], message: /-j takes a whole number from 1 to .*not 'many'/ },
  { name: '-j without a value', args: () => ['compare', original, patched, '-j'], message: /option '-j, --jobs <n>' argument missing/ },
  { name: 'unknown option', args: () => ['compare', original, patched, '--frobnicate'], message: /unknown option '--frobnicate'/ },
  { name: 'unknown command', args: () => ['frobnicate'], message: /unknown command 'frobnicate'/ },
  { name: 'missing argument', args: () => ['inspect'], message: /missing required argument 'file'/ },
  { name: 'too many arguments', args: () => ['inspect', original, patched], message: /too many arguments/ },
  { name: 'no command at all', args: () => [], message: /missing command/ },
  { name: 'unknown format', args: () => ['inspect', original, '--format', 'xml'], message: /argument 'xml' is invalid\. Allowed choices are/ },
  { name: '-o into a missing folder', args: () => ['compare', original, patched, '-o', at('no/such/dir/report.txt')], message: /report\.txt: cannot write the report: no such file or directory$/ },
  { name: 'two inputs from standard input', args: () => ['compare', '-', '-'], message: /only one input can be '-'/ },
];

describe('bad command-line inputs: exit 2, one line starting stackonly:', () => {
  it.each(ROWS)('$name', async (row) => {
    const result = await runCli(row.args());
    const lines = result.stderr.trimEnd().split('\n');
    const shown = `stderr:\n${result.stderr}`;
    expect(result.exitCode, shown).toBe(2);
    expect(lines.filter((l) => l.startsWith('stackonly:')), shown).toHaveLength(1);
    expect(lines[0], shown).toMatch(/^stackonly: /);
    expect(lines[0], shown).toMatch(row.message);
    if (row.details) expect(lines.slice(1).join('\n'), shown).toMatch(row.details);
    else expect(lines, shown).toHaveLength(1);
    expect(result.stderr, shown).not.toMatch(/\n\s+at /);
    expect(result.stdout, 'nothing on standard output').toBe('');
  });

  it('a file that cannot be read (no permission)', async (context) => {
    if (process.getuid?.() === 0) {
      console.log('skipped: running as root, which reads any file (the directory row covers an unreadable input)');
      context.skip();
    }
    const locked = at('locked.o');
    copyFileSync(original, locked);
    const { chmodSync } = await import('node:fs');
    chmodSync(locked, 0o000);
    const result = await runCli(['inspect', locked]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([`stackonly: ${locked}: permission denied`]);
  });
});

describe('help and version exit 0', () => {
  it.each([['--help'], ['--version'], ['compare', '--help'], ['inspect', '--help'], ['help', 'replace']])('%s', async (...args) => {
    const result = await runCli(args.flat());
    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toBe('');
    expect(result.stderr).toBe('');
  });
});

describe('inputs that cannot seek are read whole', () => {
  const bash = (script: string) => execa('bash', ['-c', script], { cwd: repoRoot, reject: false });

  it('inspect <(cat x.o): process substitution', async () => {
    const result = await bash(`node ${cliPath} inspect --format json <(cat ${original})`);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const report = JSON.parse(String(result.stdout)) as { path: string; functions: { name: string }[] };
    expect(report.path).toMatch(/^\/dev\/fd\/\d+$|^\/proc\/self\/fd\/\d+$/);
    expect(report.functions.map((f) => f.name)).toContain('open_buf');
  });

  it('compare <(cat a.o) <(cat b.o) gives the same report as the files, named as given', async () => {
    const viaFiles = await runCli(['compare', original, patched, '--format', 'json']);
    const viaPipes = await bash(`node ${cliPath} compare --format json <(cat ${original}) <(cat ${patched})`);
    expect(viaPipes.exitCode, String(viaPipes.stderr)).toBe(0);
    const a = JSON.parse(viaFiles.stdout) as Record<string, unknown>;
    const b = JSON.parse(String(viaPipes.stdout)) as Record<string, unknown>;
    expect(b.original).toMatch(/\/fd\/\d+$/);
    expect({ ...b, original: a.original, patched: a.patched }).toEqual(a);
  });

  it('a named FIFO fed an object', async () => {
    const fifo = at('object.fifo');
    await execa('bash', ['-c', 'mkfifo "$1"', 'bash', fifo]);
    const writer = execa('bash', ['-c', `cat ${original} > ${fifo}`]);
    const result = await runCli(['compare', fifo, patched]);
    await writer;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`${fifo} -> ${patched}`);
    expect(result.stdout).toMatch(/changed\s+open_buf/);
  });

  it('- reads standard input', async () => {
    const result = await execa('node', [cliPath, 'compare', '-', patched], { inputFile: original, reject: false });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stdout)).toContain(`<stdin> -> ${patched}`);
  });

  it('a bad object from a pipe is named as given', async () => {
    const result = await bash(`node ${cliPath} inspect <(echo not an object)`);
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr).trimEnd().split('\n')).toHaveLength(1);
    expect(String(result.stderr)).toMatch(/^stackonly: \/(dev|proc\/self)\/fd\/\d+: /);
    expect(String(result.stderr)).not.toContain(tmpdir());
  });
});
