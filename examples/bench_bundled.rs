//! Benchmark (not a test) for the bundled model on the CPU backend: images/s of pretraining and
//! fine-tuning steps, and wall time per criterion on 64 calibration images (MNIST, 90 %).
//!
//!     cargo run --features wgpu --example bench_bundled [-- path/to/model.safetensors]

use burn::prelude::*;
use foresight::criteria::{registry, Progress, ScoreContext, ScoreOptions};
use foresight::data::{Dataset, Normalization};
use foresight::train::{batch_loss_and_grad, loss_and_grad, minibatch, AdamW, TrainConfig, CPU_SLICES};
use foresight::{flops, Vit};
use std::time::Instant;

/// Images/s of training steps: one autodiff pass per batch, or (`sliced`) the training path,
/// which natively cuts each batch into `CPU_SLICES` slices on threads.
fn train_rate(model: &Vit, ds: &Dataset, norm: &Normalization, batch: usize, steps: usize, sliced: bool) -> f64 {
    let names: Vec<String> = model.params.keys().cloned().collect();
    let mut m = model.clone();
    let mut opt = AdamW::default();
    let tc = TrainConfig { lr: 1e-4, weight_decay: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, warmup_steps: 1, total_steps: steps, min_lr_ratio: 0.0, label_smoothing: 0.1 };
    let mut rng = foresight::rng::Rng::new(0);
    let k = m.config.num_classes;
    let t0 = Instant::now();
    for s in 0..steps {
        let idx: Vec<usize> = (s * batch..(s + 1) * batch).collect();
        let b = minibatch(&ds.train, &idx, norm, k, Some((2, true, &mut rng))).unwrap();
        let (_, _, g) = if sliced {
            pollster::block_on(batch_loss_and_grad(&m, &b, &Device::flex(), &names, 0.1)).unwrap()
        } else {
            pollster::block_on(loss_and_grad(&m, &b, &Device::flex(), &names, 0.1)).unwrap()
        };
        opt.update(&tc, &mut m.params, &g, 1e-4, None);
    }
    (steps * batch) as f64 / t0.elapsed().as_secs_f64()
}

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "static/models/vit-fmnist.safetensors".into());
    let base = Vit::load(std::path::Path::new(&path), None).unwrap();
    let norm = Normalization::from_model(&base).unwrap();
    let fmnist = Dataset::load(std::path::Path::new("static/data/fashion-mnist")).unwrap();
    let mnist = Dataset::load(std::path::Path::new("static/data/mnist")).unwrap();
    let cfg = &base.config;
    println!("model {path}: width {}, depth {}, {} params, {:.1} MFLOP per image forward", cfg.embed_dim, cfg.depth, cfg.num_params(), flops::forward_flops(cfg) / 1e6);
    let tuned = base.clone().with_new_head(10, 0).unwrap();
    for (what, model, ds, batch, steps) in [("pretraining", &base, &fmnist, 128, 10), ("fine-tuning", &tuned, &mnist, 32, 30)] {
        let one = train_rate(model, ds, &norm, batch, steps, false);
        let sliced = train_rate(model, ds, &norm, batch, steps, true);
        println!(
            "{what} step (batch {batch}, {}): {one:.0} images/s in one pass, {sliced:.0} images/s in {CPU_SLICES} slices on threads (×{:.2})",
            ds.manifest.title,
            sliced / one
        );
    }
    let calib = mnist.train.batch(&mnist.train.k_per_class(7, 10, 0)[..64], &norm, 10).unwrap();
    println!("\n| criterion | wall s (64 MNIST images, 90 %) | GFLOP | GFLOP/s |\n|---|---:|---:|---:|");
    let yes = |_: &Progress| true;
    for c in registry() {
        let ctx = ScoreContext::new(&tuned, &calib, Device::flex(), ScoreOptions { sparsity: Some(0.9), ..Default::default() }, &yes).unwrap();
        flops::reset();
        let t0 = Instant::now();
        pollster::block_on(c.score(&ctx)).unwrap();
        let s = t0.elapsed().as_secs_f64();
        let g = flops::total_flops(cfg) / 1e9;
        println!("| {} | {s:.2} | {g:.2} | {:.1} |", c.title(), if s > 0.0 { g / s } else { 0.0 });
    }
}
