//! Benchmark (not a test): wall time of every criterion on the CPU backend for a ViT-Ti-sized
//! model (width 192, depth 12, 224×224, 16 calibration images) and for the tiny test config on
//! 64 images, with the FLOPs of the passes each ran and the GFLOP/s achieved.
//!
//!     cargo run --example bench_criteria            # both configs
//!     cargo run --example bench_criteria -- tiny    # only the tiny one

use burn::prelude::*;
use foresight::criteria::{registry, Progress, ScoreContext, ScoreOptions};
use foresight::rng::Rng;
use foresight::{flops, Calibration, Vit, VitConfig};
use std::time::Instant;

fn random_calib(cfg: &VitConfig, n: usize, classes: usize, seed: u64) -> Calibration {
    let mut rng = Rng::new(seed);
    let len = n * cfg.in_chans * cfg.img_size * cfg.img_size;
    let images = (0..len).map(|_| rng.normal() as f32).collect();
    let labels = (0..n).map(|i| (i % classes) as i64).collect();
    Calibration::new([n, cfg.in_chans, cfg.img_size, cfg.img_size], images, labels, Some(classes)).unwrap()
}

fn bench(label: &str, cfg: VitConfig, n: usize, batch: usize) {
    let classes = 10;
    let model = Vit::init(VitConfig { num_classes: classes, ..cfg.clone() }, 1).unwrap();
    let calib = random_calib(&cfg, n, classes, 2);
    let fwd = flops::forward_flops(&model.config);
    println!(
        "\n## {label}: width {}, depth {}, {}×{} px, patch {}, {} params, {n} images, {:.2} MFLOP per image forward",
        cfg.embed_dim, cfg.depth, cfg.img_size, cfg.img_size, cfg.patch_size, model.config.num_params(), fwd / 1e6
    );
    println!("| criterion | wall s | fwd images | bwd images | GFLOP | GFLOP/s |");
    println!("|---|---:|---:|---:|---:|---:|");
    let yes = |_: &Progress| true;
    for c in registry() {
        let opts = ScoreOptions { sparsity: Some(0.9), batch, ..Default::default() };
        let ctx = ScoreContext::new(&model, &calib, Device::flex(), opts, &yes).unwrap();
        flops::reset();
        let t0 = Instant::now();
        pollster::block_on(c.score(&ctx)).unwrap();
        let s = t0.elapsed().as_secs_f64();
        let (f, b) = flops::counts();
        let g = flops::total_flops(&model.config) / 1e9;
        println!("| {} | {s:.2} | {f} | {b} | {g:.3} | {:.1} |", c.title(), if s > 0.0 { g / s } else { 0.0 });
    }
}

fn main() {
    let only_tiny = std::env::args().any(|a| a == "tiny");
    let tiny = VitConfig { img_size: 12, in_chans: 2, patch_size: 4, embed_dim: 24, depth: 3, num_heads: 3, mlp_ratio: 2.0, num_classes: 0 };
    bench("tiny test config", tiny, 64, 32);
    if !only_tiny {
        bench("ViT-Ti/16", VitConfig::vit_tiny(0), 16, 8);
    }
}
