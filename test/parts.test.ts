import { describe, expect, it } from 'vitest';
import type { ElfObject } from '../src/elf/types.js';
import { findParts } from '../src/model/parts.js';
import type { FunctionInfo, PartEvidence } from '../src/model/types.js';
import { handFunction, type HandFunctionOptions } from './helpers/hand-model.js';

/**
 * The part rules of design.md §3 on hand-built inputs (no gcc, no ELF): which function a
 * `.cold` (or other) symbol is a part of, on what evidence (jumps both ways, the `.cold`
 * name scoped by STT_FILE, the `.text.unlikely.F` section), and the exact warning for every
 * disagreement. Each test gives findParts the functions and the transfers between them
 * that the model builder would have found in the object's code.
 */

type Transfer = Parameters<typeof findParts>[0]['raw'][number];

/** One hand-built object: its functions in symbol-table order and the transfers between them. */
class HandObject {
  readonly functions: FunctionInfo[] = [];
  readonly raw: Transfer[] = [];
  readonly warnings: string[] = [];

  fn(name: string, options: HandFunctionOptions = {}): FunctionInfo {
    const f = handFunction(name, { index: this.functions.length + 1, ...options });
    this.functions.push(f);
    return f;
  }

  /** jmp/jcc from `from` to `to + offset`. */
  jump(from: FunctionInfo, to: FunctionInfo, offset = 0): this {
    this.raw.push({ from, kind: 'jump', location: { kind: 'function', fn: to, offset } });
    return this;
  }

  call(from: FunctionInfo, to: FunctionInfo | string): this {
    const location: Transfer['location'] = typeof to === 'string' ? { kind: 'external', name: to, offset: 0 } : { kind: 'function', fn: to, offset: 0 };
    this.raw.push({ from, kind: 'call', location });
    return this;
  }

  /** An address of `to + offset` taken by `from` (a label address of a computed goto, a function pointer). */
  address(from: FunctionInfo, to: FunctionInfo, offset = 0): this {
    this.raw.push({ from, kind: 'address', location: { kind: 'function', fn: to, offset } });
    return this;
  }

  /** Runs the part rules; returns the warnings. */
  findParts(): string[] {
    const byName = new Map<string, FunctionInfo[]>();
    for (const f of this.functions) {
      const list = byName.get(f.name);
      if (list) list.push(f);
      else byName.set(f.name, [f]);
    }
    // The object itself is not read by the rules (the functions carry their sections).
    const input = { functions: this.functions, byName, raw: this.raw, warnings: this.warnings, object: {} as ElfObject };
    findParts(input);
    return this.warnings;
  }
}

/** A function's part relation as plain data: its parent's name and the evidence. */
function relation(f: FunctionInfo): { parent: string | undefined; evidence: PartEvidence[] } {
  return { parent: f.parent?.name, evidence: f.parent ? f.partEvidence : [] };
}

const partOf = (parent: string, ...evidence: PartEvidence[]) => ({ parent, evidence });
const notAPart = { parent: undefined, evidence: [] };

