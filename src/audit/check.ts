import { kernelRelease } from '../elf/modinfo.js';
import { buildModel } from '../model/build.js';
import type { FunctionInfo, ObjectModel } from '../model/types.js';
import { readLivepatch } from './formats/index.js';
import { Originals, VMLINUX_NAME } from './originals.js';
import type { AuditCandidateJson, AuditCodeJson, AuditCoverJson, AuditFunctionJson, AuditNewCodeJson, AuditNewCoverJson, AuditObjectJson, AuditReport, AuditStackOnlyJson, AuditStatus } from './report.js';
import type { CodeAddress, LivepatchModule, LivepatchObject, PatchedFunc } from './types.js';

/*
 * The check (design.md §1, §6): the livepatch stack check sees only the range of each
 * patched function. Whatever else runs in a patched function's stead is a blind spot unless
 * the livepatch names it too: the function's parts (its frame, another symbol's range) and
 * the functions it leaves for by a tail call (no frame of its own left on the stack), with
 * their parts, transitively. Named means: a klp_func of its own in the same object, or a
 * stack-only entry whose old_name it is. That is the enable direction, in the original
 * objects; the disable direction asks the same of each `new_func` in the livepatch module,
 * where the names that count are the new_funcs and the stack-only new_names.
 */

type Resolution =
  | { status: 'ok'; fn: FunctionInfo }
  | { status: Exclude<AuditStatus, 'ok' | 'blind_spots' | 'part'>; message: string; candidates?: AuditCandidateJson[] };

const candidate = (fn: FunctionInfo): AuditCandidateJson => ({ name: fn.name, sympos: fn.sympos, section: fn.sectionName, offset: fn.offset, size: fn.size });

/** What klp_find_object_symbol() would find for old_name/old_sympos (kernel/livepatch/core.c). */
function resolve(model: ObjectModel, name: string, sympos: number): Resolution {
  const found = [...new Set(model.byName.get(name) ?? [])];
  if (found.length === 0) return { status: 'missing', message: `no function ${name} in the original object` };
  if (found.length === 1) {
    if (sympos <= 1) return { status: 'ok', fn: found[0] };
    return { status: 'bad_sympos', message: `old_sympos ${sympos}, but ${name} is unique (sympos 0 or 1)`, candidates: found.map(candidate) };
  }
  const ordered = found.sort((a, b) => a.sympos - b.sympos);
  if (sympos === 0) return { status: 'ambiguous', message: `old_sympos 0, but there are ${found.length} functions named ${name}: the kernel refuses the patch`, candidates: ordered.map(candidate) };
  const fn = ordered.find((f) => f.sympos === sympos);
  if (fn) return { status: 'ok', fn };
  return { status: 'bad_sympos', message: `old_sympos ${sympos}, but there are only ${found.length} functions named ${name}`, candidates: ordered.map(candidate) };
}

/** Who covers what: function ids of the original object, from the klp_funcs and stack-only old_names that resolve. */
function coverage(model: ObjectModel, lp: LivepatchObject): Map<number, AuditCoverJson> {
  const covers = new Map<number, AuditCoverJson>();
  const add = (kind: AuditCoverJson['kind'], name: string, sympos: number) => {
    const r = resolve(model, name, sympos);
    if (r.status === 'ok' && !covers.has(r.fn.id)) covers.set(r.fn.id, { kind, old_name: name, old_sympos: sympos });
  };
  for (const f of lp.funcs) add('klp_func', f.oldName, f.oldSympos);
  for (const s of lp.stackOnly) if (s.oldName !== undefined) add('stack_only', s.oldName, s.oldSympos);
  return covers;
}

function codeEntry<C>(fn: FunctionInfo, reason: AuditCodeJson['reason'], via: FunctionInfo, covers: Map<number, C>): AuditCodeJson<C> {
  return { name: fn.name, sympos: fn.sympos, reason, via: via.name, covered_by: covers.get(fn.id) ?? null };
}

