/**
 * Readers for the dependency information a build leaves behind: gcc's make-format
 * dependency files (`-MD`, `-MMD`, `-MF`), and the kernel's `.<name>.o.cmd` files (what
 * scripts/basic/fixdep makes of them). Both give the files one translation unit read.
 */

/** Joins backslash-newline continuation lines. */
function joinContinuations(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(/\\\n/g, ' ');
}

/**
 * Splits a make word list: whitespace separates words, `\ ` is a space inside a name,
 * `\#` a hash, `$$` a dollar (as gcc writes them).
 */
function splitMakeWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && (text[i + 1] === ' ' || text[i + 1] === '#' || text[i + 1] === '\t')) {
      current += text[++i];
    } else if (c === '$' && text[i + 1] === '$') {
      current += '$';
      i++;
    } else if (c === ' ' || c === '\t') {
      if (current) words.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  if (current) words.push(current);
  return words;
}

/** Index of the rule's `:` (a colon followed by a blank or the end of the line). */
function ruleColon(line: string): number {
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\') {
      i++;
      continue;
    }
    if (line[i] === ':' && (i + 1 === line.length || line[i + 1] === ' ' || line[i + 1] === '\t')) return i;
  }
  return -1;
}

/**
 * The prerequisites of a make-format dependency file (`target: dep dep \`), every rule
 * of it (so `-MP`'s empty phony rules add nothing), in order, without repeats. Paths are
 * as written: relative ones are relative to the directory the compiler ran in.
 */
export function parseMakeDepfile(text: string): string[] {
  const deps: string[] = [];
  const seen = new Set<string>();
  for (const raw of joinContinuations(text).split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const colon = ruleColon(line);
    if (colon < 0) continue;
    for (const word of splitMakeWords(line.slice(colon + 1))) {
      if (!seen.has(word)) {
        seen.add(word);
        deps.push(word);
      }
    }
  }
  return deps;
}

export interface KernelCmdFile {
  /** `source_<target> := path`. */
  source?: string;
  /** The plain paths of `deps_<target> := \`; `$(wildcard ...)` entries left out. */
  deps: string[];
}

/**
 * The kernel's `.<name>.o.cmd` file: `savedcmd_X := ...` (`cmd_X` before 6.3),
 * `source_X := path`, and `deps_X := \` followed by one path a line, `$(wildcard
 * include/config/...)` entries for the configuration symbols the unit tests. Paths are
 * relative to the build directory (or absolute, or under `$(srctree)` spelled out).
 */
export function parseKernelCmdFile(text: string): KernelCmdFile {
  const result: KernelCmdFile = { deps: [] };
  const seen = new Set<string>();
  for (const raw of joinContinuations(text).split('\n')) {
    const line = raw.trim();
    const source = /^source_\S+\s*:=\s*(.*)$/.exec(line);
    if (source) {
      const path = source[1].trim();
      if (path) result.source = path;
      continue;
    }
    const deps = /^deps_\S+\s*:=\s*(.*)$/.exec(line);
    if (!deps) continue;
    // Drop the $(wildcard ...) references before splitting (they may hold blanks).
    const plain = deps[1].replace(/\$\(wildcard[^)]*\)/g, ' ');
    for (const word of plain.split(/\s+/)) {
      if (!word || word.startsWith('$(')) continue;
      if (!seen.has(word)) {
        seen.add(word);
        result.deps.push(word);
      }
    }
  }
  if (result.source && !seen.has(result.source)) result.deps.unshift(result.source);
  return result;
}

/** Tells the kernel's `.cmd` format from a make dependency file by content. */
export function parseDependencyFile(text: string): string[] {
  if (/^deps_\S+\s*:=/m.test(text) || /^(saved)?cmd_\S+\s*:=/m.test(text)) return parseKernelCmdFile(text).deps;
  return parseMakeDepfile(text);
}