describe('findParts: the usual .cold part', () => {
  it('jumps both ways, the name and the section agree: all three kinds of evidence, no warning', () => {
    const o = new HandObject();
    const f = o.fn('child_func', { global: true });
    const cold = o.fn('child_func.cold', { section: '.text.unlikely.child_func' });
    o.jump(f, cold).jump(cold, f, 0x10).call(cold, 'log_err');
    expect(o.findParts()).toEqual([]);
    expect(relation(cold)).toEqual(partOf('child_func', 'jump', 'name', 'section'));
    expect(f.parts).toEqual([cold]);
    expect(relation(f)).toEqual(notAPart);
  });

  it('without -ffunction-sections (.text.unlikely shared): jump and name', () => {
    const o = new HandObject();
    const f = o.fn('mid', { section: '.text' });
    const cold = o.fn('mid.cold', { section: '.text.unlikely' });
    o.jump(f, cold, 0).jump(cold, f, 0x17);
    expect(o.findParts()).toEqual([]);
    expect(relation(cold)).toEqual(partOf('mid', 'jump', 'name'));
  });

  it('gcc 8 numbering: F.cold.N is a part of F', () => {
    const o = new HandObject();
    const f = o.fn('set_mode');
    const cold = o.fn('set_mode.cold.12', { section: '.text.unlikely' });
    o.jump(f, cold).jump(cold, f, 0x8);
    expect(o.findParts()).toEqual([]);
    expect(relation(cold)).toEqual(partOf('set_mode', 'jump', 'name'));
  });

  it.each(['xfer.isra.0', 'xfer.constprop.1', 'xfer.part.0', 'xfer.constprop.0.isra.0'])("a clone's part: %s.cold belongs to the clone, not to xfer", (clone) => {
    const o = new HandObject();
    const base = o.fn('xfer');
    const f = o.fn(clone);
    const cold = o.fn(`${clone}.cold`, { section: `.text.unlikely.${clone}` });
    o.jump(f, cold).jump(cold, f, 0x9);
    expect(o.findParts()).toEqual([]);
    expect(relation(cold)).toEqual(partOf(clone, 'jump', 'name', 'section'));
    expect(base.parts).toEqual([]);
  });

  it('a part that never jumps back (it ends in a noreturn call) is found by name and section, with the jump in', () => {
    const o = new HandObject();
    const f = o.fn('advance');
    const cold = o.fn('advance.cold', { section: '.text.unlikely.advance' });
    o.jump(f, cold).call(cold, 'dump_state').call(cold, 'abort');
    expect(o.findParts()).toEqual([]);
    expect(relation(cold)).toEqual(partOf('advance', 'jump', 'name', 'section'));
  });

  it('a part its parent never enters is still attached by name, with a warning', () => {
    const o = new HandObject();
    o.fn('advance');
    const cold = o.fn('advance.cold', { section: '.text.unlikely.advance' });
    expect(o.findParts()).toEqual(['advance.cold: named as a part of advance, but advance never jumps into it']);
    expect(relation(cold)).toEqual(partOf('advance', 'name', 'section'));
  });

  it('a .cold name whose function is not in the object: a warning, and no part', () => {
    const o = new HandObject();
    const cold = o.fn('gone.cold', { section: '.text.unlikely' });
    expect(o.findParts()).toEqual(['gone.cold: named as a cold part of gone, but the object has no function gone']);
    expect(relation(cold)).toEqual(notAPart);
  });

  it('a hot function is never made a part of its cold code, even when both jump into the other\'s middle', () => {
    const o = new HandObject();
    const f = o.fn('scan');
    const cold = o.fn('scan.cold', { section: '.text.unlikely.scan' });
    o.jump(f, cold, 0x8).jump(cold, f, 0x10);
    expect(o.findParts()).toEqual([]);
    expect(relation(cold)).toEqual(partOf('scan', 'jump', 'name', 'section'));
    expect(relation(f)).toEqual(notAPart);
  });
});

