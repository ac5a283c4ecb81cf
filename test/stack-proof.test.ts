import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';
import { expectValidReport } from './helpers/schema.js';
import type { CompareReport, FunctionChangeJson, StackOnlyEntryJson } from '../src/report/types.js';

/**
 * Proof on real stacks (design.md §1, §6).
 *
 * A case is a directory testdata/stack/<case>/ with orig.c and patched.c (the code under
 * test), driver.c (the functions that code calls, and the threads; see
 * testdata/stack/harness.h) and case.json (description; `patched_code` per side; `stacks`:
 * per side, per thread, the expected program frames, innermost first).
 *
 * For each case under testdata/stack/: the CLI reports on orig.c -> patched.c. Each side is
 * compiled exactly as the tool compiles it, linked with the case's driver.c and the shared
 * harness.c into a program whose threads each block somewhere inside (or outside) the code
 * under test: in a call made from a function, from its .cold part, from a function reached
 * by a tail call. gdb reads the real stacks of the blocked threads, and the test evaluates
 * what the kernel's klp_check_stack_func() would:
 *
 * - "thread T is in patched code": some frame's address lies inside a symbol of a patched
 *   family (the `changed` functions and their parts, on that side) or of code that exists
 *   on that side only (removed families in the original program, added families in the
 *   patched one, with their parts), or of a name the case lists by hand (case.json
 *   `patched_code`, so that the oracle does not rest on the report alone).
 * - "the check sees T": some frame's address lies in [sym, sym + size) of a name in the
 *   checked set: the changed functions' own symbols plus `stack_only.enable` (original
 *   program: enabling the livepatch) or `stack_only.disable` (patched program: disabling).
 *
 * Asserted: in patched code => seen (and seen => in patched code: no needless names).
 * Negative controls: without the stack-only names, some thread in patched code is not
 * seen; and dropping any single enable/disable entry leaves some thread unseen, so every
 * entry is justified by a real stack.
 */

const stackDir = join(repoRoot, 'testdata', 'stack');
const cases = readdirSync(stackDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(stackDir, d.name, 'case.json')))
  .map((d) => d.name)
  .sort();
