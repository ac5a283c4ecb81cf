import { accessSync, constants, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilerMarker, haveProcfs, killFamily, processesWithEnvironment, processIdentity } from './process-tree.js';

/**
 * Every temporary directory stackonly makes is registered here, so that one call removes
 * them all: at the end of a run, and from the CLI's signal handlers.
 *
 * A run killed with SIGKILL cannot remove its directories. Each one therefore holds an
 * `owner` file naming the process that made it (pid, start time, pid namespace), and
 * sweepStaleTempDirs, which the CLI calls when it starts, removes those whose process is
 * gone.
 */
const live = new Set<string>();

const PREFIX = 'stackonly-';
const OWNER = 'owner';

/**
 * Makes a temporary directory, in the system's temporary directory (TMPDIR), or in
 * `root` (one of tempRoots()).
 */
export function makeTempDir(purpose: string, root = tmpdir()): string {
  const dir = mkdtempSync(join(root, `${PREFIX}${purpose}-`));
  live.add(dir);
  const me = processIdentity(process.pid);
  writeFileSync(join(dir, OWNER), `${process.pid} ${me?.start || '-'} ${me?.namespace || '-'}\n`);
  return dir;
}

/** tmpfs's f_type (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;
/** Where a memory-backed directory is looked for (glibc's shm_open uses it too). */
const SHM_DIR = '/dev/shm';

/**
 * A directory in memory (tmpfs) for temporary files that are many small ones, when the
 * user has not chosen where temporary files go (TMPDIR unset) and there is one; else
 * undefined (use TMPDIR). A symbolic link took a quarter of a millisecond of the kernel's
 * time in /tmp on ext4 on these machines, and 7 microseconds on tmpfs.
 */
export function memoryTempRoot(): string | undefined {
  const dir = process.env.TMPDIR ? undefined : sharedMemoryDir();
  return dir !== undefined && hasRoomFor(dir) ? dir : undefined;
}

/**
 * Room to spare on the memory filesystem: a container's /dev/shm may be 64 MiB in all and
 * shared with its other processes. The shadow tree needs a few hundred links and the
 * patched files; a full filesystem would fail the run, where the disk would not.
 */
const MIN_FREE_BYTES = 32 * 1024 * 1024;
const MIN_FREE_INODES = 16 * 1024;

function hasRoomFor(dir: string): boolean {
  try {
    const s = statfsSync(dir);
    // A filesystem without an inode limit reports 0 files in all.
    return s.bavail * s.bsize >= MIN_FREE_BYTES && (s.files === 0 || s.ffree >= MIN_FREE_INODES);
  } catch {
    return false;
  }
}

/** /dev/shm when it is a tmpfs this process may write in. */
function sharedMemoryDir(): string | undefined {
  try {
    if (statfsSync(SHM_DIR).type !== TMPFS_MAGIC) return undefined;
    accessSync(SHM_DIR, constants.W_OK | constants.X_OK);
    return SHM_DIR;
  } catch {
    return undefined;
  }
}

/**
 * Every place makeTempDir may have put a directory, where a killed run's are looked for:
 * the shared memory directory too when TMPDIR is set now, since the killed run may have
 * run without it.
 */
function tempRoots(): string[] {
  const memory = sharedMemoryDir();
  const roots = [tmpdir()];
  if (memory && memory !== roots[0]) roots.push(memory);
  return roots;
}

export function removeTempDir(dir: string): void {
  live.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** Synchronous, so it can run from a signal handler or an exit hook. */
export function removeAllTempDirs(): void {
  for (const dir of [...live]) removeTempDir(dir);
}

export async function withTempDir<T>(purpose: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = makeTempDir(purpose);
  try {
    return await body(dir);
  } finally {
    removeTempDir(dir);
  }
}

interface StaleDir {
  dir: string;
  /** The process that made it. */
  pid: number;
  /** How many processes still working for it (compilers of the killed run) were ended. */
  stopped: number;
}

/**
 * Removes the temporary directories of earlier runs that were killed before they could
 * (SIGKILL, a crash), and ends the compilers such a run left working for them (each has
 * a marker naming the directory in its environment). Only directories with an `owner` file, belonging to
 * this user, whose process is gone (or is another process with the same pid, by its start
 * time) count; a directory whose owner lives in another pid namespace is left alone, as
 * is anything that cannot be read or removed.
 */
export function sweepStaleTempDirs(): StaleDir[] {
  return tempRoots().flatMap(sweepStaleTempDirsIn);
}

function sweepStaleTempDirsIn(root: string): StaleDir[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const stale: StaleDir[] = [];
  const myNamespace = processIdentity(process.pid)?.namespace || '-';
  const uid = process.getuid?.();
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(root, name);
    let owner: string[];
    try {
      if (uid !== undefined && lstatSync(dir).uid !== uid) continue;
      owner = readFileSync(join(dir, OWNER), 'utf8').trim().split(' ');
    } catch {
      continue; // not ours, or not made by a version that marks its directories
    }
    const pid = Number(owner[0]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || live.has(dir)) continue;
    const [start = '-', namespace = '-'] = owner.slice(1);
    if (namespace !== myNamespace) continue;
    if (isAlive(pid, start)) continue;
    // The marker our compilers get (run.ts), inherited by what they start.
    const orphans = haveProcfs() ? processesWithEnvironment(compilerMarker(dir, true)) : [];
    if (orphans.length > 0) killFamily(orphans, 'SIGKILL');
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      continue;
    }
    stale.push({ dir, pid, stopped: orphans.length });
  }
  return stale;
}

/** Whether process `pid` is still the one that wrote an owner file with `start`. */
function isAlive(pid: number, start: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (start === '-') return true;
  const now = processIdentity(pid);
  return now === undefined ? !haveProcfs() : now.start === start;
}
