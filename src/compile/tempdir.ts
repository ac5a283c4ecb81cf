import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every temporary directory stackonly makes is registered here, so that one call removes
 * them all: at the end of a run, and from the CLI's signal handlers on Ctrl-C.
 */
const live = new Set<string>();

export function makeTempDir(purpose: string): string {
  const dir = mkdtempSync(join(tmpdir(), `stackonly-${purpose}-`));
  live.add(dir);
  return dir;
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
