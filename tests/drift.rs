//! Parameter drift (the seed's Figure 1 numbers) against closed forms, and the masks file's
//! round trip.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{magnitude_masks, score, tiny_calib, tiny_model};
use foresight::drift::drift;
use foresight::export::{mask_file, masks_from_file, score_file};
use foresight::mask::{make_masks, Scope};
use foresight::tensorfile::TensorFile;
use foresight::Vit;

/// `model` with every prunable weight mapped by `f`.
fn mapped(model: &Vit, f: impl Fn(f32) -> f32) -> Vit {
    let mut m = model.clone();
    for n in model.config.prunable(false) {
        m.params.get_mut(&n).unwrap().data.iter_mut().for_each(|x| *x = f(*x));
    }
    m
}

#[test]
fn drift_matches_closed_forms() {
    let m = tiny_model();
    let names = m.config.prunable(false);
    let n: usize = names.iter().map(|k| m.params[k].data.len()).sum();
    // θ' = 1.5 θ: r = 1 and Σ|Δθ| / Σ|θ| = 0.5 exactly.
    let d = drift(&m, &mapped(&m, |x| 1.5 * x), &names, None, 8).unwrap();
    assert_eq!(d.weights, n);
    assert!((d.correlation - 1.0).abs() < 1e-9, "{}", d.correlation);
    assert!((d.relative_change - 0.5).abs() < 1e-6, "{}", d.relative_change);
    // θ' = −θ: r = −1, relative change 2.
    let d = drift(&m, &mapped(&m, |x| -x), &names, None, 8).unwrap();
    assert!((d.correlation + 1.0).abs() < 1e-9);
    assert!((d.relative_change - 2.0).abs() < 1e-6);
    // Unchanged: every weight on the diagonal of the histogram, counts sum to n.
    let d = drift(&m, &m, &names, None, 16).unwrap();
    assert_eq!(d.histogram.iter().map(|&c| c as usize).sum::<usize>(), n);
    for r in 0..16 {
        for c in 0..16 {
            if r + c != 15 {
                assert_eq!(d.histogram[r * 16 + c], 0, "off-diagonal bin ({r}, {c}) is not empty");
            }
        }
    }
}

#[test]
fn drift_counts_only_kept_weights() {
    let m = tiny_model();
    let names = m.config.prunable(false);
    let masks = magnitude_masks(&m, &tiny_calib(), 0.75);
    let kept = masks.values().flatten().filter(|&&k| k == 1).count();
    // Change only pruned weights: the kept ones did not move.
    let mut after = m.clone();
    for (k, mk) in &masks {
        after.params.get_mut(k).unwrap().data.iter_mut().zip(mk).for_each(|(x, &keep)| if keep == 0 { *x += 1.0 });
    }
    let d = drift(&m, &after, &names, Some(&masks), 4).unwrap();
    assert_eq!(d.weights, kept);
    assert_eq!(d.relative_change, 0.0);
}

#[test]
fn masks_file_round_trips_and_matches_the_score_file() {
    let m = tiny_model();
    let names = m.config.prunable(false);
    let scores = score(&m, &tiny_calib(), "magnitude", Default::default()).unwrap();
    let masks = make_masks(&scores, &names, 0.9, Scope::Global).unwrap();
    let bytes = mask_file(&m, &masks, "magnitude", 0.9).unwrap().to_bytes(false).unwrap();
    let f = TensorFile::parse(&bytes, "masks").unwrap();
    for n in &names {
        assert_eq!(f.tensors[n].shape, m.params[n].shape, "`{n}` keeps the weight's shape");
    }
    assert_eq!(masks_from_file(f, "masks").unwrap(), masks);
    let sf = score_file(&m, &names, &scores, Some(&masks), "magnitude", &Default::default()).unwrap();
    assert_eq!(masks_from_file(sf, "scores").unwrap(), masks);
    // A file with a value other than 0/1, or without masks, is refused with its name.
    let mut bad = TensorFile::parse(&bytes, "masks").unwrap();
    if let foresight::tensorfile::Values::U8(v) = &mut bad.tensors.get_mut(&names[0]).unwrap().values {
        v[0] = 7;
    }
    assert!(masks_from_file(bad, "bad.safetensors").unwrap_err().to_string().contains("bad.safetensors"));
    assert!(masks_from_file(TensorFile::default(), "empty.safetensors").unwrap_err().to_string().contains("empty.safetensors"));
}
