//! GraSP (Wang et al., ICLR 2020) on a pretrained model (no re-initialisation): with
//! `L_T` the cross-entropy of logits / T (T = 200), `g = ∇L_T`, `Hg` the Hessian-gradient product
//! over `P`; keep-score `s = θ ⊙ Hg` (signed: the weights with the largest `−θ⊙Hg` go first).
//! burn has no double backward, so `Hg` is a central finite difference of gradients along
//! `ĝ = g/‖g‖`: `Hg ≈ ‖g‖ (∇L_T(θ + εĝ) − ∇L_T(θ − εĝ)) / (2ε)`, `ε = rel_eps · ‖θ_P‖`.

use super::{Info, Criterion, ScoreContext, ScoreFuture};
use crate::mask::TensorMap;
use crate::vit::Params;

pub struct Grasp;

fn norm(m: &TensorMap<f32>, names: &[String]) -> f64 {
    names.iter().flat_map(|n| m[n].iter()).map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt()
}

/// `θ + step · v` on the tensors of `v`.
fn shifted(params: &Params, v: &TensorMap<f32>, step: f64) -> Params {
    let mut p = params.clone();
    for (name, dir) in v {
        let t = p.get_mut(name).expect("directions are over model tensors");
        t.data.iter_mut().zip(dir).for_each(|(x, d)| *x = (*x as f64 + step * *d as f64) as f32);
    }
    p
}

impl Criterion for Grasp {
    fn info(&self) -> Info {
        Info { name: "grasp", title: "GraSP", idea: "keep weights whose removal would reduce gradient flow", uses_labels: true }
    }
    fn score<'a>(&'a self, ctx: &'a ScoreContext<'a>) -> ScoreFuture<'a> {
        Box::pin(async move {
            let (o, names, params) = (&ctx.options, ctx.prunable(), &ctx.model.params);
            let pass = ctx.grad_pass();
            let temp = o.grasp_temperature;
            let mut report = ctx.chunk_reporter(self.name(), "∇L_T");
            let g = pass.loss_grad(params, temp, &mut report).await?;
            let gnorm = norm(&g, names);
            if gnorm == 0.0 {
                // No gradient at all: Hg = 0 and every score is 0.
                return Ok(names.iter().map(|n| (n.clone(), vec![0.0; g[n].len()])).collect());
            }
            let theta_norm = norm(&names.iter().map(|n| (n.clone(), ctx.weights(n).to_vec())).collect(), names);
            let eps = o.grasp_rel_eps * theta_norm.max(1e-12);
            let step = eps / gnorm; // θ ± ε·ĝ = θ ± (ε/‖g‖)·g
            let mut report = ctx.chunk_reporter(self.name(), "∇L_T(θ+εĝ)");
            let gp = pass.loss_grad(&shifted(params, &g, step), temp, &mut report).await?;
            let mut report = ctx.chunk_reporter(self.name(), "∇L_T(θ−εĝ)");
            let gm = pass.loss_grad(&shifted(params, &g, -step), temp, &mut report).await?;
            let scale = gnorm / (2.0 * eps);
            Ok(names
                .iter()
                .map(|n| {
                    let s = ctx
                        .weights(n)
                        .iter()
                        .zip(gp[n].iter().zip(&gm[n]))
                        .map(|(t, (p, m))| (*t as f64 * (*p as f64 - *m as f64) * scale) as f32)
                        .collect();
                    (n.clone(), s)
                })
                .collect())
        })
    }
}
