import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { applyPatch, parsePatch, reversePatch, type StructuredPatch } from 'diff';
import { describeFsError, InputError, PatchError } from '../errors.js';

/*
 * Patches as people have them: a plain unified diff (`diff -u`, `diff -Naur`, quilt), a
 * `git diff`, or mail from `git format-patch` (mbox headers, commit message, diffstat and
 * the `-- ` signature that ends the mail), one file or several in order, or a quilt
 * `series` file naming them. The `diff` package parses the unified diff itself (git's
 * extended headers included: new, deleted, renamed and copied files); what it does not
 * know, the mail around the diff, is taken off here first (extractDiff), so that a
 * signature or a commit message is never read as a hunk line.
 */

type FileChangeKind = 'modify' | 'create' | 'delete' | 'rename' | 'copy';

export interface FilePatch {
  /** The patch file this comes from, as messages name it. */
  patchFile: string;
  kind: FileChangeKind;
  /** The old file's path with the leading components stripped; undefined for a created file. */
  oldPath?: string;
  /** The new file's path likewise; undefined for a deleted file. */
  newPath?: string;
  /**
   * The paths were stripped as the user said (`--strip N`); otherwise the strip was
   * detected (1 for git's a/ b/ prefixes, else 0) and a caller may also try one more.
   */
  exactPaths: boolean;
  patch: StructuredPatch;
}

export interface PatchOptions {
  /** Leading path components to strip from every name (`patch -pN`); default: detected. */
  strip?: number;
}

/** patchbreak() of git's mailinfo: where a mail's commit message ends and its patch begins. */
function patchBreak(line: string): 'diff' | 'separator' | undefined {
  if (line.startsWith('diff -') || line.startsWith('Index: ')) return 'diff';
  if (!line.startsWith('---')) return undefined;
  if (line[3] === ' ' && line.length > 4 && !/\s/.test(line[4])) return 'diff';
  return /^---\s*$/.test(line) ? 'separator' : undefined;
}

/** The mbox line that starts each mail of `git format-patch` (or any mbox). */
const MAIL_START = /^From (?:[0-9a-f]{40} |\S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) )/;
const MAIL_HEADER = /^(?:From|Subject|Date|To|Cc|Message-I[Dd]|In-Reply-To|References|MIME-Version|Content-[A-Za-z-]+|X-[A-Za-z-]+): /;
const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;
const GIT_EXTENDED = /^(?:old mode|new mode|deleted file mode|new file mode|copy from|copy to|rename from|rename to|similarity index|dissimilarity index|index) /;

/**
 * The unified diff inside `text`, without what surrounds it: mail headers and commit
 * messages, diffstats, prose between files, and each mail's signature (`-- ` and what
 * follows it, up to the next mail). Hunks keep exactly the lines their headers count, so a
 * signature right after the last hunk is never taken for a removed line, and a line that
 * lost its leading space in transit (an empty context line) is context again.
 */
export function extractDiff(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  const firstText = lines.find((l) => l.trim() !== '') ?? '';
  let mode: 'headers' | 'message' | 'diff' | 'signature' = MAIL_START.test(firstText) || MAIL_HEADER.test(firstText) ? 'headers' : 'diff';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (MAIL_START.test(line) && mode !== 'headers') {
      mode = 'headers';
      continue;
    }
    if (mode === 'headers') {
      if (line.trim() === '') mode = 'message';
      continue;
    }
    if (mode === 'message') {
      const brk = patchBreak(line);
      if (brk === undefined) continue;
      mode = 'diff';
      if (brk === 'separator') continue;
    }
    if (mode === 'signature') continue;
    // In a diff, between hunks.
    if (/^--\s?\r?$/.test(line)) {
      mode = 'signature';
      continue;
    }
    if (line.startsWith('diff --git ')) {
      out.push(line);
      for (; i + 1 < lines.length; i++) {
        const ext = lines[i + 1];
        if (GIT_EXTENDED.test(ext) || ext.startsWith('Binary files ')) out.push(ext);
        else if (ext.startsWith('GIT binary patch')) {
          // The `diff` package knows binary changes by this line; the data itself goes.
          out.push('Binary files differ');
          while (i + 2 < lines.length && !lines[i + 2].startsWith('diff ') && !MAIL_START.test(lines[i + 2]) && !/^--\s?\r?$/.test(lines[i + 2])) i++;
        } else break;
      }
      continue;
    }
    if (line.startsWith('--- ') && i + 1 < lines.length && lines[i + 1].startsWith('+++ ')) {
      out.push(line, lines[++i]);
      continue;
    }
    const hunk = HUNK_HEADER.exec(line);
    if (hunk) {
      out.push(line);
      let oldLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
      let newLeft = hunk[4] === undefined ? 1 : Number(hunk[4]);
      while (i + 1 < lines.length && (oldLeft > 0 || newLeft > 0 || lines[i + 1].startsWith('\\'))) {
        const body = lines[i + 1];
        const op = body === '' || body === '\r' ? '' : body[0];
        if (op === ' ' || op === '') {
          oldLeft--;
          newLeft--;
        } else if (op === '-') oldLeft--;
        else if (op === '+') newLeft--;
        else if (op !== '\\') break; // a truncated hunk: the parser says so
        out.push(op === '' ? ' ' + body : body);
        i++;
      }
      continue;
    }
    // Prose: a diffstat, a comment between files, `Index:` and `diff -u` lines (the
    // `---`/`+++` lines name the files).
  }
  return out.join('\n') + '\n';
}

