//! AFR (Adaptive Feature Retaining, a reconstruction from the lab's description).
//! Knowledge term: `K(θ) = Σ_l ‖F_l‖_* / ‖F_l⁰‖_*`, `s_K = |θ ⊙ ∇K|`, with
//! `∂‖F‖_*/∂F = U Vᵀ = F (FᵀF)^(−1/2)` formed from an eigendecomposition of the `D×D` Gram
//! matrix and back-propagated as a constant cotangent. Task term: `s_T = |θ ⊙ ∇L|`.
//! `s = s_K / Σ_P s_K + s_T / Σ_P s_T` — no hyper-parameter.

use super::{Info, abs_theta_times, mass_balanced, Criterion, ScoreContext, ScoreFuture};
use crate::features::{block_features, nuclear_and_inv_sqrt};
use crate::model::Forward;
use burn::prelude::*;

/// Eigenvalues of `FᵀF` below this fraction of the largest count as zero singular values.
const GRAM_REL_TOL: f64 = 1e-10;

pub struct Afr;

impl Criterion for Afr {
    fn info(&self) -> Info {
        Info { name: "afr", title: "AFR", idea: "keep every layer's singular values and follow the task gradient", uses_labels: true }
    }
    fn score<'a>(&'a self, ctx: &'a ScoreContext<'a>) -> ScoreFuture<'a> {
        Box::pin(async move {
            let o = &ctx.options;
            let d = ctx.model.config.embed_dim;
            let mut report = ctx.chunk_reporter(self.name(), "dense spectra");
            let dense = block_features(ctx.model, ctx.calib, &ctx.device, o.batch, &mut report).await?;
            // Per block: M_l / ‖F_l⁰‖_*, so that ∂K/∂F_l = F_l M_l / ‖F_l⁰‖_*.
            let device = ctx.device.clone().autodiff();
            let cot: Vec<Tensor<2>> = dense
                .iter()
                .map(|b| {
                    let (nuc, m) = nuclear_and_inv_sqrt(&b.gram, GRAM_REL_TOL);
                    let scale = if nuc > 0.0 { 1.0 / nuc } else { 0.0 };
                    let v: Vec<f32> = m.transpose().iter().map(|x| (x * scale) as f32).collect();
                    Tensor::from_data(TensorData::new(v, [d, d]), &device)
                })
                .collect();
            // Σ_l <F_l, stopgrad(F_l M_l)>: its gradient is exactly Σ_l (∂K/∂F_l) pulled back.
            let objective = |_: usize, _: usize, fw: Forward| {
                let terms: Vec<Tensor<1>> = fw
                    .blocks
                    .into_iter()
                    .zip(&cot)
                    .map(|(f, m)| {
                        let [b, t, _] = f.dims();
                        let f = f.reshape([b * t, d]);
                        let c = f.clone().detach().matmul(m.clone()).detach();
                        (f * c).sum()
                    })
                    .collect();
                Tensor::cat(terms, 0).sum()
            };
            let mut report = ctx.chunk_reporter(self.name(), "∇K");
            let gk = ctx.grad_pass().grad(&ctx.model.params, &objective, &mut report).await?;
            let mut report = ctx.chunk_reporter(self.name(), "∇L");
            let gt = ctx.grad_pass().loss_grad(&ctx.model.params, 1.0, &mut report).await?;
            Ok(mass_balanced(&abs_theta_times(ctx, &gk), &abs_theta_times(ctx, &gt), 1.0))
        })
    }
}
