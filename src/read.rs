//! Reading device tensors back to the host. Always asynchronous: synchronous reads panic on
//! WebGPU in the browser; natively the future is driven by a blocking executor.

use crate::error::{Error, Result};
use burn::prelude::*;

/// Reads any float tensor as a flat `Vec<f32>`.
pub async fn read_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    let data = t.into_data_async().await.map_err(|e| Error::Backend(format!("{e:?}")))?;
    data.try_to_vec::<f32>().map_err(|e| Error::Backend(format!("{e:?}")))
}

/// Reads several 1-D tensors with one device-to-host transfer (one sync on WebGPU instead of
/// one per tensor): they are concatenated on the device and split again on the host.
pub async fn read_many(ts: Vec<Tensor<1>>) -> Result<Vec<Vec<f32>>> {
    if ts.is_empty() {
        return Ok(vec![]);
    }
    let lens: Vec<usize> = ts.iter().map(|t| t.dims()[0]).collect();
    let all = read_f32(Tensor::cat(ts, 0)).await?;
    let mut out = Vec::with_capacity(lens.len());
    let mut off = 0;
    for n in lens {
        out.push(all[off..off + n].to_vec());
        off += n;
    }
    Ok(out)
}
