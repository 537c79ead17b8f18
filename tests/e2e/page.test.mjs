// End-to-end tests of the built page (dist/) in Debian's headless Chromium.
//   node --test tests/e2e/       (scripts/e2e.sh builds the page first)
// The full run (dense + seven criteria at 90 % on 100 images, every chart, compared with the
// CLI: bit for bit with its code built into the page's module, within rounding natively) runs
// on the backends in BACKENDS (default: cpu). On Chromium's software WebGPU adapter (SwiftShader)
// that run takes far longer than CI allows (the dense model's analysis and probe alone took 709 s
// here; scoring the seven criteria took 35 minutes in page-bench.mjs), so BACKENDS=webgpu,cpu is
// opt-in and CI runs the same test on WebGPU at a smaller size (below); WebGPU is also lost mid-run by the
// lost-device test and checked against the CPU by tests/web.rs.
// Screenshots go to $SHOTS (default /tmp).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { setup, open, ready, cli, cliScore, readSafetensors, download, finite, shots, root } from './helpers.mjs';

setup();
const backends = (process.env.BACKENDS || 'cpu').split(',');
const CRITERIA = ['magnitude', 'snip', 'grasp', 'synflow', 'snip-mag', 'refer', 'afr'];

/** Per tensor, how `fromPage` compares with `fromCli`: { identical (scores bit for bit),
 *  maxRel (max |Δ| / max |s|), iou (of the masks), flipped (mask entries that differ) }. */
function compareFiles(c, fromPage, fromCli) {
  let identical = true, maxAbs = 0, maxRef = 0, both = 0, either = 0, flipped = 0;
  for (const [name, t] of Object.entries(fromCli)) {
    const p = fromPage[name];
    assert.ok(p, `${c}: the page's file has no ${name}`);
    assert.deepEqual(p.shape, t.shape, `${c}: ${name} shape`);
    if (name.endsWith('.mask')) {
      for (let i = 0; i < t.data.length; i++) {
        if (t.data[i] && p.data[i]) both++;
        if (t.data[i] || p.data[i]) either++;
        if (t.data[i] !== p.data[i]) flipped++;
      }
    } else {
      const a = new Uint32Array(t.data.buffer), b = new Uint32Array(p.data.buffer);
      for (let i = 0; i < a.length; i++) {
        if (a[i] !== b[i]) identical = false;
        maxAbs = Math.max(maxAbs, Math.abs(t.data[i] - p.data[i]));
        maxRef = Math.max(maxRef, Math.abs(t.data[i]));
      }
    }
  }
  assert.deepEqual(Object.keys(fromPage).sort(), Object.keys(fromCli).sort(), `${c}: the same tensors`);
  return { identical, maxRel: maxAbs / (maxRef || 1), iou: both / (either || 1), flipped };
}

/**
 * Downloads the run's model, calibration batch and every method's score file from the page,
 * scores the same files with `foresight score` — natively (x86-64: SIMD, FMA, two threads) and
 * its code as built into the page's module, run under Node (cli-score.mjs: the page's
 * instruction set and summation order) — and compares. Returns, per criterion, { native, wasm }
 * as `compareFiles` reports them.
 */
