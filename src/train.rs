//! Training on the host-parameter model: mini-batch gradients on a burn device, AdamW with
//! linear warm-up and cosine decay on the host, optional masks kept exactly zero. Used for
//! pretraining, masked fine-tuning, and (in the page) live fine-tuning.

use crate::calib::Calibration;
use crate::error::{Error, Result};
use crate::mask::TensorMap;
use crate::model::{forward, DeviceParams};
use crate::read::{read_f32, read_many};
use crate::vit::{Params, Vit};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// AdamW hyper-parameters and schedule.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Peak learning rate.
    pub lr: f64,
    /// Decoupled weight decay (matrices only; biases, LayerNorm, tokens and embeddings are exempt).
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Linear warm-up steps, then cosine decay to `min_lr_ratio · lr` at `total_steps`.
    pub warmup_steps: usize,
    pub total_steps: usize,
    pub min_lr_ratio: f64,
    /// Label smoothing ε.
    pub label_smoothing: f64,
}

impl TrainConfig {
    /// Learning rate at `step` (0-based).
    pub fn lr_at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let p = ((step - self.warmup_steps) as f64 / span as f64).min(1.0);
        let floor = self.min_lr_ratio * self.lr;
        floor + (self.lr - floor) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
    }
}

/// Whether weight decay applies to a parameter (timm's rule: not to 1-D tensors nor tokens).
pub fn decays(name: &str, shape: &[usize]) -> bool {
    shape.len() >= 2 && name != "cls_token" && name != "pos_embed"
}

/// AdamW state over named tensors.
#[derive(Clone, Debug, Default)]
pub struct AdamW {
    pub m: TensorMap<f32>,
    pub v: TensorMap<f32>,
    pub step: usize,
}

impl AdamW {
    /// One update of `params` with `grads` at learning rate `lr`. Masked weights (mask 0) get no
    /// update and stay exactly zero.
    pub fn update(&mut self, cfg: &TrainConfig, params: &mut Params, grads: &TensorMap<f32>, lr: f64, masks: Option<&TensorMap<u8>>) {
        self.step += 1;
        let t = self.step as f64;
        let (b1, b2) = (cfg.beta1, cfg.beta2);
        let (c1, c2) = (1.0 - b1.powf(t), 1.0 - b2.powf(t));
        for (name, g) in grads {
            let p = params.get_mut(name).expect("gradients are over model tensors");
            let wd = if decays(name, &p.shape) { cfg.weight_decay } else { 0.0 };
            let m = self.m.entry(name.clone()).or_insert_with(|| vec![0.0; g.len()]);
            let v = self.v.entry(name.clone()).or_insert_with(|| vec![0.0; g.len()]);
            let mask = masks.and_then(|ms| ms.get(name));
            for i in 0..g.len() {
                if mask.is_some_and(|mk| mk[i] == 0) {
                    p.data[i] = 0.0;
                    continue;
                }
                let gi = g[i] as f64;
                let mi = b1 * m[i] as f64 + (1.0 - b1) * gi;
                let vi = b2 * v[i] as f64 + (1.0 - b2) * gi * gi;
                m[i] = mi as f32;
                v[i] = vi as f32;
                let x = p.data[i] as f64;
                let x = x - lr * (wd * x + (mi / c1) / ((vi / c2).sqrt() + cfg.eps));
                p.data[i] = x as f32;
            }
        }
    }
}

/// Mean (smoothed) cross-entropy of `batch`, its accuracy, and the gradients for `wrt`.
pub async fn loss_and_grad(
    model: &Vit,
    batch: &Calibration,
    device: &Device,
    wrt: &[String],
    smoothing: f64,
) -> Result<(f64, f64, TensorMap<f32>)> {
    let n = batch.len();
    let (loss, correct, grads) = part_loss_and_grad(model, batch, 0, n, device, wrt, smoothing).await?;
    Ok((loss, correct as f64 / n as f64, grads))
}

