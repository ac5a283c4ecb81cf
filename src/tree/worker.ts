import { compareObjectPair, type ObjectPairRequest, type ObjectPairResult } from './object-pair.js';

/** Piscina runs this in each worker thread: one object pair per task. */
export default function (request: ObjectPairRequest): ObjectPairResult {
  return compareObjectPair(request);
}
