import { ElfError } from '../errors.js';
import type { ElfObject } from '../elf/types.js';
import type { ArchBackend } from './backend.js';
import { x86_64Backend } from './x86_64/backend.js';

const BACKENDS: readonly ArchBackend[] = [x86_64Backend];

const MACHINE_NAMES: Record<number, string> = {
  3: 'i386',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 's390',
  40: 'ARM',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
  258: 'LoongArch',
};

export function machineName(machine: number): string {
  return MACHINE_NAMES[machine] ?? `machine ${machine}`;
}

/** The backend for an object, or an error naming the file and its architecture. */
export function backendFor(object: ElfObject): ArchBackend {
  const backend = BACKENDS.find((b) => b.machine === object.machine);
  if (!backend || object.elfClass !== 64 || object.endian !== 'little') {
    const order = object.endian === 'little' ? 'little-endian' : 'big-endian';
    throw new ElfError(
      object.path,
      `${object.elfClass}-bit ${order} ${machineName(object.machine)} object: no backend for this architecture (supported: x86-64)`,
    );
  }
  return backend;
}

/** The backend a report names by its `arch` (undefined for none). */
export function backendNamed(name: string): ArchBackend | undefined {
  return BACKENDS.find((b) => b.name === name);
}

export type { ArchBackend } from './backend.js';
