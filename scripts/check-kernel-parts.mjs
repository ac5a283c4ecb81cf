#!/usr/bin/env node
// Checks part detection on every module of a kernel: reads each .ko with the library
// (openObject + buildModel) and counts the .cold functions, how many got a parent, on
// which evidence, and which were left unattached. For fs/ext4/ext4.ko it lists every .cold
// part, and cross-checks the jump evidence independently with objdump -dr.
//
//   node scripts/check-kernel-parts.mjs [modules-dir | VERSION]
//
// Default: the 6.1.0-54 modules from the cache ($STACKONLY_KERNELS, default
// /var/tmp/stackonly-kernels; fetched with scripts/fetch-kernel-modules.sh if missing).
// Exit status: 0 all checks passed; 1 a check failed (read errors, an unattached .cold
// part, or a parent objdump contradicts); 2 a prerequisite is missing.
import { readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, relative, resolve, sep } from 'node:path';
import { fail, kernelModulesDir, library, requireCommand, table } from './_common.mjs';

const { openObject, buildModel } = await library();
requireCommand('objdump', 'the ext4.ko cross-check needs binutils');
requireCommand('readelf', 'the ext4.ko cross-check needs binutils');

const arg = process.argv[2];
let root;
if (!arg) root = kernelModulesDir('6.1.0-54');
else if (/^\d+\.\d+\.\d+-\d+$/.test(arg)) root = kernelModulesDir(arg);
else {
  root = resolve(arg);
  try {
    if (!statSync(root).isDirectory()) fail(`not a directory: ${root}`);
  } catch {
    fail(`modules directory not found: ${root}`);
  }
}

const COLD = /^(.+?)\.cold(?:\.\d+)?$/;
const isCold = (fn) => COLD.test(fn.name);

function listModules(dir) {
  const out = [];
  const visit = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.name.endsWith('.ko')) out.push(p);
    }
  };
  visit(dir);
  return out.sort();
}

/** Functions that enter `target` by a jump or tail-call edge, as the model sees them. */
function jumpersInto(model) {
  const into = new Map();
  for (const fn of model.functions) {
    for (const e of fn.edges) {
      if (!e.target || e.target === fn || (e.kind !== 'jump' && e.kind !== 'tail-call')) continue;
      let set = into.get(e.target);
      if (!set) into.set(e.target, (set = new Set()));
      set.add(fn);
    }
  }
  return into;
}

const modules = listModules(root);
if (modules.length === 0) fail(`no .ko files under ${root}`);
console.log(`Reading ${modules.length} modules under ${root}`);

const totals = {
  modules: 0, errors: 0, functions: 0, cold: 0, attached: 0, jump: 0, warnings: 0,
  oneWay: 0, noJump: 0, unattached: 0, unattachedJumpedByNameParent: 0, unattachedJumpedByAny: 0, nameMismatch: 0, otherParts: 0,
};
const evidenceCombos = new Map();
const errors = [];
const unattached = [];
const mismatches = [];
const otherParts = [];
const warnings = [];
const noJump = [];
let ext4 = null;
const t0 = performance.now();

for (const path of modules) {
  const rel = relative(root, path).split(sep).join('/');
  let model;
  try {
    model = buildModel(openObject(path));
  } catch (err) {
    totals.errors++;
    errors.push(`${rel}: ${err?.message ?? err}`);
    continue;
  }
  totals.modules++;
  totals.functions += model.functions.length;
  totals.warnings += model.warnings.length;
  for (const w of model.warnings) warnings.push(`${rel}: ${w}`);
  let into;
  for (const fn of model.functions) {
    if (!isCold(fn)) {
      if (fn.parent) {
        totals.otherParts++;
        if (otherParts.length < 10) otherParts.push(`${rel}: ${fn.name} -> ${fn.parent.name} [${fn.partEvidence.join('+')}]`);
      }
      continue;
    }
    totals.cold++;
    if (fn.parent) {
      totals.attached++;
      if (fn.partEvidence.includes('jump')) totals.jump++;
      else {
        // No jump evidence: the part never jumps back (noreturn). Its parent should still jump into it.
        into ??= jumpersInto(model);
        if (into.get(fn)?.has(fn.parent)) totals.oneWay++;
        else {
          totals.noJump++;
          noJump.push(`${rel}: ${fn.name} -> ${fn.parent.name} [${fn.partEvidence.join('+')}]`);
        }
      }
      const key = fn.partEvidence.join('+') || '(none)';
      evidenceCombos.set(key, (evidenceCombos.get(key) ?? 0) + 1);
      const base = COLD.exec(fn.name)[1];
      if (fn.parent.name !== base && !fn.parent.aliases.includes(base)) {
        totals.nameMismatch++;
        mismatches.push(`${rel}: ${fn.name} -> ${fn.parent.name} [${fn.partEvidence.join('+')}]`);
      }
      continue;
    }
    totals.unattached++;
    into ??= jumpersInto(model);
    const jumpers = [...(into.get(fn) ?? [])];
    const base = COLD.exec(fn.name)[1];
    const byName = jumpers.filter((j) => j.name === base || j.aliases.includes(base));
    if (byName.length > 0) totals.unattachedJumpedByNameParent++;
    if (jumpers.length > 0) totals.unattachedJumpedByAny++;
    const named = model.byName.get(base)?.length ?? 0;
    unattached.push(`${rel}: ${fn.name} (${named} function(s) named ${base}; entered by jumps from: ${jumpers.map((j) => j.name).join(', ') || 'none'})`);
  }
  if (rel.endsWith('fs/ext4/ext4.ko')) ext4 = { path, rel, model };
}
const seconds = (performance.now() - t0) / 1000;

