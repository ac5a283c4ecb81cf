import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Debian's linux-image-VERSION-amd64 modules, fetched by scripts/fetch-kernel-modules.sh
 * (which .ci/run calls) into STACKONLY_KERNELS; undefined when they are not there.
 */
export function kernelModulesDir(version: string): string | undefined {
  const base = join(process.env.STACKONLY_KERNELS ?? '/var/tmp/stackonly-kernels', version, 'lib', 'modules');
  if (!existsSync(base)) return undefined;
  const [release] = readdirSync(base);
  return release ? join(base, release, 'kernel') : undefined;
}