/** Whether a `diff -N` header time is the epoch, which stands for a missing file. */
function isEpoch(header: string | undefined): boolean {
  if (!header) return false;
  const iso = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.\d+)? ?([+-])(\d\d):?(\d\d)$/.exec(header.trim());
  if (iso) {
    const [, y, mo, d, h, mi, s, sign, zh, zm] = iso;
    const utc = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) - (sign === '-' ? -1 : 1) * (+zh * 60 + +zm) * 60000;
    return utc === 0;
  }
  // The traditional format: `Thu Jan  1 00:00:00 1970` (in UTC).
  return /^\w{3} Jan +1 00:00:00(?:\.0+)? 1970$/.test(header.trim());
}

function stripComponents(name: string, n: number, patchFile: string): string {
  let rest = name;
  for (let k = 0; k < n; k++) {
    const slash = rest.indexOf('/');
    if (slash < 0) throw new PatchError(patchFile, `cannot strip ${n} leading component${n === 1 ? '' : 's'} from ${name} (-p${n})`);
    rest = rest.slice(slash + 1).replace(/^\/+/, '');
  }
  return rest;
}

/**
 * Parses a patch (see extractDiff for what may surround the diff) into one entry per file,
 * in order. An empty or unreadable patch is an error naming the patch file; so is a binary
 * change, which no compile could use.
 */
export function parseUnifiedDiff(text: string, patchFile: string, options: PatchOptions = {}): FilePatch[] {
  let patches: StructuredPatch[];
  try {
    patches = parsePatch(extractDiff(text));
  } catch (err) {
    throw new PatchError(patchFile, `not a unified diff: ${(err as Error).message}`);
  }
  const result: FilePatch[] = [];
  for (const p of patches) {
    const oldName = p.oldFileName === '/dev/null' ? undefined : p.oldFileName;
    const newName = p.newFileName === '/dev/null' ? undefined : p.newFileName;
    if (p.isBinary) throw new PatchError(patchFile, `changes the binary file ${(newName ?? oldName ?? '(unnamed)').replace(/^[ab]\//, '')}: only text patches apply`);
    const structural = p.isCreate || p.isDelete || p.isRename || p.isCopy;
    if (p.hunks.length === 0 && !structural) continue; // a mode change, or an empty entry
    // Hunks without `---`/`+++` lines name no file: a caller with one file to patch may
    // still take them for it.
    if (oldName === undefined && newName === undefined && (p.oldFileName !== undefined || p.newFileName !== undefined)) {
      throw new PatchError(patchFile, 'a file in the patch has no name (/dev/null on both sides)');
    }
    let kind: FileChangeKind = 'modify';
    if (p.isRename) kind = 'rename';
    else if (p.isCopy) kind = 'copy';
    else if (p.oldFileName === '/dev/null' || p.isCreate) kind = 'create';
    else if (p.newFileName === '/dev/null' || p.isDelete) kind = 'delete';
    else if (isEpoch(p.oldHeader) && p.hunks.every((h) => h.oldLines === 0)) kind = 'create'; // diff -N
    else if (isEpoch(p.newHeader) && p.hunks.every((h) => h.newLines === 0)) kind = 'delete';
    const gitPrefixes = (oldName === undefined || oldName.startsWith('a/')) && (newName === undefined || newName.startsWith('b/'));
    const strip = options.strip ?? (gitPrefixes ? 1 : 0);
    const clean = (name: string | undefined) => (name === undefined ? undefined : stripComponents(name, strip, patchFile));
    result.push({
      patchFile,
      kind,
      oldPath: kind === 'create' ? undefined : clean(oldName ?? newName),
      newPath: kind === 'delete' ? undefined : clean(newName ?? oldName),
      exactPaths: options.strip !== undefined,
      patch: p,
    });
  }
  if (result.length === 0) throw new PatchError(patchFile, 'contains no hunks (not a unified diff?)');
  return result;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(path, describeFsError(err));
  }
}

