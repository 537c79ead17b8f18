//! The score file `foresight score` writes and the page exports: one criterion's keep-scores
//! under the timm names (f32) and, when a sparsity was given, its masks as `<name>.mask` (u8,
//! 1 = kept), with the criterion and options in the metadata. One function for both, so the page
//! and the command line hand out the same layout.

use crate::criteria::{ScoreOptions, Scores};
use crate::error::Result;
use crate::invalid;
use crate::mask::TensorMap;
use crate::tensorfile::{Entry, TensorFile};
use crate::vit::Vit;

/// Builds the score file for `names` (shapes from `model`).
pub fn score_file(model: &Vit, names: &[String], scores: &Scores, masks: Option<&TensorMap<u8>>, criterion: &str, options: &ScoreOptions) -> Result<TensorFile> {
    let mut f = TensorFile::default();
    for name in names {
        let shape = model.param(name)?.shape.clone();
        let s = scores.get(name).ok_or_else(|| invalid!("the {criterion} scores have no tensor `{name}`"))?;
        f.tensors.insert(name.clone(), Entry::f32(shape.clone(), s.clone()));
        if let Some(masks) = masks {
            let m = masks.get(name).ok_or_else(|| invalid!("the {criterion} masks have no tensor `{name}`"))?;
            f.tensors.insert(format!("{name}.mask"), Entry::u8(shape, m.clone()));
        }
    }
    f.metadata.insert("criterion".into(), criterion.into());
    f.metadata.insert("options".into(), serde_json::to_string(options).map_err(|e| invalid!("cannot encode the options: {e}"))?);
    Ok(f)
}
