import type { AuditCandidateJson, AuditCodeJson, AuditCoverJson, AuditFunctionJson, AuditNewCoverJson, AuditReport, AuditStackOnlyJson } from '../audit/report.js';

/** The `audit` report for a person: per object, each patched function and what runs in its stead. */

const FORMATS: Record<AuditReport['format'], string> = {
  upstream: 'upstream klp_patch',
  kpatch: 'kpatch (.kpatch.funcs)',
  'klp-build': 'klp-build (klp_object_ext)',
};

const named = (name: string, sympos: number) => (sympos > 0 ? `${name},${sympos}` : name);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function codeLine(c: AuditCodeJson, indent: string): string {
  const what = c.reason === 'part' ? `part      ${named(c.name, c.sympos)} (of ${c.via})` : `tail call ${named(c.name, c.sympos)} (from ${c.via})`;
  const cover = c.covered_by
    ? `covered by ${c.covered_by.kind === 'klp_func' ? 'its own klp_func' : 'a stack_only entry'}`
    : 'BLIND SPOT: no klp_func, no stack_only entry';
  return `${indent}${what}: ${cover}`;
}

/** The livepatch module's own code, checked when the patch is disabled. */
function newCodeLine(c: AuditCodeJson<AuditNewCoverJson>, indent: string): string {
  const what = c.reason === 'part' ? `new part      ${named(c.name, c.sympos)} (of ${c.via})` : `new tail call ${named(c.name, c.sympos)} (from ${c.via})`;
  const by = c.covered_by;
  const cover = by
    ? `covered by ${by.kind === 'klp_func' ? `the new_func of ${by.old_name}` : 'a stack_only entry'}`
    : 'BLIND SPOT when disabling: not a new_func, no stack_only new_name';
  return `${indent}${what}: ${cover}`;
}

function reachLines<C extends AuditCoverJson | AuditNewCoverJson>(parts: AuditCodeJson<C>[], tailCalls: AuditCodeJson<C>[], line: (c: AuditCodeJson<C>, indent: string) => string): string[] {
  const lines = parts.map((p) => line(p, '    '));
  for (const t of tailCalls) {
    lines.push(line(t, '    '));
    for (const p of t.parts ?? []) lines.push(line(p, '      '));
  }
  return lines;
}

function candidateLines(candidates: AuditCandidateJson[] | undefined, indent: string): string[] {
  return (candidates ?? []).map((c) => `${indent}candidate ${named(c.name, c.sympos)}: ${c.section}+0x${c.offset.toString(16)}, ${c.size} bytes`);
}

function functionLines(f: AuditFunctionJson): string[] {
  const head = `  ${named(f.old_name, f.old_sympos)} -> ${f.new_func ?? '(unnamed)'}`;
  const newLines = f.new_code ? reachLines(f.new_code.parts, f.new_code.tail_calls, newCodeLine) : [];
  if (f.status === 'missing' || f.status === 'ambiguous' || f.status === 'bad_sympos') {
    return [`${head}: ERROR (${f.status.replace('_', ' ')}): ${f.message}`, ...candidateLines(f.candidates, '    '), ...newLines];
  }
  const blind = f.blind_spots.length + (f.new_code?.blind_spots.length ?? 0);
  if (f.message && blind === 0) return [`${head}: ${f.message}`, ...newLines];
  const reach = f.parts.length + f.tail_calls.length + newLines.length;
  const verdict = blind > 0 ? plural(blind, 'blind spot') : reach === 0 ? 'no parts, no tail calls' : 'covered';
  return [`${head}: ${f.message ? `${f.message}; ` : ''}${verdict}`, ...reachLines(f.parts, f.tail_calls, codeLine), ...newLines];
}

function stackOnlyLine(s: AuditStackOnlyJson): string[] {
  const names = [
    s.old_name !== null ? `old_name ${named(s.old_name, s.old_sympos)}` : undefined,
    s.new_name !== null ? `new_name ${s.new_name}` : undefined,
    s.new_func !== undefined ? `new_func ${s.new_func}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  const errors: string[] = [];
  if (s.status !== null && s.status !== 'ok') errors.push(`ERROR (${s.status.replace('_', ' ')}): ${s.message}`);
  if (s.new_status !== null && s.new_status !== 'ok') errors.push(`ERROR (new_name ${s.new_status}): ${s.new_message}`);
  if (errors.length === 0) return [`  stack_only ${names}`];
  return [`  stack_only ${names}: ${errors.join('; ')}`, ...candidateLines(s.candidates, '    ')];
}

export function renderAuditText(report: AuditReport): string {
  const lines = [`${report.livepatch}: ${FORMATS[report.format]} livepatch${report.module ? ` ${report.module}` : ''}`];
  for (const o of report.objects) {
    lines.push('', `${o.name} (original: ${o.original})`);
    for (const f of o.functions) lines.push(...functionLines(f));
    for (const s of o.stack_only) lines.push(...stackOnlyLine(s));
  }
  const s = report.summary;
  lines.push(
    '',
    `${plural(s.functions, 'patched function')} in ${plural(report.objects.length, 'object')}: ${plural(s.blind_spots, 'blind spot')}, ${plural(s.position_errors, 'position error')}`,
  );
  if (report.warnings.length > 0) lines.push('', ...report.warnings.map((w) => `warning: ${w}`));
  return `${lines.join('\n')}\n`;
}
