// Helpers shared by the scripts in this directory (not part of the package).
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

export const SCRIPTS = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(SCRIPTS, '..');
export const DIST = join(ROOT, 'dist');
export const CLI = join(DIST, 'bin', 'stackonly.js');
export const KERNELS = process.env.STACKONLY_KERNELS || '/var/tmp/stackonly-kernels';
export const FLAVOUR = process.env.STACKONLY_FLAVOUR || 'amd64';

/** Prints one line to stderr and exits (status 2: a prerequisite is missing). */
export function fail(message, status = 2) {
  process.stderr.write(`${message}\n`);
  process.exit(status);
}

/** The build must exist: Node 20 cannot import the TypeScript sources. */
export function requireDist() {
  if (!existsSync(join(DIST, 'index.js')) || !existsSync(CLI)) {
    fail(`${DIST} is missing or incomplete: run 'npm ci' (or 'npm run build') in ${ROOT} first`);
  }
}

/** Imports the library from dist/ (after requireDist). */
export async function library() {
  requireDist();
  return import(join(DIST, 'index.js'));
}

export function requireCommand(name, why) {
  const r = spawnSync('sh', ['-c', `command -v "$1"`, 'sh', name], { encoding: 'utf8' });
  if (r.status !== 0) fail(`'${name}' not found in PATH${why ? `: ${why}` : ''}`);
  return r.stdout.trim();
}

/**
 * The directory holding a kernel version's .ko files, from the cache; downloads and
 * extracts the package (scripts/fetch-kernel-modules.sh) when it is not there yet.
 */
export function kernelModulesDir(version) {
  const dir = join(KERNELS, version, 'lib', 'modules', `${version}-${FLAVOUR}`, 'kernel');
  if (existsSync(dir)) return dir;
  process.stderr.write(`${dir} not found: fetching ${version} with scripts/fetch-kernel-modules.sh\n`);
  const r = spawnSync(join(SCRIPTS, 'fetch-kernel-modules.sh'), [version], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(dir)) fail(`cannot get the kernel modules of ${version} (scripts/fetch-kernel-modules.sh ${version} failed)`);
  return dir;
}

export function requireFile(path, what = 'file') {
  let st;
  try {
    st = statSync(path);
  } catch {
    fail(`${what} not found: ${path}`);
  }
  if (!st.isFile()) fail(`${what} is not a regular file: ${path}`);
  return path;
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

export const ms = (v) => `${v.toFixed(1)} ms`;
export const sec = (v) => `${(v / 1000).toFixed(2)} s`;
export const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

/** Prints rows as an aligned table: the first row is the header. */
export function table(rows, align = []) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const line = (r) => r.map((cell, c) => (align[c] === 'r' ? String(cell).padStart(widths[c]) : String(cell).padEnd(widths[c]))).join('  ').trimEnd();
  const out = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows.slice(1)) out.push(line(r));
  return out.join('\n');
}

/** One line on the machine's load, to judge how noisy the timings are. */
export function loadLine() {
  return `load average (1/5/15 min): ${loadavg().map((v) => v.toFixed(2)).join(' ')} on ${cpus().length} cores`;
}