async function compareWithCli(page, dir, criteria = CRITERIA, rounds = 100) {
  assert.ok(existsSync(cli), `the native CLI ${cli} is missing: run cargo test (or set FORESIGHT_BIN) first`);
  const model = await download(page, '#export-model', dir);
  const calib = await download(page, '#export-calib', dir);
  const out = {};
  for (const c of criteria) {
    const fromPage = readSafetensors(await download(page, `#export-${c}`, dir));
    const args = (file) => ['score', '--model', model, '--calib', calib, '--criterion', c, '--sparsity', '0.9', '--scope', 'global', '--alpha', '1', '--synflow-rounds', String(rounds), '--out', file];
    const native = join(dir, `native-${c}.safetensors`), wasm = join(dir, `wasm-${c}.safetensors`);
    let r = spawnSync(cli, args(native), { encoding: 'utf8' });
    assert.equal(r.status, 0, `foresight score --criterion ${c} failed: ${r.stderr}`);
    r = spawnSync(process.execPath, [cliScore, ...args(wasm)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `foresight score --criterion ${c} (as wasm under Node) failed (${r.signal ?? r.error ?? 'exit ' + r.status}): ${r.stderr}`);
    out[c] = { native: compareFiles(c, fromPage, readSafetensors(native)), wasm: compareFiles(c, fromPage, readSafetensors(wasm)) };
  }
  return out;
}


// The full run as the issue states it (10 images per class, SynFlow's 100 rounds, the default
// probe of 50 train images per class and 500 test images) on each backend in BACKENDS; and, unless
// WebGPU is among them, the same run on WebGPU at a size CI affords: 1 image per class, SynFlow in
// 1 round, a probe of 2 images per class and 50 test images (6–7 minutes on SwiftShader here).
const runs = backends.map((backend) => ({ backend, size: 'full', hash: '', images: 100, rounds: 100 }));
if (!backends.includes('webgpu')) runs.push({ backend: 'webgpu', size: 'small', hash: '#k=1&rounds=1&probe=2&ptest=50', images: 10, rounds: 1 });

for (const { backend, size, hash, images, rounds } of runs) {
  test(`all seven criteria at 90 % on ${backend} (${size}): every chart and the table are filled, equal to the CLI`, { timeout: 1800000 }, async () => {
    const { page, ctx, problems } = await open((backend === 'cpu' ? '?backend=cpu' : '') + hash);
    await ready(page, backend, images);
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
    await page.screenshot({ path: join(shots, `foresight-${backend}${size === 'small' ? '-small' : ''}.png`), fullPage: true });
    // The page's scores and masks against `foresight score` on the same model, images and settings.
    const dir = mkdtempSync(join(tmpdir(), 'foresight-cmp-'));
    const report = (c, what, r) => console.log(`${backend} vs ${what}, ${c}: scores ${r.identical ? 'bit for bit equal' : `differ, max rel. ${r.maxRel.toExponential(2)}`}; mask IoU ${r.iou.toFixed(5)} (${r.flipped} weights differ)`);
    const bound = backend === 'cpu' ? 0.999 : 0.99;
    // Another summation order (native SIMD, or the GPU's kernels) makes SynFlow's 100-round
    // iteration diverge chaotically (docs/criteria.md): its masks are compared at 1 round only.
    const iterated = (c) => c === 'synflow' && rounds > 1;
    for (const [c, { native, wasm }] of Object.entries(await compareWithCli(page, dir, CRITERIA, rounds))) {
      report(c, 'the CLI as wasm', wasm);
      report(c, 'the native CLI', native);
      if (backend === 'cpu') {
        // The same code on the same instruction set: bit for bit, SynFlow's 100 rounds included.
        assert.ok(wasm.identical && wasm.flipped === 0, `cpu: ${c} differs from the CLI as wasm (max rel. ${wasm.maxRel}, ${wasm.flipped} mask entries)`);
      } else if (!iterated(c)) {
        assert.ok(wasm.iou >= bound, `${backend}: ${c} mask IoU ${wasm.iou} with the CLI`);
      }
      if (!iterated(c)) assert.ok(native.iou >= bound, `${backend}: ${c} mask IoU ${native.iou} with the native CLI`);
    }
    if (iterated('synflow')) {
      // The 100-round run's SynFlow, checked on one round in a second run.
      for (const c of CRITERIA.filter((c) => c !== 'synflow')) await page.uncheck('#crit-' + c);
      await page.fill('#synflow-rounds', '1');
      await page.press('#synflow-rounds', 'Tab');
      await page.click('#run');
      await page.waitForSelector('#total-time', { timeout: 600000 });
      const one = (await compareWithCli(page, dir, ['synflow'], 1)).synflow;
      report('synflow (1 round)', 'the CLI as wasm', one.wasm);
      report('synflow (1 round)', 'the native CLI', one.native);
      if (backend === 'cpu') assert.ok(one.wasm.identical && one.wasm.flipped === 0, `cpu: one-round SynFlow differs from the CLI as wasm`);
      assert.ok(one.native.iou >= bound, `${backend}: one-round SynFlow mask IoU ${one.native.iou} with the native CLI`);
    }
    assert.deepEqual(problems, []);
    await ctx.close();
  });
}

/** After the worker restarted on the CPU backend, a run of the checked criteria completes. */
async function runsAfterRestart(page, what) {
  // The restarted worker compiles the module again before it reports its backend.
  await page.waitForSelector('#backend[data-backend="cpu"]', { timeout: 120000 });
  await page.click('#run');
  await page.waitForSelector('#total-time', { timeout: 300000 });
  assert.equal(await page.$$eval('#summary tbody tr', (t) => t.length), 2, what);
}

test('bad input: non-image, huge image, zero images, cancel — clear messages, the page keeps working', { timeout: 600000 }, async () => {
  // The default 10 images per class (the run must still be going when it is cancelled), but a
  // small probe (2 train images per class, 50 test images) for the run that follows the cancel.
  const { page, ctx, problems } = await open('?backend=cpu#probe=2&ptest=50');
  await ready(page, 'cpu');
  const dir = mkdtempSync(join(tmpdir(), 'foresight-'));
  const text = join(dir, 'notes.png');
  writeFileSync(text, 'this is not an image');
  await page.setInputFiles('#file', text);
  // (The link's "Setup restored" message stands until the upload's replaces it.)
  await page.waitForFunction(() => document.querySelector('#message')?.textContent.includes('notes.png'));
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
  // What the user types into a number field survives the re-renders of a running task (the
  // progress ticker renders every 500 ms), and leaving the field puts it into the link at once
  // (it once waited for the run's end: Yew's `rendered`, which wrote the link, starves while
  // messages keep coming).
  await page.fill('#alpha', '0.5');
  await page.waitForTimeout(1500);
  assert.equal(await page.inputValue('#alpha'), '0.5', 'typed text kept through re-renders');
  await page.press('#alpha', 'Tab');
  await page.waitForFunction(() => location.hash.includes('&alpha=0.5&'), null, { timeout: 10000 });
  assert.ok(!(await page.isDisabled('#cancel')), 'the run is still going');
  // A finished method's mask heat map is drawn while the run goes on (it once stayed blank, at the
  // canvas's default 300 × 150, until the run ended).
  await page.waitForFunction(() => document.querySelector('#progress')?.textContent.includes('magnitude: done'), null, { timeout: 60000 });
  await page.waitForFunction(() => { const c = document.querySelector('#heat-canvas'); return c && c.width !== 300 && c.height !== 150; }, null, { timeout: 5000 });
  assert.ok(!(await page.isDisabled('#cancel')), 'the run is still going');
  await page.$eval('#cancel', (b) => b.click());
  assert.match(await page.textContent('#message'), /Cancelled/);
  for (const c of ['snip', 'grasp', 'synflow', 'snip-mag', 'refer', 'afr']) await page.uncheck('#crit-' + c);
  await runsAfterRestart(page, 'dense + Magnitude after the cancel');
  assert.deepEqual(problems, []);
  await ctx.close();
});

/**
 * Opens the page with a fault injected (`query`), runs `keep` alone (plus the dense model) on
 * `backend`, waits for a message containing `expect` and returns it once it has stood for 2 s (no
 * later event replaced it); then the restarted worker (CPU backend) must complete a run.
 */
async function faultThenRecovery(query, backend, keep, expect, what) {
  // A small run (1 image per class, a probe of 2 per class and 50 test images): what is tested
  // here is the fault and the restart, not the size of a run.
  const { page, ctx, problems } = await open(query + '#k=1&probe=2&ptest=50');
  await ready(page, backend, 10);
  for (const c of CRITERIA.filter((c) => c !== keep)) await page.uncheck('#crit-' + c);
  await page.click('#run');
  await page.waitForFunction((t) => document.querySelector('#message')?.textContent.includes(t), expect, { timeout: 300000 });
  const msg = await page.textContent('#message');
  console.log(`${what}: ${msg}`);
  await page.waitForTimeout(2000);
  assert.equal(await page.textContent('#message'), msg, 'the message stands');
  await runsAfterRestart(page, `dense + ${keep} after the ${what}`);
  assert.deepEqual(problems, []);
  await ctx.close();
  return msg;
}

test('a lost GPU device: a clear message, the page switches to the CPU backend and keeps working', { timeout: 600000 }, async () => {
  // worker.js destroys its GPUDevice 2 s into the run: the same `lost` path as a real loss.
  await faultThenRecovery('?lose-gpu-after=2000', 'webgpu', 'snip', 'GPU device was lost', 'lost device');
});

test('a panic in the worker: its message is shown, the worker restarts and the page keeps working', { timeout: 600000 }, async () => {
  // worker.js?panic-on-run (given to the first worker only) turns the first Run into a panic.
  const msg = await faultThenRecovery('?backend=cpu&panic-on-run=1', 'cpu', 'magnitude', 'internal error', 'panic');
  // The panic hook's own text — not the trap's "unreachable" that follows a panic, which the
  // helper's 2 s wait would have seen replace it — then the restart.
  assert.match(msg, /the worker stopped on an internal error: .*a panic on purpose.*the worker was restarted and earlier results kept/s);
});

test('the module runs its link-time constructors once, not on every call into it', () => {
  // wasm-ld wraps every export in a call to all constructors (renaming it `<name>.command_export`)
  // unless an export calls `__wasm_call_ctors` itself; www/src/lib.rs does, from wasm-bindgen's
  // start function. The development build keeps its function names, so the wrappers would show.
  const wasm = readFileSync(join(root, 'dist', 'pkg', 'foresight_web_bg.wasm')).toString('latin1');
  assert.ok(wasm.includes('__wasm_call_ctors'), 'the module has a name section (a development build)');
  assert.ok(!wasm.includes('.command_export'), 'an export is wrapped in a constructor call');
});

test('the page declares a Content-Security-Policy that keeps every request on the origin', async () => {
  const { page, ctx } = await open('?backend=cpu');
  const csp = await page.$eval('meta[http-equiv="Content-Security-Policy"]', (m) => m.content);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /connect-src 'self'/);
  await ctx.close();
});
