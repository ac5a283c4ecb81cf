import { KIND_ADDRESS, KIND_CALL, KIND_JUMP, TRANSFER_KINDS, type ArchBackend, type KernelThunk } from '../arch/backend.js';
import type { FunctionRecord } from './function-record.js';
import type { Edge, FunctionInfo, Location } from './types.js';

/**
 * A function's edges (design.md §2) and its transfers to the kernel's helper thunks, from
 * its references and the jumps into other functions found before the parts. Needs the
 * parts of the whole object: a jump to the entry of a function that is not a part of the
 * jumper's family is a tail call, any other jump between functions a jump. The backend says
 * which instructions are calls and jumps, and which external symbols are thunks; the rest
 * is the same on every architecture.
 */
export function functionEdges(fn: FunctionRecord, backend: ArchBackend | undefined): { edges: Edge[]; thunks: FunctionInfo['thunks'] } {
  const edges: Edge[] = [];
  const thunks = { fentry: false, returns: 0, indirectCalls: 0, indirectJumps: 0 };
  const code = fn.code;
  for (let i = fn.firstReference; i < fn.endReference; i++) {
    const kind = code.kind[i];
    if (kind === KIND_JUMP && code.symbol[i] < 0) continue; // same-section jumps are in jumpsOut
    const location = fn.target(i);
    const at = code.insnOffset[i] - fn.offset;
    const via = code.relocationType[i] >= 0 ? 'relocation' : 'resolved';
    if (location.kind === 'external') {
      // Only functions with references have a backend, and only references reach here.
      const thunk = backend!.kernelThunk(location.name, TRANSFER_KINDS[kind]);
      // An address can name a function or data; only the ftrace hook is known either way.
      if (kind === KIND_ADDRESS) {
        if (thunk === 'ftrace') thunks.fentry = true;
        continue;
      }
      if (thunk !== undefined) {
        countThunk(thunks, thunk, kind === KIND_CALL);
        continue;
      }
      edges.push({ kind: kind === KIND_CALL ? 'call' : 'tail-call', targetName: location.name, targetOffset: location.offset, from: at, via });
    } else if (location.kind === 'function' && kind !== KIND_JUMP && (location.fn !== fn || kind === KIND_CALL)) {
      edges.push({ kind: kind === KIND_CALL ? 'call' : 'address', target: location.fn, targetName: location.fn.name, targetOffset: location.offset, from: at, via });
    }
  }
  for (const t of fn.jumpsOut) {
    const loc = t.location as Extract<Location, { kind: 'function' }>;
    const target = loc.fn;
    if (target === fn) continue;
    const sameFamily = (target.parent ?? target) === (fn.parent ?? fn);
    const kind = loc.offset === 0 && !sameFamily && !target.parent ? 'tail-call' : 'jump';
    edges.push({ kind, target, targetName: target.name, targetOffset: loc.offset, from: t.at, via: t.via });
  }
  if (edges.length > 1) edges.sort((a, b) => a.from - b.from);
  return { edges, thunks };
}

/** Records a call or jump to one of the kernel's thunks. */
function countThunk(thunks: FunctionInfo['thunks'], thunk: KernelThunk, call: boolean): void {
  if (thunk === 'ftrace') thunks.fentry = true;
  else if (thunk === 'return') thunks.returns++;
  else if (call) thunks.indirectCalls++;
  else thunks.indirectJumps++;
}
