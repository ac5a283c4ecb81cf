import { test, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { readElfFile } from '../src/elf/reader.js';
import { parseReadelf, runReadelf, compareWithReadelf } from './helpers/readelf.js';
test('scratch', () => {
  for (const f of readdirSync('testdata/elf').filter(f => f.endsWith('.o'))) {
    const p = 'testdata/elf/' + f;
    const obj = readElfFile(p);
    const re = parseReadelf(readFileSync(p.replace(/\.o$/, '.readelf.txt'), 'latin1'), obj.machine);
    console.log(f, re.sections.length, re.symbols.length, re.relocationSections.length, re.groups.length);
    expect(compareWithReadelf(obj, re), f).toEqual([]);
  }
});
