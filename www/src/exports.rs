//! Files the page hands out: any bytes as a download, and every chart as SVG or PNG. Nothing
//! leaves the tab: downloads are blob URLs made here.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Hands `bytes` to the browser as a download named `name`.
pub fn offer(name: &str, bytes: &[u8], mime: &str) -> Result<(), String> {
    let refused = || format!("The browser refused to offer {name} for download.");
    let array = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&array, &opts).map_err(|_| refused())?;
    offer_blob(name, &blob).ok_or_else(refused)
}

fn offer_blob(name: &str, blob: &web_sys::Blob) -> Option<()> {
    let url = web_sys::Url::create_object_url_with_blob(blob).ok()?;
    let a: web_sys::HtmlAnchorElement = document()?.create_element("a").ok()?.dyn_into().ok()?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    // The download starts asynchronously: free the URL a minute later, not now.
    let revoke = Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    web_sys::window()?.set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000).ok().map(|_| ())
}

fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
}

/// The chart `id` (an `<svg>` or a `<canvas>`) as standalone SVG text. A canvas is embedded as
/// a PNG image inside the SVG.
pub fn chart_svg(id: &str) -> Result<String, String> {
    let el = document().and_then(|d| d.get_element_by_id(id)).ok_or(format!("there is no chart `{id}` on the page"))?;
    if let Some(canvas) = el.dyn_ref::<web_sys::HtmlCanvasElement>() {
        let png = canvas.to_data_url_with_type("image/png").map_err(|_| format!("cannot read chart `{id}`"))?;
        let (w, h) = (canvas.width(), canvas.height());
        return Ok(format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{w}" height="{h}" viewBox="0 0 {w} {h}"><image width="{w}" height="{h}" style="image-rendering:pixelated" xlink:href="{png}"/></svg>"#
        ));
    }
    let mut svg = el.outer_html();
    if !svg.starts_with("<svg") {
        return Err(format!("`{id}` is not a chart"));
    }
    if !svg.contains("xmlns=") {
        svg = svg.replacen("<svg", r#"<svg xmlns="http://www.w3.org/2000/svg""#, 1);
    }
    Ok(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{svg}"))
}

/// Offers chart `id` as `<file>.svg`.
pub fn save_svg(id: &str, file: &str) -> Result<(), String> {
    offer(&format!("{file}.svg"), chart_svg(id)?.as_bytes(), "image/svg+xml")
}

/// Offers chart `id` as `<file>.png` at twice its size (canvases at their own pixel size).
pub async fn save_png(id: String, file: String) -> Result<(), String> {
    let doc = document().ok_or("no document")?;
    let el = doc.get_element_by_id(&id).ok_or(format!("there is no chart `{id}` on the page"))?;
    let canvas: web_sys::HtmlCanvasElement = match el.dyn_into::<web_sys::HtmlCanvasElement>() {
        Ok(c) => c,
        Err(el) => {
            // Draw the SVG into a canvas through an image.
            let svg = chart_svg(&id)?;
            let (w, h) = (el.get_attribute("width").and_then(|v| v.parse::<f64>().ok()).unwrap_or(400.0), el.get_attribute("height").and_then(|v| v.parse::<f64>().ok()).unwrap_or(200.0));
            let img = web_sys::HtmlImageElement::new().map_err(|_| "cannot make an image")?;
            let url = format!("data:image/svg+xml;charset=utf-8,{}", String::from(js_sys::encode_uri_component(&svg)));
            img.set_src(&url);
            JsFuture::from(img.decode()).await.map_err(|_| format!("the browser could not draw chart `{id}`"))?;
            let c: web_sys::HtmlCanvasElement = doc.create_element("canvas").map_err(|_| "no canvas")?.unchecked_into();
            c.set_width((2.0 * w) as u32);
            c.set_height((2.0 * h) as u32);
            let ctx: web_sys::CanvasRenderingContext2d = c.get_context("2d").ok().flatten().ok_or("no 2d context")?.unchecked_into();
            ctx.draw_image_with_html_image_element_and_dw_and_dh(&img, 0.0, 0.0, 2.0 * w, 2.0 * h).map_err(|_| format!("cannot draw chart `{id}`"))?;
            c
        }
    };
    let (tx, rx) = futures_channel();
    let cb = Closure::once_into_js(move |b: JsValue| tx(b));
    canvas.to_blob_with_type(cb.unchecked_ref(), "image/png").map_err(|_| format!("chart `{id}` cannot be read (tainted canvas?)"))?;
    let blob: web_sys::Blob = rx.await.ok().and_then(|b| b.dyn_into().ok()).ok_or(()).map_err(|_| format!("the browser made no PNG of chart `{id}`"))?;
    offer_blob(&format!("{file}.png"), &blob).ok_or_else(|| format!("The browser refused to offer {file}.png for download."))
}

/// A one-shot callback → future pair (a resolved JS promise).
fn futures_channel() -> (impl FnOnce(JsValue), JsFuture) {
    let mut resolve: Option<js_sys::Function> = None;
    let promise = js_sys::Promise::new(&mut |res, _| resolve = Some(res));
    let resolve = resolve.expect("the Promise executor runs at once");
    (move |v: JsValue| {
        let _ = resolve.call1(&JsValue::NULL, &v);
    }, JsFuture::from(promise))
}