describe('findParts: jump evidence', () => {
  it('jumps both ways alone make a part, with a warning (the asm stub of split-asm-part)', () => {
    const o = new HandObject();
    const f = o.fn('guarded_read', { global: true });
    const cold = o.fn('guarded_read.cold', { section: '.text.unlikely.guarded_read' });
    const stub = o.fn('guarded_read_fixup', { section: '.text.fixup.guarded_read' });
    o.jump(f, cold).jump(cold, f, 0x10).jump(f, stub).call(stub, 'io_fixup').jump(stub, f, 0x30);
    expect(o.findParts()).toEqual(['guarded_read_fixup: attached to guarded_read on jump evidence alone (entered by a jump and jumps back into it)']);
    expect(relation(stub)).toEqual(partOf('guarded_read', 'jump'));
    expect(f.parts).toEqual([cold, stub]);
  });

  it('a jump back must land inside the parent: mutual tail calls (to entries) make no part', () => {
    const o = new HandObject();
    const a = o.fn('even');
    const b = o.fn('odd');
    o.jump(a, b, 0).jump(b, a, 0);
    expect(o.findParts()).toEqual([]);
    expect(relation(a)).toEqual(notAPart);
    expect(relation(b)).toEqual(notAPart);
  });

  it('a call is not a jump: called code that jumps back is no part', () => {
    const o = new HandObject();
    const f = o.fn('caller');
    const g = o.fn('callee');
    o.call(f, g).jump(g, f, 0x10);
    expect(o.findParts()).toEqual([]);
    expect(relation(g)).toEqual(notAPart);
  });

  it('a one-way jump into the middle of another function makes no part without a name or section', () => {
    const o = new HandObject();
    const f = o.fn('entry_a');
    const g = o.fn('shared_tail');
    o.jump(f, g, 0x20);
    expect(o.findParts()).toEqual([]);
    expect(relation(g)).toEqual(notAPart);
  });

  it('the jumps win over the name, with a warning', () => {
    const o = new HandObject();
    o.fn('inlined_away');
    const b = o.fn('caller_now');
    const cold = o.fn('inlined_away.cold', { section: '.text.unlikely' });
    o.jump(b, cold).jump(cold, b, 0x14);
    expect(o.findParts()).toEqual(['inlined_away.cold: its name says it is a part of inlined_away, but its jumps say caller_now; attached to caller_now']);
    expect(relation(cold)).toEqual(partOf('caller_now', 'jump'));
  });

  it('the jumps win over the section, with a warning', () => {
    const o = new HandObject();
    o.fn('owner_a');
    const b = o.fn('owner_b');
    const stub = o.fn('slow_stub', { section: '.text.unlikely.owner_a' });
    o.jump(b, stub).jump(stub, b, 0x14);
    expect(o.findParts()).toEqual(['slow_stub: its section .text.unlikely.owner_a says it is a part of owner_a, but its jumps say owner_b; attached to owner_b']);
    expect(relation(stub)).toEqual(partOf('owner_b', 'jump'));
  });

  it('several functions share the frame: attached to the one its name says, with a warning', () => {
    const o = new HandObject();
    const y = o.fn('y_path');
    const x = o.fn('x_path');
    const cold = o.fn('x_path.cold', { section: '.text.unlikely' });
    o.jump(y, cold).jump(cold, y, 0x8).jump(x, cold, 0x10).jump(cold, x, 0xc);
    expect(o.findParts()).toEqual(['x_path.cold: shares a frame with several functions (y_path, x_path); attached to x_path']);
    expect(relation(cold)).toEqual(partOf('x_path', 'jump', 'name'));
    expect(y.parts).toEqual([]);
  });

  it('a label address taken inside another function (computed goto) counts as a jump in', () => {
    const o = new HandObject();
    const f = o.fn('interp');
    const stub = o.fn('interp_slow', { section: '.text.unlikely' });
    o.address(f, stub, 0x6).jump(stub, f, 0x40);
    expect(o.findParts()).toEqual(['interp_slow: attached to interp on jump evidence alone (entered by a jump and jumps back into it)']);
    expect(relation(stub)).toEqual(partOf('interp', 'jump'));
  });

  it("the address of a part's first byte, taken by its named parent, counts as the jump in", () => {
    const o = new HandObject();
    const f = o.fn('interp');
    const cold = o.fn('interp.cold', { section: '.text.unlikely.interp' });
    o.address(f, cold, 0);
    expect(o.findParts()).toEqual([]);
    expect(relation(cold)).toEqual(partOf('interp', 'jump', 'name', 'section'));
  });

  it('a function pointer (entry address) to an ordinary function makes no part', () => {
    const o = new HandObject();
    const f = o.fn('register_ops');
    const cb = o.fn('my_callback');
    o.address(f, cb, 0).jump(cb, f, 0x10);
    expect(o.findParts()).toEqual([]);
    expect(relation(cb)).toEqual(notAPart);
  });
});

