// Shared by the page's end-to-end tests: a static server for dist/, Debian's Chromium, and
// helpers to open the page, wait for it, download files and read safetensors.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const port = 8300 + Math.floor(Math.random() * 500);
export const base = `http://127.0.0.1:${port}/`;
export const shots = process.env.SHOTS || tmpdir();
const FLAGS = ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];
let server;
export let browser;

/** Starts the server and the browser for this test file. */
export function setup() {
  before(async () => {
    server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '-d', join(root, 'dist')], { stdio: 'ignore' });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS });
    for (let i = 0; i < 50; i++) {
      try { if ((await fetch(base)).ok) break; } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => { await browser?.close(); server?.kill(); });
}

/** A fresh page (new browser context) that records any request leaving the origin and any page error. */
export async function open(query = '') {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  const problems = [];
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) problems.push('request left the origin: ' + r.url()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  await page.goto(base + query);
  return { page, ctx, problems };
}

/** Waits for the backend, `images` selected calibration images and the model card. */
export async function ready(page, backend, images = 100) {
  await page.waitForSelector(`#backend[data-backend="${backend}"]`, { timeout: 180000 });
  await page.waitForFunction((n) => document.querySelector('#selection-count')?.textContent === `${n} selected`, images, { timeout: 180000 });
  await page.waitForSelector('#model-card', { timeout: 180000 });
}

/**
 * Waits for benchmark mode's report on a page opened with `?bench=1`, logging the progress list
 * every `every` ms (a software adapter is slow); checks that the console got the same JSON and
 * returns the report.
 */
export async function benchReport(page, backend, { every = 30000, timeout = 1700000 } = {}) {
  const logged = new Promise((res) => page.on('console', (m) => { if (m.text().startsWith('foresight-bench ')) res(m.text().slice(16)); }));
  const t0 = Date.now();
  const poll = setInterval(async () => {
    const p = await page.textContent('#progress').catch(() => '');
    console.log(`${backend} +${((Date.now() - t0) / 1000).toFixed(0)} s: ${p}`);
  }, every);
  try { await page.waitForSelector('#bench', { timeout }); } finally { clearInterval(poll); }
  const report = JSON.parse(await page.textContent('#bench'));
  assert.deepEqual(JSON.parse(await logged), report, 'the same JSON on the console');
  console.log(`benchmark ${backend}: ${JSON.stringify(report)}`);
  assert.equal(report.backend, backend);
  return report;
}

// The native command line the page is compared with (built by `cargo test`, scripts/test.sh).
export const cli = process.env.FORESIGHT_BIN || join(root, 'target', 'debug', 'foresight');
// `foresight score`'s code as built into the page's module (dist/pkg), run under Node.
export const cliScore = join(root, 'tests', 'e2e', 'cli-score.mjs');

export /** Tensors of a .safetensors file: name → { dtype, shape, data (Float32Array | Uint8Array) }. */
function readSafetensors(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [a, b] = t.data_offsets;
    const bytes = new Uint8Array(buf.buffer.slice(buf.byteOffset + 8 + n + a, buf.byteOffset + 8 + n + b));
    if (t.dtype === 'F32') out[name] = { ...t, data: new Float32Array(bytes.buffer) };
    else if (t.dtype === 'U8') out[name] = { ...t, data: bytes };
    else throw new Error(`${path}: ${name} has dtype ${t.dtype}`);
  }
  return out;
}

/** Saves what clicking `selector` downloads into `dir`; returns the path. */
export async function download(page, selector, dir) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const path = join(dir, dl.suggestedFilename());
  await dl.saveAs(path);
  return path;
}

/** Whether every space- or comma-separated number in `s` is finite. */
export const finite = (s) => s.split(/[ ,]/).filter((x) => x.length).every((x) => Number.isFinite(Number(x)));
