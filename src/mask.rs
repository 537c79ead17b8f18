//! Masks from keep-scores: exactly `k = round((1 − q)·n)` weights kept (globally over all prunable
//! tensors, or per tensor), highest scores first, ties broken by the lower flat index.

use crate::error::Result;
use crate::invalid;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Per-tensor values by timm name (keep-scores or gradients), flat row-major.
pub type TensorMap<T> = BTreeMap<String, Vec<T>>;

/// Where the keep count is enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// One ranking over all prunable weights.
    #[default]
    Global,
    /// Each tensor keeps its own fraction.
    Layer,
}

impl std::str::FromStr for Scope {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "global" => Ok(Scope::Global),
            "layer" => Ok(Scope::Layer),
            _ => Err(invalid!("scope `{s}` is not one of: global, layer")),
        }
    }
}

/// Checks `0 < q < 1`.
pub fn check_sparsity(q: f64) -> Result<()> {
    if q.is_finite() && q > 0.0 && q < 1.0 {
        Ok(())
    } else {
        Err(invalid!("sparsity must lie strictly between 0 and 1, got {q}"))
    }
}

/// Number of weights kept out of `n` at sparsity `q`.
pub fn keep_count(n: usize, q: f64) -> usize {
    ((1.0 - q) * n as f64).round() as usize
}

/// Total order: higher score first, then lower index.
fn rank(a: (f32, usize), b: (f32, usize)) -> Ordering {
    b.0.partial_cmp(&a.0).unwrap_or(Ordering::Equal).then(a.1.cmp(&b.1))
}

/// Marks the `k` best of `scores` (flat) in `out`.
fn top_k(scores: &[(f32, usize)], k: usize) -> Vec<usize> {
    let mut idx: Vec<(f32, usize)> = scores.to_vec();
    if k == 0 {
        return vec![];
    }
    if k < idx.len() {
        idx.select_nth_unstable_by(k - 1, |a, b| rank(*a, *b));
        idx.truncate(k);
    }
    idx.into_iter().map(|(_, i)| i).collect()
}

/// Masks (1 = keep) at sparsity `q` for tensors `names` (in this order for the global flat index).
pub fn make_masks(scores: &TensorMap<f32>, names: &[String], q: f64, scope: Scope) -> Result<TensorMap<u8>> {
    check_sparsity(q)?;
    for n in names {
        let s = scores.get(n).ok_or_else(|| invalid!("no scores for tensor `{n}`"))?;
        if let Some(i) = s.iter().position(|v| v.is_nan()) {
            return Err(invalid!("the score of tensor `{n}` is NaN at flat index {i}"));
        }
    }
    let mut masks: TensorMap<u8> = names.iter().map(|n| (n.clone(), vec![0u8; scores[n].len()])).collect();
    match scope {
        Scope::Layer => {
            for n in names {
                let s: Vec<(f32, usize)> = scores[n].iter().copied().zip(0..).collect();
                let m = masks.get_mut(n).expect("inserted above");
                for i in top_k(&s, keep_count(s.len(), q)) {
                    m[i] = 1;
                }
            }
        }
        Scope::Global => {
            let mut offsets = Vec::with_capacity(names.len());
            let mut all = Vec::new();
            for n in names {
                offsets.push(all.len());
                all.extend(scores[n].iter().copied().zip(all.len()..));
            }
            for g in top_k(&all, keep_count(all.len(), q)) {
                let t = offsets.partition_point(|&o| o <= g) - 1;
                masks.get_mut(&names[t]).expect("inserted above")[g - offsets[t]] = 1;
            }
        }
    }
    Ok(masks)
}

/// Kept / total over a set of masks.
pub fn density(masks: &TensorMap<u8>) -> f64 {
    let (k, n) = masks.values().fold((0usize, 0usize), |(k, n), m| {
        (k + m.iter().filter(|&&v| v != 0).count(), n + m.len())
    });
    k as f64 / n.max(1) as f64
}

/// Intersection over union of the kept sets of two masks over the same tensors.
pub fn iou(a: &TensorMap<u8>, b: &TensorMap<u8>) -> f64 {
    let (mut inter, mut union) = (0usize, 0usize);
    for (name, ma) in a {
        if let Some(mb) = b.get(name) {
            for (x, y) in ma.iter().zip(mb) {
                inter += (*x != 0 && *y != 0) as usize;
                union += (*x != 0 || *y != 0) as usize;
            }
        }
    }
    if union == 0 { 1.0 } else { inter as f64 / union as f64 }
}
