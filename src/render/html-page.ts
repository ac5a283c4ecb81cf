/*
 * The HTML report's own style and script. The script reads the embedded report and builds
 * each view when it is opened; text from the report (names come from object files) only
 * ever goes in through textContent or highlight.js, which escapes it.
 */

export const PAGE_STYLE = `
:root { --border: #d0d7de; --muted: #57606a; --removed: #ffebe9; --added: #e6ffec; --changed: #fff8c5; --enable: #ffd8d3; --disable: #d3e3ff; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1f2328; }
main { max-width: 1500px; margin: 0 auto; padding: 16px 24px 64px; }
h1 { font-size: 20px; margin: 8px 0; } h2 { font-size: 17px; margin: 20px 0 8px; } h3 { font-size: 15px; margin: 14px 0 6px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; border: 1px solid var(--border); margin-left: 6px; }
.badge.changed { background: #ffebe9; } .badge.added { background: #e6ffec; } .badge.removed { background: #ffd7d5; }
.badge.build_noise, .badge.unchanged, .badge.identical { background: #f6f8fa; } .badge.error { background: #ff8182; }
table { border-collapse: collapse; margin: 6px 0 12px; }
th, td { border: 1px solid var(--border); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
details { border: 1px solid var(--border); border-radius: 6px; margin: 6px 0; padding: 0 10px; }
details[open] { padding-bottom: 10px; }
summary { cursor: pointer; padding: 6px 0; }
.graph { overflow: auto; margin: 8px 0; } .graph svg { max-width: 100%; height: auto; }
.sbs { width: 100%; table-layout: fixed; } .sbs td { padding: 0 6px; white-space: pre; overflow: hidden; text-overflow: ellipsis; border-width: 0 1px; }
.sbs td.off { width: 60px; color: var(--muted); text-align: right; }
.sbs tr.removed td.o, .sbs tr.changed td.o { background: var(--removed); }
.sbs tr.added td.p, .sbs tr.changed td.p { background: var(--added); }
.sbs tr.hit td.o, .sbs tr.hit td.p { outline: 2px solid #d4a72c; outline-offset: -2px; }
.sbs tr.fold td { background: #f6f8fa; color: var(--muted); text-align: center; font-style: italic; cursor: pointer; }
.diffs td.v { white-space: pre-wrap; }
.warn { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 6px 10px; margin: 4px 0; }
#filter { width: 360px; padding: 4px 8px; margin: 6px 0; }
.legend span { display: inline-block; padding: 0 8px; margin-right: 8px; border: 1px solid var(--border); }
`;

