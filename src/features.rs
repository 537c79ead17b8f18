//! Statistics of every block's output tokens `F_l ∈ R^{(B·T)×D}` over a calibration batch:
//! the L1 norm `‖F_l‖₁` and the Gram matrix `F_lᵀF_l` (accumulated over chunks, so the batch
//! can be larger than one pass), from which the singular values `σ_i(F_l) = √λ_i(FᵀF)` follow.

use crate::calib::Calibration;
use crate::error::Result;
use crate::model::{forward, DeviceParams};
use crate::read::read_many;
use crate::vit::Vit;
use burn::prelude::*;
use nalgebra::DMatrix;

/// One block's accumulated statistics.
#[derive(Clone, Debug)]
pub struct BlockFeatures {
    /// `‖F_l‖₁` over all tokens of all images.
    pub l1: f64,
    /// Rows `B·T` of `F_l`.
    pub rows: usize,
    /// `F_lᵀF_l`, `D×D` (f64).
    pub gram: DMatrix<f64>,
}

/// Runs the model (no gradients) over `calib` in chunks of `batch` and accumulates each
/// block's L1 norm and Gram matrix. `on_chunk(done, total)` returning false cancels.
pub async fn block_features(
    model: &Vit,
    calib: &Calibration,
    device: &Device,
    batch: usize,
    on_chunk: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Vec<BlockFeatures>> {
    let cfg = &model.config;
    calib.check(cfg)?;
    let d = cfg.embed_dim;
    let device = device.clone().without_autodiff();
    let params = DeviceParams::upload(&model.params, &device, |_| false);
    let mut out: Vec<BlockFeatures> = (0..cfg.depth)
        .map(|_| BlockFeatures { l1: 0.0, rows: 0, gram: DMatrix::zeros(d, d) })
        .collect();
    let n = calib.len();
    let batch = batch.max(1);
    let chunks = n.div_ceil(batch);
    for (ci, start) in (0..n).step_by(batch).enumerate() {
        if !on_chunk(ci, chunks) {
            return Err(crate::Error::Cancelled);
        }
        let len = batch.min(n - start);
        let fw = forward(cfg, &params, calib.images_tensor(start, len, &device));
        let rows = len * cfg.tokens();
        // Per block: [‖F‖₁, FᵀF (row-major)], all read back at once.
        let stats: Vec<Tensor<1>> = fw
            .blocks
            .into_iter()
            .map(|f| {
                let f = f.reshape([rows, d]);
                let l1 = f.clone().abs().sum();
                Tensor::cat(vec![l1, f.clone().transpose().matmul(f).reshape([d * d])], 0)
            })
            .collect();
        for (acc, s) in out.iter_mut().zip(read_many(stats).await?) {
            acc.l1 += s[0] as f64;
            acc.rows += rows;
            acc.gram += DMatrix::from_row_iterator(d, d, s[1..].iter().map(|&x| f64::from(x)));
        }
    }
    Ok(out)
}

/// Singular values of `F` (descending) from its Gram matrix, negative round-off clamped to 0.
pub fn singular_values(gram: &DMatrix<f64>) -> Vec<f64> {
    let eig = gram.clone().symmetric_eigen();
    let mut s: Vec<f64> = eig.eigenvalues.iter().map(|&l| l.max(0.0).sqrt()).collect();
    s.sort_by(|a, b| b.total_cmp(a));
    s
}

/// Effective rank `exp(H(σ/Σσ))` (Roy & Vetterli 2007).
pub fn effective_rank(sigma: &[f64]) -> f64 {
    let total: f64 = sigma.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let h: f64 = sigma
        .iter()
        .map(|s| s / total)
        .filter(|&p| p > 0.0)
        .map(|p| -p * p.ln())
        .sum();
    h.exp()
}

/// For AFR: the nuclear norm `‖F‖_* = Σσ` and the matrix `M = (FᵀF)^(−1/2)` so that
/// `∂‖F‖_*/∂F = U Vᵀ = F M`. Eigenvalues below `rel_tol · λ_max` are treated as zero (their
/// directions get no gradient: the subgradient's choice at σ = 0).
pub fn nuclear_and_inv_sqrt(gram: &DMatrix<f64>, rel_tol: f64) -> (f64, DMatrix<f64>) {
    let eig = gram.clone().symmetric_eigen();
    let lmax = eig.eigenvalues.iter().cloned().fold(0.0, f64::max);
    let nuclear = eig.eigenvalues.iter().map(|&l| l.max(0.0).sqrt()).sum();
    let inv: Vec<f64> = eig
        .eigenvalues
        .iter()
        .map(|&l| if l > rel_tol * lmax && l > 0.0 { 1.0 / l.sqrt() } else { 0.0 })
        .collect();
    let v = &eig.eigenvectors;
    let m = v * DMatrix::from_diagonal(&nalgebra::DVector::from_vec(inv)) * v.transpose();
    (nuclear, m)
}
