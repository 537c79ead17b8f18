//! Reading device tensors back to the host. Always asynchronous: synchronous reads panic on
//! WebGPU in the browser; natively the future is driven by a blocking executor.

use crate::error::{Error, Result};
use burn::prelude::*;

/// Reads any float tensor as a flat `Vec<f32>`.
pub async fn read_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    let data = t.into_data_async().await.map_err(|e| Error::Backend(format!("{e:?}")))?;
    data.try_to_vec::<f32>().map_err(|e| Error::Backend(format!("{e:?}")))
}