console.log(`\nAll modules (${seconds.toFixed(1)} s):\n`);
console.log(table([
  ['what', 'count', 'expected'],
  ['modules read', totals.modules, modules.length],
  ['read/model errors', totals.errors, 0],
  ['functions', totals.functions, ''],
  ['.cold functions', totals.cold, ''],
  ['  attached to a parent (fn.parent)', totals.attached, totals.cold],
  ['  with jump evidence', totals.jump, ''],
  ['  without jump evidence, entered by a jump from the parent', totals.oneWay, ''],
  ['  without jump evidence, never entered by a jump from the parent', totals.noJump, ''],
  ['  attached to a parent not named by the .cold name', totals.nameMismatch, ''],
  ['  unattached', totals.unattached, 0],
  ['  unattached, jumped into by the function its name names', totals.unattachedJumpedByNameParent, 0],
  ['  unattached, jumped into by any function', totals.unattachedJumpedByAny, 0],
  ['parts that are not .cold functions', totals.otherParts, ''],
  ['model warnings', totals.warnings, ''],
], ['l', 'r', 'r']));

console.log('\nEvidence of the attached .cold parts:');
for (const [k, v] of [...evidenceCombos].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(20)} ${v}`);

const show = (title, list, limit = 20) => {
  if (list.length === 0) return;
  console.log(`\n${title} (${list.length}${list.length > limit ? `, first ${limit}` : ''}):`);
  for (const line of list.slice(0, limit)) console.log(`  ${line}`);
};
show('Errors', errors);
show('Unattached .cold parts', unattached, 50);
show('.cold parts attached to a parent of another name', mismatches);
show('Parts that are not .cold functions (examples)', otherParts, 10);
show('.cold parts whose parent never jumps into them', noJump);
show('Model warnings', warnings, 30);

// ---- ext4.ko: every .cold part, and an independent check of the jumps with objdump ----

let crossFailures = 0;
if (!ext4) {
  console.log(`\nfs/ext4/ext4.ko not found under ${root}: ext4 listing and objdump cross-check skipped`);
} else {
  const run = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').split('\n')[0]}`);
    return r.stdout;
  };

  // Sections and function symbols, from readelf.
  const sectionIndex = new Map();
  const duplicateSections = new Set();
  for (const line of run('readelf', ['-SW', ext4.path]).split('\n')) {
    const m = /^\s*\[\s*(\d+)\]\s+(\S+)/.exec(line);
    if (!m) continue;
    if (sectionIndex.has(m[2])) duplicateSections.add(m[2]);
    else sectionIndex.set(m[2], Number(m[1]));
  }
  const symbols = [];
  const symbolByName = new Map();
  for (const line of run('readelf', ['-sW', ext4.path]).split('\n')) {
    const m = /^\s*\d+:\s+([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+(\w+)\s+(\w+)\s+\w+\s+(\w+)\s+(\S+)/.exec(line);
    if (!m || !/^\d+$/.test(m[5])) continue;
    const sym = { name: m[6], value: parseInt(m[1], 16), size: Number(m[2]), type: m[3], shndx: Number(m[5]) };
    symbols.push(sym);
    if (!symbolByName.has(sym.name)) symbolByName.set(sym.name, sym);
  }
  const funcs = symbols.filter((s) => s.size > 0 && (s.type === 'FUNC' || (s.type === 'NOTYPE' && s.name.includes('.cold'))));
  const funcsBySection = new Map();
  for (const f of funcs) {
    const list = funcsBySection.get(f.shndx) ?? [];
    list.push(f);
    funcsBySection.set(f.shndx, list);
  }
  const covering = (shndx, offset) => (funcsBySection.get(shndx) ?? []).find((f) => offset >= f.value && offset < f.value + f.size);

  // Jumps from objdump -dr: e9 / 0f 8x with a PC32/PLT32 relocation on their rel32 field,
  // plus branches the assembler resolved inside one section (no relocation at all).
  const jumps = []; // { from: {shndx, offset}, to: {shndx, offset}, how }
  const PREFIXES = new Set([0x2e, 0x3e, 0xf2, 0xf3, 0x66]);
  let section = null;
  let insn = null;
  const finish = () => {
    if (insn && insn.isJump && !insn.relocated && insn.resolvedTarget !== undefined) {
      jumps.push({ from: { shndx: section, offset: insn.addr }, to: { shndx: section, offset: insn.resolvedTarget }, how: 'resolved' });
    }
    insn = null;
  };
  for (const line of run('objdump', ['-dr', ext4.path]).split('\n')) {
    let m = /^Disassembly of section (\S+):$/.exec(line);
    if (m) {
      finish();
      section = sectionIndex.get(m[1]) ?? null;
      continue;
    }
    if (section === null) continue;
    m = /^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t(\S+)\s*(.*)$/.exec(line);
    if (m) {
      finish();
      const addr = parseInt(m[1], 16);
      const bytes = m[2].trim().split(' ').map((b) => parseInt(b, 16));
      let i = 0;
      while (i < bytes.length && PREFIXES.has(bytes[i])) i++;
      const op = bytes[i];
      const near = op === 0xe9 || (op === 0x0f && (bytes[i + 1] & 0xf0) === 0x80);
      const isJump = near || op === 0xeb || (op >= 0x70 && op <= 0x7f);
      const t = /^([0-9a-f]+) </.exec(m[4]);
      insn = {
        addr,
        isJump,
        field: op === 0xe9 ? addr + i + 1 : near ? addr + i + 2 : -1,
        resolvedTarget: isJump && t ? parseInt(t[1], 16) : undefined,
        relocated: false,
      };
      continue;
    }
    m = /^\t+([0-9a-f]+): (R_X86_64_\w+)\t(.+?)(?:([+-])0x([0-9a-f]+))?$/.exec(line);
    if (!m || !insn) continue;
    insn.relocated = true;
    if (!insn.isJump || parseInt(m[1], 16) !== insn.field || (m[2] !== 'R_X86_64_PC32' && m[2] !== 'R_X86_64_PLT32')) continue;
    const addend = m[5] ? (m[4] === '-' ? -1 : 1) * parseInt(m[5], 16) : 0;
    let to;
    if (sectionIndex.has(m[3]) && !symbolByName.has(m[3])) to = { shndx: sectionIndex.get(m[3]), offset: addend + 4 };
    else {
      const sym = symbolByName.get(m[3]);
      if (!sym) continue; // an undefined symbol: outside the object
      to = { shndx: sym.shndx, offset: sym.value + addend + 4 };
    }
    jumps.push({ from: { shndx: section, offset: insn.addr }, to, how: 'relocation' });
  }
  finish();

  const coldSyms = funcs.filter((f) => COLD.test(f.name));
  const jumpersOf = new Map(coldSyms.map((c) => [c, new Map()]));
  for (const j of jumps) {
    const target = covering(j.to.shndx, j.to.offset);
    if (!target || !jumpersOf.has(target)) continue;
    const source = covering(j.from.shndx, j.from.offset);
    if (!source || source === target) continue;
    const hows = jumpersOf.get(target).get(source) ?? new Set();
    hows.add(j.how);
    jumpersOf.get(target).set(source, hows);
  }

  const model = ext4.model;
  const fnAt = new Map(model.functions.map((fn) => [`${fn.section}:${fn.offset}`, fn]));
  const rows = [['.cold part', 'parent (tool)', 'evidence', 'objdump: jumped into by', 'check']];
  let withObjdumpJumps = 0;
  for (const c of coldSyms.sort((a, b) => a.shndx - b.shndx || a.value - b.value)) {
    const fn = fnAt.get(`${c.shndx}:${c.value}`);
    const jumpers = [...jumpersOf.get(c).entries()];
    if (jumpers.length) withObjdumpJumps++;
    const names = jumpers.map(([s, how]) => s.name + (how.has('relocation') ? '' : ' (resolved)')).join(', ') || '-';
    let check;
    if (!fn) check = 'NOT A FUNCTION IN THE MODEL';
    else if (!fn.parent) check = 'UNATTACHED';
    else if (jumpers.length === 0) check = 'ok (objdump shows no jump)';
    else if (jumpers.some(([s]) => s.shndx === fn.parent.section && s.value === fn.parent.offset)) check = 'ok';
    else check = 'PARENT NOT AMONG JUMPERS';
    if (!check.startsWith('ok')) crossFailures++;
    rows.push([c.name, fn?.parent?.name ?? '-', fn?.partEvidence?.join('+') || '-', names, check]);
  }
  console.log(`\n${ext4.rel}: ${coldSyms.length} .cold parts, ${withObjdumpJumps} with jmp/jcc into them in objdump -dr\n`);
  console.log(table(rows));
  if (duplicateSections.size) console.log(`\nnote: repeated section names in ${ext4.rel} (${[...duplicateSections].join(', ')}): objdump's jumps into them may be misplaced`);
  console.log(`\nobjdump cross-check: ${crossFailures === 0 ? 'passed' : `${crossFailures} FAILED`}`);
}

const problems = [];
if (totals.errors) problems.push(`${totals.errors} module(s) failed to read`);
if (totals.unattached) problems.push(`${totals.unattached} unattached .cold part(s)`);
if (crossFailures) problems.push(`${crossFailures} ext4.ko .cold part(s) contradicted by objdump`);
console.log(`\nResult: ${problems.length ? `FAIL: ${problems.join('; ')}` : 'PASS'}`);
process.exit(problems.length ? 1 : 0);
