// One worker thread of scripts/fuzz.mjs: runs cases through the library built in dist/
// and says how each ended. The main thread enforces the time limit (by terminating this
// thread) and V8 the heap limit (resourceLimits); this thread checks the memory outside
// the heap (ArrayBuffers) after each case.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

const { dist, memoryMb } = workerData;
const load = (path) => import(pathToFileURL(join(dist, path)).href);
const api = await load('index.js');
const { InputError } = api;
// Optional parts: rendering as the CLI does, and tree mode's per-pair entry point.
const optional = async (path) => (existsSync(join(dist, path)) ? load(path) : undefined);
const renderModule = await optional('render/index.js');
const treePair = await optional('tree/object-pair.js');
const assemblerText = await optional('report/assembler-text.js');

// The main thread makes and removes this thread's scratch directory (a terminated thread runs no exit hooks).
const { scratch } = workerData;

function render(format, kind, report) {
  if (!renderModule) return JSON.stringify(report);
  return renderModule.render(format, kind, report, { newPrefix: 'livepatch_' });
}

/** Runs one operation; returns nothing or throws what the library threw. */
async function runOp(c) {
  const mutated = join(scratch, `mutated${c.ext}`);
  writeFileSync(mutated, c.bytes);
  let partner;
  if (c.partner) {
    partner = join(scratch, `partner${c.ext}`);
    writeFileSync(partner, c.partner);
  }
  const [original, patched] = c.side === 'original' ? [mutated, partner] : [partner, mutated];
  if (c.op === 'inspect') {
    const { report } = await api.inspect(mutated);
    render('text', 'inspect', report);
    render('json', 'inspect', report);
    return;
  }
  if (c.op === 'compare') {
    const { report } = api.compareObjects(original, patched);
    for (const format of ['text', 'json', 'c']) render(format, 'compare', report);
    return;
  }
  if (c.op === 'tree') {
    if (!treePair) return runOp({ ...c, op: 'compare' });
    const result = treePair.compareObjectPair({ path: `x${c.ext}`, original, patched });
    // The pair's own catch turns anything into status 'error': an internal error is a crash.
    if (result.status === 'error') {
      if (/internal error/.test(result.error)) {
        const err = new Error(result.error);
        err.name = 'TreePairInternalError';
        throw err;
      }
      throw new InputError(undefined, result.error);
    }
    if (result.report) {
      assemblerText?.fillAssemblerText(result.report);
      render('json', 'compare', result.report);
    }
    return;
  }
  if (c.op === 'audit') {
    // The mutated object is the livepatch module, checked against the audit fixtures' originals.
    const report = api.audit(mutated, { originals: [workerData.auditOriginals] });
    render('text', 'audit', report);
    render('json', 'audit', report);
    return;
  }
  throw new Error(`unknown op ${c.op}`);
}

/** A message a user would see must be one line of printable text. */
function unprintable(message) {
  return /[\u0000-\u001f\u007f]/.test(message);
}

parentPort.on('message', async (c) => {
  const t0 = performance.now();
  let outcome = 'ok';
  let detail;
  try {
    await runOp(c);
  } catch (err) {
    if (err instanceof InputError) {
      outcome = 'error';
      detail = { name: err.constructor.name, message: err.message };
      if (unprintable(err.message)) {
        outcome = 'crash';
        detail = { name: 'UnprintableMessage', message: `clean error with control characters in its message: ${JSON.stringify(err.message)}`, stack: err.stack };
      }
    } else {
      outcome = 'crash';
      detail = { name: err?.name ?? typeof err, message: String(err?.message ?? err), stack: String(err?.stack ?? '') };
    }
  }
  const ms = performance.now() - t0;
  const external = process.memoryUsage().arrayBuffers;
  if (external > memoryMb * 2 ** 20) {
    outcome = 'memory';
    detail = { name: 'ArrayBuffers', message: `${(external / 2 ** 20).toFixed(0)} MiB of ArrayBuffers after the case (limit ${memoryMb} MiB)` };
  }
  parentPort.postMessage({ id: c.id, outcome, detail, ms });
});

parentPort.postMessage({ ready: true });