const scratch = mkdtempSync(join(tmpdir(), 'stackonly-stack-proof-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Set STACKPROOF_VERBOSE=1 to print every observed stack. */
const verbose = Boolean(process.env.STACKPROOF_VERBOSE);

type Side = 'original' | 'patched';

interface StackCase {
  description: string;
  /** Symbols of the patched code on each side, derived by hand from the gcc output. */
  patched_code: Record<Side, string[]>;
  /**
   * Per side, per thread: the frames of the program between harness_block() and
   * harness_thread_main(), innermost first, joined by " <- ".
   */
  stacks: Record<Side, Record<string, string>>;
}

/** Exactly the tool's compile (src/compile/gcc.ts effectiveFlags with no user flags). */
const TOOL_CFLAGS = ['-O2', '-c', '-ffunction-sections', '-fdata-sections'];
/** Harness and driver: no inlining, no tail calls, a frame for every function. */
const HARNESS_CFLAGS = ['-O0', '-fno-omit-frame-pointer', '-pthread'];

const GDB_SCRIPT = `
import gdb
gdb.execute("set pagination off")
for inferior in gdb.inferiors():
    for thread in inferior.threads():
        thread.switch()
        print("STACKPROOF THREAD %d" % thread.ptid[1])
        frame = gdb.newest_frame()
        while frame is not None:
            # An inlined frame has no return address of its own on the stack.
            if frame.type() != gdb.INLINE_FRAME:
                print("STACKPROOF FRAME 0x%x %s" % (frame.pc(), frame.name() or "??"))
            try:
                frame = frame.older()
            except gdb.error as err:
                print("STACKPROOF UNWIND-ERROR %s" % err)
                break
print("STACKPROOF END")
`;

interface Symbol {
  name: string;
  start: number;
  end: number;
}

interface Frame {
  pc: number;
  /** The program's function symbol covering pc, if any (undefined: a shared library). */
  symbol?: Symbol;
  gdbName: string;
}

interface ThreadStack {
  name: string;
  tid: number;
  where: string;
  frames: Frame[];
}

interface Program {
  side: Side;
  exe: string;
  object: string;
  symbols: Symbol[];
}

const hex = (n: number) => '0x' + n.toString(16);

function frameText(f: Frame): string {
  if (!f.symbol) return `${f.gdbName}@${hex(f.pc)}`;
  return `${f.symbol.name}+${hex(f.pc - f.symbol.start)}`;
}

function stackText(t: ThreadStack): string {
  return `thread ${t.name} (tid ${t.tid}, blocked at ${t.where}): ${t.frames.map(frameText).join(' <- ')}`;
}

/** The program's frames between harness_block and harness_thread_main, innermost first. */
function chain(t: ThreadStack): string {
  const names = t.frames.filter((f) => f.symbol).map((f) => f.symbol!.name);
  expect(names[0], stackText(t)).toBe('harness_block');
  expect(names[names.length - 1], stackText(t)).toBe('harness_thread_main');
  return names.slice(1, -1).join(' <- ');
}

async function compileSide(caseDir: string, side: Side, work: string): Promise<Program> {
  const dir = join(work, side);
  mkdirSync(dir, { recursive: true });
  // As the tool does: the patched source is compiled under the original's name, so that
  // STT_FILE and __FILE__ agree with the original build.
  copyFileSync(join(caseDir, side === 'original' ? 'orig.c' : 'patched.c'), join(dir, 'orig.c'));
  const env = { LC_ALL: 'C' };
  const object = join(dir, 'code.o');
  const define = `-DHARNESS_PATCHED=${side === 'patched' ? 1 : 0}`;
  await Promise.all([
    execa('gcc', [...TOOL_CFLAGS, 'orig.c', '-o', object], { cwd: dir, env }),
    execa('gcc', [...HARNESS_CFLAGS, define, '-c', join(stackDir, 'harness.c'), '-o', join(dir, 'harness.o')], { cwd: dir, env }),
    execa('gcc', [...HARNESS_CFLAGS, define, '-c', join(caseDir, 'driver.c'), '-o', join(dir, 'driver.o')], { cwd: dir, env }),
  ]);
  const exe = join(dir, 'prog');
  // -no-pie: the symbol table's addresses are the run-time addresses.
  await execa('gcc', ['-no-pie', '-pthread', 'harness.o', 'driver.o', 'code.o', '-o', exe], { cwd: dir, env });
  const nm = await execa('nm', ['-S', '--defined-only', exe], { env });
  const symbols: Symbol[] = [];
  for (const line of nm.stdout.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) [tTwW] (\S+)$/.exec(line.trim());
    if (!m) continue;
    const start = parseInt(m[1], 16);
    const size = parseInt(m[2], 16);
    if (size > 0) symbols.push({ name: m[3], start, end: start + size });
  }
  return { side, exe, object, symbols };
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts the program, waits until every thread is blocked, reads all stacks with gdb. */
async function observe(program: Program): Promise<ThreadStack[]> {
  const child = spawn(program.exe, [], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${program.exe}: not ready after 60 s\n${out}${err}`)), 60_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/^ready \d+$/m.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${program.exe} exited (${code ?? signal}) before all threads blocked\n${out}${err}`));
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const records = new Map<number, { name: string; where: string }>();
    for (const line of out.split('\n')) {
      const m = /^thread (\S+) (\d+) (.*)$/.exec(line);
      if (m) records.set(Number(m[2]), { name: m[1], where: m[3] });
    }

    const script = program.exe + '-stacks.py';
    writeFileSync(script, GDB_SCRIPT);
    // No separate debug info (libc's would double gdb's time): every frame unwinds through
    // .eh_frame, as the code under test does anyway.
    const noDebugInfo = join(scratch, 'no-debug-info');
    mkdirSync(noDebugInfo, { recursive: true });
    const gdb = await execa(
      'gdb',
      ['-nx', '-batch', '-iex', 'set debuginfod enabled off', '-iex', `set debug-file-directory ${noDebugInfo}`, '-p', String(child.pid), '-x', script],
      { reject: false, timeout: 60_000, stdin: 'ignore', env: { LC_ALL: 'C' } },
    );
    const gdbOut = String(gdb.stdout);
    expect(gdbOut, `gdb failed on ${program.exe}:\n${gdb.stderr}`).toContain('STACKPROOF END');

    const stacks: ThreadStack[] = [];
    let current: ThreadStack | undefined;
    for (const line of gdbOut.split('\n')) {
      let m = /^STACKPROOF THREAD (\d+)$/.exec(line);
      if (m) {
        const record = records.get(Number(m[1]));
        current = record ? { name: record.name, tid: Number(m[1]), where: record.where, frames: [] } : undefined;
        if (current) stacks.push(current);
        continue;
      }
      m = /^STACKPROOF FRAME 0x([0-9a-f]+) (.*)$/.exec(line);
      if (m && current) {
        const pc = parseInt(m[1], 16);
        current.frames.push({ pc, gdbName: m[2], symbol: program.symbols.find((s) => pc >= s.start && pc < s.end) });
      }
      if (line.startsWith('STACKPROOF UNWIND-ERROR') && current) throw new Error(`gdb could not unwind thread ${current.name}: ${line}`);
    }
    expect(stacks.map((s) => s.name).sort(), `threads seen by gdb in ${program.exe}`).toEqual([...records.values()].map((r) => r.name).sort());
    return stacks.sort((a, b) => a.tid - b.tid);
  } finally {
    child.kill('SIGKILL');
    await waitForExit(child);
  }
}

