//! Counting the work the engine does, for benchmarks: images through forward and backward
//! passes, and the analytic FLOPs of those passes (matrix products only; a backward pass counts
//! as twice its forward). Counters are process-wide.

use crate::config::VitConfig;
use std::sync::atomic::{AtomicU64, Ordering};

static FORWARD_IMAGES: AtomicU64 = AtomicU64::new(0);
static BACKWARD_IMAGES: AtomicU64 = AtomicU64::new(0);

/// Multiply-add FLOPs (2 per MAC) of one image's forward pass.
pub fn forward_flops(cfg: &VitConfig) -> f64 {
    let (t, d, m) = (cfg.tokens() as f64, cfg.embed_dim as f64, cfg.mlp_hidden() as f64);
    let patches = (cfg.grid() * cfg.grid()) as f64;
    let cpp = (cfg.in_chans * cfg.patch_size * cfg.patch_size) as f64;
    let embed = 2.0 * patches * cpp * d;
    let block = 2.0 * t * d * 3.0 * d // qkv
        + 2.0 * 2.0 * t * t * d // q·kᵀ and attn·v
        + 2.0 * t * d * d // proj
        + 2.0 * 2.0 * t * d * m; // fc1, fc2
    embed + cfg.depth as f64 * block + 2.0 * d * cfg.num_classes as f64
}

/// Records a forward pass over `images` images.
pub fn record_forward(images: usize) {
    FORWARD_IMAGES.fetch_add(images as u64, Ordering::Relaxed);
}

/// Records a backward pass over `images` images.
pub fn record_backward(images: usize) {
    BACKWARD_IMAGES.fetch_add(images as u64, Ordering::Relaxed);
}

/// Images through forward and backward passes since the last [`reset`].
pub fn counts() -> (u64, u64) {
    (FORWARD_IMAGES.load(Ordering::Relaxed), BACKWARD_IMAGES.load(Ordering::Relaxed))
}

/// Zeroes the counters.
pub fn reset() {
    FORWARD_IMAGES.store(0, Ordering::Relaxed);
    BACKWARD_IMAGES.store(0, Ordering::Relaxed);
}

/// FLOPs of the passes counted since the last [`reset`], for `cfg`.
pub fn total_flops(cfg: &VitConfig) -> f64 {
    let (f, b) = counts();
    (f as f64 + 2.0 * b as f64) * forward_flops(cfg)
}
