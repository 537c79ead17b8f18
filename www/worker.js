// Worker entry: the same wasm module, started in worker mode.
import init, { start_worker } from './pkg/foresight_web.js';
init().then(() => start_worker()).catch((e) => {
  self.postMessage({ kind: 'Error', message: 'the worker could not start: ' + e });
});