/** Every program symbol named `name`: there must be exactly one (the kernel resolves names). */
function rangesOf(program: Program, name: string): Symbol[] {
  const found = program.symbols.filter((s) => s.name === name);
  expect(found.length, `function symbol ${name} in the ${program.side} program`).toBe(1);
  return found;
}

/** Whether some frame's address lies in [sym, sym + size) of one of `names`. */
function anyFrameIn(program: Program, t: ThreadStack, names: Iterable<string>): boolean {
  const ranges = [...names].flatMap((n) => rangesOf(program, n));
  return t.frames.some((f) => ranges.some((r) => f.pc >= r.start && f.pc < r.end));
}

interface SideModel {
  /** The changed functions' own symbols: what the klp_func entries make the kernel check. */
  own: string[];
  /** stack_only.enable (original) or stack_only.disable (patched). */
  stackOnly: StackOnlyEntryJson[];
  /** The patched code (see the file comment). */
  patchedCode: Set<string>;
}

function sideModel(report: CompareReport, spec: StackCase, side: Side): SideModel {
  const changed = report.functions.filter((f) => f.status === 'changed');
  const ownSide = (f: FunctionChangeJson) => (side === 'original' ? f.original : f.patched)!;
  const onlyHere = report.functions.filter((f) => f.status === (side === 'original' ? 'removed' : 'added'));
  const patchedCode = new Set<string>(spec.patched_code[side]);
  for (const f of [...changed, ...onlyHere]) {
    patchedCode.add(ownSide(f).symbol);
    for (const p of ownSide(f).parts) patchedCode.add(p);
  }
  return {
    own: changed.map((f) => ownSide(f).symbol),
    stackOnly: side === 'original' ? report.stack_only.enable : report.stack_only.disable,
    patchedCode,
  };
}

