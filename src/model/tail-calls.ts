import type { FunctionInfo } from './types.js';

/**
 * The functions a family reaches through tail calls, transitively, in the order a
 * breadth-first walk meets them: a tail call from the function or any of its parts (a part
 * tail-calls in its parent's frame), each target taken as its family (a jump into a part
 * reaches the part's parent's family). A target for which `stop` holds is neither listed
 * nor walked through.
 */
export function tailCallReach(fn: FunctionInfo, stop: (target: FunctionInfo) => boolean = () => false): FunctionInfo[] {
  const reached: FunctionInfo[] = [];
  const seen = new Set<FunctionInfo>([fn]);
  const queue: FunctionInfo[] = [fn, ...fn.parts];
  while (queue.length > 0) {
    const from = queue.shift()!;
    for (const edge of from.edges) {
      if (edge.kind !== 'tail-call' || !edge.target) continue;
      const target = edge.target.parent ?? edge.target;
      if (seen.has(target) || stop(target)) continue;
      seen.add(target);
      reached.push(target);
      queue.push(target, ...target.parts);
    }
  }
  return reached;
}
