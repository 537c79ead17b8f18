// Page entry: load the wasm module and start the Yew app.
import init, { start_app } from './pkg/foresight_web.js';
init().then(() => start_app()).catch((e) => {
  document.getElementById('fatal').textContent = 'Foresight could not start: ' + e;
});