export const PAGE_SCRIPT = `
'use strict';
const data = JSON.parse(document.getElementById('report-data').textContent);
const app = document.getElementById('app');

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v; else if (k.startsWith('on')) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
function asm(text) {
  const code = el('code', { class: 'hljs language-x86asm' });
  try { code.innerHTML = hljs.highlight(String(text), { language: 'x86asm', ignoreIllegals: true }).value; } catch { code.textContent = String(text); }
  return code;
}
function badge(status) { return el('span', { class: 'badge ' + status }, status.replace('_', ' ')); }
function hex(n) { return '0x' + Number(n).toString(16); }

let vizReady;
function drawGraph(container, dot) {
  vizReady ??= Viz.instance();
  vizReady.then((viz) => { container.replaceChildren(viz.renderSVGElement(dot)); })
    .catch((err) => { container.replaceChildren(el('div', { class: 'warn' }, 'graph: ' + err.message)); });
}

function why(entry, side) {
  if (entry.reason === 'tail-call') return entry.name + ' is tail-called from ' + entry.owner + ' and exists only in the ' + side + ' code';
  if (entry.part_of) return entry.name + ' is a part of ' + entry.part_of + ', tail-called from ' + entry.owner + ', and exists only in the ' + side + ' code';
  return entry.name + ' runs in the frame of ' + entry.owner + ' (' + side + ')';
}

function dotEscape(s) { return String(s).replace(/\\\\/g, '\\\\\\\\').replace(/"/g, '\\\\"'); }
/** A DOT string of one or more lines. */
function dotString(...lines) { return '"' + lines.map(dotEscape).join('\\\\n') + '"'; }

/** The family drawn: both sides, their parts and tail-called functions, the cold mapping, the sets. */
function familyDot(f, report, views) {
  const enable = report.stack_only.enable.filter((e) => e.owner === f.name);
  const disable = report.stack_only.disable.filter((e) => f.patched && e.owner === f.patched.symbol);
  const lines = ['digraph family {', 'rankdir=TB; compound=true; newrank=true; node [shape=box, style="rounded,filled", fillcolor=white, fontname="Courier", fontsize=10]; edge [fontsize=9, fontname="sans-serif"];'];
  const id = (side, name) => dotString(side + ':' + name);
  const inSet = (list, name) => list.find((e) => e.name === name);
  const side = (key, label, fam, set, setName) => {
    if (!fam) return;
    lines.push('subgraph ' + dotString('cluster_' + key) + ' { label=' + dotString(label) + '; style=dashed; color="#8c959f";');
    lines.push(id(key, fam.symbol) + ' [label=' + dotString(fam.symbol) + ', penwidth=2];');
    for (const part of fam.parts) {
      const e = inSet(set, part);
      lines.push(id(key, part) + ' [label=' + (e ? dotString(part, setName) : dotString(part)) + (e ? ', fillcolor="' + (key === 'o' ? '#ffd8d3' : '#d3e3ff') + '", tooltip=' + dotString(why(e, key === 'o' ? 'running kernel' : 'livepatch')) : '') + '];');
      lines.push(id(key, fam.symbol) + ' -> ' + id(key, part) + ' [label="part (jumps into)"];');
    }
    for (const e of set) {
      if (fam.parts.includes(e.name) || e.name === fam.symbol) continue;
      lines.push(id(key, e.name) + ' [label=' + dotString(e.name, setName) + ', fillcolor="' + (key === 'o' ? '#ffd8d3' : '#d3e3ff') + '", tooltip=' + dotString(why(e, key === 'o' ? 'running kernel' : 'livepatch')) + '];');
      if (e.part_of) {
        if (!inSet(set, e.part_of)) lines.push(id(key, e.part_of) + ' [label=' + dotString(e.part_of) + '];');
        lines.push(id(key, fam.symbol) + ' -> ' + id(key, e.part_of) + ' [label="tail call", style=bold];');
        lines.push(id(key, e.part_of) + ' -> ' + id(key, e.name) + ' [label="part"];');
      } else lines.push(id(key, fam.symbol) + ' -> ' + id(key, e.name) + ' [label="tail call", style=bold];');
    }
    lines.push('}');
  };
  side('o', 'original (running kernel)', f.original, enable, 'enable set');
  side('p', 'patched (livepatch)', f.patched, disable, 'disable set');
  // Tail calls the listings know of (one object pair): drawn whether or not a set holds them.
  const calls = views && views.tailCalls[f.name];
  for (const [key, list] of calls ? [['o', calls.original], ['p', calls.patched]] : []) {
    const fam = key === 'o' ? f.original : f.patched;
    const set = key === 'o' ? enable : disable;
    for (const [from, to] of list) {
      // Declared plain only when nothing above declared it (a set entry keeps its colour).
      if (!inSet(set, to) && !(fam && (fam.symbol === to || fam.parts.includes(to)))) lines.push(id(key, to) + ' [label=' + dotString(to) + '];');
      lines.push(id(key, from) + ' -> ' + id(key, to) + ' [label="tail call", style=bold];');
    }
  }
  if (f.original && f.patched) lines.push(id('o', f.original.symbol) + ' -> ' + id('p', f.patched.symbol) + ' [style=dashed, color="#8c959f", label="' + f.status + '", constraint=false];');
  for (const m of f.part_mapping || []) {
    if (m.original && m.patched) lines.push(id('o', m.original) + ' -> ' + id('p', m.patched) + ' [style=dashed, color="#0969da", label=' + dotString(f.cold_mapping || 'maps to') + ', constraint=false];');
  }
  lines.push('}');
  // A node or edge named twice (several entries through one function) is drawn once.
  const seen = new Set();
  return lines.filter((l) => !l.endsWith('];') || (!seen.has(l) && seen.add(l))).join('\\n');
}

function differencesTable(diffs) {
  if (!diffs || diffs.length === 0) return el('p', { class: 'muted' }, 'No instruction-level difference to show.');
  const cell = (side) => {
    if (!side) return el('td', { class: 'v muted' }, '(none)');
    const where = el('div', { class: 'muted mono' }, side.symbol + '+' + hex(side.offset));
    const value = typeof side.value === 'string' && !side.instruction ? asm(side.value) : el('code', {}, String(side.value));
    return el('td', { class: 'v' }, where, value, side.instruction ? el('div', {}, asm(side.instruction)) : null);
  };
  return el('table', { class: 'diffs' }, el('tr', {}, el('th', {}, 'kind'), el('th', {}, 'original'), el('th', {}, 'patched')),
    diffs.map((d) => el('tr', {}, el('td', {}, d.kind + (d.evidence ? ' (' + d.evidence + ')' : '')), cell(d.original), cell(d.patched))));
}

/** Rows of a side-by-side listing; long runs of the same code are folded. */
function sideBySideTable(pair, diffs) {
  const hits = { o: new Set(), p: new Set() };
  for (const d of diffs || []) {
    if (d.original && d.original.symbol === pair.original) hits.o.add(d.original.offset);
    if (d.patched && d.patched.symbol === pair.patched) hits.p.add(d.patched.offset);
  }
  const table = el('table', { class: 'sbs mono' });
  table.append(el('tr', {}, el('th', { class: 'off' }, ''), el('th', {}, pair.original || '(not in the original)'), el('th', { class: 'off' }, ''), el('th', {}, pair.patched || '(not in the patched build)')));
  const CONTEXT = 4;
  const interesting = pair.rows.map((r, i) => r[2] !== 'same' || (r[0] && hits.o.has(r[0].offset)) || (r[1] && hits.p.has(r[1].offset)));
  const near = (i) => { for (let k = Math.max(0, i - CONTEXT); k <= Math.min(pair.rows.length - 1, i + CONTEXT); k++) if (interesting[k]) return true; return false; };
  const row = (r) => {
    const [o, p, mark] = r;
    const hit = (o && hits.o.has(o.offset)) || (p && hits.p.has(p.offset));
    return el('tr', { class: mark + (hit ? ' hit' : '') },
      el('td', { class: 'off' }, o ? hex(o.offset) : ''), el('td', { class: 'o' }, o ? asm(o.text) : ''),
      el('td', { class: 'off' }, p ? hex(p.offset) : ''), el('td', { class: 'p' }, p ? asm(p.text) : ''));
  };
  for (let i = 0; i < pair.rows.length;) {
    if (near(i)) { table.append(row(pair.rows[i])); i++; continue; }
    let j = i; while (j < pair.rows.length && !near(j)) j++;
    const hidden = pair.rows.slice(i, j);
    const fold = el('tr', { class: 'fold' }, el('td', { colspan: '4' }, hidden.length + ' identical instruction' + (hidden.length === 1 ? '' : 's') + ' (click to show)'));
    fold.addEventListener('click', () => fold.replaceWith(...hidden.map(row)));
    table.append(fold);
    i = j;
  }
  if (pair.truncated) table.append(el('tr', { class: 'fold' }, el('td', { colspan: '4' }, 'listing cut short: the function is longer than a report shows')));
  return table;
}

function functionView(f, report, views, objectPath) {
  const reasons = (f.reasons || []).join(', ');
  const summary = el('summary', {}, el('code', {}, f.name), badge(f.status), reasons ? el('span', { class: 'muted' }, ' ' + reasons) : null,
    f.cold_mapping && f.cold_mapping !== 'none' ? el('span', { class: 'muted' }, ' · cold mapping: ' + f.cold_mapping) : null);
  const details = el('details', { class: 'function', 'data-name': f.name }, summary);
  let built = false;
  details.addEventListener('toggle', () => {
    if (!details.open || built) return;
    built = true;
    const graph = el('div', { class: 'graph' }, el('span', { class: 'muted' }, 'drawing the family...'));
    details.append(el('h3', {}, 'Family'), el('div', { class: 'legend muted' }, el('span', { style: 'background: var(--enable)' }, 'enable set: checked when patching'), el('span', { style: 'background: var(--disable)' }, 'disable set: checked when unpatching')), graph);
    drawGraph(graph, familyDot(f, report, views));
    details.append(el('h3', {}, 'What differs'), differencesTable(f.differences));
    const pairs = views && views.sideBySide[f.name];
    if (pairs) {
      details.append(el('h3', {}, 'Disassembly, side by side'));
      for (const pair of pairs) details.append(sideBySideTable(pair, f.differences));
    } else if (objectPath !== undefined) {
      details.append(el('p', { class: 'muted' }, 'Whole-function listings are in the report of this object pair alone: stackonly compare ' + report.original + ' ' + report.patched + ' --format html'));
    }
  });
  return details;
}

function setTable(title, entries, side) {
  if (entries.length === 0) return el('p', { class: 'muted' }, title + ': empty');
  return el('div', {}, el('h3', {}, title), el('table', {}, el('tr', {}, el('th', {}, 'name'), el('th', {}, 'sympos'), el('th', {}, 'why')),
    entries.map((e) => el('tr', {}, el('td', {}, el('code', {}, e.name)), el('td', {}, e.sympos || ''), el('td', {}, why(e, side))))));
}

function objectView(r, views, objectPath) {
  const box = el('section', { class: 'object' });
  const real = r.functions.filter((f) => f.status !== 'build_noise');
  const noise = r.functions.filter((f) => f.status === 'build_noise');
  box.append(el('p', {}, 'klp_object ', el('code', {}, r.object_name || 'vmlinux'), ' · ', el('span', { class: 'muted' }, r.original + ' -> ' + r.patched)));
  if (r.error) box.append(el('div', { class: 'warn' }, r.error));
  box.append(el('h3', {}, 'Changed functions (' + real.length + ')'));
  if (real.length === 0) box.append(el('p', { class: 'muted' }, 'none'));
  for (const f of real) box.append(functionView(f, r, views, objectPath));
  box.append(setTable('Enable set (running kernel)', r.stack_only.enable, 'running kernel'), setTable('Disable set (livepatch)', r.stack_only.disable, 'livepatch'));
  if (noise.length > 0) {
    box.append(el('h3', {}, 'Build noise (' + noise.length + '): differ only by build stamps, not patched'));
    for (const f of noise) box.append(functionView(f, r, views, objectPath));
  }
  if (r.line_shifts.length > 0) {
    box.append(el('h3', {}, 'Line shifts (' + r.line_shifts.length + '): only __LINE__ values moved, not patched'));
    for (const l of r.line_shifts) {
      const d = el('details', {}, el('summary', {}, el('code', {}, l.name), el('span', { class: 'muted' }, ' shift ' + (l.shift > 0 ? '+' : '') + l.shift + ' · evidence: ' + l.evidence.join(', '))));
      d.addEventListener('toggle', () => { if (d.open && d.children.length === 1) d.append(differencesTable(l.differences)); });
      box.append(d);
    }
  }
  if (r.renames.length > 0) box.append(el('h3', {}, 'Renames'), el('table', {}, r.renames.map((n) => el('tr', {}, el('td', {}, el('code', {}, n.original)), el('td', {}, el('code', {}, n.patched)), el('td', { class: 'muted' }, n.by)))));
  if (r.warnings.length > 0) box.append(el('h3', {}, 'Warnings (' + r.warnings.length + ')'), r.warnings.map((w) => el('div', { class: 'warn' }, w)));
  return box;
}

function treeView(t) {
  const s = t.summary;
  app.append(el('h1', {}, 'stackonly: two trees'), el('p', { class: 'mono' }, t.original + ' -> ' + t.patched + ' (' + t.arch + ')'));
  app.append(el('p', {}, s.compared + ' pairs: ' + s.changed + ' changed, ' + s.build_noise + ' build noise only, ' + s.unchanged + ' unchanged, ' + s.identical + ' identical, ' + s.errors + ' errors; ' + s.only_in_original.length + ' only in the original, ' + s.only_in_patched.length + ' only in the patched tree.'));
  if (t.warnings.length > 0) {
    const w = el('details', {}, el('summary', {}, 'Warnings (' + t.warnings.length + ')'));
    w.addEventListener('toggle', () => { if (w.open && w.children.length === 1) w.append(...t.warnings.map((x) => el('div', { class: 'warn' }, x))); });
    app.append(w);
  }
  const shown = t.objects.filter((o) => o.status === 'changed' || o.status === 'build_noise' || o.status === 'error');
  const order = { changed: 0, error: 1, build_noise: 2 };
  shown.sort((a, b) => order[a.status] - order[b.status] || (a.path < b.path ? -1 : 1));
  app.append(el('h2', {}, 'Objects that differ (' + shown.length + ')'));
  const filter = el('input', { id: 'filter', placeholder: 'filter by path or function name' });
  app.append(filter);
  const list = el('div', { id: 'objects' });
  const views = shown.map((o) => {
    const changed = o.functions.filter((f) => f.status !== 'build_noise').length;
    const d = el('details', { class: 'objectrow', 'data-path': o.path }, el('summary', {}, el('code', {}, o.path), badge(o.status),
      el('span', { class: 'muted' }, ' ' + changed + ' changed, ' + (o.functions.length - changed) + ' build noise, ' + o.line_shifts.length + ' line shifts')));
    d.addEventListener('toggle', () => { if (d.open && d.children.length === 1) d.append(objectView(o, data.views[o.path], o.path)); });
    return { d, text: (o.path + ' ' + o.functions.map((f) => f.name).join(' ')).toLowerCase() };
  });
  // Rows are made at once but their contents only when opened: thousands stay cheap.
  list.append(...views.map((v) => v.d));
  filter.addEventListener('input', () => { const q = filter.value.toLowerCase(); for (const v of views) v.d.style.display = v.text.includes(q) ? '' : 'none'; });
  app.append(list);
}

if (data.kind === 'tree') treeView(data.report);
else {
  const r = data.report;
  app.append(el('h1', {}, 'stackonly: ' + (r.object_name || r.original)), el('p', { class: 'mono' }, r.original + ' -> ' + r.patched + ' (' + r.arch + ')'));
  app.append(objectView(r, data.views['']));
}
`;
