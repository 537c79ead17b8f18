// Runs the command-line tool compiled to wasm32-wasip1 under Node's WASI, for the page-vs-CLI
// comparison at the same instruction set as the page (wasm, one thread, no FMA):
//   node tests/e2e/wasi-run.mjs target/wasm32-wasip1/debug/foresight.wasm score --model … --out …
// Paths are used as given (the whole file system is preopened at /). Exits with the tool's status.
import { WASI } from 'node:wasi';
import { readFileSync } from 'node:fs';
import { argv, env, exit } from 'node:process';

const [module, ...args] = argv.slice(2);
if (!module) {
  console.error('usage: node wasi-run.mjs FORESIGHT.wasm ARGS…');
  exit(2);
}
const wasi = new WASI({ version: 'preview1', args: ['foresight', ...args], env, preopens: { '/': '/' }, returnOnExit: true });
const imports = wasi.getImportObject();
// Node 20 lets wasm call its WASI functions directly (V8 fast API calls); that crashed Node here
// (SIGSEGV/SIGBUS) after a gradient-based criterion had finished — 7 of 14 runs over the seven
// criteria (never Magnitude or SynFlow), 4 of 6 SNIP runs. Called through plain JS functions,
// every run since has exited cleanly (15 by hand, and each e2e run's).
const direct = imports.wasi_snapshot_preview1;
for (const name of Object.keys(direct)) {
  const f = direct[name];
  direct[name] = (...a) => f(...a);
}
const instance = await WebAssembly.instantiate(await WebAssembly.compile(readFileSync(module)), imports);
exit(wasi.start(instance));