/// Images `start..start + len` of `batch`: their share of the batch's mean loss (their summed
/// cross-entropy divided by the whole batch's `N`), how many of them the model gets right, and
/// the gradients of that share. The shares of disjoint parts add up to the whole batch's loss
/// and gradients, as the chunks in [`crate::grad::GradPass`] do.
async fn part_loss_and_grad(
    model: &Vit,
    batch: &Calibration,
    start: usize,
    len: usize,
    device: &Device,
    wrt: &[String],
    smoothing: f64,
) -> Result<(f64, usize, TensorMap<f32>)> {
    let cfg = &model.config;
    let k = cfg.num_classes;
    let device = device.clone().autodiff();
    let dp = DeviceParams::upload(&model.params, &device, |n| wrt.iter().any(|w| w == n));
    let fw = forward(cfg, &dp, batch.images_tensor(start, len, &device));
    let logits = fw.logits.ok_or_else(|| crate::invalid!("training needs a model with a head"))?;
    let target = batch.one_hot(start, len, k, &device).mul_scalar(1.0 - smoothing).add_scalar(smoothing / k as f64);
    let loss = (log_softmax(logits.clone(), 1) * target).sum().neg().div_scalar(batch.len() as f64);
    let grads = loss.clone().backward();
    crate::flops::record_backward(len);
    // Loss, logits and every gradient come back in one transfer.
    let mut reads = vec![loss.detach().reshape([1]), logits.detach().reshape([len * k])];
    for name in wrt {
        reads.push(dp.tensors[name].grad(&grads).ok_or_else(|| Error::Backend(format!("no gradient reached `{name}`")))?);
    }
    let mut host = read_many(reads).await?.into_iter();
    let loss_value = host.next().expect("loss was read")[0] as f64;
    let pred = host.next().expect("logits were read");
    let correct = (0..len).filter(|&i| argmax(&pred[i * k..(i + 1) * k]) == batch.labels[start + i] as usize).count();
    Ok((loss_value, correct, wrt.iter().cloned().zip(host).collect()))
}

/// How many parts [`batch_loss_and_grad`] cuts a batch into on the native CPU backend. Fixed
/// (not the core count) so that a run gives the same numbers on every machine.
pub const CPU_SLICES: usize = 4;

/// [`loss_and_grad`] as training uses it. Natively on the CPU backend the batch is cut into
/// [`CPU_SLICES`] near-equal parts computed on their own threads: burn's CPU backend keeps
/// about one core busy on this model's small matmuls, so data parallelism is what uses the
/// others (measured on 2 cores: 111 → 173 images/s in pretraining). The parts' shares add up to
/// the whole batch's loss, accuracy and gradients up to float rounding (tests/finetune.rs checks
/// it). In the browser and on a GPU: one pass.
pub async fn batch_loss_and_grad(
    model: &Vit,
    batch: &Calibration,
    device: &Device,
    wrt: &[String],
    smoothing: f64,
) -> Result<(f64, f64, TensorMap<f32>)> {
    #[cfg(not(target_arch = "wasm32"))]
    if device.clone().without_autodiff() == Device::flex() {
        return loss_and_grad_sliced(model, batch, device, wrt, smoothing, CPU_SLICES);
    }
    loss_and_grad(model, batch, device, wrt, smoothing).await
}

/// [`loss_and_grad`] from `parts` near-equal parts of `batch`, one thread each (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn loss_and_grad_sliced(
    model: &Vit,
    batch: &Calibration,
    device: &Device,
    wrt: &[String],
    smoothing: f64,
    parts: usize,
) -> Result<(f64, f64, TensorMap<f32>)> {
    let n = batch.len();
    let parts = parts.clamp(1, n.max(1));
    let results: Vec<Result<(f64, usize, TensorMap<f32>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..parts)
            .map(|i| {
                let (start, end) = (i * n / parts, (i + 1) * n / parts);
                s.spawn(move || pollster::block_on(part_loss_and_grad(model, batch, start, end - start, device, wrt, smoothing)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::Backend("a training thread panicked".into()))))
            .collect()
    });
    let (mut loss, mut correct, mut grads) = (0.0, 0, TensorMap::<f32>::new());
    for r in results {
        let (l, c, g) = r?;
        loss += l;
        correct += c;
        for (name, gi) in g {
            match grads.get_mut(&name) {
                Some(sum) => sum.iter_mut().zip(gi).for_each(|(x, y)| *x += y),
                None => {
                    grads.insert(name, gi);
                }
            }
        }
    }
    Ok((loss, correct as f64 / n as f64, grads))
}

