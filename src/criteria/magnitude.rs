//! Magnitude: `s = |θ|`. Data-free; the classic baseline (Han et al. 2015).

use super::{Info, Criterion, ScoreContext, ScoreFuture};

pub struct Magnitude;

impl Criterion for Magnitude {
    fn info(&self) -> Info {
        Info { name: "magnitude", title: "Magnitude", idea: "keep the largest weights", uses_labels: false }
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
