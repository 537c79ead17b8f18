//! The Foresight page: a thin Yew layer (`app`) over a web worker (`worker`) that runs the
//! engine, like candle's wasm examples. One wasm module serves both: the page calls
//! [`start_app`], `worker.js` calls [`worker::start_worker`]; the end-to-end test runs
//! `foresight score`'s code from it under Node (`cli`).

mod app;
mod charts;
mod cli;
mod exports;
mod images;
mod protocol;
pub mod worker;

use wasm_bindgen::prelude::*;

// Link-time constructors (cubecl registers its IR dialects through `inventory`) are gathered by
// wasm-ld into `__wasm_call_ctors`. Unless some export calls it itself, wasm-ld takes the module
// for a one-shot "command" and wraps *every* export in a call to all of them — every JS-to-wasm
// call, down to the glue's `__externref_table_alloc`. Measured in the page during a run: 15 of
// 22 s of main-thread time went to those constructors. They run once here instead, when the module
// is instantiated (wasm-bindgen's start function), and the wrapping goes away.
#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    fn __wasm_call_ctors();
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(start)]
fn run_constructors_once() {
    // SAFETY: the linker's own constructor list, called once per instance before any other export.
    unsafe { __wasm_call_ctors() }
}

/// Entry point of the page.
#[wasm_bindgen]
pub fn start_app() {
    std::panic::set_hook(Box::new(|info| {
        // Never a silent blank page: say what happened where the user looks.
        if let Some(el) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("fatal")) {
            el.set_text_content(Some(&format!("The page hit an internal error and must be reloaded: {info}")));
        }
    }));
    let root = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("app"));
    match root {
        Some(root) => {
            yew::Renderer::<app::App>::with_root(root).render();
        }
        None => web_sys::console::error_1(&"no #app element".into()),
    }
}
