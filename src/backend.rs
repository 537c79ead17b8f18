//! Choosing the compute device: burn's pure-Rust CPU backend (`flex`) or `wgpu` (WebGPU in the
//! browser; Vulkan, e.g. Mesa lavapipe, natively).

use crate::error::Result;
use crate::invalid;
use burn::prelude::*;

/// The backends the engine can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Cpu,
    Wgpu,
}

impl std::str::FromStr for Backend {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(Backend::Cpu),
            "wgpu" => Ok(Backend::Wgpu),
            _ => Err(invalid!("backend `{s}` is not one of: cpu, wgpu")),
        }
    }
}

/// The device for a backend (natively; in the browser the page initialises WebGPU itself).
pub fn device(backend: Backend) -> Result<Device> {
    match backend {
        Backend::Cpu => Ok(Device::flex()),
        #[cfg(all(feature = "wgpu", not(target_arch = "wasm32")))]
        Backend::Wgpu => Device::wgpu_options().init().map_err(no_adapter),
        #[cfg(all(feature = "wgpu", target_arch = "wasm32"))]
        Backend::Wgpu => Err(invalid!("in the browser WebGPU starts asynchronously: use device_async")),
        #[cfg(not(feature = "wgpu"))]
        Backend::Wgpu => Err(no_wgpu_feature()),
    }
}

/// The same, initialising WebGPU asynchronously (required in the browser).
pub async fn device_async(backend: Backend) -> Result<Device> {
    match backend {
        Backend::Cpu => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        Backend::Wgpu => Device::wgpu_options().init_async().await.map_err(no_adapter),
        #[cfg(not(feature = "wgpu"))]
        Backend::Wgpu => Err(no_wgpu_feature()),
    }
}

#[cfg(feature = "wgpu")]
fn no_adapter(e: impl std::fmt::Debug) -> crate::Error {
    crate::Error::Backend(format!("no WebGPU/Vulkan adapter could be initialised ({e:?})"))
}

#[cfg(not(feature = "wgpu"))]
fn no_wgpu_feature() -> crate::Error {
    invalid!("this build has no wgpu backend; rebuild with `--features wgpu`")
}
