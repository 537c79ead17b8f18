//! Shared test helpers: fixtures, the CPU device, rank correlation.
#![allow(dead_code)]

use burn::prelude::*;
use foresight::criteria::{by_name, ScoreContext, ScoreOptions, Scores};
use foresight::tensorfile::TensorFile;
use foresight::{Calibration, Vit};
use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub fn tiny_model() -> Vit {
    Vit::load(&fixture("tiny_vit.safetensors"), None).expect("fixture model loads")
}

pub fn tiny_calib() -> Calibration {
    Calibration::load(&fixture("tiny_calib.safetensors")).expect("fixture calibration loads")
}

pub fn reference() -> TensorFile {
    TensorFile::read(&fixture("tiny_ref.safetensors")).expect("reference fixture loads")
}

pub fn cpu() -> Device {
    Device::flex()
}

/// Scores one criterion on the CPU backend.
pub fn score(model: &Vit, calib: &Calibration, name: &str, options: ScoreOptions) -> foresight::Result<Scores> {
    let yes = |_: &foresight::criteria::Progress| true;
    let ctx = ScoreContext::new(model, calib, cpu(), options, &yes)?;
    pollster::block_on(by_name(name)?.score(&ctx))
}

/// Average ranks (ties share the mean rank).
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0;
        for k in i..=j {
            r[idx[k]] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// Largest |a − b| / (|b| + floor) over two arrays.
pub fn max_rel_err(a: &[f32], b: &[f32], floor: f32) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs() / (y.abs() + floor)).fold(0.0, f32::max)
}

/// Global masks at sparsity `q` from the engine's Magnitude criterion.
pub fn magnitude_masks(model: &Vit, calib: &Calibration, q: f64) -> foresight::mask::TensorMap<u8> {
    let scores = score(model, calib, "magnitude", ScoreOptions::default()).expect("magnitude scores");
    foresight::mask::make_masks(&scores, &model.config.prunable(false), q, foresight::mask::Scope::Global).expect("masks")
}
