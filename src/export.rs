//! The score file `foresight score` writes and the page exports: one criterion's keep-scores
//! under the timm names (f32) and, when a sparsity was given, its masks as `<name>.mask` (u8,
//! 1 = kept), with the criterion and options in the metadata. One function for both, so the page
//! and the command line hand out the same layout.

use crate::criteria::{ScoreOptions, Scores};
use crate::error::Result;
use crate::invalid;
use crate::mask::TensorMap;
use crate::tensorfile::{Entry, TensorFile, Values};
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

/// A masks-only file: each prunable weight's mask (u8, 1 = kept) under the weight's own timm name
/// and shape, so PyTorch can apply it directly:
/// `torch.nn.utils.prune.custom_from_mask(module, "weight", masks["blocks.0.attn.qkv.weight"])`.
pub fn mask_file(model: &Vit, masks: &TensorMap<u8>, criterion: &str, sparsity: f64) -> Result<TensorFile> {
    let mut f = TensorFile::default();
    for (name, m) in masks {
        let shape = model.param(name)?.shape.clone();
        if shape.iter().product::<usize>() != m.len() {
            return Err(invalid!("the mask of `{name}` has {} entries, the weight {:?}", m.len(), shape));
        }
        f.tensors.insert(name.clone(), Entry::u8(shape, m.clone()));
    }
    f.metadata.insert("criterion".into(), criterion.into());
    f.metadata.insert("sparsity".into(), sparsity.to_string());
    f.metadata.insert("format".into(), "foresight masks: u8, 1 = kept, under the weights' timm names".into());
    Ok(f)
}

/// Masks from a score file (`<name>.mask` tensors) or from a masks-only file ([`mask_file`]: u8
/// tensors under the weight names). `what` names the file in errors.
pub fn masks_from_file(f: TensorFile, what: &str) -> Result<TensorMap<u8>> {
    let score_layout = f.tensors.keys().any(|k| k.ends_with(".mask"));
    let mut masks = TensorMap::new();
    for (k, e) in f.tensors {
        let name = if score_layout {
            match k.strip_suffix(".mask") {
                Some(n) => n.to_string(),
                None => continue,
            }
        } else {
            k
        };
        match e.values {
            Values::U8(v) => {
                if let Some(bad) = v.iter().find(|&&x| x > 1) {
                    return Err(invalid!("mask `{name}` in {what} holds {bad}; masks are 0 (pruned) or 1 (kept)"));
                }
                masks.insert(name, v);
            }
            _ if score_layout => return Err(invalid!("mask `{name}` in {what} is {}, not u8", e.stored)),
            // Not a masks file at all (a model, say): say what was expected.
            _ => return Err(invalid!("{what} holds no masks: tensor `{name}` is {}, not u8 (expected a `foresight score --sparsity` output or an exported masks file)", e.stored)),
        }
    }
    if masks.is_empty() {
        return Err(invalid!("{what} holds no masks (a `foresight score --sparsity` output or an exported masks file)"));
    }
    Ok(masks)
}
