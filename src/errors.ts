/**
 * Errors the user can act on. Everything the CLI reports with exit status 2 is one
 * of these; anything else escaping the library is a bug in stackonly.
 */
export class InputError extends Error {
  constructor(
    /** The file (or directory) the problem is about, when there is one. */
    readonly file: string | undefined,
    readonly problem: string,
    /** Extra lines to show after the one-line message (compiler diagnostics, a hunk). */
    readonly details?: string,
  ) {
    super(file ? `${file}: ${problem}` : problem);
    this.name = new.target.name;
  }
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
