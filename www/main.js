// Page entry: load the wasm module and start the Yew app.
import init, { start_app } from './pkg/foresight_web.js';

// Benchmark mode reports how long the page's main thread was blocked (tasks over 50 ms) from here.
window.foresightLongTasks = { count: 0, ms: 0 };
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) { window.foresightLongTasks.count += 1; window.foresightLongTasks.ms += e.duration; }
  }).observe({ type: 'longtask', buffered: true });
} catch (e) {
  window.foresightLongTasks = null; // this browser has no long-task timing: the report says null
}
init().then(() => start_app()).catch((e) => {
  document.getElementById('fatal').textContent = 'Foresight could not start: ' + e;
});
