//! Foresight: prune a pretrained ViT before fine-tuning with seven criteria, and look at what
//! each keeps. This crate is the engine (no UI code); it compiles natively and to wasm32.
//!
//! - [`vit`]: the model on the host, loaded from / saved to timm-named `.safetensors`;
//! - [`model`]: the forward pass on a burn device;
//! - [`criteria`]: the seven criteria behind one trait, and [`mask`] to turn scores into masks;
//! - [`analysis`]: per-block feature norms and singular-value spectra;
//! - [`score`]: the `foresight score` command without its file I/O.

pub mod analysis;
pub mod backend;
pub mod calib;
pub mod config;
pub mod data;
pub mod drift;
pub mod criteria;
pub mod error;
pub mod export;
pub mod features;
pub mod finetune;
pub mod flops;
pub mod grad;
pub mod mask;
pub mod probe;
pub mod model;
pub mod read;
pub mod rng;
pub mod score;
pub mod tensorfile;
pub mod train;
pub mod vit;

pub use calib::Calibration;
pub use config::VitConfig;
pub use error::{Error, Result};
pub use vit::Vit;
