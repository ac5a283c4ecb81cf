import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';

/*
 * The HTML report (--format html) of a checked-in object pair and of a small tree of
 * them: self-contained (no request leaves the page), and, in headless Chromium, it renders
 * with no console error, draws a changed function's family graph and shows its two
 * sides' code side by side. Screenshots are kept under test-artifacts/ for a person to look at.
 */

const OBJECTS = join(repoRoot, 'testdata', 'objects');
const ARTIFACTS = join(repoRoot, 'test-artifacts');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let work: string;
let pairPage: string;
let treePage: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'stackonly-html-test-'));
  pairPage = join(work, 'pair.html');
  const pair = await runCli(['compare', join(OBJECTS, 'tail-call-added', 'original.o'), join(OBJECTS, 'tail-call-added', 'patched.o'), '--format', 'html', '-o', pairPage]);
  expect(pair.stderr).toBe('');
  expect(pair.exitCode).toBe(0);
  // A tree of three modules' worth of objects: two changed, one the same on both sides.
  for (const side of ['a', 'b']) {
    for (const name of ['tail-call-added', 'cold-lost', 'string-literal']) {
      mkdirSync(join(work, side, name), { recursive: true });
      const file = side === 'a' || name === 'string-literal' ? 'original.o' : 'patched.o';
      copyFileSync(join(OBJECTS, name, file), join(work, side, name, 'unit.o'));
    }
  }
  treePage = join(work, 'tree.html');
  const tree = await runCli(['compare', join(work, 'a'), join(work, 'b'), '--format', 'html', '-o', treePage, '--quiet', '-j', '1']);
  expect(tree.stderr).toBe('');
  expect(tree.exitCode).toBe(0);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the HTML report file', () => {
  test('is one self-contained page: no external script, style, image or frame', () => {
    for (const page of [pairPage, treePage]) {
      const html = readFileSync(page, 'utf8');
      expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
      expect(html).not.toMatch(/<(script|img|iframe|link)[^>]+(src|href)=/i);
      expect(html).toContain('id="report-data"');
    }
  });

  test('embeds the same report as --format json, and the listings of the pair', async () => {
    const json = await runCli(['compare', join(OBJECTS, 'tail-call-added', 'original.o'), join(OBJECTS, 'tail-call-added', 'patched.o'), '--format', 'json']);
    const html = readFileSync(pairPage, 'utf8');
    const embedded = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]);
    expect(embedded.report).toEqual(JSON.parse(json.stdout));
    // handle_req's tail call moved from submit to validate_req: the rows show both sides.
    const rows: [unknown, unknown, string][] = embedded.views[''].sideBySide.handle_req[0].rows;
    const changed = rows.filter((r) => r[2] !== 'same');
    expect(changed.map((r) => r[2])).toEqual(['changed']);
    expect(JSON.stringify(changed[0])).toContain('submit');
    expect(JSON.stringify(changed[0])).toContain('validate_req');
  });
});

describe.skipIf(!CHROMIUM)('the HTML report in headless Chromium', () => {
  // Reached only with a browser: the reason for a skip is printed where the suite is collected.
  type Browser = import('playwright-core').Browser;
  let browser: Browser;
  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => browser?.close());

  async function open(file: string) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith('file://') && !r.url().startsWith('data:')) requests.push(r.url());
    });
    await page.goto(`file://${file}`);
    return { page, errors, requests };
  }

  test('the pair: the family graph and the side-by-side code of a changed function', async () => {
    const { page, errors, requests } = await open(pairPage);
    const fn = page.locator('details.function[data-name="handle_req"]');
    await fn.locator('summary').click();
    await fn.locator('.graph svg').waitFor({ timeout: 30_000 });
    // The graph names the function, the tail-called functions in the disable set, the part,
    // and the original's tail call to submit, which no set holds.
    const graph = await fn.locator('.graph svg').textContent();
    for (const name of ['handle_req', 'validate_req', 'validate_req.cold', 'commit_req', 'disable set', 'submit']) expect(graph).toContain(name);
    const changedRow = fn.locator('table.sbs tr.changed');
    await expect.poll(() => changedRow.count()).toBe(1);
    expect(await changedRow.textContent()).toMatch(/jmp .*submit.*jmp .*validate_req/);
    await page.screenshot({ path: join(ARTIFACTS, 'html-pair.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  test('the tree: an index of the objects that differ, each opened on demand', async () => {
    const { page, errors, requests } = await open(treePage);
    const rows = page.locator('details.objectrow');
    expect(await rows.count()).toBe(2);
    await page.fill('#filter', 'cold-lost');
    expect(await page.locator('details.objectrow:visible').count()).toBe(1);
    const object = page.locator('details.objectrow[data-path="cold-lost/unit.o"]');
    await object.locator('summary').click();
    const fn = object.locator('details.function').first();
    await fn.locator('summary').click();
    await fn.locator('.graph svg').waitFor({ timeout: 30_000 });
    expect(await fn.locator('table.diffs').count()).toBe(1);
    // A small tree's objects are listed whole, as one pair's are.
    expect(await fn.locator('table.sbs').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'html-tree.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});

if (!CHROMIUM) console.log('skipped: the HTML report in a browser: chromium not found (Debian package chromium)');
