//! Properties that must hold whatever the numbers: exact keep counts, deterministic ties,
//! Magnitude = top-k |θ|, SNIP-Mag(α=0) = SNIP, SynFlow ignores the data, masked weights are inert.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use foresight::analysis::apply_masks;
use foresight::criteria::ScoreOptions;
use foresight::mask::{keep_count, make_masks, Scope, TensorMap};
use foresight::model::{forward, DeviceParams};
use foresight::read::read_f32;
use foresight::rng::Rng;
use foresight::{Calibration, Vit};

fn kept(m: &TensorMap<u8>) -> usize {
    m.values().flatten().filter(|&&k| k == 1).count()
}

/// Scores with heavy ties (small integers) over tensors of awkward sizes.
fn tied_scores(rng: &mut Rng) -> (TensorMap<f32>, Vec<String>) {
    let names: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
    let sizes = [1, 7, 64, 333, 1000];
    let s = names
        .iter()
        .zip(sizes)
        .map(|(n, len)| (n.clone(), (0..len).map(|_| rng.below(5) as f32).collect()))
        .collect();
    (s, names)
}

#[test]
fn kept_count_is_exact_for_any_sparsity() {
    let mut rng = Rng::new(1);
    let (scores, names) = tied_scores(&mut rng);
    let total: usize = scores.values().map(|v| v.len()).sum();
    for i in 1..200 {
        let q = i as f64 / 200.0 + rng.uniform() * 1e-3;
        if q >= 1.0 {
            continue;
        }
        let g = make_masks(&scores, &names, q, Scope::Global).unwrap();
        assert_eq!(kept(&g), keep_count(total, q), "global at q={q}");
        let l = make_masks(&scores, &names, q, Scope::Layer).unwrap();
        for n in &names {
            let k = l[n].iter().filter(|&&x| x == 1).count();
            assert_eq!(k, keep_count(scores[n].len(), q), "layer `{n}` at q={q}");
        }
    }
}

#[test]
fn ties_are_broken_by_the_lower_flat_index() {
    let names = vec!["a".to_string(), "b".to_string()];
    let scores: TensorMap<f32> = [("a".to_string(), vec![1.0; 6]), ("b".to_string(), vec![1.0; 4])].into();
    let m = make_masks(&scores, &names, 0.3, Scope::Global).unwrap();
    assert_eq!(m["a"], vec![1; 6]);
    assert_eq!(m["b"], vec![1, 0, 0, 0]);
    // Same input, same mask, every time.
    let mut rng = Rng::new(7);
    let (s, n) = tied_scores(&mut rng);
    assert_eq!(make_masks(&s, &n, 0.37, Scope::Global).unwrap(), make_masks(&s, &n, 0.37, Scope::Global).unwrap());
}

#[test]
fn magnitude_is_top_k_abs_theta() {
    let (model, calib) = (tiny_model(), tiny_calib());
    let names = model.config.prunable(false);
    let s = score(&model, &calib, "magnitude", ScoreOptions::default()).unwrap();
    let q = 0.8;
    let m = make_masks(&s, &names, q, Scope::Global).unwrap();
    // Independent: sort all |θ| and take the threshold.
    let mut all: Vec<f32> = names.iter().flat_map(|n| model.params[n].data.iter().map(|x| x.abs())).collect();
    all.sort_by(|a, b| b.total_cmp(a));
    let k = keep_count(all.len(), q);
    let threshold = all[k - 1];
    for n in &names {
        for (x, keep) in model.params[n].data.iter().zip(&m[n]) {
            assert_eq!(*keep == 1, x.abs() >= threshold, "`{n}`: |θ| = {} vs threshold {threshold}", x.abs());
        }
    }
}

#[test]
fn snip_mag_with_alpha_zero_is_snip() {
    let (model, calib) = (tiny_model(), tiny_calib());
    let names = model.config.prunable(false);
    let snip = score(&model, &calib, "snip", ScoreOptions::default()).unwrap();
    let sm = score(&model, &calib, "snip-mag", ScoreOptions { alpha: 0.0, ..Default::default() }).unwrap();
    let total: f64 = snip.values().flatten().map(|&x| x as f64).sum();
    for n in &names {
        for (a, b) in snip[n].iter().zip(&sm[n]) {
            let expect = *a as f64 / total;
            assert!((*b as f64 - expect).abs() <= 1e-6 * expect.abs() + 1e-12, "`{n}`: {b} vs {expect}");
        }
    }
    for q in [0.5, 0.9] {
        assert_eq!(
            make_masks(&snip, &names, q, Scope::Global).unwrap(),
            make_masks(&sm, &names, q, Scope::Global).unwrap()
        );
    }
}

#[test]
fn synflow_ignores_the_data() {
    let (model, calib) = (tiny_model(), tiny_calib());
    let mut rng = Rng::new(3);
    let images: Vec<f32> = calib.images.iter().map(|_| rng.normal() as f32 * 3.0).collect();
    let labels: Vec<i64> = calib.labels.iter().rev().cloned().collect();
    let other = Calibration::new(calib.shape, images, labels, Some(calib.num_classes)).unwrap();
    let opts = ScoreOptions { sparsity: Some(0.8), synflow_rounds: 10, ..Default::default() };
    let a = score(&model, &calib, "synflow", opts.clone()).unwrap();
    let b = score(&model, &other, "synflow", opts).unwrap();
    assert_eq!(a, b);
}

fn logits(model: &Vit, calib: &Calibration) -> Vec<f32> {
    let dev = cpu();
    let dp = DeviceParams::upload(&model.params, &dev, |_| false);
    let fw = forward(&model.config, &dp, calib.images_tensor(0, calib.len(), &dev));
    pollster::block_on(read_f32(fw.logits.unwrap())).unwrap()
}

#[test]
fn masked_weights_contribute_nothing() {
    let (model, calib) = (tiny_model(), tiny_calib());
    let names = model.config.prunable(false);
    let s = score(&model, &calib, "magnitude", ScoreOptions::default()).unwrap();
    let masks = make_masks(&s, &names, 0.7, Scope::Global).unwrap();
    // Scramble every weight the mask removes: the masked model must not notice.
    let mut scrambled = model.clone();
    let mut rng = Rng::new(11);
    for n in &names {
        let t = scrambled.params.get_mut(n).unwrap();
        for (x, k) in t.data.iter_mut().zip(&masks[n]) {
            if *k == 0 {
                *x = rng.normal() as f32 * 10.0;
            }
        }
    }
    let a = logits(&apply_masks(&model, &masks).unwrap(), &calib);
    let b = logits(&apply_masks(&scrambled, &masks).unwrap(), &calib);
    assert_eq!(a, b);
    // ...while the unmasked scrambled model does.
    assert_ne!(logits(&scrambled, &calib), logits(&model, &calib));
}

#[test]
fn chunked_gradients_equal_one_batch() {
    let (model, calib) = (tiny_model(), tiny_calib());
    let names = model.config.prunable(false);
    for crit in ["snip", "refer", "afr"] {
        let one = score(&model, &calib, crit, ScoreOptions { batch: 64, ..Default::default() }).unwrap();
        let many = score(&model, &calib, crit, ScoreOptions { batch: 3, ..Default::default() }).unwrap();
        for n in &names {
            let err = max_rel_err(&many[n], &one[n], 1e-3 * one[n].iter().fold(0f32, |m, x| m.max(x.abs())));
            assert!(err < 1e-3, "{crit} `{n}`: chunked scores differ by {err}");
        }
    }
}
