// tsc writes dist/cli/main.js without the executable bit, and `npx stackonly` (npm running
// the package's own bin from a checkout) executes the file directly: without the bit it
// fails with "Permission denied" right after a fresh `npm ci`.
import { chmodSync, statSync } from 'node:fs';

const cli = new URL('../dist/cli/main.js', import.meta.url);
chmodSync(cli, statSync(cli).mode | 0o111);
