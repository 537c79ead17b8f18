//! Masked fine-tuning and the linear probe on a downstream set — the seed's protocol: prune,
//! then fine-tune (pruned weights stay exactly zero), then evaluate on held-out images.

use crate::analysis::apply_masks;
use crate::data::{Normalization, Split};
use crate::error::{Error, Result};
use crate::mask::TensorMap;
use crate::probe::{Probe, ProbeConfig};
use crate::rng::Rng;
use crate::train::{accuracy, batch_loss_and_grad, features, minibatch, AdamW, TrainConfig};
use crate::vit::Vit;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Fine-tuning settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FinetuneConfig {
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub warmup_steps: usize,
    pub seed: u64,
    /// Random shifts of up to this many pixels (no flips: digits and kana are not symmetric).
    pub max_shift: usize,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        FinetuneConfig { steps: 300, batch: 64, lr: 5e-4, weight_decay: 0.05, warmup_steps: 30, seed: 0, max_shift: 2 }
    }
}

/// Fine-tunes every parameter of `model` (which must already have the task's head) on `train`,
/// keeping the weights that `masks` prune at exactly zero. `on_step(step, loss)` returning false
/// cancels.
pub async fn finetune(
    model: &Vit,
    masks: Option<&TensorMap<u8>>,
    train: &Split,
    norm: &Normalization,
    device: &Device,
    cfg: &FinetuneConfig,
    on_step: &mut dyn FnMut(usize, f64) -> bool,
) -> Result<Vit> {
    if train.is_empty() || cfg.batch == 0 {
        return Err(crate::invalid!("fine-tuning needs a non-empty training split and a batch of at least one image"));
    }
    let mut m = match masks {
        Some(mk) => apply_masks(model, mk)?,
        None => model.clone(),
    };
    let tc = TrainConfig {
        lr: cfg.lr,
        weight_decay: cfg.weight_decay,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        warmup_steps: cfg.warmup_steps.min(cfg.steps),
        total_steps: cfg.steps,
        min_lr_ratio: 0.0,
        label_smoothing: 0.0,
    };
    let names: Vec<String> = m.params.keys().cloned().collect();
    let k = m.config.num_classes;
    let mut opt = AdamW::default();
    let mut order_rng = Rng::new(cfg.seed ^ 0x0F17E);
    let mut aug_rng = Rng::new(cfg.seed ^ 0xA06);
    let mut order: Vec<usize> = Vec::new();
    let mut pos = 0;
    for step in 0..cfg.steps {
        let mut idx = Vec::with_capacity(cfg.batch);
        while idx.len() < cfg.batch {
            if pos == order.len() {
                order = (0..train.len()).collect();
                order_rng.shuffle(&mut order);
                pos = 0;
            }
            idx.push(order[pos]);
            pos += 1;
        }
        let b = minibatch(train, &idx, norm, k, Some((cfg.max_shift, false, &mut aug_rng)))?;
        let (loss, _, g) = batch_loss_and_grad(&m, &b, device, &names, 0.0).await?;
        if !loss.is_finite() {
            return Err(Error::Backend(format!("the loss became {loss} at step {step}; lower the learning rate")));
        }
        opt.update(&tc, &mut m.params, &g, tc.lr_at(step), masks);
        if !on_step(step, loss) {
            return Err(Error::Cancelled);
        }
    }
    Ok(m)
}

/// Top-1 accuracy of `model` on a whole split.
pub async fn split_accuracy(model: &Vit, split: &Split, norm: &Normalization, device: &Device) -> Result<f64> {
    let all: Vec<usize> = (0..split.len()).collect();
    let data = split.batch(&all, norm, model.config.num_classes)?;
    accuracy(model, &data, device, 250).await
}

/// Linear-probe accuracy: logistic regression on the frozen model's class-token features,
/// fitted on `train`, measured on `test`.
pub async fn probe_accuracy(
    model: &Vit,
    train: &Split,
    test: &Split,
    norm: &Normalization,
    classes: usize,
    device: &Device,
) -> Result<f64> {
    let d = model.config.embed_dim;
    let tr_idx: Vec<usize> = (0..train.len()).collect();
    let te_idx: Vec<usize> = (0..test.len()).collect();
    let tr = train.batch(&tr_idx, norm, classes)?;
    let te = test.batch(&te_idx, norm, classes)?;
    let ftr = features(model, &tr, device, 250).await?;
    let fte = features(model, &te, device, 250).await?;
    let probe = Probe::fit(&ftr, &tr.labels, d, classes, &ProbeConfig::default());
    Ok(probe.accuracy(&fte, &te.labels))
}
