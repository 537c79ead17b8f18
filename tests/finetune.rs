//! Masked fine-tuning keeps pruned weights at exactly zero; fine-tuning learns; the probe learns.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::cpu;
use foresight::data::{Dataset, Normalization};
use foresight::finetune::{finetune, probe_accuracy, split_accuracy, FinetuneConfig};
use foresight::mask::{make_masks, Scope};
use foresight::criteria::Scores;
use foresight::{Vit, VitConfig};
use std::path::PathBuf;

fn mnist() -> Dataset {
    Dataset::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static/data/mnist")).unwrap()
}

/// A small random ViT for 28×28×1 inputs with a 10-class head.
fn small_model() -> Vit {
    let cfg = VitConfig { img_size: 28, in_chans: 1, patch_size: 7, embed_dim: 32, depth: 2, num_heads: 2, mlp_ratio: 2.0, num_classes: 10 };
    Vit::init(cfg, 3).unwrap()
}


#[test]
fn masked_finetune_keeps_pruned_weights_exactly_zero() {
    let ds = mnist();
    let norm = Normalization::of(&ds.train);
    let model = small_model();
    let names = model.config.prunable(false);
    let scores: Scores = names.iter().map(|n| (n.clone(), model.params[n].data.iter().map(|x| x.abs()).collect())).collect();
    let masks = make_masks(&scores, &names, 0.8, Scope::Global).unwrap();
    let kept: usize = masks.values().flatten().filter(|&&k| k == 1).count();
    let cfg = FinetuneConfig { steps: 20, batch: 16, lr: 1e-3, ..Default::default() };
    let tuned = pollster::block_on(finetune(&model, Some(&masks), &ds.train, &norm, &cpu(), &cfg, &mut |_, _| true)).unwrap();
    let mut nonzero = 0;
    for n in &names {
        for (x, k) in tuned.params[n].data.iter().zip(&masks[n]) {
            if *k == 0 {
                assert_eq!(x.to_bits(), 0f32.to_bits(), "a pruned weight of `{n}` is {x}");
            } else {
                nonzero += (*x != 0.0) as usize;
            }
        }
    }
    assert_eq!(nonzero, kept, "kept weights changed count");
    // The kept weights did move.
    let moved = names.iter().any(|n| tuned.params[n].data.iter().zip(&model.params[n].data).zip(&masks[n]).any(|((a, b), k)| *k == 1 && a != b));
    assert!(moved);
}

#[test]
fn finetuning_beats_the_untrained_head() {
    let ds = mnist();
    let norm = Normalization::of(&ds.train);
    let model = small_model();
    let test = ds.test.balanced(500);
    let before = pollster::block_on(split_accuracy(&model, &test, &norm, &cpu())).unwrap();
    let cfg = FinetuneConfig { steps: 600, batch: 32, lr: 2e-3, ..Default::default() };
    let tuned = pollster::block_on(finetune(&model, None, &ds.train, &norm, &cpu(), &cfg, &mut |_, _| true)).unwrap();
    let after = pollster::block_on(split_accuracy(&tuned, &test, &norm, &cpu())).unwrap();
    eprintln!("untrained head {before:.3}, after 600 steps {after:.3}");
    // A 2-block, width-32 ViT from scratch learns slowly: 0.11 → 0.33 on 500 test images spread
    // over the 10 classes (measured 2026-12-05). The bound is 15 points over the untrained head.
    // (Until then the test used the first 500 test images, digits 0–2 only, and asked for +30.)
    assert!(after > before + 0.15, "fine-tuning did not learn: {before} → {after}");
}

#[test]
fn probe_beats_chance_and_cancel_stops_finetuning() {
    let ds = mnist();
    let norm = Normalization::of(&ds.train);
    let model = small_model();
    let acc = pollster::block_on(probe_accuracy(&model, &ds.train.balanced(1000), &ds.test.balanced(500), &norm, 10, &cpu())).unwrap();
    eprintln!("probe on a random backbone: {acc:.3}");
    assert!(acc > 0.3, "probe accuracy {acc}");
    let cfg = FinetuneConfig { steps: 50, batch: 8, ..Default::default() };
    let r = pollster::block_on(finetune(&model, None, &ds.train, &norm, &cpu(), &cfg, &mut |step, _| step < 3));
    assert!(matches!(r, Err(foresight::Error::Cancelled)));
}

/// Training natively cuts each batch into slices computed on threads: the combined loss,
/// accuracy and gradients must be the whole batch's (one autodiff pass), up to float rounding —
/// also when the slices are unequal (10 images in 3 slices: 3, 3, 4).
#[test]
fn sliced_gradients_equal_the_whole_batch() {
    use foresight::train::{batch_loss_and_grad, loss_and_grad, loss_and_grad_sliced, CPU_SLICES};
    let ds = mnist();
    let norm = Normalization::of(&ds.train);
    let model = small_model();
    let names: Vec<String> = model.params.keys().cloned().collect();
    let idx: Vec<usize> = (0..10).collect();
    let batch = ds.train.batch(&idx, &norm, 10).unwrap();
    let (l1, a1, g1) = pollster::block_on(loss_and_grad(&model, &batch, &cpu(), &names, 0.1)).unwrap();
    let (l3, a3, g3) = loss_and_grad_sliced(&model, &batch, &cpu(), &names, 0.1, 3).unwrap();
    assert!((l1 - l3).abs() <= 1e-6 * l1.abs(), "loss {l1} vs {l3}");
    assert!((a1 - a3).abs() < 1e-12, "accuracy {a1} vs {a3}");
    assert_eq!(g1.len(), names.len());
    for n in &names {
        let scale = g1[n].iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-12);
        let worst = g1[n].iter().zip(&g3[n]).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(worst <= 1e-4 * scale, "{n}: sliced gradient differs by {worst} (largest |g| {scale})");
    }
    // On the CPU backend, training takes the sliced path.
    let (lb, _, gb) = pollster::block_on(batch_loss_and_grad(&model, &batch, &cpu(), &names, 0.1)).unwrap();
    let (ls, _, gs) = loss_and_grad_sliced(&model, &batch, &cpu(), &names, 0.1, CPU_SLICES).unwrap();
    assert_eq!(lb.to_bits(), ls.to_bits());
    assert!(names.iter().all(|n| gb[n] == gs[n]));
}
