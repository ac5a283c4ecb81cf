import { execFileSync } from 'node:child_process';

/**
 * The LLVM tools the clang tests drive, as Debian 12 packages them (clang-19, llvm-19,
 * lld-19; .ci/run installs them where they are missing).
 */
export const CLANG = 'clang-19';
export const PROFDATA = 'llvm-profdata-19';
export const LLD = 'ld.lld-19';

function runs(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let missing: string[] | undefined;

/** The tools of the three that cannot be run here. */
function missingClangTools(): string[] {
  return (missing ??= [CLANG, PROFDATA, LLD].filter((tool) => !runs(tool)));
}

/**
 * Skips a test that needs the LLVM tools where they are absent, saying why (CI installs
 * them, so a skip there means the install failed and shows in the log).
 */
export function skipWithoutClang(context: { skip: () => void }): void {
  const absent = missingClangTools();
  if (absent.length === 0) return;
  console.log(`skipped: ${absent.join(', ')} not found (Debian packages clang-19 llvm-19 lld-19)`);
  context.skip();
}
