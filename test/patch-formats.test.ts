import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPatchSeries, extractDiff, parseUnifiedDiff, readPatches, type FilePatch } from '../src/compile/patch.js';
import { PatchError } from '../src/errors.js';
import type { CompareReport, TreeReport } from '../src/report/types.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { configureProject } from './helpers/project.js';
import { expectValidReport } from './helpers/schema.js';

/*
 * Patches as people have them (testdata/patches/README.md): git format-patch mail, a
 * series of mails (repeated --patch, one mbox, a quilt series file), `diff -Naur` with a
 * new file, git's new, deleted and renamed files, -p N, and a patch that is already
 * applied. Each must give the result of comparing with the fixed source itself.
 */
const patches = join(repoRoot, 'testdata', 'patches');
const mails = ['0001-drv-retry-with-the-next-request.patch', '0002-drv-double-the-bias.patch', '0003-drv-limit-drv_write-s-result.patch'].map((m) => join(patches, m));
let scratch: string;
let toolTmp: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'stackonly-patch-formats-'));
  toolTmp = join(scratch, 'tmp');
  mkdirSync(toolTmp);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every file under the roots, with its kind, size and modification time. */
function snapshot(...roots: string[]): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      files.set(path, `${st.isDirectory() ? 'dir' : 'file'} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(path);
    }
  };
  roots.forEach(walk);
  return files;
}

async function json(args: string[], cwd?: string): Promise<CompareReport> {
  const result = await runCli([...args, '--format', 'json'], { cwd, env: { CC: 'gcc', CFLAGS: '', TMPDIR: toolTmp } });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  const report = JSON.parse(result.stdout);
  expectValidReport(report);
  return report;
}

/** What a report says, without the file names that differ between ways of giving the patch. */
function verdicts(report: Pick<CompareReport, 'functions' | 'stack_only' | 'line_shifts'>) {
  return {
    functions: report.functions.map((f) => ({ name: f.name, status: f.status, reasons: f.reasons, cold_mapping: f.cold_mapping })),
    stack_only: report.stack_only,
    line_shifts: report.line_shifts.map((l) => l.name),
  };
}

/** A failed run: exit status 2 and exactly one line on stderr, starting `stackonly:`. */
async function failure(args: string[], cwd?: string): Promise<string> {
  const result = await runCli(args, { cwd, env: { CC: 'gcc', CFLAGS: '', TMPDIR: toolTmp } });
  expect(result.exitCode).toBe(2);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^stackonly: /);
  return lines[0];
}

describe('parsing: what surrounds a diff is not part of it', () => {
  it('takes a git format-patch mail apart: headers, message, diffstat and signature go', () => {
    const text = readFileSync(mails[0], 'utf8');
    expect(text).toContain('\n-- \n2.39.5\n');
    const diff = extractDiff(text);
    expect(diff).not.toContain('Subject:');
    expect(diff).not.toContain('a line in the message');
    expect(diff).not.toContain('1 file changed');
    expect(diff).not.toMatch(/^-- $/m);
    const [fp, ...rest] = parseUnifiedDiff(text, mails[0]);
    expect(rest).toEqual([]);
    expect(fp).toMatchObject({ kind: 'modify', oldPath: 'drv.c', newPath: 'drv.c', exactPaths: false });
    expect(fp.patch.hunks).toHaveLength(1);
    expect(fp.patch.hunks[0].lines).toHaveLength(8);
  });

  it('keeps a removed line that looks like a signature inside a hunk, and ends the mail at the real one', () => {
    const text = ['--- a/notes.txt', '+++ b/notes.txt', '@@ -1,3 +1,2 @@', ' a', '-- ', ' b', '-- ', '2.39.5', ''].join('\n');
    const [fp] = parseUnifiedDiff(text, 'sig.patch');
    expect(fp.patch.hunks[0].lines).toEqual([' a', '-- ', ' b']);
    const applied = applyPatchSeries([fp], { resolve: () => ({ old: 'n', new: 'n' }), read: () => 'a\n- \nb\n', display: (k) => k });
    expect(applied.changes.get('n')).toBe('a\nb\n');
  });

  it('reads a series of mails from one mbox, in order', () => {
    const all = parseUnifiedDiff(readFileSync(join(patches, 'series.mbox'), 'utf8'), 'series.mbox');
    expect(all.map((fp) => `${fp.kind}:${fp.newPath}`)).toEqual(['modify:drv.c', 'modify:drv.c', 'create:drv-limits.h', 'modify:drv.c']);
    expect(readPatches([join(patches, 'series')]).map((fp) => `${fp.kind}:${fp.newPath}`)).toEqual(all.map((fp) => `${fp.kind}:${fp.newPath}`));
  });

  it('knows new, deleted, renamed and copied files from git, /dev/null and diff -N', () => {
    const diffN = readPatches([join(patches, 'all-diffN.patch')], { strip: 1 });
    expect(diffN.map((fp) => [fp.kind, fp.oldPath, fp.newPath])).toEqual([
      ['create', undefined, 'drv-limits.h'],
      ['modify', 'drv.c', 'drv.c'],
    ]);
    // Without -p1, `diff -Naur drv drv-fixed` names are taken whole.
    expect(readPatches([join(patches, 'all-diffN.patch')])[0].newPath).toBe('drv-fixed/drv-limits.h');
    expect(readPatches([join(patches, 'proj-rename.patch')]).map((fp) => [fp.kind, fp.oldPath, fp.newPath])).toEqual([
      ['rename', 'src/internal.h', 'src/extra-internal.h'],
      ['modify', 'src/extra.c', 'src/extra.c'],
    ]);
    expect(readPatches([join(patches, 'proj-delete.patch')]).map((fp) => [fp.kind, fp.oldPath, fp.newPath])).toEqual([
      ['delete', 'include/proj/unused.h', undefined],
      ['modify', 'src/core.c', 'src/core.c'],
    ]);
    const pure = ['diff --git a/x.h b/y.h', 'similarity index 100%', 'rename from x.h', 'rename to y.h', 'diff --git a/z.h b/w.h', 'similarity index 100%', 'copy from z.h', 'copy to w.h', ''].join('\n');
    expect(parseUnifiedDiff(pure, 'pure.patch').map((fp) => [fp.kind, fp.oldPath, fp.newPath, fp.patch.hunks.length])).toEqual([
      ['rename', 'x.h', 'y.h', 0],
      ['copy', 'z.h', 'w.h', 0],
    ]);
    const emptyNew = ['diff --git a/empty.h b/empty.h', 'new file mode 100644', 'index 0000000..e69de29', ''].join('\n');
    expect(parseUnifiedDiff(emptyNew, 'e.patch').map((fp) => [fp.kind, fp.newPath])).toEqual([['create', 'empty.h']]);
  });

  it('strips -p N leading components, and says when a name has fewer', () => {
    const text = ['--- x/y/src/core.c', '+++ x/y/src/core.c', '@@ -1 +1 @@', '-a', '+b', ''].join('\n');
    expect(parseUnifiedDiff(text, 'p.patch', { strip: 2 })[0]).toMatchObject({ oldPath: 'src/core.c', exactPaths: true });
    expect(parseUnifiedDiff(text, 'p.patch', { strip: 0 })[0].oldPath).toBe('x/y/src/core.c');
    expect(parseUnifiedDiff(text, 'p.patch')[0].oldPath).toBe('x/y/src/core.c');
    expect(() => parseUnifiedDiff(text, 'p.patch', { strip: 4 })).toThrow(/p\.patch: cannot strip 4 leading components from x\/y\/src\/core\.c \(-p4\)/);
  });

  it('refuses binary changes and text that holds no diff', () => {
    const binary = ['diff --git a/fw.bin b/fw.bin', 'index 1234567..89abcde 100644', 'GIT binary patch', 'literal 4', 'Lc${NkU|;|M00aO5', '', 'literal 0', 'HcmV?d00001', ''].join('\n');
    expect(() => parseUnifiedDiff(binary, 'bin.patch')).toThrow(PatchError);
    expect(() => parseUnifiedDiff(binary, 'bin.patch')).toThrow(/changes the binary file fw\.bin/);
    expect(() => parseUnifiedDiff('just some words\n', 'words.patch')).toThrow(/contains no hunks/);
  });
});

describe('applying: in order, in memory, with the right errors', () => {
  const files = (texts: Record<string, string>) => ({
    resolve: (fp: FilePatch) => ({ old: fp.oldPath, new: fp.newPath }),
    read: (key: string) => texts[key],
    display: (key: string) => key,
  });

  it('applies a later patch to the result of an earlier one', () => {
    const series = readPatches([join(patches, 'series.mbox')]);
    const original = readFileSync(join(patches, 'drv', 'drv.c'), 'utf8');
    const applied = applyPatchSeries(series, files({ 'drv.c': original }));
    expect(applied.changes.get('drv.c')).toBe(readFileSync(join(patches, 'drv-fixed', 'drv.c'), 'utf8'));
    expect(applied.changes.get('drv-limits.h')).toBe(readFileSync(join(patches, 'drv-fixed', 'drv-limits.h'), 'utf8'));
    expect(applied.originals.get('drv-limits.h')).toBeUndefined();
    // The second mail needs the first: alone, it does not apply.
    expect(() => applyPatchSeries(readPatches([mails[1]]), files({ 'drv.c': original }))).toThrow(/hunk 1 of 1 does not apply to drv\.c/);
  });

  it('says "already applied or reversed?" when the reverse applies', () => {
    const fixed = readFileSync(join(patches, 'drv-fixed', 'drv.c'), 'utf8');
    const limits = readFileSync(join(patches, 'drv-fixed', 'drv-limits.h'), 'utf8');
    for (const mail of [mails[2], join(patches, 'all-diffN.patch')]) {
      const err = (() => {
        try {
          applyPatchSeries(readPatches([mail], mail === mails[2] ? {} : { strip: 1 }), files({ 'drv.c': fixed, 'drv-limits.h': limits }));
        } catch (e) {
          return e as PatchError;
        }
        throw new Error('expected a PatchError');
      })();
      expect(err).toBeInstanceOf(PatchError);
      expect(err.message).toMatch(/does not apply; already applied or reversed\?/);
      expect(err.details).toBeUndefined();
    }
    const deletion = readPatches([join(patches, 'proj-delete.patch')]);
    expect(() => applyPatchSeries(deletion, files({ 'src/core.c': 'x\n' }))).toThrow(/does not apply; already applied or reversed\? \(include\/proj\/unused\.h, which it deletes, does not exist\)/);
  });

  it('checks creations, deletions and renames as patch(1) does', () => {
    const [create] = readPatches([mails[2]]);
    expect(() => applyPatchSeries([create], files({ 'drv-limits.h': 'something else\n' }))).toThrow(/creates drv-limits\.h, which already exists/);
    const [del] = readPatches([join(patches, 'proj-delete.patch')]);
    const unused = readFileSync(join(repoRoot, 'testdata', 'compiledb', 'project', 'include', 'proj', 'unused.h'), 'utf8');
    expect(applyPatchSeries([del], files({ 'include/proj/unused.h': unused })).changes.get('include/proj/unused.h')).toBeNull();
    expect(() => applyPatchSeries([del], files({ 'include/proj/unused.h': unused + 'more\n' }))).toThrow(/deletes include\/proj\/unused\.h, which holds more than the patch removes/);
    const [rename] = readPatches([join(patches, 'proj-rename.patch')]);
    const internal = readFileSync(join(repoRoot, 'testdata', 'compiledb', 'project', 'src', 'internal.h'), 'utf8');
    const renamed = applyPatchSeries([rename], files({ 'src/internal.h': internal }));
    expect([...renamed.changes.keys()]).toEqual(['src/internal.h', 'src/extra-internal.h']);
    expect(renamed.changes.get('src/internal.h')).toBeNull();
    expect(renamed.changes.get('src/extra-internal.h')).toBe(internal.replace('EXTRA_RETRIES 3', 'EXTRA_RETRIES 4'));
    expect(() => applyPatchSeries([rename], files({ 'src/extra-internal.h': 'x\n' }))).toThrow(/already applied or reversed\? \(src\/internal\.h is already renamed to src\/extra-internal\.h\)/);
  });
});

describe('compare <source> --patch (the CLI)', () => {
  let drv: string;
  let expected: ReturnType<typeof verdicts>;

  beforeAll(async () => {
    drv = join(scratch, 'drv');
    cpSync(join(patches, 'drv'), drv, { recursive: true });
    expected = verdicts(await json(['compare', join(patches, 'drv', 'drv.c'), join(patches, 'drv-fixed', 'drv.c')]));
    expect(expected.functions.map((f) => `${f.name}:${f.status}`)).toEqual(['drv_read:changed', 'drv_write:changed']);
  });

  it('git format-patch mails, repeated --patch, one mbox and a quilt series give the fixed source\'s result', async () => {
    const before = snapshot(drv);
    const source = join(drv, 'drv.c');
    for (const given of [mails.flatMap((m) => ['--patch', m]), ['--patch', join(patches, 'series.mbox')], ['--patch', join(patches, 'series')]]) {
      expect(verdicts(await json(['compare', source, ...given]))).toEqual(expected);
    }
    // diff -Naur drv drv-fixed: a new file by its epoch timestamp, names with one component to strip.
    expect(verdicts(await json(['compare', source, '--patch', join(patches, 'all-diffN.patch'), '-p', '1']))).toEqual(expected);
    expect(verdicts(await json(['compare', source, '--patch', join(patches, 'all-diffN.patch'), '--strip', '1']))).toEqual(expected);
    expect(snapshot(drv)).toEqual(before);
    expect(readdirSync(toolTmp)).toEqual([]);
  });

  it('-p0 names, and a name the strip does not fit', async () => {
    const p0 = join(scratch, 'p0.patch');
    writeFileSync(p0, readFileSync(mails[0], 'utf8').replaceAll('a/drv.c', 'drv.c').replaceAll('b/drv.c', 'drv.c'));
    const one = verdicts(await json(['compare', join(drv, 'drv.c'), '--patch', mails[0]]));
    expect(verdicts(await json(['compare', join(drv, 'drv.c'), '--patch', p0, '-p0']))).toEqual(one);
    expect(verdicts(await json(['compare', join(drv, 'drv.c'), '--patch', p0]))).toEqual(one);
    expect(await failure(['compare', join(drv, 'drv.c'), '--patch', p0, '-p', '3'])).toMatch(/p0\.patch: cannot strip 3 leading components from drv\.c \(-p3\)/);
    // Without -p1, the two directories of `diff -Naur` are taken for paths.
    expect(await failure(['compare', join(drv, 'drv.c'), '--patch', join(patches, 'all-diffN.patch')])).toMatch(/changes drv-fixed\/drv-limits\.h, outside the source's directory.*--strip N/);
    expect(await failure(['compare', join(drv, 'drv.c'), '--patch', p0, '--strip', 'x'])).toMatch(/--strip takes a number/);
    expect(await failure(['compare', join(drv, 'drv.c'), join(patches, 'drv-fixed', 'drv.c'), '-p1'])).toMatch(/--strip goes with --patch/);
  });

  it('a change to a file next to the source that its compile does not read is named in a warning, not lost', async () => {
    const dir = join(scratch, 'unread');
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.c'), '#include "cfg.h"\nint f(int x) { return x + LIMIT; }\n');
    writeFileSync(join(dir, 'cfg.h'), '#define LIMIT 3\n');
    writeFileSync(join(dir, 'other.c'), 'int g(int y) { return y * 2; }\n');
    const patch = join(scratch, 'unread.patch');
    const diff = [
      ['--- a/other.c', '+++ b/other.c', '@@ -1 +1 @@', '-int g(int y) { return y * 2; }', '+int g(int y) { return y * 3; }'],
      ['--- /dev/null', '+++ b/extra.c', '@@ -0,0 +1 @@', '+int h(void) { return 1; }'],
      ['--- a/cfg.h', '+++ b/cfg.h', '@@ -1 +1 @@', '-#define LIMIT 3', '+#define LIMIT 4'],
    ];
    writeFileSync(patch, `${diff.flat().join('\n')}\n`);
    const before = snapshot(dir);
    const report = await json(['compare', join(dir, 'main.c'), '--patch', patch]);
    // The header main.c includes counts; the other unit and the new file nothing includes do not, and say so.
    expect(report.functions.map((f) => `${f.name}:${f.status}`)).toEqual(['f:changed']);
    const unread = (verb: string, name: string) => `${patch}: ${verb} ${join(dir, name)}, which the compile of ${join(dir, 'main.c')} does not read: that change is not in this comparison (compile that file itself, or use --source-dir)`;
    expect(report.warnings).toEqual([unread('changes', 'other.c'), unread('creates', 'extra.c')]);
    const text = await runCli(['compare', join(dir, 'main.c'), '--patch', patch], { env: { CC: 'gcc', CFLAGS: '', TMPDIR: toolTmp } });
    expect(text.stdout).toContain(unread('changes', 'other.c'));
    expect(snapshot(dir)).toEqual(before);
    expect(readdirSync(toolTmp)).toEqual([]);
  });

  it('a patch already applied: one line, exit status 2, nothing written', async () => {
    const applied = join(scratch, 'applied');
    mkdirSync(applied);
    cpSync(join(patches, 'drv', 'drv.h'), join(applied, 'drv.h'));
    writeFileSync(join(applied, 'drv.c'), readFileSync(join(patches, 'drv', 'drv.c'), 'utf8').replace('r = drv_io(-r);', 'r = drv_io(-r - 1);'));
    const before = snapshot(applied);
    expect(await failure(['compare', join(applied, 'drv.c'), '--patch', mails[0]])).toBe(
      `stackonly: ${mails[0]}: does not apply; already applied or reversed? (its reverse applies to ${join(applied, 'drv.c')})`,
    );
    // The whole series on the fixed source: the new file exists with the patch's content.
    expect(await failure(['compare', join(patches, 'drv-fixed', 'drv.c'), '--patch', mails[2]])).toMatch(/does not apply; already applied or reversed\?/);
    expect(snapshot(applied)).toEqual(before);
    expect(readdirSync(toolTmp)).toEqual([]);
  });
});

describe('compare --source-dir --patch (the CLI)', () => {
  let proj: string;
  let pristine: Map<string, string>;
  const fixture = join(repoRoot, 'testdata', 'compiledb');

  beforeAll(async () => {
    ({ proj } = await configureProject(join(scratch, 'sd')));
    pristine = snapshot(proj);
  });

  async function tree(args: string[]): Promise<TreeReport> {
    const result = await runCli(['compare', '--source-dir', proj, ...args, '--format', 'json', '-j', '2'], { env: { TMPDIR: toolTmp } });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expectValidReport(report);
    expect(snapshot(proj)).toEqual(pristine);
    expect(readdirSync(toolTmp)).toEqual([]);
    return report;
  }
  const changed = (r: TreeReport) => r.functions.map((f) => `${f.object}:${f.name}:${f.status}`).sort();

  it('the same fix as a plain diff, as format-patch mail, with -p0 and with -p2', async () => {
    const plain = await tree(['--patch', join(fixture, 'fix-core.patch')]);
    expect(changed(plain)).toEqual(['src/core.o:core_step:changed']);
    expect(changed(await tree(['--patch', join(patches, 'proj-fix-core.mbox')]))).toEqual(changed(plain));
    const text = readFileSync(join(fixture, 'fix-core.patch'), 'utf8');
    const p0 = join(scratch, 'core-p0.patch');
    writeFileSync(p0, text.replace('--- a/src/core.c', '--- src/core.c').replace('+++ b/src/core.c', '+++ src/core.c'));
    expect(changed(await tree(['--patch', p0, '-p0']))).toEqual(changed(plain));
    const p2 = join(scratch, 'core-p2.patch');
    writeFileSync(p2, text.replace('--- a/src/core.c', '--- linux-6.1.orig/x/src/core.c').replace('+++ b/src/core.c', '+++ linux-6.1/x/src/core.c'));
    expect(changed(await tree(['--patch', p2, '--strip', '2']))).toEqual(changed(plain));
  });

  it('a renamed header and a deleted one', async () => {
    const renamed = await tree(['--patch', join(patches, 'proj-rename.patch')]);
    expect(changed(renamed)).toEqual(['src/extra.o:extra_run:changed']);
    const deleted = await tree(['--patch', join(patches, 'proj-delete.patch')]);
    expect(changed(deleted)).toEqual(['src/core.o:core_other:changed']);
    // Both, in order, as two --patch options.
    const both = await tree(['--patch', join(patches, 'proj-rename.patch'), '--patch', join(patches, 'proj-delete.patch')]);
    expect(changed(both)).toEqual(['src/core.o:core_other:changed', 'src/extra.o:extra_run:changed']);
    expect(both.patched).toBe(`${proj} + ${join(patches, 'proj-rename.patch')} + ${join(patches, 'proj-delete.patch')}`);
  });

  it('a patch already applied, or reversed: one line, exit status 2', async () => {
    const reversed = join(scratch, 'reversed.patch');
    const text = readFileSync(join(fixture, 'fix-core.patch'), 'utf8');
    writeFileSync(
      reversed,
      text
        .split('\n')
        .map((l) => (l.startsWith('-') && !l.startsWith('---') ? `+${l.slice(1)}` : l.startsWith('+') && !l.startsWith('+++') ? `-${l.slice(1)}` : l))
        .join('\n'),
    );
    expect(await failure(['compare', '--source-dir', proj, '--patch', reversed], undefined)).toBe(
      `stackonly: ${reversed}: does not apply; already applied or reversed? (its reverse applies to ${join(proj, 'src/core.c')})`,
    );
    expect(snapshot(proj)).toEqual(pristine);
    expect(readdirSync(toolTmp)).toEqual([]);
  });
});
