import { ElfError } from '../errors.js';
import type { ElfObject } from '../elf/types.js';
import type { ArchBackend } from './backend.js';
import { x86_64Backend } from './x86_64/backend.js';

const BACKENDS: readonly ArchBackend[] = [x86_64Backend];

type ElfClass = ElfObject['elfClass'];
type Endian = ElfObject['endian'];

/**
 * e_machine values (gABI) by their constant's name, and the architecture's name as
 * `uname -m` spells it for each ELF class and byte order: for messages about objects no
 * backend reads. A backend's own `name` is the one this table gives for its combination.
 */
const MACHINES: Record<number, { em: string; name(elfClass: ElfClass, endian: Endian): string }> = {
  3: { em: 'EM_386', name: () => 'i386' },
  8: { em: 'EM_MIPS', name: (c, e) => (c === 64 ? 'mips64' : 'mips') + (e === 'little' ? 'el' : '') },
  20: { em: 'EM_PPC', name: (_, e) => (e === 'little' ? 'ppcle' : 'ppc') },
  21: { em: 'EM_PPC64', name: (_, e) => (e === 'little' ? 'ppc64le' : 'ppc64') },
  22: { em: 'EM_S390', name: (c) => (c === 64 ? 's390x' : 's390') },
  40: { em: 'EM_ARM', name: (_, e) => (e === 'big' ? 'armeb' : 'arm') },
  62: { em: 'EM_X86_64', name: (c) => (c === 64 ? 'x86_64' : 'x32') },
  183: { em: 'EM_AARCH64', name: (_, e) => (e === 'big' ? 'aarch64_be' : 'aarch64') },
  243: { em: 'EM_RISCV', name: (c) => `riscv${c}` },
  258: { em: 'EM_LOONGARCH', name: (c) => `loongarch${c}` },
};

/** What the ELF header says about an object's architecture. */
type ElfIdentity = Pick<ElfObject, 'path' | 'machine' | 'elfClass' | 'endian'>;

/** `i386 (EM_386)`: the architecture of an object, for messages. */
function architectureOf(object: ElfIdentity): string {
  const machine = MACHINES[object.machine];
  return machine ? `${machine.name(object.elfClass, object.endian)} (${machine.em})` : `with e_machine ${object.machine}`;
}

/**
 * The backend for an object, chosen by e_machine, ELF class and byte order; or an error
 * naming the file and its architecture, which every mode reports alike (exit status 2).
 */
export function backendFor(object: ElfIdentity): ArchBackend {
  const backend = BACKENDS.find((b) => b.machine === object.machine && b.elfClass === object.elfClass && b.endian === object.endian);
  if (!backend) {
    throw new ElfError(object.path, `no backend for architecture ${architectureOf(object)}; supported: ${BACKENDS.map((b) => b.name).join(', ')}`);
  }
  return backend;
}

/** The backend a report names by its `arch` (undefined for none). */
export function backendNamed(name: string): ArchBackend | undefined {
  return BACKENDS.find((b) => b.name === name);
}

export type { ArchBackend } from './backend.js';
