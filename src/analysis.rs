//! What the page and `foresight analyze` show per block: the mean L1 norm of a token,
//! `‖F_l‖₁ / (B·T)`, the singular values of the token matrix `F_l ∈ R^{(B·T)×D}` and its
//! effective rank — for the dense model and for the model with a mask applied.

use crate::calib::Calibration;
use crate::error::Result;
use crate::features::{block_features, effective_rank, singular_values};
use crate::mask::TensorMap;
use crate::vit::Vit;
use crate::invalid;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// One block's numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockStats {
    pub block: usize,
    /// Mean L1 norm of one token: `‖F_l‖₁ / (B·T)`.
    pub l1_per_token: f64,
    /// `σ_i(F_l)`, descending, `D` values.
    pub singular_values: Vec<f64>,
    /// `exp(entropy(σ/Σσ))`.
    pub effective_rank: f64,
}

/// The model with every masked weight set to zero. Masks must match the tensors they name.
pub fn apply_masks(model: &Vit, masks: &TensorMap<u8>) -> Result<Vit> {
    let mut m = model.clone();
    for (name, mask) in masks {
        let t = m.params.get_mut(name).ok_or_else(|| invalid!("the mask names tensor `{name}`, which the model does not have"))?;
        if t.data.len() != mask.len() {
            return Err(invalid!(
                "the mask of `{name}` has {} entries but the tensor has {}",
                mask.len(),
                t.data.len()
            ));
        }
        t.data.iter_mut().zip(mask).for_each(|(x, k)| {
            if *k == 0 {
                *x = 0.0
            }
        });
    }
    Ok(m)
}

/// Per-block statistics of `model` (masks already applied, if any) on `calib`.
pub async fn analyze(
    model: &Vit,
    calib: &Calibration,
    device: &Device,
    batch: usize,
    on_chunk: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Vec<BlockStats>> {
    let feats = block_features(model, calib, device, batch, on_chunk).await?;
    Ok(feats
        .iter()
        .enumerate()
        .map(|(block, f)| {
            let singular_values = singular_values(&f.gram);
            BlockStats {
                block,
                l1_per_token: f.l1 / f.rows.max(1) as f64,
                effective_rank: effective_rank(&singular_values),
                singular_values,
            }
        })
        .collect())
}
