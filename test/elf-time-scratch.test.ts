import { test } from 'vitest';
import { readFileSync } from 'node:fs';
import { readElfFile, parseElf } from '../src/elf/reader.js';
test('t', () => {
  for (const p of (process.env.FILES ?? '').split(',')) {
    const times: number[] = [];
    for (let k = 0; k < 20; k++) {
      const t0 = performance.now();
      readElfFile(p);
      times.push(performance.now() - t0);
    }
    const b = readFileSync(p);
    const ptimes: number[] = [];
    for (let k = 0; k < 20; k++) { const t0 = performance.now(); parseElf(b, p); ptimes.push(performance.now() - t0); }
    const s = [...times].sort((a, b) => a - b);
    console.log(p.split('/').pop(), 'first', times[0].toFixed(1), 'median', s[10].toFixed(1), 'min', s[0].toFixed(1), 'parse-only median', ptimes.sort((a,b)=>a-b)[10].toFixed(1));
  }
});
