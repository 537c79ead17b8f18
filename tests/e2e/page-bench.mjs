// Benchmark (not part of the test command): the page's benchmark mode (`?bench=1`) with all seven
// criteria at 90 % on 10 images per class, on each backend in BACKENDS (default: webgpu,cpu);
// prints the page's JSON report (seconds per criterion, fine-tune steps/s, time to model-ready,
// worker memory). Build the page first (scripts/build_page.sh dev), then
//   BACKENDS=webgpu node --test tests/e2e/page-bench.mjs
// Fine-tuning is kept short (5 steps of 8 images per method, 100 test images) and the probe small
// (1 image per class, 10 test images): the figure wanted here is the time per criterion.
import { test } from 'node:test';
import { setup, open, ready, benchReport } from './helpers.mjs';

setup();
const ALL = 'magnitude,snip,grasp,synflow,snip-mag,refer,afr';
for (const backend of (process.env.BACKENDS || 'webgpu,cpu').split(',')) {
  test(`benchmark mode on ${backend}, all seven criteria on 100 images`, { timeout: 7200000 }, async () => {
    const query = `?bench=1${backend === 'cpu' ? '&backend=cpu' : ''}#crit=${ALL}&q=0.9&k=10&steps=5&batch=8&test=100&probe=1&ptest=10&ftdense=0`;
    const { page, ctx } = await open(query);
    await ready(page, backend, 100);
    await benchReport(page, backend, { every: 60000, timeout: 7100000 });
    await ctx.close();
  });
}
