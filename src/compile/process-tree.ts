import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/*
 * Processes by their family, read from /proc (Linux). The compilers run in stackonly's own
 * process group, so that a terminal's Ctrl-C and a `kill -- -PGID` reach them; stopping
 * one compiler alone (a cancelled build, SIGTERM to stackonly only) must then find the
 * processes it started itself (a wrapper's gcc, gcc's cc1 and as) by their parent links.
 * Where there is no /proc, only the process we started is signalled.
 */

/** Field `index` of /proc/PID/stat counted as proc(5) does (1: pid); the name in parentheses may hold spaces. */
function statField(stat: string, index: number): string | undefined {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[index - 3];
}

/** Every process's parent, or undefined without /proc. */
function parentsOfAll(): Map<number, number> | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const parents = new Map<number, number>();
  for (const name of names) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    try {
      parents.set(Number(name), Number(statField(readFileSync(`/proc/${name}/stat`, 'latin1'), 4)));
    } catch {
      // gone meanwhile
    }
  }
  return parents;
}

/** `roots` and every process below them. */
function familyOf(roots: Iterable<number>, parents: Map<number, number>): Set<number> {
  const family = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (!family.has(pid) && family.has(parent)) {
        family.add(pid);
        grew = true;
      }
    }
  }
  return family;
}

function send(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Sends `signal` to the processes `roots`, everything they started, and every process
 * whose environment holds `marker` (with what it started): a child whose parent died
 * already is no longer below it (init adopted it), but it still has the environment it
 * inherited. The family is stopped (SIGSTOP) first, until no new member turns up, so that
 * none forks a child we would miss or dies and leaves its children to init before they
 * are signalled; then all get the signal and SIGCONT.
 */
export function killFamily(roots: number[], signal: NodeJS.Signals, marker?: string): void {
  const stopped = new Set<number>();
  for (let round = 0; round < 20; round++) {
    const parents = parentsOfAll();
    if (!parents) {
      for (const pid of roots) send(pid, signal);
      return;
    }
    const marked = marker === undefined ? [] : withEnvironment(marker, parents);
    const fresh = [...familyOf([...roots, ...marked, ...stopped], parents)].filter((pid) => !stopped.has(pid) && parents.has(pid) && pid !== process.pid);
    if (fresh.length === 0) break;
    for (const pid of fresh) if (send(pid, 'SIGSTOP')) stopped.add(pid);
    if (fresh.every((pid) => !stopped.has(pid))) break;
  }
  for (const pid of stopped) send(pid, signal);
  for (const pid of stopped) send(pid, 'SIGCONT');
}

/** What tells this process from a later one with the same pid: its start time (clock ticks after boot) and pid namespace. */
export function processIdentity(pid: number): { start: string; namespace: string } | undefined {
  try {
    const start = statField(readFileSync(`/proc/${pid}/stat`, 'latin1'), 22) ?? '';
    let namespace = '';
    try {
      namespace = readlinkSync(`/proc/${pid}/ns/pid`);
    } catch {
      // not readable: the start time alone
    }
    return { start, namespace };
  } catch {
    return undefined;
  }
}

/** Whether /proc is there to ask (Linux). */
export function haveProcfs(): boolean {
  try {
    readdirSync('/proc/self');
    return true;
  } catch {
    return false;
  }
}

/** The processes (of those we may read, but this one) whose environment holds `needle`. */
function withEnvironment(needle: string, parents: Map<number, number>): number[] {
  const found: number[] = [];
  for (const pid of parents.keys()) {
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(needle)) found.push(pid);
    } catch {
      // another user's, or gone
    }
  }
  return found;
}

/**
 * The processes whose environment holds `needle`, with everything they started: the
 * compilers an earlier, killed run left working for its temporary folder (see
 * compilerMarker).
 */
export function processesWithEnvironment(needle: string): number[] {
  const parents = parentsOfAll();
  if (!parents) return [];
  return [...familyOf(withEnvironment(needle, parents), parents)];
}

/**
 * The environment variable every compiler of ours gets, naming its TMPDIR (inside the
 * run's temporary folder): inherited by whatever the compiler starts, and left alone by
 * wrappers that may set TMPDIR themselves. It finds the compilers of a run even after
 * their parents died: a cancelled compile's, or a killed run's (tempdir.ts).
 */
export const COMPILER_MARKER = 'STACKONLY_COMPILE';

/** What the environment of a compiler started with `tmpdir` holds (`prefix`: every tmpdir below it). */
export function compilerMarker(tmpdir: string, prefix = false): string {
  return `${COMPILER_MARKER}=${tmpdir}${prefix ? '/' : '\0'}`;
}
