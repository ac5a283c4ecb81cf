import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Comparison, FamilyChange } from '../src/compare/compare.js';
import { deriveReplace, readCompareReport } from '../src/derive/replace.js';
import { deriveStackOnly, type StackOnlyEntry, type StackOnlySets } from '../src/derive/stack-only.js';
import { InputError } from '../src/errors.js';
import type { FunctionInfo } from '../src/model/types.js';
import type { StackOnlyEntryJson } from '../src/report/types.js';
import { added, attach, buildNoise, changed, edge, handFunction as fn, removed } from './helpers/hand-model.js';

/**
 * The derivation rules of design.md §6 on hand-built models (no gcc, no ELF): each test
 * builds the two objects' functions, parts and edges that one rule is about, and asserts
 * the exact enable and disable sets. The scenarios follow testdata/compare/ where one
 * exists there (upstream-example, cold-gained, cold-lost, tail-call-added, ...), so a
 * failure here and there point at the same rule.
 *
 * Names differ between the two sides wherever the rule allows (`.cold.3` becoming
 * `.cold.7`, as gcc 8 numbered them), so that an entry taken from the wrong object shows
 * as a wrong name, not only as a wrong FunctionInfo.
 */

/** deriveStackOnly reads only the changed, added and removed families. */
function derive(...changes: FamilyChange[]): StackOnlySets {
  return deriveStackOnly({ changes } as Partial<Comparison> as Comparison);
}

/** An entry as a plain object, without its FunctionInfo (checked apart by `fns`). */
function plain(entries: StackOnlyEntry[]): Omit<StackOnlyEntry, 'fn'>[] {
  return entries.map(({ fn: _fn, ...rest }) => rest);
}

function fns(entries: StackOnlyEntry[]): FunctionInfo[] {
  return entries.map((e) => e.fn);
}

const part = (name: string, owner: string) => ({ name, owner, reason: 'part' as const, sympos: 0 });
const tailCall = (name: string, owner: string) => ({ name, owner, reason: 'tail-call' as const, sympos: 0 });
const partOf = (name: string, owner: string, of: string) => ({ ...part(name, owner), partOf: of });

