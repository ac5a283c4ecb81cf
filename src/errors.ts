/**
 * Errors the user can act on. Everything the CLI reports with exit status 2 is one
 * of these; anything else escaping the library is a bug in stackonly.
 */
export class InputError extends Error {
  /** The problem as one line of printable text (see `oneLine`). */
  readonly problem: string;
  constructor(
    /** The file (or directory) the problem is about, when there is one. */
    readonly file: string | undefined,
    problem: string,
    /** Extra lines to show after the one-line message (compiler diagnostics, a hunk). */
    readonly details?: string,
  ) {
    const line = oneLine(problem);
    super(file ? `${oneLine(file)}: ${line}` : line);
    this.problem = line;
    this.name = new.target.name;
  }
}

/**
 * Text made one printable line: a message quotes names from the files it is about (section
 * and symbol names, paths), and a newline or an escape sequence in one of them must not
 * break the one-line error or reach the terminal. Control characters are escaped as \xNN.
 */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A malformed, truncated or unsupported ELF file. */
export class ElfError extends InputError {}

/** The compiler failed or could not be run. */
export class CompileError extends InputError {}

/** A unified diff that does not apply or cannot be parsed. */
export class PatchError extends InputError {}

/** Bad command-line usage. */
export class UsageError extends InputError {
  constructor(problem: string) {
    super(undefined, problem);
  }
}

/** A file system error as a short phrase for a one-line message about the file. */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not an object file';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    default:
      return (err as Error)?.message ?? String(err);
  }
}