/** The functions a family leaves for by tail calls, in this object (the loader resolves the others, which are not this object's code). */
function tailCallees(fn: FunctionInfo): { from: FunctionInfo; to: FunctionInfo }[] {
  const out: { from: FunctionInfo; to: FunctionInfo }[] = [];
  for (const member of [fn, ...fn.parts]) {
    for (const edge of member.edges) {
      if (edge.kind === 'tail-call' && edge.target && !edge.target.parent) out.push({ from: member, to: edge.target });
    }
  }
  return out;
}

/** What runs in `fn`'s stead in its own object (its parts, its tail calls and theirs, transitively), and which of it nothing covers. */
function checkFunction<C>(fn: FunctionInfo, covers: Map<number, C>): { parts: AuditCodeJson<C>[]; tail_calls: AuditCodeJson<C>[]; blind_spots: AuditCodeJson<C>[] } {
  const parts = fn.parts.map((p) => codeEntry(p, 'part', fn, covers));
  const tailCalls: AuditCodeJson<C>[] = [];
  const seen = new Set<number>([fn.id]);
  const queue = [fn];
  while (queue.length > 0) {
    const caller = queue.shift()!;
    for (const { from, to } of tailCallees(caller)) {
      if (seen.has(to.id)) continue;
      seen.add(to.id);
      tailCalls.push({ ...codeEntry(to, 'tail-call', from, covers), parts: to.parts.map((p) => codeEntry(p, 'part', to, covers)) });
      queue.push(to);
    }
  }
  const blind = [...parts, ...tailCalls.flatMap((t) => [t, ...(t.parts ?? [])])]
    .filter((c) => c.covered_by === null)
    .map(({ parts: _parts, ...c }) => c);
  return { parts, tail_calls: tailCalls, blind_spots: blind };
}

/**
 * The disable direction's side of the check: the livepatch module's own code. When the
 * patch is disabled (or replaced), the kernel checks every klp_func's `new_func` and, with
 * kernel/6.1/0001-*.patch, every stack-only `new_name` (looked up with position 0, so the
 * name must be unique in the module) or stack-only `new_func`.
 */
class LivepatchSide {
  readonly model: ObjectModel;
  readonly covers = new Map<number, AuditNewCoverJson>();

  constructor(readonly lp: LivepatchModule) {
    this.model = buildModel(lp.object);
    for (const o of lp.objects) {
      for (const f of o.funcs) {
        const fn = this.functionOf(f.newCode);
        if (fn && !this.covers.has(fn.id)) this.covers.set(fn.id, { kind: 'klp_func', old_name: f.oldName, new_name: fn.name });
      }
    }
    for (const o of lp.objects) {
      for (const s of o.stackOnly) {
        const fn = s.newName !== undefined ? this.resolveName(s.newName).fn : this.functionOf(s.newCode);
        if (fn && !this.covers.has(fn.id)) this.covers.set(fn.id, { kind: 'stack_only', old_name: s.oldName ?? null, new_name: fn.name });
      }
    }
  }

  /** The function a pointer of the module's own points to: the one starting there (a part's entry is code of the part). */
  functionOf(address: CodeAddress | undefined): FunctionInfo | undefined {
    if (!address) return undefined;
    const fn = this.model.functionAt(address.section, address.offset);
    return fn && fn.offset === address.offset ? fn : undefined;
  }

  /** A stack-only new_name, as klp_find_object_symbol() looks it up in the livepatch module (position 0). */
  resolveName(name: string): { fn?: FunctionInfo; status: 'ok' | 'missing' | 'ambiguous'; message?: string } {
    const found = [...new Set(this.model.byName.get(name) ?? [])];
    if (found.length === 1) return { fn: found[0], status: 'ok' };
    if (found.length === 0) return { status: 'missing', message: `no function ${name} in the livepatch module: the kernel refuses the patch` };
    return { status: 'ambiguous', message: `${found.length} functions named ${name} in the livepatch module: a new_name has no position, the kernel refuses the patch` };
  }

  check(f: PatchedFunc): AuditNewCodeJson | null {
    const fn = this.functionOf(f.newCode);
    return fn ? checkFunction(fn, this.covers) : null;
  }
}