/**
 * A quilt `series` file: one patch per line (relative to the file), `#` comments, an
 * optional `-pN` after the name. Recognised when it holds no diff and names only files
 * that exist; undefined otherwise.
 */
function seriesEntries(text: string, seriesFile: string): { file: string; strip?: number }[] | undefined {
  if (/^(?:@@ |--- |\+\+\+ |diff )/m.test(text)) return undefined;
  const entries: { file: string; strip?: number }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const [name, ...opts] = line.split(/\s+/);
    const file = isAbsolute(name) ? name : join(dirname(seriesFile), name);
    if (!existsSync(file)) return undefined;
    const p = opts.map((o) => /^-p(\d+)$/.exec(o)).find(Boolean);
    entries.push({ file, ...(p ? { strip: Number(p[1]) } : {}) });
  }
  return entries.length > 0 ? entries : undefined;
}

/**
 * Reads the patches to apply, in order: each file may hold several (a `git format-patch
 * --stdout` series), or be a quilt series file naming them.
 */
export function readPatches(files: readonly string[], options: PatchOptions = {}): FilePatch[] {
  const all: FilePatch[] = [];
  for (const file of files) {
    const text = readText(file);
    const series = basename(file) === 'series' || !/^(?:@@ |--- )/m.test(text) ? seriesEntries(text, file) : undefined;
    if (series) {
      for (const entry of series) all.push(...parseUnifiedDiff(readText(entry.file), entry.file, { strip: options.strip ?? entry.strip }));
    } else {
      all.push(...parseUnifiedDiff(text, file, options));
    }
  }
  return all;
}

function describeHunk(patch: StructuredPatch, index: number): string {
  const hunk = patch.hunks[index];
  const header = `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`;
  return [header, ...hunk.lines].join('\n');
}

/** The error for a file patch whose reverse applies: the change is there already. */
function alreadyApplied(fp: FilePatch, sourceName: string): PatchError {
  return new PatchError(fp.patchFile, `does not apply; already applied or reversed? (its reverse applies to ${sourceName})`);
}

/**
 * Applies one file's hunks to its text. Hunks must match exactly (no fuzz), as patch(1)
 * would apply them by default; offsets are tolerated. On failure, the error says the
 * patch is already applied (or reversed) when its reverse applies, else names the first
 * hunk that does not apply and shows it.
 */
function applyFilePatch(source: string, filePatch: FilePatch, sourceName: string): string {
  const result = applyPatch(source, filePatch.patch);
  if (result !== false) return result;
  if (applyPatch(source, reversePatch(filePatch.patch)) !== false) throw alreadyApplied(filePatch, sourceName);
  const { patchFile } = filePatch;
  for (let i = 0; i < filePatch.patch.hunks.length; i++) {
    const single: StructuredPatch = { ...filePatch.patch, hunks: [filePatch.patch.hunks[i]] };
    if (applyPatch(source, single) === false) {
      throw new PatchError(patchFile, `hunk ${i + 1} of ${filePatch.patch.hunks.length} does not apply to ${sourceName}`, describeHunk(filePatch.patch, i));
    }
  }
  throw new PatchError(patchFile, `hunks do not apply to ${sourceName} together (each applies alone; they overlap)`);
}

/** Where the patches go: the caller's names for files, and its files' contents. */
export interface PatchTarget {
  /**
   * The caller's key for each path of a file patch (its `oldPath` and `newPath`), or an
   * error for a path it refuses. `exists` tells whether a key is a file at this point of
   * the series (in the user's files, or made by an earlier patch).
   */
  resolve(fp: FilePatch, exists: (key: string) => boolean): { old?: string; new?: string };
  /** The text of a key in the user's files; undefined when there is no such file. */
  read(key: string): string | undefined;
  /** How messages name a key. */
  display(key: string): string;
}

