//! `foresight score` in the page's module, for the end-to-end test: tests/e2e/cli-score.mjs runs
//! [`cli_score`] under Node with the command's arguments, so that the page's scores are compared
//! bit for bit with the command's code (`foresight::score::score`) built for the same instruction
//! set (wasm, one thread, no FMA) in the same build. The native command agrees only to rounding.
//! The page itself never calls this.

use foresight::backend::{device, Backend};
use foresight::criteria::ScoreOptions;
use foresight::mask::Scope;
use foresight::tensorfile::TensorFile;
use foresight::{Calibration, Vit};
use wasm_bindgen::prelude::*;

/// `foresight score --model M --calib C --criterion … --out F` on the CPU backend, with the files'
/// bytes in and the output file's bytes out; `None` takes the command's default.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub async fn cli_score(
    model: Vec<u8>,
    calib: Vec<u8>,
    criterion: String,
    sparsity: Option<f64>,
    scope: Option<String>,
    alpha: Option<f64>,
    synflow_rounds: Option<usize>,
    seed: Option<u32>,
) -> Result<Vec<u8>, JsError> {
    let run = async {
        let d = ScoreOptions::default();
        let scope: Scope = scope.as_deref().unwrap_or("global").parse()?;
        let options = ScoreOptions {
            alpha: alpha.unwrap_or(d.alpha),
            sparsity,
            scope,
            synflow_rounds: synflow_rounds.unwrap_or(d.synflow_rounds),
            ..d
        };
        let model = Vit::from_bytes(&model, "the model", None)?;
        let calib = Calibration::from_file(TensorFile::parse(&calib, "the calibration batch")?, "the calibration batch")?;
        let quiet = |_: &foresight::criteria::Progress| true;
        let scored = foresight::score::score(model, &calib, device(Backend::Cpu)?, &criterion, u64::from(seed.unwrap_or(0)), options, &quiet).await?;
        scored.file.to_bytes(false)
    };
    run.await.map_err(|e: foresight::Error| JsError::new(&e.to_string()))
}
