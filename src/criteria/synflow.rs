//! SynFlow (Tanaka et al., NeurIPS 2020), data-free and iterative: for `E` rounds with kept
//! density `d^((e+1)/E)` (`d = 1 − q`), every parameter is replaced by its absolute value, the
//! current mask applied, the input is all ones `[1, C, H, W]`, `R = Σ f(1)`, and
//! `s = |θ ⊙ ∇_θ R|` re-masks. On a ViT (LayerNorm, softmax, GELU) the "synaptic flow"
//! conservation argument does not hold: here SynFlow is a heuristic. `R` is divided by its own
//! value before the backward pass (the ranking is scale-free) to avoid overflow in f32.

use super::{Info, Criterion, ScoreContext, ScoreFuture, Scores};
use crate::error::{Error, Result};
use crate::mask::{make_masks, TensorMap};
use crate::model::{forward, DeviceParams};
use crate::read::{read_f32, read_many};
use crate::vit::Params;
use burn::prelude::*;

pub struct SynFlow;

/// `∇R / |R|` at `params` for the tensors `names`, with an all-ones input.
async fn flow_grad(ctx: &ScoreContext<'_>, params: &Params) -> Result<TensorMap<f32>> {
    let cfg = &ctx.model.config;
    let device = ctx.device.clone().autodiff();
    let dp = DeviceParams::upload(params, &device, |n| ctx.prunable().iter().any(|p| p == n));
    let ones = Tensor::<4>::ones([1, cfg.in_chans, cfg.img_size, cfg.img_size], &device);
    let r = forward(cfg, &dp, ones).logits.expect("scoring models always have a head").sum();
    let r0 = read_f32(r.clone()).await?[0] as f64;
    if !r0.is_finite() || r0 == 0.0 {
        return Err(Error::Backend(format!("SynFlow's path sum R is {r0}; cannot rescale it")));
    }
    let grads = r.div_scalar(r0.abs()).backward();
    crate::flops::record_backward(1);
    let gs = ctx
        .prunable()
        .iter()
        .map(|name| dp.tensors[name].grad(&grads).ok_or_else(|| Error::Backend(format!("no gradient reached tensor `{name}`"))))
        .collect::<Result<Vec<_>>>()?;
    Ok(ctx.prunable().iter().cloned().zip(read_many(gs).await?).collect())
}

impl Criterion for SynFlow {
    fn info(&self) -> Info {
        Info { name: "synflow", title: "SynFlow", idea: "keep the paths that carry the most data-free synaptic flow", uses_labels: false }
    }
    fn score<'a>(&'a self, ctx: &'a ScoreContext<'a>) -> ScoreFuture<'a> {
        Box::pin(async move {
            let o = &ctx.options;
            let (rounds, density) = match o.sparsity {
                Some(q) => (o.synflow_rounds, 1.0 - q),
                None => (1, 1.0),
            };
            let mut abs = ctx.model.params.clone();
            abs.values_mut().for_each(|t| t.data.iter_mut().for_each(|x| *x = x.abs()));
            let mut masks: Option<TensorMap<u8>> = None;
            let mut scores: Scores = Scores::new();
            for e in 0..rounds {
                ctx.step(self.name(), "round", e, rounds)?;
                let mut p = abs.clone();
                if let Some(m) = &masks {
                    for (name, m) in m {
                        let t = p.get_mut(name).expect("masks are over model tensors");
                        t.data.iter_mut().zip(m).for_each(|(x, k)| *x *= *k as f32);
                    }
                }
                let g = flow_grad(ctx, &p).await?;
                scores = ctx
                    .prunable()
                    .iter()
                    .map(|n| (n.clone(), p[n].data.iter().zip(&g[n]).map(|(t, g)| (t * g).abs()).collect()))
                    .collect();
                let d_e = density.powf((e + 1) as f64 / rounds as f64);
                if d_e < 1.0 {
                    masks = Some(make_masks(&scores, ctx.prunable(), 1.0 - d_e, o.scope)?);
                }
            }
            Ok(scores)
        })
    }
}