describe('deriveStackOnly: parts of changed families', () => {
  it('puts the original parts in the enable set and the patched parts in the disable set', () => {
    // Upstream example, with the part renumbered by the compiler between the builds.
    const oCold = fn('child_func.cold.3', { section: '.text.unlikely.child_func' });
    const o = attach(fn('child_func', { global: true }), oCold);
    const pCold = fn('child_func.cold.7', { section: '.text.unlikely.child_func' });
    const p = attach(fn('child_func', { global: true }), pCold);
    edge(o, 'jump', oCold);
    edge(oCold, 'jump', o, 0x10);
    edge(p, 'jump', pCold);
    edge(pCold, 'jump', p, 0x10);

    const sets = derive(changed(o, p));
    expect(plain(sets.enable)).toEqual([part('child_func.cold.3', 'child_func')]);
    expect(plain(sets.disable)).toEqual([part('child_func.cold.7', 'child_func')]);
    expect(fns(sets.enable)).toEqual([oCold]);
    expect(fns(sets.disable)).toEqual([pCold]);
  });

  it('takes each side\'s own part when the names are the same (one-to-one)', () => {
    const oCold = fn('child_func.cold');
    const pCold = fn('child_func.cold');
    const sets = derive(changed(attach(fn('child_func'), oCold), attach(fn('child_func'), pCold)));
    expect(plain(sets.enable)).toEqual([part('child_func.cold', 'child_func')]);
    expect(plain(sets.disable)).toEqual([part('child_func.cold', 'child_func')]);
    expect(sets.enable[0].fn).toBe(oCold);
    expect(sets.disable[0].fn).toBe(pCold);
  });

  it('gained: a part only in the patched object is in the disable set only', () => {
    const sets = derive(changed(fn('set_limit'), attach(fn('set_limit'), fn('set_limit.cold'))));
    expect(plain(sets.enable)).toEqual([]);
    expect(plain(sets.disable)).toEqual([part('set_limit.cold', 'set_limit')]);
  });

  it('lost: a part only in the original object is in the enable set only', () => {
    const sets = derive(changed(attach(fn('open_buf'), fn('open_buf.cold')), fn('open_buf')));
    expect(plain(sets.enable)).toEqual([part('open_buf.cold', 'open_buf')]);
    expect(plain(sets.disable)).toEqual([]);
  });

  it('split: every part of each side, sorted by name in code-unit order', () => {
    const o = attach(fn('guarded_read'), fn('guarded_read.cold'));
    const p = attach(fn('guarded_read'), fn('guarded_read_fixup'), fn('guarded_read.cold'));
    const sets = derive(changed(o, p));
    expect(plain(sets.enable)).toEqual([part('guarded_read.cold', 'guarded_read')]);
    expect(plain(sets.disable)).toEqual([part('guarded_read.cold', 'guarded_read'), part('guarded_read_fixup', 'guarded_read')]);
  });

  it('a renamed changed family: the enable owner is the original name, the disable owner the patched name', () => {
    const o = attach(fn('xfer.constprop.0'), fn('xfer.constprop.0.cold'));
    const p = attach(fn('xfer.constprop.1'), fn('xfer.constprop.1.cold'));
    const sets = derive(changed(o, p));
    expect(plain(sets.enable)).toEqual([part('xfer.constprop.0.cold', 'xfer.constprop.0')]);
    expect(plain(sets.disable)).toEqual([part('xfer.constprop.1.cold', 'xfer.constprop.1')]);
  });

  it('a part that never jumps back (noreturn) is still a part', () => {
    const oCold = fn('advance.cold');
    const pCold = fn('advance.cold');
    const o = attach(fn('advance'), oCold);
    const p = attach(fn('advance'), pCold);
    edge(o, 'jump', oCold);
    edge(oCold, 'call', 'abort');
    edge(p, 'jump', pCold);
    edge(pCold, 'call', 'abort');
    const sets = derive(changed(o, p));
    expect(plain(sets.enable)).toEqual([part('advance.cold', 'advance')]);
    expect(plain(sets.disable)).toEqual([part('advance.cold', 'advance')]);
  });

  it('keeps the kallsyms position of a repeated name, and sorts equal names by it', () => {
    const o = attach(fn('probe'), fn('probe.cold', { sympos: 2 }));
    const p = attach(fn('probe'), fn('probe.cold', { sympos: 1 }));
    const q = attach(fn('reset'), fn('probe.cold', { sympos: 1 }));
    const r = attach(fn('reset'), fn('probe.cold', { sympos: 2 }));
    const sets = derive(changed(o, p), changed(q, r));
    expect(plain(sets.enable)).toEqual([
      { ...part('probe.cold', 'reset'), sympos: 1 },
      { ...part('probe.cold', 'probe'), sympos: 2 },
    ]);
    expect(plain(sets.disable)).toEqual([
      { ...part('probe.cold', 'probe'), sympos: 1 },
      { ...part('probe.cold', 'reset'), sympos: 2 },
    ]);
  });
});

