//! In headless Chromium (wasm-bindgen-test): the engine scores the fixture model on burn's CPU
//! backend compiled to wasm (checked against the JAX reference masks) and on WebGPU (checked
//! against that CPU result). Run by scripts/test.sh.
#![cfg(target_arch = "wasm32")]

mod common;

use common::spearman;
use foresight::backend::{device_async, Backend};
use foresight::criteria::{registry, Progress, ScoreContext, ScoreOptions, Scores};
use foresight::mask::{iou, make_masks, Scope, TensorMap};
use foresight::tensorfile::{TensorFile, Values};
use foresight::{Calibration, Vit};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

static MODEL: &[u8] = include_bytes!("fixtures/tiny_vit.safetensors");
static CALIB: &[u8] = include_bytes!("fixtures/tiny_calib.safetensors");
static REFERENCE: &[u8] = include_bytes!("fixtures/tiny_ref.safetensors");

fn flat(s: &Scores, names: &[String]) -> Vec<f64> {
    names.iter().flat_map(|n| s[n].iter().map(|&x| x as f64)).collect()
}

#[wasm_bindgen_test]
async fn criteria_in_the_browser_match_reference_and_webgpu_matches_cpu() {
    let model = Vit::from_bytes(MODEL, "model", None).unwrap();
    let calib = Calibration::from_file(TensorFile::parse(CALIB, "calib").unwrap(), "calib").unwrap();
    let reference = TensorFile::parse(REFERENCE, "reference").unwrap();
    let names = model.config.prunable(false);
    let cpu = device_async(Backend::Cpu).await.unwrap();
    let gpu = device_async(Backend::Wgpu).await.expect("WebGPU adapter (Chromium needs --enable-unsafe-webgpu)");
    let yes = |_: &Progress| true;
    let q = 0.9;
    for c in registry() {
        // SynFlow on one round: its 100-round iteration is chaotic across backends (tests/wgpu.rs).
        let synflow = c.name() == "synflow";
        let opts = ScoreOptions { sparsity: if synflow { None } else { Some(q) }, ..Default::default() };
        let key = if synflow { "synflow1" } else { c.name() };
        let ctx = ScoreContext::new(&model, &calib, cpu.clone(), opts.clone(), &yes).unwrap();
        let on_cpu = c.score(&ctx).await.unwrap();
        let ctx = ScoreContext::new(&model, &calib, gpu.clone(), opts, &yes).unwrap();
        let on_gpu = c.score(&ctx).await.unwrap();
        let ref_mask: TensorMap<u8> = names
            .iter()
            .map(|n| match &reference.tensors[&format!("mask@{q}.{key}.{n}")].values {
                Values::U8(v) => (n.clone(), v.clone()),
                _ => panic!("reference masks are u8"),
            })
            .collect();
        let m_cpu = make_masks(&on_cpu, &names, q, Scope::Global).unwrap();
        let m_gpu = make_masks(&on_gpu, &names, q, Scope::Global).unwrap();
        let min = if c.name() == "grasp" { 0.95 } else { 0.99 };
        let (j_ref, j_gpu) = (iou(&m_cpu, &ref_mask), iou(&m_cpu, &m_gpu));
        let rho = spearman(&flat(&on_cpu, &names), &flat(&on_gpu, &names));
        web_sys::console::log_1(&format!("{}: IoU(cpu, reference) {j_ref:.4}, IoU(cpu, webgpu) {j_gpu:.4}, Spearman {rho:.6}", c.name()).into());
        assert!(j_ref >= min, "{}: wasm CPU vs reference IoU {j_ref}", c.name());
        assert!(j_gpu >= min, "{}: WebGPU vs CPU IoU {j_gpu}", c.name());
        assert!(rho >= 0.999, "{}: WebGPU vs CPU Spearman {rho}", c.name());
    }
}
