// Runs `foresight score`'s code as built into the page's own wasm module (www/src/cli.rs) under
// Node, for the page-vs-CLI comparison at the page's instruction set (wasm, one thread, no FMA):
//   node tests/e2e/cli-score.mjs score --model M --calib C --criterion c [--sparsity Q] [--scope S]
//        [--alpha A] [--synflow-rounds R] [--seed N] --out F
// The same arguments as the native command; any other is an error. Exits 0 when F is written.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argv, exit } from 'node:process';

const pkg = process.env.FORESIGHT_PKG || join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'pkg');
const [command, ...rest] = argv.slice(2);
const known = ['model', 'calib', 'criterion', 'sparsity', 'scope', 'alpha', 'synflow-rounds', 'seed', 'out'];
const a = {};
for (let i = 0; i < rest.length; i += 2) {
  const key = rest[i].replace(/^--/, '');
  if (!rest[i].startsWith('--') || !known.includes(key) || rest[i + 1] === undefined) {
    console.error(`error: unexpected argument ${rest[i]}`);
    exit(2);
  }
  a[key] = rest[i + 1];
}
for (const k of ['model', 'calib', 'criterion', 'out']) {
  if (command !== 'score' || a[k] === undefined) {
    console.error('usage: node cli-score.mjs score --model M --calib C --criterion c … --out F');
    exit(2);
  }
}
const num = (k) => (a[k] === undefined ? undefined : Number(a[k]));
const { default: init, cli_score } = await import(join(pkg, 'foresight_web.js'));
await init({ module_or_path: readFileSync(join(pkg, 'foresight_web_bg.wasm')) });
try {
  const out = await cli_score(readFileSync(a.model), readFileSync(a.calib), a.criterion, num('sparsity'), a.scope, num('alpha'), num('synflow-rounds'), num('seed'));
  writeFileSync(a.out, out);
} catch (e) {
  console.error(`error: ${e.message ?? e}.`);
  exit(1);
}
