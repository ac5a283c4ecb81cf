import { test, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { readElfFile } from '../src/elf/reader.js';
import { parseReadelf, runReadelf, compareWithReadelf } from './helpers/readelf.js';
test('all modules', () => {
  const root = process.env.MODROOT!;
  const files = execFileSync('find', [root, '-name', '*.ko'], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n').sort();
  const log = '/tmp/scratch/modules.log';
  writeFileSync(log, '');
  let bad = 0, readerMs = 0, nsec = 0, nsym = 0, nrel = 0, ngrp = 0, outside = 0, multi = 0, xindex = 0;
  for (const f of files) {
    let obj;
    const t0 = performance.now();
    try { obj = readElfFile(f); } catch (e) { bad++; appendFileSync(log, `${f}: THROWS ${e}\n`); continue; }
    readerMs += performance.now() - t0;
    const re = parseReadelf(runReadelf(f), obj.machine);
    const problems = compareWithReadelf(obj, re, { limit: 10 });
    if (problems.length) { bad++; appendFileSync(log, `${f}:\n  ${problems.join('\n  ')}\n`); }
    nsec += obj.sections.length; nsym += obj.symbols.length; ngrp += obj.groups.length;
    const targets = new Set<number>();
    for (const rs of obj.relocationSections) {
      if (targets.has(rs.target)) multi++;
      targets.add(rs.target);
      const t = obj.sections[rs.target];
      for (const r of rs.relocations) { nrel++; if (r.offset >= t.size) outside++; }
    }
    if (obj.symbols.some((s) => s.reserved && s.shndx !== 0xfff1 && s.shndx !== 0xfff2)) xindex++;
  }
  appendFileSync(log, `files ${files.length} bad ${bad} readerMs ${readerMs.toFixed(0)} sections ${nsec} symbols ${nsym} relocs ${nrel} groups ${ngrp} outside ${outside} multi ${multi} otherReserved ${xindex}\n`);
  expect(bad).toBe(0);
}, 3_600_000);
