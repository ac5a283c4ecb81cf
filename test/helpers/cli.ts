import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const cliPath = join(repoRoot, 'dist', 'bin', 'stackonly.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would (npm test builds dist/ first). */
export async function runCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const result = await execa('node', [cliPath, ...args], { reject: false, cwd: options.cwd ?? repoRoot, env: options.env, stdin: 'ignore' });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}
