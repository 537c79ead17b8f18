// End-to-end tests of the page, part two: masked fine-tuning (CPU and WebGPU), the page against
// `foresight finetune`, exports (masks re-imported, CSV, JSON, SVG, PNG), cancelling a
// fine-tune, shared links (restored in a fresh browser context; garbage refused), the sweep,
// and benchmark mode (its JSON is printed for the README's figures).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { setup, open, ready, benchReport, cli, readSafetensors, download, finite, shots, root } from './helpers.mjs';

setup();

// 20 steps at a peak LR of 0.001 (all 20 are warm-up: the LR ramps up throughout). Measured: the
// dense model 18.0 %, SNIP at 90 % 18.5 % on the 200 test images, page and native alike; Magnitude
// at 90 % stays at chance (10 %). At 10 steps of 0.002 all but SNIP (13 %) were at chance, and the
// dense model was not compared: a weak check.
const STEPS = 20, BATCH = 16, LR = 0.001, TEST = 200;
const SETUP = `#set=mnist&crit=magnitude,snip&q=0.9&k=10&steps=${STEPS}&batch=${BATCH}&lr=${LR}&test=${TEST}&probe=5&ptest=100`;

/** Fine-tune table rows: { method, steps, acc, prunedNonzero }. */
async function ftRows(page) {
  return page.$$eval('#ft-table tbody tr', (trs) => trs.map((tr) => {
    const td = [...tr.querySelectorAll('td')].map((x) => x.textContent);
    return { method: tr.dataset.method, steps: Number(td[1]), stepsPerS: Number(td[2]), acc: Number(td[3]), corr: Number(td[5]), rel: Number(td[6]), prunedNonzero: Number(td[7]) };
  }));
}

async function finetuneAndWait(page, rows) {
  await page.click('#finetune');
  await page.waitForFunction((n) => document.querySelectorAll('#ft-table tbody tr').length === n && !document.querySelector('#finetune').disabled, rows, { timeout: 900000 });
}

