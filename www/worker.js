// Worker entry: the same wasm module, started in worker mode.
//
// WebGPU devices can be lost (driver reset, GPU process crash, tab in the background too long).
// wgpu does not surface that to us, so every device the module requests gets a `lost` listener
// that tells the page, which then restarts the worker on the CPU backend. For the tests,
// `worker.js?lose-gpu-after=MS` destroys the device MS milliseconds after a run starts — the
// same `lost` path a real loss takes (reason "destroyed" instead of "unknown").
import init, { start_worker } from './pkg/foresight_web.js';

const params = new URL(self.location.href).searchParams;
const loseAfter = Number(params.get('lose-gpu-after') || 0);
// Once the device is lost, an error the engine reports afterwards is that loss, not a new fault.
let lost = null;
// A Rust panic posts `Panicked` with its message (the panic hook), then the wasm traps; the trap's
// uncaught error would reach the page too and replace that message, so it stops here.
let panicked = false;
self.addEventListener('error', (e) => { if (panicked) e.preventDefault(); });
const post = self.postMessage.bind(self);
self.postMessage = (msg, ...rest) => {
  if (msg && msg.kind === 'Panicked') panicked = true;
  return post(lost && msg && msg.kind === 'Error' ? lost : msg, ...rest);
};
if (self.navigator.gpu && self.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    device.lost.then((info) => {
      lost = { kind: 'GpuLost', reason: String(info.reason), message: info.message || '' };
      post(lost);
    });
    if (loseAfter > 0) {
      self.addEventListener('message', (e) => {
        if (e.data && e.data.kind === 'Run') setTimeout(() => device.destroy(), loseAfter);
      });
    }
    return device;
  };
}

// The page posts its first requests at once; hold them until the module has started, then
// hand them to the handler start_worker() installs, in order.
const early = [];
const hold = (e) => early.push(e);
self.addEventListener('message', hold);
init().then(() => {
  start_worker();
  // `worker.js?panic-on-run`: a Run request becomes a Panic request (tests only; the first Run
  // ends this worker, and the page gives the parameter to its first worker only).
  if (params.has('panic-on-run')) {
    const handle = self.onmessage;
    self.onmessage = (e) => handle(e.data && e.data.kind === 'Run' ? new MessageEvent('message', { data: { kind: 'Panic' } }) : e);
  }
  self.removeEventListener('message', hold);
  for (const e of early) self.onmessage(e);
}).catch((e) => {
  self.postMessage({ kind: 'Error', message: 'the worker could not start: ' + e });
});
