//! Parameter drift during fine-tuning — the seed's Figure 1: how far the weights move, pretrained
//! versus random initialisation. Over the prunable weights (only the kept ones when masks are
//! given):
//!
//! - `correlation` = Pearson r of (θ_before, θ_after);
//! - `relative_change` = Σ|θ_after − θ_before| / Σ|θ_before| (= mean |Δθ| / mean |θ|);
//! - a 2-D histogram of (θ_before, θ_after) — a scatter of every kept weight, binned at the
//!   resolution it is drawn at.

use crate::error::Result;
use crate::invalid;
use crate::mask::TensorMap;
use crate::vit::Vit;
use serde::{Deserialize, Serialize};

/// Drift statistics of one fine-tune.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Weights compared.
    pub weights: usize,
    pub correlation: f64,
    pub relative_change: f64,
    /// `bins × bins` counts, row-major with row = θ_after bin (top = largest), column = θ_before bin.
    pub histogram: Vec<u32>,
    pub bins: usize,
    /// Both axes span [−limit, limit] (the 99.9th percentile of |θ|); weights outside are counted
    /// in the edge bins.
    pub limit: f64,
}

/// (before, after) of every compared weight.
fn pairs<'a>(before: &'a Vit, after: &'a Vit, names: &'a [String], masks: Option<&'a TensorMap<u8>>) -> Result<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    for n in names {
        let (a, b) = (&before.param(n)?.data, &after.param(n)?.data);
        if a.len() != b.len() {
            return Err(invalid!("`{n}` has {} weights before and {} after fine-tuning", a.len(), b.len()));
        }
        let mask = masks.and_then(|m| m.get(n));
        if mask.is_some_and(|m| m.len() != a.len()) {
            return Err(invalid!("the mask of `{n}` does not match its weights"));
        }
        out.extend((0..a.len()).filter(|&i| mask.is_none_or(|m| m[i] != 0)).map(|i| (a[i] as f64, b[i] as f64)));
    }
    Ok(out)
}

/// Drift of the `names` tensors from `before` to `after`, over the weights `masks` keep (all when
/// `None`), with a `bins × bins` histogram.
pub fn drift(before: &Vit, after: &Vit, names: &[String], masks: Option<&TensorMap<u8>>, bins: usize) -> Result<Drift> {
    let p = pairs(before, after, names, masks)?;
    if p.is_empty() {
        return Err(invalid!("no weights to compare"));
    }
    let n = p.len() as f64;
    let (ma, mb) = (p.iter().map(|x| x.0).sum::<f64>() / n, p.iter().map(|x| x.1).sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb, mut moved, mut size) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (a, b) in &p {
        sab += (a - ma) * (b - mb);
        saa += (a - ma).powi(2);
        sbb += (b - mb).powi(2);
        moved += (b - a).abs();
        size += a.abs();
    }
    // The axes span the 99.9th percentile of |θ| (before and after), so a few outliers do not
    // squeeze the cloud into the centre.
    let mut mags: Vec<f64> = p.iter().flat_map(|(a, b)| [a.abs(), b.abs()]).collect();
    let at = ((mags.len() - 1) as f64 * 0.999) as usize;
    let limit = mags.select_nth_unstable_by(at, f64::total_cmp).1.max(f64::MIN_POSITIVE);
    let bins = bins.max(1);
    let bin = |v: f64| (((v + limit) / (2.0 * limit) * bins as f64) as usize).min(bins - 1);
    let mut histogram = vec![0u32; bins * bins];
    for (a, b) in &p {
        histogram[(bins - 1 - bin(*b)) * bins + bin(*a)] += 1;
    }
    Ok(Drift {
        weights: p.len(),
        correlation: sab / (saa * sbb).sqrt(),
        relative_change: moved / size.max(f64::MIN_POSITIVE),
        histogram,
        bins,
        limit,
    })
}