describe('deriveStackOnly: what contributes nothing', () => {
  it('no changes: empty sets, whatever parts and tail calls the objects have', () => {
    expect(derive()).toEqual({ enable: [], disable: [] });
  });

  it('unchanged and build-noise families contribute nothing, even with parts', () => {
    const oParent = attach(fn('parent_func'), fn('parent_func.cold'));
    const pParent = attach(fn('parent_func'), fn('parent_func.cold'));
    const sets = derive(buildNoise(oParent, pParent));
    expect(plain(sets.enable)).toEqual([]);
    expect(plain(sets.disable)).toEqual([]);
  });

  it('only the changed families are roots: an unchanged caller of a changed function adds nothing', () => {
    // parent_func calls child_func (upstream example): marking callers was rejected.
    const oChild = attach(fn('child_func'), fn('child_func.cold'));
    const pChild = attach(fn('child_func'), fn('child_func.cold'));
    const oParent = attach(fn('parent_func'), fn('parent_func.cold'));
    edge(oParent, 'call', oChild);
    const sets = derive(changed(oChild, pChild));
    expect(sets.enable.map((e) => e.name)).toEqual(['child_func.cold']);
    expect(sets.disable.map((e) => e.name)).toEqual(['child_func.cold']);
  });

  it('added and removed families are not roots: their own parts get no entry', () => {
    const sets = derive(removed(attach(fn('legacy_submit'), fn('legacy_submit.cold'))), added(attach(fn('validate_req'), fn('validate_req.cold'))));
    expect(plain(sets.enable)).toEqual([]);
    expect(plain(sets.disable)).toEqual([]);
  });

  it('a removed function that is only called gets no entry (its caller\'s frame is checked)', () => {
    const prepare = fn('legacy_prepare');
    const o = fn('dispatch');
    edge(o, 'call', prepare);
    const sets = derive(changed(o, fn('dispatch')), removed(prepare));
    expect(plain(sets.enable)).toEqual([]);
    expect(plain(sets.disable)).toEqual([]);
  });

  it('an added function that is only called, jumped to or addressed gets no entry', () => {
    const called = fn('new_helper');
    const jumped = fn('new_stub');
    const addressed = fn('new_callback');
    const p = fn('handle_req');
    edge(p, 'call', called);
    edge(p, 'jump', jumped, 4);
    edge(p, 'address', addressed);
    const sets = derive(changed(fn('handle_req'), p), added(called), added(jumped), added(addressed));
    expect(plain(sets.disable)).toEqual([]);
  });

  it('a tail call to a function that exists on both sides, or to an external symbol, gets no entry', () => {
    const oCommon = fn('queue_empty');
    const pCommon = fn('queue_empty');
    const o = fn('handle_req');
    const p = fn('handle_req');
    edge(o, 'tail-call', oCommon);
    edge(o, 'tail-call', 'submit');
    edge(p, 'tail-call', pCommon);
    edge(p, 'tail-call', 'submit');
    expect(derive(changed(o, p))).toEqual({ enable: [], disable: [] });
  });
});

