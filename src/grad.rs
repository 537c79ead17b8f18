//! Gradients of scalar objectives with respect to the prunable weights `P`, accumulated over
//! chunks of the calibration batch (the objective must be a sum over images for this to be exact;
//! every objective used here is).

use crate::calib::Calibration;
use crate::config::VitConfig;
use crate::error::{Error, Result};
use crate::mask::TensorMap;
use crate::model::{forward, DeviceParams, Forward};
use crate::read::read_many;
use crate::vit::Params;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// What a gradient pass needs to know.
pub struct GradPass<'a> {
    pub config: &'a VitConfig,
    pub calib: &'a Calibration,
    /// The device (autodiff is switched on here).
    pub device: Device,
    /// Tensors to differentiate with respect to.
    pub wrt: &'a [String],
    /// Images per forward pass.
    pub batch: usize,
}

impl GradPass<'_> {
    /// `∇ Σ_chunks objective(start, len, forward)` at `params`, for the tensors in `wrt`.
    /// `on_chunk(done, total)` returning false cancels.
    pub async fn grad(
        &self,
        params: &Params,
        objective: &dyn Fn(usize, usize, Forward) -> Tensor<1>,
        on_chunk: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<TensorMap<f32>> {
        let device = self.device.clone().autodiff();
        let n = self.calib.len();
        let batch = self.batch.max(1);
        let chunks = n.div_ceil(batch);
        let mut acc: TensorMap<f32> = TensorMap::new();
        for (ci, start) in (0..n).step_by(batch).enumerate() {
            if !on_chunk(ci, chunks) {
                return Err(Error::Cancelled);
            }
            let len = batch.min(n - start);
            let dp = DeviceParams::upload(params, &device, |name| self.wrt.iter().any(|w| w == name));
            let fw = forward(self.config, &dp, self.calib.images_tensor(start, len, &device));
            let grads = objective(start, len, fw).backward();
            crate::flops::record_backward(len);
            let gs = self
                .wrt
                .iter()
                .map(|name| {
                    dp.tensors[name].grad(&grads).ok_or_else(|| Error::Backend(format!("no gradient reached tensor `{name}`")))
                })
                .collect::<Result<Vec<_>>>()?;
            for (name, g) in self.wrt.iter().zip(read_many(gs).await?) {
                match acc.get_mut(name) {
                    Some(a) => a.iter_mut().zip(g).for_each(|(a, g)| *a += g),
                    None => {
                        acc.insert(name.clone(), g);
                    }
                }
            }
        }
        Ok(acc)
    }

    /// `∇ L_T` where `L_T` is the mean cross-entropy of `logits / temperature` over the batch.
    pub async fn loss_grad(
        &self,
        params: &Params,
        temperature: f64,
        on_chunk: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<TensorMap<f32>> {
        let n = self.calib.len() as f64;
        let k = self.config.num_classes;
        let device = self.device.clone().autodiff();
        let objective = |start: usize, len: usize, fw: Forward| {
            let logits = fw.logits.expect("scoring models always have a head");
            let logp = log_softmax(logits.div_scalar(temperature), 1);
            let onehot = self.calib.one_hot(start, len, k, &device);
            (logp * onehot).sum().neg().div_scalar(n)
        };
        self.grad(params, &objective, on_chunk).await
    }
}