export interface AppliedPatches {
  /** The final text of every key a patch touched, in the order first touched; null: deleted. */
  changes: Map<string, string | null>;
  /** The text of each touched key before any patch; undefined: it did not exist. */
  originals: Map<string, string | undefined>;
}

/**
 * Applies file patches in order, in memory: a later patch applies to the result of the
 * earlier ones (several mails of a series may change one file). Creates, deletes, renames
 * and copies are checked as patch(1) would: a file to create must not exist, a file to
 * delete must have exactly the content the patch removes, and each case whose reverse
 * applies is reported as already applied.
 */
export function applyPatchSeries(patches: readonly FilePatch[], target: PatchTarget): AppliedPatches {
  const changes = new Map<string, string | null>();
  const originals = new Map<string, string | undefined>();
  const current = (key: string): string | undefined => {
    if (changes.has(key)) return changes.get(key) ?? undefined;
    if (!originals.has(key)) originals.set(key, target.read(key));
    return originals.get(key);
  };
  const set = (key: string, text: string | null) => {
    current(key); // records the original
    changes.set(key, text);
  };
  for (const fp of patches) {
    const { old: oldKey, new: newKey } = target.resolve(fp, (key) => current(key) !== undefined);
    const name = (key: string | undefined) => target.display(key!);
    switch (fp.kind) {
      case 'create': {
        const existing = current(newKey!);
        if (existing !== undefined && existing !== '') {
          const created = applyPatch('', fp.patch);
          if (created === existing || applyPatch(existing, reversePatch(fp.patch)) !== false) throw alreadyApplied(fp, name(newKey));
          throw new PatchError(fp.patchFile, `creates ${name(newKey)}, which already exists`);
        }
        set(newKey!, applyFilePatch('', fp, name(newKey)));
        break;
      }
      case 'delete': {
        const text = current(oldKey!);
        if (text === undefined) throw new PatchError(fp.patchFile, `does not apply; already applied or reversed? (${name(oldKey)}, which it deletes, does not exist)`);
        const rest = applyFilePatch(text, fp, name(oldKey));
        if (rest !== '') throw new PatchError(fp.patchFile, `deletes ${name(oldKey)}, which holds more than the patch removes`);
        set(oldKey!, null);
        break;
      }
      case 'rename':
      case 'copy': {
        const text = current(oldKey!);
        if (text === undefined) {
          if (fp.kind === 'rename' && current(newKey!) !== undefined) {
            throw new PatchError(fp.patchFile, `does not apply; already applied or reversed? (${name(oldKey)} is already renamed to ${name(newKey)})`);
          }
          throw new PatchError(fp.patchFile, `${fp.kind === 'rename' ? 'renames' : 'copies'} ${name(oldKey)}, which does not exist`);
        }
        if (newKey !== oldKey && current(newKey!) !== undefined) throw new PatchError(fp.patchFile, `${fp.kind === 'rename' ? 'renames' : 'copies'} ${name(oldKey)} to ${name(newKey)}, which already exists`);
        const result = applyFilePatch(text, fp, name(oldKey));
        if (fp.kind === 'rename' && newKey !== oldKey) set(oldKey!, null);
        set(newKey!, result);
        break;
      }
      case 'modify': {
        // `--- x +++ y` with two names is one file, as for patch(1): the one that exists
        // (a patch made with `diff -u orig.c fixed.c` applies to orig.c).
        const key = oldKey !== undefined && current(oldKey) !== undefined ? oldKey : newKey !== undefined && current(newKey) !== undefined ? newKey : (oldKey ?? newKey)!;
        const text = current(key);
        if (text === undefined) {
          // A new file in a diff without /dev/null or timestamps: every hunk adds to nothing.
          if (fp.patch.hunks.every((h) => h.oldLines === 0)) {
            set(newKey ?? key, applyFilePatch('', fp, name(newKey ?? key)));
            break;
          }
          throw new PatchError(fp.patchFile, `changes ${name(key)}, which is not a file`);
        }
        set(key, applyFilePatch(text, fp, name(key)));
        break;
      }
    }
  }
  return { changes, originals };
}