describe('findParts: section evidence', () => {
  it('.text.unlikely.F with a jump in from F: a part, on jump and section', () => {
    const o = new HandObject();
    const f = o.fn('fast');
    const slow = o.fn('slow_path', { section: '.text.unlikely.fast' });
    o.jump(f, slow);
    expect(o.findParts()).toEqual([]);
    expect(relation(slow)).toEqual(partOf('fast', 'jump', 'section'));
  });

  it('.text.unlikely.F alone (no cold name, never entered by F) is not enough', () => {
    const o = new HandObject();
    o.fn('fast');
    const slow = o.fn('slow_path', { section: '.text.unlikely.fast' });
    expect(o.findParts()).toEqual([]);
    expect(relation(slow)).toEqual(notAPart);
  });

  it('a function declared cold lives in .text.unlikely.<its own name>: no evidence, no part', () => {
    const o = new HandObject();
    const f = o.fn('user');
    const report = o.fn('report', { section: '.text.unlikely.report' });
    o.call(f, report);
    expect(o.findParts()).toEqual([]);
    expect(relation(report)).toEqual(notAPart);
  });

  it('name and section disagree (no jumps back): the name wins, with a warning', () => {
    const o = new HandObject();
    const a = o.fn('alpha');
    o.fn('beta');
    const cold = o.fn('alpha.cold', { section: '.text.unlikely.beta' });
    o.jump(a, cold);
    expect(o.findParts()).toEqual(['alpha.cold: its name says it is a part of alpha, but its section .text.unlikely.beta says beta; attached to alpha']);
    expect(relation(cold)).toEqual(partOf('alpha', 'jump', 'name'));
  });
});

describe('findParts: which same-named function a name means', () => {
  it('the local of the same STT_FILE, even where another is nearer in the symbol table', () => {
    const o = new HandObject();
    const initB = o.fn('init', { file: 'b.c' });
    o.fn('init_hw', { file: 'b.c' });
    o.fn('init_irq', { file: 'b.c' });
    const cold = o.fn('init.cold', { file: 'b.c', section: '.text.unlikely' });
    const initA = o.fn('init', { file: 'a.c' });
    expect(o.findParts()).toEqual(['init.cold: named as a part of init, but init never jumps into it']);
    expect(cold.parent).toBe(initB);
    expect(initA.parts).toEqual([]);
  });

  it('the one that jumps into the part comes first, whatever the files say', () => {
    const o = new HandObject();
    const initA = o.fn('init', { file: 'a.c' });
    const initB = o.fn('init', { file: 'b.c' });
    const cold = o.fn('init.cold', { file: 'b.c', section: '.text.unlikely' });
    o.jump(initA, cold);
    expect(o.findParts()).toEqual([]);
    expect(cold.parent).toBe(initA);
    expect(relation(cold)).toEqual(partOf('init', 'jump', 'name'));
    expect(initB.parts).toEqual([]);
  });

  it('a global, for a part with no STT_FILE', () => {
    const o = new HandObject();
    const global = o.fn('probe', { global: true });
    o.fn('probe', { file: 'a.c' });
    const cold = o.fn('probe.cold', { section: '.text.unlikely' });
    expect(o.findParts()).toEqual(['probe.cold: named as a part of probe, but probe never jumps into it']);
    expect(cold.parent).toBe(global);
  });

  it('the nearest in the symbol table when STT_FILE symbols were stripped (distribution modules)', () => {
    const o = new HandObject();
    o.fn('probe', { index: 2 });
    const near = o.fn('probe', { index: 10 });
    const cold = o.fn('probe.cold', { index: 11, section: '.text.unlikely' });
    expect(o.findParts()).toEqual(['probe.cold: named as a part of probe, but probe never jumps into it']);
    expect(cold.parent).toBe(near);
  });
});

describe('findParts: parts of parts and cycles', () => {
  it('a part of a part runs in the root\'s frame: attached to the root', () => {
    const o = new HandObject();
    const f = o.fn('outer');
    const cold = o.fn('outer.cold', { section: '.text.unlikely.outer' });
    const fixup = o.fn('outer_fixup', { section: '.text.unlikely' });
    o.jump(f, cold).jump(cold, f, 0x10).jump(cold, fixup).jump(fixup, cold, 0x8);
    expect(o.findParts()).toEqual(['outer_fixup: attached to outer.cold on jump evidence alone (entered by a jump and jumps back into it)']);
    expect(relation(fixup)).toEqual(partOf('outer', 'jump'));
    expect(f.parts).toEqual([cold, fixup]);
    expect(cold.parts).toEqual([]);
  });

  it('part relations that form a cycle: warnings, and both stay functions of their own', () => {
    const o = new HandObject();
    const p = o.fn('ping');
    const q = o.fn('pong');
    o.jump(p, q, 0x8).jump(q, p, 0x8);
    expect(o.findParts()).toEqual([
      'ping: attached to pong on jump evidence alone (entered by a jump and jumps back into it)',
      'pong: attached to ping on jump evidence alone (entered by a jump and jumps back into it)',
      'ping: part relations form a cycle; left as a function of its own',
      'pong: part relations form a cycle; left as a function of its own',
    ]);
    expect(relation(p)).toEqual(notAPart);
    expect(relation(q)).toEqual(notAPart);
    expect(p.parts).toEqual([]);
    expect(q.parts).toEqual([]);
  });
});