describe('deriveStackOnly: tail-called functions that exist on one side only', () => {
  it('enable: a removed function tail-called by the original, with its parts (tail-call-removed)', () => {
    const prepare = fn('legacy_prepare');
    const submitCold = fn('legacy_submit.cold');
    const submit = attach(fn('legacy_submit'), submitCold);
    const o = fn('dispatch');
    edge(o, 'call', prepare);
    edge(o, 'tail-call', submit);
    edge(submit, 'jump', submitCold);
    edge(submitCold, 'jump', submit, 0x15);
    const p = fn('dispatch');
    edge(p, 'tail-call', 'modern_io');

    const sets = derive(changed(o, p), removed(prepare), removed(submit));
    expect(plain(sets.enable)).toEqual([tailCall('legacy_submit', 'dispatch'), partOf('legacy_submit.cold', 'dispatch', 'legacy_submit')]);
    expect(plain(sets.disable)).toEqual([]);
    expect(fns(sets.enable)).toEqual([submit, submitCold]);
  });

  it('disable: added functions tail-called by the patched version, transitively, with their parts (tail-call-added)', () => {
    const commit = fn('commit_req');
    edge(commit, 'tail-call', 'submit');
    const validateCold = fn('validate_req.cold');
    const validate = attach(fn('validate_req'), validateCold);
    edge(validate, 'tail-call', commit);
    const p = fn('handle_req');
    edge(p, 'tail-call', validate);
    const o = fn('handle_req');
    edge(o, 'tail-call', 'submit');

    const sets = derive(added(commit), changed(o, p), added(validate));
    expect(plain(sets.enable)).toEqual([]);
    expect(plain(sets.disable)).toEqual([
      tailCall('commit_req', 'handle_req'),
      tailCall('validate_req', 'handle_req'),
      partOf('validate_req.cold', 'handle_req', 'validate_req'),
    ]);
  });

  it('both sides at once: removed functions only in enable, added functions only in disable', () => {
    const gone = fn('old_path');
    const fresh = fn('new_path');
    const o = fn('route');
    const p = fn('route');
    edge(o, 'tail-call', gone);
    edge(p, 'tail-call', fresh);
    const sets = derive(changed(o, p), removed(gone), added(fresh));
    expect(plain(sets.enable)).toEqual([tailCall('old_path', 'route')]);
    expect(plain(sets.disable)).toEqual([tailCall('new_path', 'route')]);
  });

  it('a tail call out of a changed function\'s part counts (tail-call-from-part)', () => {
    const oCold = fn('flush.cold');
    const o = attach(fn('flush'), oCold);
    const gone = fn('flush_slow');
    edge(oCold, 'tail-call', gone);
    const pCold = fn('flush.cold');
    const p = attach(fn('flush'), pCold);
    const fresh = fn('flush_retry');
    edge(pCold, 'tail-call', fresh);
    const sets = derive(changed(o, p), removed(gone), added(fresh));
    expect(plain(sets.enable)).toEqual([part('flush.cold', 'flush'), tailCall('flush_slow', 'flush')]);
    expect(plain(sets.disable)).toEqual([part('flush.cold', 'flush'), tailCall('flush_retry', 'flush')]);
  });

  it('follows tail calls out of a tail-called function\'s part', () => {
    const lastResort = fn('new_abort');
    const helperCold = fn('new_helper.cold');
    const helper = attach(fn('new_helper'), helperCold);
    edge(helperCold, 'tail-call', lastResort);
    const p = fn('op');
    edge(p, 'tail-call', helper);
    const sets = derive(changed(fn('op'), p), added(helper), added(lastResort));
    expect(plain(sets.disable)).toEqual([
      tailCall('new_abort', 'op'),
      tailCall('new_helper', 'op'),
      partOf('new_helper.cold', 'op', 'new_helper'),
    ]);
  });

  it('a cycle of tail calls ends, and each function appears once', () => {
    const a = fn('ping');
    const b = fn('pong');
    const o = fn('serve');
    edge(o, 'tail-call', a);
    edge(a, 'tail-call', b);
    edge(b, 'tail-call', a);
    edge(b, 'tail-call', o);
    const sets = derive(changed(o, fn('serve')), removed(a), removed(b));
    expect(plain(sets.enable)).toEqual([tailCall('ping', 'serve'), tailCall('pong', 'serve')]);
  });

  it('a function tail-called by two changed families appears once, owned by one of them', () => {
    const shared = fn('old_common');
    const o1 = fn('first');
    const o2 = fn('second');
    edge(o1, 'tail-call', shared);
    edge(o2, 'tail-call', shared);
    const sets = derive(changed(o1, fn('first')), changed(o2, fn('second')), removed(shared));
    expect(sets.enable.map((e) => [e.name, e.reason])).toEqual([['old_common', 'tail-call']]);
    expect(['first', 'second']).toContain(sets.enable[0].owner);
  });

  it('the owner of an entry on the disable side is the patched family\'s name', () => {
    const fresh = fn('xfer.constprop.0');
    const p = fn('write_more.constprop.1');
    edge(p, 'tail-call', fresh);
    const sets = derive(changed(fn('write_more.constprop.0'), p), added(fresh));
    expect(plain(sets.disable)).toEqual([tailCall('xfer.constprop.0', 'write_more.constprop.1')]);
  });
});