function auditObject(lp: LivepatchObject, originalPath: string, model: ObjectModel, side: LivepatchSide, blind: Set<string>): { json: AuditObjectJson; positionErrors: number } {
  const covers = coverage(model, lp);
  let positionErrors = 0;
  const functions = lp.funcs.map((f): AuditFunctionJson => {
    const base = { old_name: f.oldName, old_sympos: f.oldSympos, new_func: f.newFunc ?? null };
    const newCode = side.check(f);
    for (const b of newCode?.blind_spots ?? []) blind.add(`${side.lp.path}\0${b.name}\0${b.sympos}`);
    const newBlind = (newCode?.blind_spots.length ?? 0) > 0;
    const r = resolve(model, f.oldName, f.oldSympos);
    if (r.status !== 'ok') {
      positionErrors++;
      return { ...base, status: r.status, message: r.message, ...(r.candidates ? { candidates: r.candidates } : {}), parts: [], tail_calls: [], blind_spots: [], new_code: newCode };
    }
    if (r.fn.parent) {
      const message = `a part of ${r.fn.parent.name}: this entry covers it`;
      return { ...base, status: newBlind ? 'blind_spots' : 'part', message, parts: [], tail_calls: [], blind_spots: [], new_code: newCode };
    }
    const checked = checkFunction(r.fn, covers);
    for (const b of checked.blind_spots) blind.add(`${originalPath}\0${b.name}\0${b.sympos}`);
    return { ...base, status: checked.blind_spots.length > 0 || newBlind ? 'blind_spots' : 'ok', ...checked, new_code: newCode };
  });
  const stackOnly = lp.stackOnly.map((s): AuditStackOnlyJson => {
    const named = s.newName !== undefined ? side.resolveName(s.newName) : undefined;
    if (named && named.status !== 'ok') positionErrors++;
    const base = {
      old_name: s.oldName ?? null,
      old_sympos: s.oldSympos,
      new_name: s.newName ?? null,
      ...(s.newName === undefined && s.newFunc !== undefined ? { new_func: s.newFunc } : {}),
      new_status: named?.status ?? null,
      ...(named?.message ? { new_message: named.message } : {}),
    };
    if (s.oldName === undefined) return { ...base, status: null };
    const r = resolve(model, s.oldName, s.oldSympos);
    if (r.status === 'ok') return { ...base, status: 'ok' };
    positionErrors++;
    return { ...base, status: r.status, message: r.message, ...(r.candidates ? { candidates: r.candidates } : {}) };
  });
  return { json: { name: lp.name ?? VMLINUX_NAME, original: originalPath, functions, stack_only: stackOnly }, positionErrors };
}

export interface AuditOptions {
  /** `--original`: directories and files where the patched objects are found. */
  originals: readonly string[];
}

/** Reads a built livepatch module and checks each object it patches against its original. */
export function audit(livepatchPath: string, options: AuditOptions): AuditReport {
  const lp = readLivepatch(livepatchPath);
  const originals = new Originals(options.originals);
  const side = new LivepatchSide(lp);
  const warnings = [...lp.warnings, ...side.model.warnings.map((w) => `${livepatchPath}: ${w}`)];
  const objects: AuditObjectJson[] = [];
  const blind = new Set<string>();
  let positionErrors = 0;
  for (const lpObject of lp.objects) {
    const original = originals.find(lpObject.name);
    // A livepatch is built for one kernel: an original from another build may split differently.
    const release = kernelRelease(original.object);
    if (lp.release && release && release !== lp.release) warnings.push(`${original.path}: built for ${release}, the livepatch for ${lp.release}`);
    const model = buildModel(original.object);
    warnings.push(...model.warnings.map((w) => `${original.path}: ${w}`));
    const result = auditObject(lpObject, original.path, model, side, blind);
    positionErrors += result.positionErrors;
    objects.push(result.json);
  }
  return {
    schema_version: 1,
    livepatch: livepatchPath,
    format: lp.format,
    module: lp.moduleName ?? null,
    objects,
    summary: { functions: objects.reduce((n, o) => n + o.functions.length, 0), blind_spots: blind.size, position_errors: positionErrors },
    warnings,
  };
}
