//! Messages between the page (main thread) and its worker. Large byte arrays travel as
//! `serde_bytes` (JS `Uint8Array`).

use foresight::analysis::BlockStats;
use foresight::drift::Drift;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// What the page asks of the worker.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Request {
    /// Start a backend: WebGPU if `webgpu` and available, else the CPU backend.
    Init { webgpu: bool },
    LoadModel { bytes: ByteBuf },
    LoadSet { name: String, manifest: String, train: ByteBuf, test: ByteBuf },
    Run(RunRequest),
    /// Masked fine-tuning of some pruned models (and the dense one), then held-out accuracy.
    Finetune(FinetuneRequest),
    /// Every chosen criterion at several sparsities: probe (and optionally fine-tuned) accuracy.
    Sweep(SweepRequest),
    /// Fault injection for the tests (`?panic-on-run`, worker.js): the worker panics on purpose,
    /// so that the page's handling of a panic is tested.
    Panic,
}

/// Fine-tuning settings chosen on the page (the engine's `FinetuneConfig` plus the test size).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct FinetuneSettings {
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
    /// Test images the fine-tuned model is scored on (0 = the whole test split).
    pub test_images: usize,
}

/// One model to fine-tune: a method's masks (none for the dense model).
#[derive(Clone, Serialize, Deserialize)]
pub struct FinetuneJob {
    pub method: String,
    pub masks: Vec<(String, ByteBuf)>,
}

/// Fine-tune `jobs`, each starting from `model` (the run's model with its new head).
#[derive(Clone, Serialize, Deserialize)]
pub struct FinetuneRequest {
    pub set: String,
    pub model: ByteBuf,
    pub jobs: Vec<FinetuneJob>,
    pub settings: FinetuneSettings,
}

/// A sparsity sweep: the run's setup at each of `sparsities`.
#[derive(Clone, Serialize, Deserialize)]
pub struct SweepRequest {
    pub run: RunRequest,
    pub sparsities: Vec<f64>,
    /// Also fine-tune every pruned model with these settings.
    pub finetune: Option<FinetuneSettings>,
}

/// One image the user dropped, as the model sees it (u8 pixels `[C, H, W]`).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct Upload {
    pub pixels: ByteBuf,
    pub label: usize,
}

/// A run: criteria on a calibration batch, then analysis and a linear probe for each.
#[derive(Clone, Serialize, Deserialize)]
pub struct RunRequest {
    pub set: String,
    pub calib: Vec<usize>,
    pub uploads: Vec<Upload>,
    pub criteria: Vec<String>,
    pub sparsity: f64,
    pub scope: String,
    pub alpha: f64,
    /// SynFlow's pruning rounds.
    pub synflow_rounds: usize,
    pub seed: u64,
    /// Train images per class the probe is fitted on, and test images it is scored on.
    pub probe_per_class: usize,
    pub probe_test: usize,
}

/// What the worker reports.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Response {
    Ready { backend: String, note: Option<String> },
    ModelLoaded { card: ModelCard },
    SetLoaded { name: String },
    /// What a run scores with, as files `foresight score` reads: the model with the run's new
    /// head (`--model`) and the normalised calibration batch (`--calib`).
    RunInputs { model: ByteBuf, calib: ByteBuf },
    Progress { criterion: String, step: String, done: usize, total: usize },
    Method(MethodResult),
    /// One fine-tuning step of `method`.
    FinetuneStep { method: String, step: usize, steps: usize, loss: f64 },
    Finetuned(FinetuneResult),
    SweepPoint(SweepPoint),
    /// The task finished; `wasm_memory` = the worker's WebAssembly memory in bytes (it only
    /// grows, so this is its peak).
    Done { seconds: f64, wasm_memory: f64 },
    Error { message: String },
    /// The worker panicked (a bug): it may be unusable, so the page starts a fresh one.
    Panicked { message: String },
    /// Sent by worker.js when WebGPU reports the device lost (`GPUDevice.lost`).
    GpuLost { reason: String, message: String },
}

/// The model card shown in the header.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelCard {
    pub params: usize,
    pub depth: usize,
    pub width: usize,
    pub heads: usize,
    pub patch: usize,
    pub image: usize,
    pub training: String,
    /// Every prunable matrix as drawn: (timm name, rows, columns).
    pub matrices: Vec<(String, usize, usize)>,
}

/// One method's (or the dense model's) results.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct MethodResult {
    /// Criterion name, or "dense".
    pub method: String,
    /// The sparsity it was pruned to (0 for the dense model).
    pub sparsity: f64,
    pub seconds: f64,
    pub kept: usize,
    pub total: usize,
    /// Kept fraction per tensor, by timm name.
    pub density: Vec<(String, f64)>,
    pub blocks: Vec<BlockStats>,
    pub probe_accuracy: f64,
    /// Masks by timm name (empty for the dense model).
    pub masks: Vec<(String, ByteBuf)>,
    /// The scores and masks as a `foresight score` output file (empty for the dense model).
    pub score_file: ByteBuf,
}

/// One fine-tuned model.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct FinetuneResult {
    pub method: String,
    pub steps: usize,
    pub seconds: f64,
    pub steps_per_second: f64,
    /// Held-out accuracy after fine-tuning.
    pub accuracy: f64,
    pub test_images: usize,
    /// Pruned weights that are not exactly zero after fine-tuning (the mask promises 0).
    pub pruned_nonzero: usize,
    pub losses: Vec<f64>,
    pub drift: Drift,
    /// The fine-tuned model (safetensors, timm names).
    pub model: ByteBuf,
}

/// One point of a sparsity sweep (`sparsity` 0 = the dense model).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct SweepPoint {
    pub method: String,
    pub sparsity: f64,
    pub kept: usize,
    pub probe_accuracy: f64,
    pub finetune_accuracy: Option<f64>,
}
