// End-to-end tests of the built page (dist/) in Debian's headless Chromium.
//   node --test tests/e2e/       (scripts/e2e.sh builds the page first)
// BACKENDS=cpu limits the backends (default: webgpu,cpu). Screenshots go to $SHOTS (default /tmp).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const port = 8300 + Math.floor(Math.random() * 500);
const base = `http://127.0.0.1:${port}/`;
const shots = process.env.SHOTS || tmpdir();
const backends = (process.env.BACKENDS || 'webgpu,cpu').split(',');
const FLAGS = ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];
let server, browser;

before(async () => {
  server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '-d', join(root, 'dist')], { stdio: 'ignore' });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS });
  for (let i = 0; i < 50; i++) {
    try { if ((await fetch(base)).ok) break; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
});
after(async () => { await browser?.close(); server?.kill(); });

/** A fresh page that fails the test on any request leaving the origin or any page error. */
async function open(query = '') {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const problems = [];
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) problems.push('request left the origin: ' + r.url()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  await page.goto(base + query);
  return { page, ctx, problems };
}

async function ready(page, backend) {
  await page.waitForSelector(`#backend[data-backend="${backend}"]`, { timeout: 60000 });
  await page.waitForFunction(() => document.querySelector('#selection-count')?.textContent.startsWith('100'), null, { timeout: 60000 });
  await page.waitForSelector('#model-card', { timeout: 60000 });
}

const finite = (s) => s.split(/[ ,]/).filter((x) => x.length).every((x) => Number.isFinite(Number(x)));

for (const backend of backends) {
  test(`all seven criteria at 90 % on ${backend}: every chart and the table are filled`, { timeout: 1800000 }, async () => {
    const { page, ctx, problems } = await open(backend === 'cpu' ? '?backend=cpu' : '');
    await ready(page, backend);
    const t0 = Date.now();
    await page.click('#run');
    await page.waitForSelector('#total-time', { timeout: 1700000 });
    console.log(`${backend}: run took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const rows = await page.$$eval('#summary tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.equal(rows.length, 8, 'dense + seven methods in the summary');
    for (const r of rows) {
      assert.ok(Number.isFinite(Number(r[1])), `time ${r[1]}`);
      const acc = Number(r[3]);
      assert.ok(acc >= 0 && acc <= 100, `accuracy ${r[3]}`);
    }
    for (const id of ['chart-density', 'chart-norms', 'chart-erank', 'chart-spectrum-0']) {
      const pts = await page.$$eval(`#${id} polyline`, (ls) => ls.map((l) => l.getAttribute('points')));
      assert.ok(pts.length >= 7, `${id} has ${pts.length} lines`);
      for (const p of pts) assert.ok(p.length > 0 && finite(p), `${id}: points "${p}"`);
    }
    const iou = await page.$$eval('#iou td.iou', (tds) => tds.map((td) => Number(td.textContent)));
    assert.equal(iou.length, 49);
    assert.ok(iou.every((v) => v >= 0 && v <= 1));
    const canvas = await page.$eval('#heat-canvas', (c) => [c.width, c.height]);
    assert.ok(canvas[0] > 0 && canvas[1] > 0);
    await page.screenshot({ path: join(shots, `foresight-${backend}.png`), fullPage: true });
    assert.deepEqual(problems, []);
    await ctx.close();
  });
}

test('bad input: non-image, huge image, zero images, cancel — clear messages, the page keeps working', { timeout: 600000 }, async () => {
  const { page, ctx, problems } = await open('?backend=cpu');
  await ready(page, 'cpu');
  const dir = mkdtempSync(join(tmpdir(), 'foresight-'));
  const text = join(dir, 'notes.png');
  writeFileSync(text, 'this is not an image');
  await page.setInputFiles('#file', text);
  await page.waitForSelector('#message');
  assert.match(await page.textContent('#message'), /notes\.png: this file is not a PNG, JPEG, WebP or GIF image/);
  // A PNG header that claims 10000 × 10000 pixels.
  const huge = Buffer.alloc(64);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(huge, 0);
  huge.writeUInt32BE(13, 8); huge.write('IHDR', 12); huge.writeUInt32BE(10000, 16); huge.writeUInt32BE(10000, 20);
  writeFileSync(join(dir, 'huge.png'), huge);
  await page.setInputFiles('#file', join(dir, 'huge.png'));
  await page.waitForFunction(() => document.querySelector('#message')?.textContent.includes('10000 × 10000'));
  // Zero images.
  await page.click('#clear');
  assert.equal(await page.textContent('#selection-count'), '0 selected');
  await page.click('#run');
  assert.match(await page.textContent('#message'), /Select at least one calibration image/);
  // Cancel mid-run, then a new run still completes.
  await page.click('#pick');
  await page.click('#run');
  await page.waitForSelector('#cancel:not([disabled])', { timeout: 10000 });
  await page.$eval('#cancel', (b) => b.click());
  assert.match(await page.textContent('#message'), /Cancelled/);
  // The restarted worker compiles the module again before it reports its backend.
  await page.waitForSelector('#backend[data-backend="cpu"]', { timeout: 120000 });
  for (const c of ['snip', 'grasp', 'synflow', 'snip-mag', 'refer', 'afr']) await page.uncheck('#crit-' + c);
  await page.click('#run');
  await page.waitForSelector('#total-time', { timeout: 300000 });
  assert.equal(await page.$$eval('#summary tbody tr', (t) => t.length), 2);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('the page declares a Content-Security-Policy that keeps every request on the origin', async () => {
  const { page, ctx } = await open('?backend=cpu');
  const csp = await page.$eval('meta[http-equiv="Content-Security-Policy"]', (m) => m.content);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /connect-src 'self'/);
  await ctx.close();
});
