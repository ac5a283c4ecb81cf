import { test } from 'vitest';
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { parseElf } from '../src/elf/reader.js';
test('p', async () => {
  const b = readFileSync('/tmp/elfx/big.o');
  for (let i = 0; i < 3; i++) parseElf(b, 'x');
  const s = new Session(); s.connect();
  await s.post('Profiler.enable'); await s.post('Profiler.start');
  for (let i = 0; i < 5; i++) parseElf(b, 'x');
  const { profile } = await s.post('Profiler.stop');
  // self time by function
  const self = new Map<string, number>();
  const dt = profile.timeDeltas!; const samples = profile.samples!;
  const byId = new Map(profile.nodes.map((n: any) => [n.id, n]));
  for (let i = 0; i < samples.length; i++) { const n: any = byId.get(samples[i]); const k = `${n.callFrame.functionName}@${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + dt[i]); }
  console.log([...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `${(v / 1000).toFixed(0)}ms ${k}`).join('\n'));
}, 60000);
