import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * The user's source tree, by every spelling that names it: a database may use the path as
 * configured or its real path (the tree reached through a symbolic link), and both must
 * count as inside the tree.
 */
export class SourceTree {
  /** Absolute. */
  readonly root: string;
  /** The spellings of the root: resolved, and its real path (once when they agree). */
  readonly roots: string[];

  /** @param dir as the user gave it, and as messages name it. */
  constructor(readonly dir: string) {
    this.root = resolve(dir);
    this.roots = [...new Set([this.root, realpathSync(this.root)])];
  }

  /** `path` relative to the tree, or undefined when it lies outside. Lexical. */
  relative(path: string): string | undefined {
    return underRoots(resolve(path), this.roots)?.rel;
  }
}

/** `abs` relative to the first root it lies under, or undefined. Lexical. */
export function underRoots(abs: string, roots: string[]): { root: string; rel: string } | undefined {
  for (const root of roots) {
    if (abs === root) return { root, rel: '' };
    const prefix = root.endsWith('/') ? root : root + '/';
    if (abs.startsWith(prefix)) return { root, rel: abs.slice(prefix.length).replace(/\/+$/, '') };
  }
  return undefined;
}

/**
 * The source-relative directories a path goes up out of with `..`, walked lexically from
 * `base` (for a relative path) as the compiler spells it: in the shadow tree each must be a
 * real directory, since a `..` out of a symbolic link to a directory would lead back into
 * the original tree (the kernel resolves `..` physically).
 */
export function directoriesLeftUpwards(path: string, base: string, roots: string[]): string[] {
  if (!path.includes('..')) return [];
  const left: string[] = [];
  let position = isAbsolute(path) ? '/' : base;
  for (const part of path.split('/')) {
    if (part === '..') {
      const at = underRoots(position, roots);
      if (at) left.push(at.rel);
      position = dirname(position);
    } else if (part !== '' && part !== '.') {
      position = join(position, part);
    }
  }
  return left;
}
