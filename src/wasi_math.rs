//! Built only for wasm32-wasip1: the command line compiled to wasm, which the page's end-to-end
//! test compares with the page bit for bit. On that target Rust's `f32::exp` & co. call the WASI
//! C library's implementations, while in the page (wasm32-unknown-unknown) they come from Rust's
//! own port of the same functions, which rounds differently in the last bit for some inputs. These
//! definitions make the WASI build call Rust's port too (the linker takes ours over the C
//! library's), so both compute the same floats.

#[unsafe(no_mangle)]
pub extern "C" fn expf(x: f32) -> f32 {
    libm::expf(x)
}
#[unsafe(no_mangle)]
pub extern "C" fn exp(x: f64) -> f64 {
    libm::exp(x)
}
#[unsafe(no_mangle)]
pub extern "C" fn logf(x: f32) -> f32 {
    libm::logf(x)
}
#[unsafe(no_mangle)]
pub extern "C" fn log(x: f64) -> f64 {
    libm::log(x)
}
#[unsafe(no_mangle)]
pub extern "C" fn powf(x: f32, y: f32) -> f32 {
    libm::powf(x, y)
}
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}
#[unsafe(no_mangle)]
pub extern "C" fn cos(x: f64) -> f64 {
    libm::cos(x)
}
