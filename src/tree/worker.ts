import { compareObjectPair, type ObjectPairRequest, type ObjectPairResult } from './object-pair.js';

/** Piscina runs this in each worker thread: a few object pairs per task, in order. */
export default function (requests: ObjectPairRequest[]): ObjectPairResult[] {
  return requests.map(compareObjectPair);
}
