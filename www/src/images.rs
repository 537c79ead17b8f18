//! Images in the page: thumbnails as grayscale BMP data URLs, and user uploads decoded by the
//! browser and reduced to what the model sees (grayscale, resized to the model's input).

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Width and height from a PNG, GIF, JPEG or WebP header; `None` if it is none of those.
pub fn header_size(b: &[u8]) -> Option<(u32, u32)> {
    let be32 = |i: usize| b.get(i..i + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]));
    let le16 = |i: usize| b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]]) as u32);
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some((be32(16)?, be32(20)?));
    }
    if b.starts_with(b"GIF8") {
        return Some((le16(6)?, le16(8)?));
    }
    if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        return match b.get(12..16)? {
            b"VP8 " => Some((le16(26)? & 0x3FFF, le16(28)? & 0x3FFF)),
            b"VP8L" => {
                let v = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
                Some(((v & 0x3FFF) + 1, ((v >> 14) & 0x3FFF) + 1))
            }
            b"VP8X" => {
                let w = u32::from_le_bytes([*b.get(24)?, *b.get(25)?, *b.get(26)?, 0]) + 1;
                let h = u32::from_le_bytes([*b.get(27)?, *b.get(28)?, *b.get(29)?, 0]) + 1;
                Some((w, h))
            }
            _ => None,
        };
    }
    if b.starts_with(&[0xFF, 0xD8]) {
        let mut i = 2;
        while i + 9 < b.len() {
            if b[i] != 0xFF {
                i += 1;
                continue;
            }
            let m = b[i + 1];
            let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
            if (0xC0..=0xCF).contains(&m) && m != 0xC4 && m != 0xC8 && m != 0xCC {
                let h = u16::from_be_bytes([b[i + 5], b[i + 6]]) as u32;
                let w = u16::from_be_bytes([b[i + 7], b[i + 8]]) as u32;
                return Some((w, h));
            }
            i += 2 + len;
        }
    }
    None
}

/// The largest image side we decode.
pub const MAX_SIDE: u32 = 8192;

/// Decodes `bytes` with the browser, resizes to `side`×`side`, converts to grayscale and makes it
/// white-on-black like the bundled sets (inverted when the border is bright).
pub async fn decode_upload(bytes: &[u8], side: u32) -> Result<Vec<u8>, String> {
    let (w, h) = header_size(bytes).ok_or("this file is not a PNG, JPEG, WebP or GIF image")?;
    if w == 0 || h == 0 {
        return Err("this image has no pixels".into());
    }
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(format!("this image is {w} × {h} pixels; the page takes at most {MAX_SIDE} × {MAX_SIDE}"));
    }
    let arr = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&arr);
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(|_| "cannot read the file")?;
    let global: web_sys::Window = js_sys::global().unchecked_into();
    let promise = global.create_image_bitmap_with_blob(&blob).map_err(|_| "the browser cannot decode this image")?;
    let bitmap: web_sys::ImageBitmap =
        JsFuture::from(promise).await.map_err(|_| "the browser cannot decode this image")?.unchecked_into();
    let canvas = web_sys::OffscreenCanvas::new(side, side).map_err(|_| "no canvas")?;
    let ctx: web_sys::OffscreenCanvasRenderingContext2d =
        canvas.get_context("2d").ok().flatten().ok_or("no 2-D canvas")?.unchecked_into();
    ctx.draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, side as f64, side as f64)
        .map_err(|_| "cannot draw the image")?;
    let data = ctx.get_image_data(0.0, 0.0, side as f64, side as f64).map_err(|_| "cannot read the pixels")?.data();
    let mut gray: Vec<u8> = data
        .chunks_exact(4)
        .map(|p| {
            let a = p[3] as f64 / 255.0;
            // Transparent pixels count as white paper.
            let l = 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64;
            (l * a + 255.0 * (1.0 - a)).round() as u8
        })
        .collect();
    let s = side as usize;
    let border: Vec<u8> = (0..s).flat_map(|i| [gray[i], gray[(s - 1) * s + i], gray[i * s], gray[i * s + s - 1]]).collect();
    if border.iter().map(|&v| v as f64).sum::<f64>() / border.len() as f64 > 127.0 {
        gray.iter_mut().for_each(|v| *v = 255 - *v);
    }
    Ok(gray)
}

/// A grayscale image as a BMP data URL (8-bit palette), for `<img>` thumbnails.
pub fn bmp_data_url(pixels: &[u8], w: usize, h: usize) -> String {
    let row = (w + 3) / 4 * 4;
    let data_len = row * h;
    let off = 14 + 40 + 1024;
    let mut b = Vec::with_capacity(off + data_len);
    b.extend(b"BM");
    b.extend(((off + data_len) as u32).to_le_bytes());
    b.extend([0u8; 4]);
    b.extend((off as u32).to_le_bytes());
    b.extend(40u32.to_le_bytes());
    b.extend((w as i32).to_le_bytes());
    b.extend((h as i32).to_le_bytes());
    b.extend(1u16.to_le_bytes());
    b.extend(8u16.to_le_bytes());
    b.extend([0u8; 4]);
    b.extend((data_len as u32).to_le_bytes());
    b.extend([0u8; 16]);
    for i in 0..=255u8 {
        b.extend([i, i, i, 0]);
    }
    for y in (0..h).rev() {
        b.extend(&pixels[y * w..(y + 1) * w]);
        b.extend(std::iter::repeat_n(0u8, row - w));
    }
    format!("data:image/bmp;base64,{}", base64(&b))
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        s.push(if c.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    s
}