test('fine-tune two methods on the CPU backend: accuracy, loss curve, drift, exports, equal to `foresight finetune`, cancel keeps results, the link restores the setup', { timeout: 1800000 }, async () => {
  const { page, ctx, problems } = await open('?backend=cpu' + SETUP);
  await ready(page, 'cpu');
  assert.match(await page.textContent('#message'), /Setup restored from the link/);
  await page.click('#run');
  await page.waitForSelector('#total-time', { timeout: 600000 });
  const t0 = Date.now();
  await finetuneAndWait(page, 3);
  console.log(`cpu: fine-tuning dense + 2 methods × ${STEPS} steps took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const rows = await ftRows(page);
  assert.deepEqual(rows.map((r) => r.method), ['dense', 'magnitude', 'snip']);
  for (const r of rows) {
    assert.equal(r.steps, STEPS);
    assert.ok(r.acc >= 0 && r.acc <= 100 && r.stepsPerS > 0, JSON.stringify(r));
    assert.ok(r.corr > 0 && r.corr <= 1 && r.rel > 0, `drift ${JSON.stringify(r)}`);
    assert.equal(r.prunedNonzero, 0, `${r.method}: pruned weights stay zero`);
  }
  const loss = await page.$$eval('#chart-loss polyline', (ls) => ls.map((l) => l.getAttribute('points')));
  assert.equal(loss.length, 3);
  for (const p of loss) assert.ok(p.split(' ').length === STEPS && finite(p), `loss curve "${p.slice(0, 80)}…"`);
  assert.match(await page.textContent('#drift-stats'), /corr = [0-9.]+/);
  await page.screenshot({ path: join(shots, 'foresight-finetune-cpu.png'), fullPage: true });

  // Exported masks, re-imported here: the fine-tuned model is exactly zero where they are 0, and
  // they equal the masks inside the score file.
  const dir = mkdtempSync(join(tmpdir(), 'foresight-ft-'));
  const model = await download(page, '#export-model', dir);
  const masksPath = await download(page, '#export-masks-snip', dir);
  const masks = readSafetensors(masksPath);
  const tuned = readSafetensors(await download(page, '#export-tuned-snip', dir));
  const scores = readSafetensors(await download(page, '#export-snip', dir));
  let pruned = 0, kept = 0;
  for (const [name, m] of Object.entries(masks)) {
    assert.equal(m.dtype, 'U8');
    assert.deepEqual(m.shape, tuned[name].shape, `${name}: mask shape = weight shape`);
    assert.deepEqual([...m.data], [...scores[name + '.mask'].data], `${name}: masks file = score file's mask`);
    for (let i = 0; i < m.data.length; i++) {
      if (m.data[i] === 0) { pruned++; assert.equal(tuned[name].data[i], 0, `${name}[${i}] is pruned but ${tuned[name].data[i]}`); } else kept++;
    }
  }
  const summaryKept = await page.$eval('#summary tr[data-method="snip"] td:nth-child(3)', (td) => Number(td.textContent.split('/')[0]));
  assert.equal(kept, summaryKept, 'kept count of the masks file = the summary');
  console.log(`snip masks file: ${kept} kept, ${pruned} pruned, every pruned weight of the fine-tuned model exactly 0`);

  // The same fine-tune natively, from the page's files.
  assert.ok(existsSync(cli), `the native CLI ${cli} is missing: run cargo test first`);
  for (const m of ['dense', 'snip', 'magnitude']) {
    const masks = m === 'dense' ? [] : ['--masks', m === 'snip' ? masksPath : await download(page, `#export-masks-${m}`, dir)];
    const r = spawnSync(cli, ['finetune', '--model', model, '--data', join(root, 'static/data/mnist'), '--seed', '0', ...masks,
      '--steps', String(STEPS), '--batch', String(BATCH), '--lr', String(LR), '--test-images', String(TEST)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `foresight finetune failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.equal(out.test_images, TEST);
    const native = out.test_accuracy * 100;
    const inPage = rows.find((x) => x.method === m).acc;
    console.log(`${m}: fine-tuned accuracy page (cpu) ${inPage.toFixed(1)} %, native ${native.toFixed(2)} %`);
    assert.ok(Math.abs(inPage - native) <= 1.0, `${m}: page ${inPage} vs native ${native}`);
  }

  // Results and charts.
  const csv = readFileSync(await download(page, '#export-csv', dir), 'utf8').trim().split('\n');
  assert.match(csv[0], /^kind,set,method,sparsity,kept,total,seconds,probe_accuracy,finetune_accuracy/);
  assert.equal(csv.length, 4, 'header + dense + 2 methods');
  const json = JSON.parse(readFileSync(await download(page, '#export-json', dir), 'utf8'));
  assert.equal(json.results.length, 3);
  assert.ok(json.results.every((r) => Number.isFinite(r.finetune_accuracy)));
  const svg = readFileSync(await download(page, '#chart-loss-svg', dir), 'utf8');
  assert.match(svg, /^<\?xml[^]*<svg[^]*<polyline/);
  for (const id of ['#chart-loss-png', '#drift-canvas-png', '#heat-canvas-png']) {
    const png = readFileSync(await download(page, id, dir));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${id} is a PNG`);
  }
  assert.match(readFileSync(await download(page, '#drift-canvas-svg', dir), 'utf8'), /<svg[^]*data:image\/png;base64/);

  // Cancelling a fine-tune leaves the previous results as they were.
  const before = await page.textContent('#ft-table tbody');
  await page.click('#finetune');
  await page.waitForFunction(() => document.querySelector('#progress')?.textContent.includes('fine-tune step'), null, { timeout: 60000 });
  await page.click('#cancel');
  assert.match(await page.textContent('#message'), /previous results are kept/);
  assert.equal(await page.textContent('#ft-table tbody'), before);

  // The link in the address bar, opened in a fresh browser context, restores the setup.
  await page.fill('#ft-steps', '7');
  await page.press('#ft-steps', 'Tab');
  await page.waitForFunction(() => location.hash.includes('&steps=7&'), null, { timeout: 10000 });
  await page.click('#gallery .thumb:not(.sel)');
  const url = page.url();
  const sel = await page.$$eval('#gallery .thumb.sel', (b) => b.map((x) => Number(x.dataset.index)).sort((a, c) => a - c));
  assert.equal(sel.length, 101);
  const other = await open(url.slice(url.indexOf('/', 8) + 1));
  await ready(other.page, 'cpu', 101);
  const sel2 = await other.page.$$eval('#gallery .thumb.sel', (b) => b.map((x) => Number(x.dataset.index)).sort((a, c) => a - c));
  assert.deepEqual(sel2, sel, 'the same images are selected');
  assert.equal(await other.page.inputValue('#ft-steps'), '7');
  assert.equal(await other.page.isChecked('#crit-snip'), true);
  assert.equal(await other.page.isChecked('#crit-afr'), false);
  assert.equal(await other.page.textContent('#sparsity-value'), '90.0 %');
  assert.deepEqual(other.problems, []);
  await other.ctx.close();
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('a shared link with garbage opens with a message and the defaults, never a blank page', { timeout: 300000 }, async () => {
  const { page, ctx, problems } = await open('?backend=cpu#set=nope&q=7&sel=abc&crit=xyz&steps=-3&lr=NaN&foo=%3Cscript%3E');
  await ready(page, 'cpu');
  const msg = await page.textContent('#message');
  for (const k of ['set=nope', 'q=7', 'sel=abc', 'crit=xyz', 'steps=-3', 'lr=NaN', 'foo=<script>']) assert.ok(msg.includes(k), `the message names ${k}: ${msg}`);
  assert.equal(await page.textContent('#sparsity-value'), '90.0 %');
  assert.equal(await page.$eval('#set', (s) => s.value), 'mnist');
  assert.equal(await page.inputValue('#ft-steps'), '100');
  assert.equal(await page.isChecked('#crit-afr'), true);
  // Ids beyond the set are dropped with a note.
  const b = await open('?backend=cpu#sel=1,2,999999');
  await ready(b.page, 'cpu', 2);
  assert.match(await b.page.textContent('#message'), /1 image id\(s\) in the link are not in this set/);
  await b.ctx.close();
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('sparsity sweep: probe and fine-tuned accuracy at 80–98 % per method, drawn against sparsity', { timeout: 900000 }, async () => {
  const { page, ctx, problems } = await open('?backend=cpu#crit=magnitude,snip&k=2&probe=5&ptest=100&steps=3&batch=8&test=50');
  await ready(page, 'cpu', 20);
  const complete = () => page.waitForFunction(() => document.querySelectorAll('#sweep-panel td.sweep-acc').length === 8
    && [...document.querySelectorAll('#sweep-panel td.sweep-acc')].every((t) => t.textContent !== '…') && !document.querySelector('#sweep').disabled, null, { timeout: 800000 });
  const check = async (kind) => {
    assert.match(await page.textContent('#sweep-panel .caption'), new RegExp(`^${kind} accuracy`));
    const cells = await page.$$eval('#sweep-panel td.sweep-acc', (t) => t.map((x) => Number(x.textContent)));
    assert.ok(cells.every((v) => v >= 0 && v <= 100), `${kind}: ${cells.join(' ')}`);
    const lines = await page.$$eval('#chart-sweep polyline', (ls) => ls.map((l) => l.getAttribute('points')));
    assert.equal(lines.length, 3, 'magnitude, snip and the dense line');
    for (const p of lines) assert.ok(finite(p), `${kind}: points "${p}"`);
    return cells;
  };
  await page.click('#sweep');
  await complete();
  await check('Linear-probe');
  await page.screenshot({ path: join(shots, 'foresight-sweep-cpu.png'), fullPage: true });
  // Fine-tuned: every point fine-tuned for 3 steps of 8 images, scored on 50 test images.
  await page.check('#sweep-finetune');
  await page.click('#sweep');
  await page.waitForFunction(() => document.querySelector('#sweep-panel .caption')?.textContent.startsWith('Fine-tuned'), null, { timeout: 800000 });
  await complete();
  const tuned = await check('Fine-tuned');
  // Scored on 50 images: every accuracy is a multiple of 2 %.
  assert.ok(tuned.every((v) => Math.abs(v / 2 - Math.round(v / 2)) < 1e-9), tuned.join(' '));
  const json = JSON.parse(readFileSync(await download(page, '#export-json', mkdtempSync(join(tmpdir(), 'foresight-sweep-'))), 'utf8'));
  const points = json.results.filter((r) => r.kind === 'sweep');
  assert.equal(points.length, 9, 'dense + 2 methods × 4 sparsities');
  assert.ok(points.every((r) => Number.isFinite(r.finetune_accuracy) && r.finetune_steps === 3), JSON.stringify(points[0]));
  assert.deepEqual(problems, []);
  await ctx.close();
});

for (const backend of ['cpu', 'webgpu']) {
  test(`benchmark mode on ${backend}: prunes, fine-tunes two methods, prints JSON`, { timeout: 1800000 }, async () => {
    // Small on WebGPU: Chromium's software adapter (SwiftShader) ran a fine-tuning step of 16
    // images in about 30 s here, so the WebGPU run fine-tunes the two methods (not the dense
    // model) for 2 steps of 4 images and scores 20 test images.
    const setup = backend === 'cpu'
      ? '?backend=cpu&bench=1#crit=magnitude,snip&k=1&steps=10&batch=16&test=50&probe=2&ptest=50'
      : '?bench=1#crit=magnitude,snip&k=1&steps=2&batch=4&test=20&probe=1&ptest=10&ftdense=0';
    const steps = backend === 'cpu' ? 10 : 2, tuned = backend === 'cpu' ? 3 : 2;
    const { page, ctx, problems } = await open(setup);
    await ready(page, backend, 10);
    const report = await benchReport(page, backend);
    assert.ok(report.model_ready_seconds > 0 && report.worker_wasm_memory_bytes > 0);
    // Chromium has long-task timing: how long the main thread was blocked is reported (a figure, not bounded here).
    assert.ok(Number.isInteger(report.main_thread_long_tasks.count) && report.main_thread_long_tasks.ms >= 0, JSON.stringify(report.main_thread_long_tasks));
    assert.deepEqual(Object.keys(report.seconds_per_criterion).sort(), ['dense', 'magnitude', 'snip']);
    assert.equal(report.finetune.length, tuned);
    assert.ok(report.finetune.every((f) => f.steps === steps && f.steps_per_second > 0));
    const rows = await ftRows(page);
    assert.equal(rows.length, tuned);
    assert.ok(rows.every((r) => r.acc >= 0 && r.acc <= 100 && r.prunedNonzero === 0), JSON.stringify(rows));
    await page.screenshot({ path: join(shots, `foresight-bench-${backend}.png`), fullPage: true });
    assert.deepEqual(problems, []);
    await ctx.close();
  });
}