describe('deriveReplace: atomic replace of livepatch A by B', () => {
  type Stored = Parameters<typeof deriveReplace>[0];
  const entry = (name: string, owner: string, reason: StackOnlyEntryJson['reason'] = 'part'): StackOnlyEntryJson => ({ name, owner, reason });
  const report = (enable: StackOnlyEntryJson[], disable: StackOnlyEntryJson[]): Stored => ({ schema_version: 1, stack_only: { enable, disable } });

  it("is A's disable set (from: replaced) followed by B's enable set (from: replacing), nothing else", () => {
    const a = report([entry('a_enable.cold', 'a_enable')], [entry('a_disable.cold', 'a_disable'), entry('a_helper', 'a_disable', 'tail-call')]);
    const b = report([entry('b_enable.cold', 'b_enable')], [entry('b_disable.cold', 'b_disable')]);
    expect(deriveReplace(a, b)).toEqual([
      { name: 'a_disable.cold', owner: 'a_disable', reason: 'part', from: 'replaced' },
      { name: 'a_helper', owner: 'a_disable', reason: 'tail-call', from: 'replaced' },
      { name: 'b_enable.cold', owner: 'b_enable', reason: 'part', from: 'replacing' },
    ]);
  });

  it('keeps the same name from both sides as two entries (they live in different objects)', () => {
    const a = report([entry('child_func.cold', 'child_func')], [entry('child_func.cold', 'child_func')]);
    const b = report([entry('child_func.cold', 'child_func')], [entry('child_func.cold', 'child_func')]);
    expect(deriveReplace(a, b)).toEqual([
      { name: 'child_func.cold', owner: 'child_func', reason: 'part', from: 'replaced' },
      { name: 'child_func.cold', owner: 'child_func', reason: 'part', from: 'replacing' },
    ]);
  });

  it('empty sets give an empty replace set', () => {
    expect(deriveReplace(report([], []), report([], []))).toEqual([]);
  });

  it('carries a non-zero sympos and leaves a zero one out', () => {
    const a = report([], [{ ...entry('probe.cold', 'probe'), sympos: 2 }, { ...entry('reset.cold', 'reset'), sympos: 0 }]);
    expect(deriveReplace(a, report([], []))).toEqual([
      { name: 'probe.cold', owner: 'probe', reason: 'part', from: 'replaced', sympos: 2 },
      { name: 'reset.cold', owner: 'reset', reason: 'part', from: 'replaced' },
    ]);
  });

  it('tree reports: entries of every object, each with its object path', () => {
    const a: Stored = {
      schema_version: 1,
      stack_only: { enable: [], disable: [] },
      objects: [
        { path: 'fs/ext4/ext4.ko', stack_only: { enable: [entry('x.cold', 'x')], disable: [entry('ext4_foo.cold', 'ext4_foo')] } },
        { path: 'net/core/dev.o', stack_only: { enable: [], disable: [entry('dev_bar.cold', 'dev_bar')] } },
      ],
    };
    const b: Stored = {
      schema_version: 1,
      stack_only: { enable: [], disable: [] },
      objects: [{ path: 'fs/ext4/ext4.ko', stack_only: { enable: [entry('ext4_foo.cold', 'ext4_foo')], disable: [] } }],
    };
    expect(deriveReplace(a, b)).toEqual([
      { name: 'ext4_foo.cold', owner: 'ext4_foo', reason: 'part', from: 'replaced', object: 'fs/ext4/ext4.ko' },
      { name: 'dev_bar.cold', owner: 'dev_bar', reason: 'part', from: 'replaced', object: 'net/core/dev.o' },
      { name: 'ext4_foo.cold', owner: 'ext4_foo', reason: 'part', from: 'replacing', object: 'fs/ext4/ext4.ko' },
    ]);
  });
});

describe('readCompareReport', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackonly-derive-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads a compare report back', () => {
    const sets = { enable: [{ name: 'a.cold', owner: 'a', reason: 'part' }], disable: [] };
    const path = file('ok.json', JSON.stringify({ schema_version: 1, stack_only: sets }));
    expect(readCompareReport(path).stack_only).toEqual(sets);
  });

  it.each([
    ['not-json.json', '{', /: not JSON: /],
    ['no-schema.json', JSON.stringify({ stack_only: { enable: [], disable: [] } }), /: not a stackonly compare report \(schema_version 1 expected\)$/],
    ['no-sets.json', JSON.stringify({ schema_version: 1, stack_only: { enable: [] } }), /: not a stackonly compare report \(no stack_only.enable\/disable\)$/],
    ['tree-no-sets.json', JSON.stringify({ schema_version: 1, objects: [{ path: 'a.o' }] }), /: not a stackonly compare report \(no stack_only.enable\/disable\)$/],
  ])('rejects %s with an error naming the file', (name, text, message) => {
    const path = file(name, text);
    let error: unknown;
    try {
      readCompareReport(path);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).file).toBe(path);
    expect((error as Error).message).toMatch(message);
  });

  it('rejects a missing file', () => {
    expect(() => readCompareReport(join(dir, 'absent.json'))).toThrow(InputError);
  });
});