/// Index of the largest value.
pub fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold((0, f32::NEG_INFINITY), |b, (i, &x)| if x > b.1 { (i, x) } else { b }).0
}

/// Top-1 accuracy of `model` on `data`, in chunks of `batch`.
pub async fn accuracy(model: &Vit, data: &Calibration, device: &Device, batch: usize) -> Result<f64> {
    let cfg = &model.config;
    let device = device.clone().without_autodiff();
    let dp = DeviceParams::upload(&model.params, &device, |_| false);
    let k = cfg.num_classes;
    let mut correct = 0;
    for start in (0..data.len()).step_by(batch.max(1)) {
        let len = batch.min(data.len() - start);
        let fw = forward(cfg, &dp, data.images_tensor(start, len, &device));
        let logits = read_f32(fw.logits.ok_or_else(|| crate::invalid!("accuracy needs a model with a head"))?).await?;
        correct += (0..len).filter(|&i| argmax(&logits[i * k..(i + 1) * k]) == data.labels[start + i] as usize).count();
    }
    Ok(correct as f64 / data.len().max(1) as f64)
}

/// Class-token features after the final LayerNorm (the head's input), `[N, D]` flat.
pub async fn features(model: &Vit, data: &Calibration, device: &Device, batch: usize) -> Result<Vec<f32>> {
    let device = device.clone().without_autodiff();
    let dp = DeviceParams::upload(&model.params, &device, |_| false);
    let mut out = Vec::with_capacity(data.len() * model.config.embed_dim);
    for start in (0..data.len()).step_by(batch.max(1)) {
        let len = batch.min(data.len() - start);
        let fw = forward(&model.config, &dp, data.images_tensor(start, len, &device));
        out.extend(read_f32(fw.pre_logits).await?);
    }
    Ok(out)
}

/// Random shift by up to `max_shift` pixels (zero fill) and, with `flip`, a horizontal flip with
/// probability 1/2, of one `[C, H, W]` u8 image.
pub fn augment(pixels: &[u8], image: [usize; 3], max_shift: usize, flip: bool, rng: &mut crate::rng::Rng) -> Vec<u8> {
    let [c, h, w] = image;
    let span = 2 * max_shift + 1;
    let dy = rng.below(span) as isize - max_shift as isize;
    let dx = rng.below(span) as isize - max_shift as isize;
    let mirror = flip && rng.below(2) == 1;
    let mut out = vec![0u8; pixels.len()];
    for ch in 0..c {
        for y in 0..h {
            let sy = y as isize - dy;
            if sy < 0 || sy >= h as isize {
                continue;
            }
            for x in 0..w {
                let xx = if mirror { w - 1 - x } else { x };
                let sx = xx as isize - dx;
                if sx < 0 || sx >= w as isize {
                    continue;
                }
                out[ch * h * w + y * w + x] = pixels[ch * h * w + sy as usize * w + sx as usize];
            }
        }
    }
    out
}

/// A mini-batch of `split` at `indices`, optionally augmented, as a normalised batch.
pub fn minibatch(
    split: &crate::data::Split,
    indices: &[usize],
    norm: &crate::data::Normalization,
    num_classes: usize,
    augmentation: Option<(usize, bool, &mut crate::rng::Rng)>,
) -> Result<Calibration> {
    match augmentation {
        None => split.batch(indices, norm, num_classes),
        Some((shift, flip, rng)) => {
            let mut s = crate::data::Split { image: split.image, images: Vec::new(), labels: Vec::new() };
            for &i in indices {
                s.images.extend(augment(split.pixels(i), split.image, shift, flip, rng));
                s.labels.push(split.labels[i]);
            }
            let all: Vec<usize> = (0..indices.len()).collect();
            s.batch(&all, norm, num_classes)
        }
    }
}
