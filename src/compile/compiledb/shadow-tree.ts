import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PatchedFiles } from './patched-files.js';

/** Links made at once: half of libuv's threads, so that other file work is not held up. */
const LINKS_AT_ONCE = 2;

/*
 * The patched side compiles in a *shadow tree*: a temporary directory that mirrors the
 * source tree with symbolic links, except that the files the patch changes are real files
 * holding the patched text. Why a shadow tree rather than a directory of patched files put
 * in front with -I/-iquote: gcc resolves `#include "x.h"` in the directory of the file
 * that includes it *before* any -iquote or -I directory, so an unpatched header next to a
 * patched one (or the unit's own directory) would still find the original. In the shadow
 * tree every file is reached through the same relative path as in the original tree, and
 * gcc takes the directory of an included file from the path it opened (it does not
 * resolve symbolic links), so every include, quoted or not, nested or not, finds the
 * patched copy where there is one.
 *
 * The shadow is sparse: a directory is a real directory only where it must be: on the way
 * to a patched file, to a selected unit's working directory, and wherever a path in its
 * command or in its dependency information goes up with `..` (a `..` out of a symbolic
 * link to a directory would lead back into the original tree; gcc's dependency files spell
 * an include's path as it was opened, `..` and all). Every other entry is one symbolic link
 * to the original file or directory: a patch of one kernel file costs the entries of the
 * directories above it (about 200 links), where making every directory a unit's headers
 * live in real (include/linux alone has 1,500 entries) cost 3,000 links and seconds on a
 * slow file system. A unit that reads an original the shadow does not cover is caught by
 * the leak check (run-compiles.ts).
 */
export class ShadowTree {
  /** Source-relative directories to make real directories, each with every directory above it. */
  private readonly realDirs = new Set<string>();

  /**
   * @param root where the shadow tree goes (absolute; not made yet)
   * @param source the source tree's root (absolute)
   */
  constructor(
    readonly root: string,
    private readonly source: string,
    private readonly files: PatchedFiles,
  ) {}

  /** Makes `rel` (a source-relative directory; '' is the root) and every directory above it real. */
  keepReal(rel: string): void {
    for (let d = rel; ; d = parentOf(d)) {
      if (this.realDirs.has(d)) break;
      this.realDirs.add(d);
      if (d === '') break;
    }
  }

  /** Makes the directory holding the source-relative file `rel` real. */
  keepRealParentOf(rel: string): void {
    this.keepReal(parentOf(rel));
  }

  /**
   * Makes the shadow tree's directories and links: each real directory is a directory whose
   * entries are symbolic links to the original ones, except the changed files (written by
   * writePatched, deleted ones left out) and the directories that are real themselves.
   * Resolves when every link is made; none is still being made when it rejects.
   *
   * The links go at most LINKS_AT_ONCE at a time on libuv's threads (of which there are
   * four), started before the compilers' runner is loaded: a link cost a quarter of a
   * millisecond of the kernel's time in /tmp on these machines (60-90 ms for a kernel
   * unit's 239; the caller puts the tree on tmpfs where it can), and with all of them
   * queued at once the runner's loader, which reads its files on the same threads,
   * waited behind them, and the first compile with it.
   */
  async link(): Promise<void> {
    const { changes } = this.files;
    const sorted = [...this.realDirs].sort((a, b) => a.length - b.length);
    for (const dir of sorted) mkdirSync(dir ? join(this.root, dir) : this.root, { recursive: true });
    const targets: string[] = [];
    for (const dir of sorted) {
      const original = dir ? join(this.source, dir) : this.source;
      let names: string[];
      try {
        names = readdirSync(original);
      } catch {
        continue; // a directory the patch creates
      }
      for (const name of names) {
        const rel = joinRel(dir, name);
        if (this.realDirs.has(rel) || changes.has(rel)) continue;
        targets.push(rel);
      }
    }
    let next = 0;
    let failure: unknown;
    const lane = async (): Promise<void> => {
      while (next < targets.length && failure === undefined) {
        const rel = targets[next++];
        try {
          await symlink(join(this.source, rel), join(this.root, rel));
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: LINKS_AT_ONCE }, lane));
    if (failure !== undefined) throw failure;
  }

  /**
   * Writes the changed files with their patched text, with `#line` directives where there
   * are some (made here: the lexing they may take runs while the links are made). Call
   * after link(), which makes the directories before it returns.
   */
  async writePatched(): Promise<void> {
    const directed = this.files.directed();
    const writes: Promise<void>[] = [];
    for (const [rel, text] of this.files.changes) {
      if (text !== null) writes.push(writeFile(join(this.root, rel), directed.get(rel) ?? text));
    }
    // Every one settled before the first failure is reported: none still writes afterwards.
    const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Whether some patched file of the tree carries `#line` directives. */
  get hasLineDirectives(): boolean {
    return this.files.directed().size > 0;
  }

  /**
   * Puts the plain patched text back into the files that carry `#line` directives: after a
   * failed patched compile, so that gcc's diagnostics give the patched files' own line
   * numbers (or an object, should a directive have broken it). False when there were none.
   */
  dropLineDirectives(): boolean {
    const directed = this.files.directed();
    for (const rel of directed.keys()) writeFileSync(join(this.root, rel), this.files.changes.get(rel)!);
    return directed.size > 0;
  }

  /** Turns shadow paths in a compiler's diagnostics back into the source tree's. */
  readonly unshadow = (text: string): string => text.split(this.root + '/').join(this.source + '/').split(this.root).join(this.source);
}

/** The source-relative directory holding `rel` ('' for the root). */
function parentOf(rel: string): string {
  return rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
}

function joinRel(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a}/${b}`;
}
