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
