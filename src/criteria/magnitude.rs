//! Magnitude: `s = |θ|`. Data-free; the classic baseline (Han et al. 2015).

use super::{Criterion, ScoreContext, ScoreFuture};

pub struct Magnitude;

impl Criterion for Magnitude {
    fn name(&self) -> &'static str {
        "magnitude"
    }
    fn title(&self) -> &'static str {
        "Magnitude"
    }
    fn idea(&self) -> &'static str {
        "keep the largest weights"
    }
    fn uses_labels(&self) -> bool {
        false
    }
    fn score<'a>(&'a self, ctx: &'a ScoreContext<'a>) -> ScoreFuture<'a> {
        Box::pin(async move {
            ctx.step(self.name(), "|θ|", 0, 1)?;
            Ok(ctx
                .prunable()
                .iter()
                .map(|n| (n.clone(), ctx.weights(n).iter().map(|t| t.abs()).collect()))
                .collect())
        })
    }
}
