//! What `foresight score` does between reading its two files and writing its output, as one
//! function. The command line calls it; the page's module exports it too (`cli_score` in
//! www/src/cli.rs), so that the end-to-end test can run the command's code on the page's own
//! instruction set and compare the page's scores with it bit for bit.

use burn::prelude::Device;
use crate::criteria::{by_name, Progress, ScoreContext, ScoreOptions};
use crate::export::score_file;
use crate::mask::{keep_count, make_masks};
use crate::tensorfile::TensorFile;
use crate::{Calibration, Result, Vit};

/// The score file and what the command line tells about it.
pub struct Scored {
    /// Keep-scores under the timm names; with a sparsity, masks as `<name>.mask`.
    pub file: TensorFile,
    /// Number of scored tensors.
    pub tensors: usize,
    /// With a sparsity: (kept weights, prunable weights, the target kept count).
    pub kept: Option<(usize, usize, usize)>,
    /// Set when the model's head did not match the batch's classes and a new one was drawn.
    pub new_head: Option<String>,
}

/// Scores `model`'s prunable weights with `criterion` on `calib` (a model whose head does not
/// match the batch's classes gets a new head drawn with `seed`) and, when `options.sparsity` is
/// set, makes the masks at that sparsity and scope. `ScoreContext::new` validates the inputs.
pub async fn score(
    model: Vit,
    calib: &Calibration,
    device: Device,
    criterion: &str,
    seed: u64,
    options: ScoreOptions,
    progress: &dyn Fn(&Progress) -> bool,
) -> Result<Scored> {
    let crit = by_name(criterion)?;
    let new_head = (calib.num_classes != model.config.num_classes).then(|| {
        format!(
            "the model's head has {} classes, the calibration batch {} (its `num_classes` metadata, else its largest label + 1): scoring with a new {}-class head (seed {seed})",
            model.config.num_classes, calib.num_classes, calib.num_classes
        )
    });
    let model = model.with_head(calib.num_classes, seed)?;
    let ctx = ScoreContext::new(&model, calib, device, options.clone(), progress)?;
    let scores = crit.score(&ctx).await?;
    let (masks, kept) = match options.sparsity {
        Some(q) => {
            let masks = make_masks(&scores, ctx.prunable(), q, options.scope)?;
            let total: usize = masks.values().map(|v| v.len()).sum();
            let kept = masks.values().flatten().filter(|&&k| k != 0).count();
            (Some(masks), Some((kept, total, keep_count(total, q))))
        }
        None => (None, None),
    };
    let file = score_file(&model, ctx.prunable(), &scores, masks.as_ref(), criterion, &options)?;
    Ok(Scored { file, tensors: scores.len(), kept, new_head })
}