/** The comparable content of a report: the families and the sets. */
function essentials(report: CompareReport) {
  return {
    functions: report.functions.map((f) => ({
      name: f.name,
      status: f.status,
      original: f.original && { symbol: f.original.symbol, parts: f.original.parts, size: f.original.size },
      patched: f.patched && { symbol: f.patched.symbol, parts: f.patched.parts, size: f.patched.size },
    })),
    stack_only: report.stack_only,
  };
}

async function compareJson(args: string[]): Promise<CompareReport> {
  const result = await runCli(['compare', ...args, '--format', 'json'], { env: { CC: 'gcc', CFLAGS: '' } });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  const report = JSON.parse(result.stdout) as CompareReport;
  expectValidReport(report);
  return report;
}

describe('stack-only sets, proved on real stacks (testdata/stack)', () => {
  it('has the cases the project promises', () => {
    for (const c of ['upstream-example', 'cold-noreturn', 'tail-call-added', 'tail-call-removed']) expect(cases).toContain(c);
  });

  for (const name of cases) {
    it(name, async () => {
      const caseDir = join(stackDir, name);
      const spec = JSON.parse(readFileSync(join(caseDir, 'case.json'), 'utf8')) as StackCase;
      const work = join(scratch, name);
      mkdirSync(work, { recursive: true });

      const [report, original, patched] = await Promise.all([
        compareJson([join(caseDir, 'orig.c'), join(caseDir, 'patched.c')]),
        compileSide(caseDir, 'original', work),
        compileSide(caseDir, 'patched', work),
      ]);
      const [fromObjects, originalStacks, patchedStacks] = await Promise.all([
        compareJson([original.object, patched.object]),
        observe(original),
        observe(patched),
      ]);
      // The objects linked here are those the report describes.
      expect(essentials(fromObjects)).toEqual(essentials(report));

      let provedProblem = false;
      for (const [program, stacks] of [[original, originalStacks], [patched, patchedStacks]] as const) {
        const side = program.side;
        const model = sideModel(report, spec, side);
        if (verbose) for (const t of stacks) console.log(`${name} ${side}: ${stackText(t)}`);

        // The threads block where the case says, on stacks gdb unwound completely.
        const chains = Object.fromEntries(stacks.map((t) => [t.name, chain(t)]));
        expect(chains, `${name}: ${side} program stacks`).toEqual(spec.stacks[side]);

        const full = new Set([...model.own, ...model.stackOnly.map((e) => e.name)]);
        const inPatched = (t: ThreadStack) => anyFrameIn(program, t, model.patchedCode);
        const checked = `[${[...full].join(', ')}]`;
        for (const t of stacks) {
          const seen = anyFrameIn(program, t, full);
          if (inPatched(t)) expect(seen, `${name} ${side}: in patched code, not seen by a check of ${checked}: ${stackText(t)}`).toBe(true);
          else expect(seen, `${name} ${side}: in no patched code, yet a check of ${checked} would stall on ${stackText(t)}`).toBe(false);
        }

        // Negative control 1: the changed functions alone miss a thread in patched code.
        const missedWithoutSets = stacks.filter((t) => inPatched(t) && !anyFrameIn(program, t, model.own));
        if (model.stackOnly.length > 0) {
          expect(missedWithoutSets.length, `${name} ${side}: some thread must escape a check of [${model.own}] alone`).toBeGreaterThan(0);
        }
        if (missedWithoutSets.length > 0) provedProblem = true;

        // Negative control 2: every entry is what makes the check see some thread.
        for (const entry of model.stackOnly) {
          const without = new Set([...model.own, ...model.stackOnly.filter((e) => e.name !== entry.name).map((e) => e.name)]);
          const missed = stacks.filter((t) => inPatched(t) && !anyFrameIn(program, t, without));
          expect(missed.length, `${name} ${side}: no thread needs stack-only entry ${entry.name} (owner ${entry.owner}, ${entry.reason})`).toBeGreaterThan(0);
        }
      }
      expect(provedProblem, `${name}: no thread escapes the check without stack-only names`).toBe(true);
    }, 90_000);
  }
});