describe("findParts: clang's parts", () => {
  /** A function in a section of its own (`index`), as -fbasic-block-sections makes them. */
  const inSection = (f: FunctionInfo, index: number) => Object.assign(f, { section: index });

  it('-fsplit-machine-functions: F.cold in .text.split.F, jumps both ways: all three kinds of evidence', () => {
    const o = new HandObject();
    const f = o.fn('child_function', { global: true, section: '.text.hot.child_function' });
    const cold = o.fn('child_function.cold', { section: '.text.split.child_function' });
    o.jump(f, cold).jump(cold, f, 0x10).call(cold, 'log_err');
    expect(o.findParts()).toEqual([]);
    expect(relation(cold)).toEqual(partOf('child_function', 'jump', 'name', 'section'));
    expect(relation(f)).toEqual(notAPart);
  });

  it('.text.split.F with a jump in from F and no part name: a part, on jump and section', () => {
    const o = new HandObject();
    const f = o.fn('reader', { section: '.text.hot.reader' });
    const split = o.fn('reader_slow', { section: '.text.split.reader' });
    o.jump(f, split).call(split, 'panic');
    expect(o.findParts()).toEqual([]);
    expect(relation(split)).toEqual(partOf('reader', 'jump', 'section'));
  });

  it("Propeller's clusters: F.__part.N jump into each other's middle; siblings are never parents", () => {
    const o = new HandObject();
    const f = inSection(o.fn('walk', { section: '.text.hot.walk' }), 1);
    const p1 = inSection(o.fn('walk.__part.1', { section: '.text.hot.walk' }), 2);
    const p2 = inSection(o.fn('walk.__part.2', { section: '.text.hot.walk' }), 3);
    o.jump(f, p1).jump(p1, f, 0x10).jump(p1, p2, 0x8).jump(p2, p1, 0x4);
    expect(o.findParts()).toEqual([]);
    expect(relation(p1)).toEqual(partOf('walk', 'jump', 'name', 'section'));
    expect(relation(p2)).toEqual(partOf('walk', 'jump', 'name', 'section'));
    expect(f.parts).toEqual([p1, p2]);
  });

  it('-fbasic-block-sections=all: parts entered at their first byte, one only from a sibling, no warning', () => {
    const o = new HandObject();
    const f = inSection(o.fn('child_function', { global: true, section: '.text.child_function' }), 1);
    const p1 = inSection(o.fn('child_function.__part.1', { section: '.text.child_function' }), 2);
    const p2 = inSection(o.fn('child_function.__part.2', { section: '.text.child_function' }), 3);
    const p3 = inSection(o.fn('child_function.__part.3', { section: '.text.child_function' }), 4);
    o.jump(f, p1).jump(f, p2).jump(p2, p1).jump(p1, p3);
    expect(o.findParts()).toEqual([]);
    for (const part of [p1, p2, p3]) expect(relation(part)).toEqual(partOf('child_function', 'jump', 'name', 'section'));
  });

  it('F.__part.N outside a section named like F\'s: name and jump, no section evidence', () => {
    const o = new HandObject();
    const f = inSection(o.fn('scan', { section: '.text.scan' }), 1);
    const part = inSection(o.fn('scan.__part.1', { section: '.text.other' }), 2);
    o.jump(f, part);
    expect(o.findParts()).toEqual([]);
    expect(relation(part)).toEqual(partOf('scan', 'jump', 'name'));
  });

  it('a __part.N name whose function is not in the object: a warning, and no part', () => {
    const o = new HandObject();
    const part = o.fn('gone.__part.1', { section: '.text.gone' });
    expect(o.findParts()).toEqual(['gone.__part.1: named as a part of gone, but the object has no function gone']);
    expect(relation(part)).toEqual(notAPart);
  });
});
