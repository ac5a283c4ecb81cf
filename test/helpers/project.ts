import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { loadCompilationDatabase } from '../../src/compile/compiledb.js';
import { repoRoot } from './cli.js';

/**
 * testdata/compiledb/project configured in `scratch` as test/compiledb.test.ts does it: the
 * database written from compile_commands.in.json (with `extraFlags` per unit, after the
 * compiler: `-DMODULE`, `-DKBUILD_MODNAME=...`) and a first build with the database's own
 * commands, so the dependency files a real build leaves exist.
 */
export async function configureProject(scratch: string, extraFlags: Record<string, string[]> = {}): Promise<{ proj: string; buildDir: string }> {
  const fixture = join(repoRoot, 'testdata', 'compiledb');
  const proj = join(scratch, 'proj');
  const buildDir = join(scratch, 'build-util');
  cpSync(join(fixture, 'project'), proj, { recursive: true });
  const template = readFileSync(join(fixture, 'compile_commands.in.json'), 'utf8').replaceAll('@DIR@', proj).replaceAll('@BUILD@', buildDir);
  const entries = JSON.parse(template) as { file: string; command?: string; arguments?: string[] }[];
  for (const entry of entries) {
    const unit = Object.keys(extraFlags).find((u) => entry.file.endsWith(u));
    if (!unit) continue;
    const flags = extraFlags[unit];
    if (entry.arguments) entry.arguments.splice(1, 0, ...flags);
    // As kbuild writes them into a command: each word single-quoted for the shell.
    else entry.command = entry.command!.replace(/^(\S+)/, `$1 ${flags.map((f) => `'${f.replace(/'/g, `'\\''`)}'`).join(' ')}`);
  }
  writeFileSync(join(proj, 'compile_commands.json'), JSON.stringify(entries, null, 2));
  mkdirSync(join(proj, 'build', 'src'), { recursive: true });
  mkdirSync(join(buildDir, 'src'), { recursive: true });
  for (const entry of loadCompilationDatabase(join(proj, 'compile_commands.json'))) {
    await execa(entry.argv[0], entry.argv.slice(1), { cwd: entry.directory });
  }
  return { proj, buildDir };
}
