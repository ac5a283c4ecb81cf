import type { AuditCandidateJson, AuditCodeJson, AuditFunctionJson, AuditReport, AuditStackOnlyJson } from '../audit/report.js';

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

function candidateLines(candidates: AuditCandidateJson[] | undefined, indent: string): string[] {
  return (candidates ?? []).map((c) => `${indent}candidate ${named(c.name, c.sympos)}: ${c.section}+0x${c.offset.toString(16)}, ${c.size} bytes`);
}

function functionLines(f: AuditFunctionJson): string[] {
  const head = `  ${named(f.old_name, f.old_sympos)} -> ${f.new_func ?? '(unnamed)'}`;
  if (f.status === 'missing' || f.status === 'ambiguous' || f.status === 'bad_sympos') {
    return [`${head}: ERROR (${f.status.replace('_', ' ')}): ${f.message}`, ...candidateLines(f.candidates, '    ')];
  }
  if (f.status === 'part') return [`${head}: ${f.message}`];
  const reach = f.parts.length + f.tail_calls.length;
  const verdict = f.blind_spots.length > 0 ? plural(f.blind_spots.length, 'blind spot') : reach === 0 ? 'no parts, no tail calls' : 'covered';
  const lines = [`${head}: ${verdict}`];
  for (const p of f.parts) lines.push(codeLine(p, '    '));
  for (const t of f.tail_calls) {
    lines.push(codeLine(t, '    '));
    for (const p of t.parts ?? []) lines.push(codeLine(p, '      '));
  }
  return lines;
}

function stackOnlyLine(s: AuditStackOnlyJson): string[] {
  const names = [s.old_name !== null ? `old_name ${named(s.old_name, s.old_sympos)}` : undefined, s.new_name !== null ? `new_name ${s.new_name}` : undefined].filter(Boolean).join(', ');
  if (s.status === null || s.status === 'ok') return [`  stack_only ${names}`];
  return [`  stack_only ${names}: ERROR (${s.status.replace('_', ' ')}): ${s.message}`, ...candidateLines(s.candidates, '    ')];
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
