//! SNIP-Mag (pretrained-aware SNIP, a reconstruction from the lab's description):
//! `s = |θ⊙g| / Σ_P|θ⊙g| + α · θ² / Σ_P θ²`. `α = 0` is SNIP; `α → ∞` is Magnitude.

use super::{Info, abs_theta_times, mass_balanced, Criterion, ScoreContext, ScoreFuture, Scores};

pub struct SnipMag;

impl Criterion for SnipMag {
    fn info(&self) -> Info {
        Info { name: "snip-mag", title: "SNIP-Mag", idea: "SNIP plus the pretrained magnitude, balanced by α", uses_labels: true }
    }
    fn score<'a>(&'a self, ctx: &'a ScoreContext<'a>) -> ScoreFuture<'a> {
        Box::pin(async move {
            let mut report = ctx.chunk_reporter(self.name(), "∇L");
            let g = ctx.grad_pass().loss_grad(&ctx.model.params, 1.0, &mut report).await?;
            let taylor = abs_theta_times(ctx, &g);
            let squared: Scores = ctx
                .prunable()
                .iter()
                .map(|n| (n.clone(), ctx.weights(n).iter().map(|t| t * t).collect()))
                .collect();
            Ok(mass_balanced(&taylor, &squared, ctx.options.alpha))
        })
    }
}
