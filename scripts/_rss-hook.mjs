// Preloaded with `node --import` by the benchmarks: at exit, writes to $STACKONLY_RSS_FILE
// the peak RSS (bytes) and the CPU time (ms, user + system) of this Node process alone:
// unlike GNU time's figures, neither includes its children (gcc).
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  const file = process.env.STACKONLY_RSS_FILE;
  if (!file) return;
  const usage = process.resourceUsage();
  writeFileSync(file, `${JSON.stringify({ rss: usage.maxRSS * 1024, cpu: (usage.userCPUTime + usage.systemCPUTime) / 1000 })}\n`);
});
