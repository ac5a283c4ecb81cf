import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRANSFER_KINDS } from '../src/arch/backend.js';
import { openObject } from '../src/elf/open.js';
import { buildModel } from '../src/model/build.js';
import type { ObjectModel } from '../src/model/types.js';
import { repoRoot } from './helpers/cli.js';

/**
 * Bytes the decoder cannot decode inside a function: decoding resumes at the next point it
 * can trust, the range is on the function, and the model warns. The objects are assembled
 * from testdata/undecodable/*.S; the offsets below were read from `objdump -dr`.
 */
const sources = join(repoRoot, 'testdata', 'undecodable');
const scratch = mkdtempSync(join(tmpdir(), 'stackonly-undecodable-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function assemble(source: string, out: string, flags: string[] = []): Promise<string> {
  const path = join(scratch, out);
  await execa('gcc', [...flags, '-c', join(sources, source), '-o', path]);
  return path;
}

function fn(model: ObjectModel, name: string) {
  const found = model.byName.get(name)?.[0];
  if (!found) throw new Error(`no function ${name}`);
  return found;
}

/** A function's references as `field kind target` rows, offsets relative to the function. */
function references(model: ObjectModel, name: string): string[] {
  const f = fn(model, name);
  const rows: string[] = [];
  for (let i = f.firstReference; i < f.endReference; i++) {
    const ref = f.code.reference(i);
    const target = ref.target.kind === 'symbol' ? model.object.symbols[ref.target.symbol].name : `section+${ref.target.offset}`;
    rows.push(`${ref.insnOffset - f.offset}/${ref.fieldOffset - f.offset} ${TRANSFER_KINDS[f.code.kind[i]]} ${target}`);
  }
  return rows;
}

describe('undecodable bytes', () => {
  let frobPath: string;
  let frob: ObjectModel;
  let variantsPath: string;
  let variants: ObjectModel;
  beforeAll(async () => {
    frobPath = await assemble('frob.S', 'frob.o');
    variantsPath = await assemble('variants.S', 'variants.o');
    frob = buildModel(openObject(frobPath));
    variants = buildModel(openObject(variantsPath));
  });

  it('frob: decoding resumes at the jmp after the bad byte, which stays a tail call', () => {
    // 0: 85 ff test; 2: 74 06 je a; 4: d6 (bad); 5: e9 jmp helper (R_X86_64_PLT32 at 6); a: c3 ret
    expect(fn(frob, 'frob').edges.map((e) => [e.kind, e.targetName, e.from])).toEqual([['tail-call', 'helper', 5]]);
    expect(references(frob, 'frob')).toEqual(['5/6 jump helper']);
    expect(fn(frob, 'frob').undecodable).toEqual([{ offset: 4, length: 1 }]);
    expect(fn(frob, 'second').undecodable).toEqual([]);
    expect(fn(frob, 'second').edges.map((e) => [e.kind, e.targetName, e.from])).toEqual([['call', 'helper', 1]]);
  });

  it('frob: one warning naming the object, the function, the offset and the byte', () => {
    // The 0xd6 at .text+0xb (after frob's ret, before the padding) is in no function: no warning.
    expect(frob.warnings).toEqual([`${frobPath}: undecodable bytes in frob+0x4 (1 byte: d6): decoding resumed at frob+0x5`]);
    // The section keeps both ranges; the one between the functions runs to second's start.
    expect(frob.code.get(fn(frob, 'frob').section)!.undecodable).toEqual([
      { offset: 4, length: 1 },
      { offset: 0xb, length: 5 },
    ]);
  });

  it('functions without undecodable bytes share one frozen empty array', () => {
    const a = fn(frob, 'second').undecodable;
    expect(Object.isFrozen(a)).toBe(true);
    expect(fn(buildModel(openObject(frobPath)), 'second').undecodable).toBe(a);
    expect(Object.isFrozen(fn(frob, 'frob').undecodable)).toBe(true);
  });

  it('no point to trust before the next symbol: one range up to it', () => {
    // stuck: 0: 53 push; 1: d6 (bad); 2: 89 f8 mov; 4: 5b pop; 5: c3 ret; landing starts at .text+6
    expect(fn(variants, 'stuck').undecodable).toEqual([{ offset: 1, length: 5 }]);
    expect(variants.code.get(fn(variants, 'stuck').section)!.undecodable[0]).toEqual({ offset: 1, length: 5 });
  });

  it('resumes at the target of a branch decoded before the bad byte', () => {
    // landing: 0: test; 2: 74 06 je a; 4: d6; 5: 89 f8 mov; 7: 83 c0 01 add; a: c3 ret
    expect(fn(variants, 'landing').undecodable).toEqual([{ offset: 4, length: 6 }]);
  });

  it('relocations inside the range stay address references; the one after is classified', () => {
    // inline_data: 0: push; 1: d6; 2: .quad helper (R_X86_64_64 at 2); a: e8 call helper (PLT32 at b)
    expect(fn(variants, 'inline_data').undecodable).toEqual([{ offset: 1, length: 9 }]);
    expect(references(variants, 'inline_data')).toEqual(['2/2 address helper', '10/11 call helper']);
    expect(fn(variants, 'inline_data').edges.map((e) => [e.kind, e.targetName, e.from])).toEqual([['call', 'helper', 10]]);
  });

  it('the earliest start that puts a field on the relocation keeps the prefix', () => {
    // rip_load: 0: d6; 1: 48 8b 05 mov value(%rip),%rax (PC32 at 4); 8: c3 ret
    expect(fn(variants, 'rip_load').undecodable).toEqual([{ offset: 0, length: 1 }]);
    expect(references(variants, 'rip_load')).toEqual(['1/4 address value']);
  });

  it('every range of every function has its warning, in order', () => {
    expect(variants.warnings).toEqual([
      `${variantsPath}: undecodable bytes in stuck+0x1 (5 bytes: d6 89 f8 5b c3): not decoded up to the end of stuck`,
      `${variantsPath}: undecodable bytes in landing+0x4 (6 bytes: d6 89 f8 83 c0 01): decoding resumed at landing+0xa`,
      `${variantsPath}: undecodable bytes in inline_data+0x1 (9 bytes: d6 00 00 00 00 00 00 00 00): decoding resumed at inline_data+0xa`,
      `${variantsPath}: undecodable bytes in rip_load+0x0 (1 byte: d6): decoding resumed at rip_load+0x1`,
    ]);
  });
});
