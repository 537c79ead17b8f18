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
        #[cfg(feature = "wgpu")]
        Backend::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(not(feature = "wgpu"))]
        Backend::Wgpu => Err(invalid!("this build has no wgpu backend; rebuild with `--features wgpu`")),
    }
}
