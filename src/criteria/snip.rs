//! SNIP (Lee et al., ICLR 2019): `s = |θ ⊙ ∇_θ L|`, the sensitivity of the loss to a
//! multiplicative mask at 1; `L` is the mean cross-entropy over the calibration batch.

use super::{Info, abs_theta_times, Criterion, ScoreContext, ScoreFuture};

pub struct Snip;

impl Criterion for Snip {
    fn info(&self) -> Info {
        Info { name: "snip", title: "SNIP", idea: "keep weights whose removal changes the loss most", uses_labels: true }
    }
    fn score<'a>(&'a self, ctx: &'a ScoreContext<'a>) -> ScoreFuture<'a> {
        Box::pin(async move {
            let mut report = ctx.chunk_reporter(self.name(), "∇L");
            let g = ctx.grad_pass().loss_grad(&ctx.model.params, 1.0, &mut report).await?;
            Ok(abs_theta_times(ctx, &g))
        })
    }
}
