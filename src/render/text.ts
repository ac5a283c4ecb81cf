import type { CompareReport, InspectReport, ReplaceReport, StackOnlyEntryJson, TreeReport } from '../report/types.js';

function pad(text: string, width: number): string {
  return text.length >= width ? text + ' ' : text + ' '.repeat(width - text.length);
}

function entryLine(e: StackOnlyEntryJson): string {
  const name = e.sympos ? `${e.name} (sympos ${e.sympos})` : e.name;
  const why =
    e.reason === 'tail-call' ? `tail-called from ${e.owner}'s family` : e.part_of ? `part of ${e.part_of}, tail-called from ${e.owner}'s family` : `part, runs in the frame of ${e.owner}`;
  return `  ${pad(name, 32)}${why}`;
}

function setLines(title: string, entries: StackOnlyEntryJson[]): string[] {
  return [title, ...(entries.length ? entries.map(entryLine) : ['  (none)'])];
}

/** The compare report for people: what changed, how the cold parts map, the two sets. */
export function renderCompareText(report: CompareReport): string {
  const lines: string[] = [`${report.original} -> ${report.patched} (${report.arch})`, ''];
  if (report.functions.length === 0) lines.push('No function changed.');
  const width = Math.max(12, ...report.functions.map((f) => f.name.length + 2));
  for (const f of report.functions) {
    if (f.status === 'changed') {
      const parts = (f.part_mapping ?? []).map((m) => `${m.original ?? '-'} -> ${m.patched ?? '-'}${m.other_family ? ` (${m.original ? 'to' : 'from'} ${m.other_family})` : ''}`);
      lines.push(`changed  ${pad(f.name, width)}${(f.reasons ?? []).join(', ')}`);
      lines.push(`         ${pad('', width)}cold mapping: ${f.cold_mapping}${parts.length ? `: ${parts.join('; ')}` : ''}`);
    } else {
      const sideInfo = f.status === 'added' ? f.patched : f.original;
      const parts = sideInfo?.parts.length ? `parts: ${sideInfo.parts.join(', ')}` : '';
      lines.push(`${pad(f.status, 9)}${pad(f.name, width)}${parts}`);
    }
  }
  lines.push('');
  lines.push(...setLines('stack_only when enabling (names in the original object):', report.stack_only.enable));
  lines.push(...setLines('stack_only when disabling (names in the patched object):', report.stack_only.disable));
  if (report.renames.length) {
    lines.push('', 'renamed by the compiler:');
    for (const r of report.renames) lines.push(`  ${r.original} -> ${r.patched} (paired by ${r.by})`);
  }
  if (report.line_shifts.length) {
    lines.push('', `not reported: ${report.line_shifts.length} function(s) differ only in line-number arguments shifted by the patch:`);
    for (const l of report.line_shifts) lines.push(`  ${l.name} (${l.shift > 0 ? '+' : ''}${l.shift})`);
  }
  if (report.warnings.length) {
    lines.push('', 'warnings:');
    for (const w of report.warnings) lines.push(`  ${w}`);
  }
  return lines.join('\n') + '\n';
}

/** One object's functions, their parts and edges, as a table. */
export function renderInspectText(report: InspectReport): string {
  const lines: string[] = [`${report.path} (${report.arch}): ${report.functions.length} functions`, ''];
  const width = Math.max(16, ...report.functions.map((f) => f.name.length + 2));
  for (const f of report.functions) {
    const role = f.part_of ? `part of ${f.part_of} (${(f.evidence ?? []).join(', ')})` : f.parts?.length ? `parts: ${f.parts.join(', ')}` : '';
    lines.push(`${pad(f.name, width)}${pad(f.section, 28)}${pad(String(f.size), 7)}${role}`);
    for (const e of f.edges) lines.push(`${' '.repeat(width)}  ${pad(e.kind, 10)}${e.target}`);
    if (f.thunks) {
      const t = f.thunks;
      const parts = [t.fentry ? 'ftrace hook' : '', t.returns ? `${t.returns} return thunk(s)` : '', t.indirect_calls ? `${t.indirect_calls} indirect call(s)` : '', t.indirect_jumps ? `${t.indirect_jumps} indirect jump(s)` : ''].filter(Boolean);
      lines.push(`${' '.repeat(width)}  ${pad('thunks', 10)}${parts.join(', ')}`);
    }
  }
  if (report.warnings.length) {
    lines.push('', 'warnings:');
    for (const w of report.warnings) lines.push(`  ${w}`);
  }
  return lines.join('\n') + '\n';
}

export function renderReplaceText(report: ReplaceReport): string {
  const lines = [`atomic replace of ${report.replaced} by ${report.replacing}`, '', 'stack_only while replacing:'];
  if (report.stack_only.replace.length === 0) lines.push('  (none)');
  for (const e of report.stack_only.replace) {
    const where = e.from === 'replaced' ? 'in the replaced livepatch' : 'in the running kernel';
    lines.push(`${entryLine(e)}; ${where}${e.object ? ` (${e.object})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

/** Tree mode for people: the counts, then each changed object as in single-object mode. */
export function renderTreeText(report: TreeReport): string {
  const s = report.summary;
  const lines = [
    `${report.original} -> ${report.patched}`,
    '',
    `objects compared: ${s.compared} (identical: ${s.identical}, unchanged: ${s.unchanged}, changed: ${s.changed}${s.errors ? `, unreadable: ${s.errors}` : ''})`,
    `only in the original: ${s.only_in_original.length}${s.only_in_original.length ? ` (${s.only_in_original.join(', ')})` : ''}`,
    `only in the patched: ${s.only_in_patched.length}${s.only_in_patched.length ? ` (${s.only_in_patched.join(', ')})` : ''}`,
  ];
  for (const object of report.objects) {
    if (object.status !== 'changed') continue;
    lines.push('', `== ${object.path}${object.object_name ? ` (module ${object.object_name})` : ''}`);
    lines.push(...renderCompareText(object).split('\n').slice(2, -1));
  }
  const errors = report.warnings.filter((w) => !report.objects.some((o) => w.startsWith(`${o.path}: `)));
  if (errors.length) lines.push('', 'errors:', ...errors.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}
