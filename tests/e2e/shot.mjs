// Ad-hoc: open the page and take a screenshot (development helper).
import { chromium } from 'playwright-core';
const url = process.argv[2] || 'http://127.0.0.1:8123/';
const out = process.argv[3] || '/tmp/page.png';
const wait = Number(process.argv[4] || 8000);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.on('console', (m) => console.log('console:', m.type(), m.text()));
page.on('pageerror', (e) => console.log('pageerror:', e.message));
await page.goto(url);
await page.waitForTimeout(wait);
if (process.argv[5] === 'run') {
  await page.click('#run');
  await page.waitForSelector('#total-time', { timeout: 300000 }).catch((e) => console.log('no total-time', e.message));
}
await page.screenshot({ path: out, fullPage: true });
console.log(await page.locator('#backend').textContent(), '|', await page.locator('#selection-count').textContent().catch(() => ''));
await browser.close();
