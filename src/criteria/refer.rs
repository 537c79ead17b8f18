//! ReFer (Retaining Feature Representation, a reconstruction from the lab's description):
//! `R(θ) = Σ_l ‖F_l‖₁ / ‖F_l⁰‖₁` over every block's output tokens on the calibration images
//! (labels unused), `s = |θ ⊙ ∇_θ R|`. Each block is normalised by its dense value so every
//! block counts equally.

use super::{Info, abs_theta_times, Criterion, ScoreContext, ScoreFuture};
use crate::features::block_features;
use crate::model::Forward;
use burn::prelude::*;

pub struct ReFer;

impl Criterion for ReFer {
    fn info(&self) -> Info {
        Info { name: "refer", title: "ReFer", idea: "keep the weights that hold the size of each layer's features", uses_labels: false }
    }
    fn score<'a>(&'a self, ctx: &'a ScoreContext<'a>) -> ScoreFuture<'a> {
        Box::pin(async move {
            let o = &ctx.options;
            let mut report = ctx.chunk_reporter(self.name(), "dense ‖F‖₁");
            let dense = block_features(ctx.model, ctx.calib, &ctx.device, o.batch, &mut report).await?;
            let inv: Vec<f64> = dense.iter().map(|b| if b.l1 > 0.0 { 1.0 / b.l1 } else { 0.0 }).collect();
            let objective = |_: usize, _: usize, fw: Forward| {
                let terms: Vec<Tensor<1>> =
                    fw.blocks.into_iter().zip(&inv).map(|(f, w)| f.abs().sum().mul_scalar(*w)).collect();
                Tensor::cat(terms, 0).sum()
            };
            let mut report = ctx.chunk_reporter(self.name(), "∇R");
            let g = ctx.grad_pass().grad(&ctx.model.params, &objective, &mut report).await?;
            Ok(abs_theta_times(ctx, &g))
        })
    }
}
