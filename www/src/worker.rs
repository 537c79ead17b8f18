//! The worker: owns the compute device, the model and the loaded sets, and runs the criteria
//! off the main thread. Cancel = the page terminates this worker and starts a new one.

use crate::protocol::{FinetuneRequest, FinetuneResult, FinetuneSettings, MethodResult, ModelCard, Request, Response, RunRequest, SweepPoint, SweepRequest};
use burn::prelude::Device;
use foresight::analysis::{analyze, apply_masks};
use foresight::backend::{device_async, Backend};
use foresight::criteria::{by_name, Progress, ScoreContext, ScoreOptions};
use foresight::export::score_file;
use foresight::data::{check_fits, Manifest, Normalization, Split};
use foresight::drift::drift;
use foresight::finetune::{finetune, probe_accuracy, split_accuracy, FinetuneConfig};
use foresight::mask::{make_masks, Scope, TensorMap};
use foresight::{invalid, Result, Vit};
use serde_bytes::ByteBuf;
use std::cell::RefCell;
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

struct LoadedSet {
    manifest: Manifest,
    train: Split,
    test: Split,
}

#[derive(Default)]
struct State {
    device: Option<Device>,
    model: Option<Vit>,
    sets: BTreeMap<String, LoadedSet>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(r: &Response) {
    match serde_wasm_bindgen::to_value(r) {
        Ok(v) => {
            let _ = scope().post_message(&v);
        }
        Err(e) => web_sys::console::error_1(&format!("cannot encode a worker message: {e}").into()),
    }
}

fn now() -> f64 {
    js_sys::Date::now() / 1000.0
}

/// Entry point of the worker script.
#[wasm_bindgen]
pub fn start_worker() {
    std::panic::set_hook(Box::new(|info| {
        post(&Response::Panicked { message: format!("the worker stopped on an internal error: {info}") });
    }));
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(|e: MessageEvent| {
        match serde_wasm_bindgen::from_value::<Request>(e.data()) {
            Ok(req) => wasm_bindgen_futures::spawn_local(async move {
                if let Err(err) = handle(req).await {
                    post(&Response::Error { message: format!("{err}") });
                }
            }),
            Err(err) => post(&Response::Error { message: format!("the worker got a malformed request: {err}") }),
        }
    });
    scope().set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
}

async fn handle(req: Request) -> Result<()> {
    match req {
        Request::Init { webgpu } => {
            let (device, backend, note) = if webgpu {
                match device_async(Backend::Wgpu).await {
                    Ok(d) => (d, "webgpu", None),
                    Err(e) => (device_async(Backend::Cpu).await?, "cpu", Some(format!("WebGPU unavailable: {e}"))),
                }
            } else {
                (device_async(Backend::Cpu).await?, "cpu", Some("CPU backend chosen".to_string()))
            };
            STATE.with(|s| s.borrow_mut().device = Some(device));
            post(&Response::Ready { backend: backend.into(), note });
        }
        Request::LoadModel { bytes } => {
            let model = Vit::from_bytes(&bytes, "the model", None)?;
            Normalization::from_model(&model)?;
            let c = &model.config;
            let card = ModelCard {
                params: c.num_params(),
                depth: c.depth,
                width: c.embed_dim,
                heads: c.num_heads,
                patch: c.patch_size,
                image: c.img_size,
                training: model.metadata.get("foresight.training").cloned().unwrap_or_default(),
                matrices: c
                    .prunable(false)
                    .into_iter()
                    .map(|n| {
                        let s = &model.params[&n].shape;
                        (n, s[0], s[1..].iter().product())
                    })
                    .collect(),
            };
            STATE.with(|s| s.borrow_mut().model = Some(model));
            post(&Response::ModelLoaded { card });
        }
        Request::LoadSet { name, manifest, train, test } => {
            let manifest = Manifest::parse(&manifest, &format!("{name}/manifest.json"))?;
            let train = Split::from_bytes(&manifest, "train", &train, &format!("{name}/train.safetensors"))?;
            let test = Split::from_bytes(&manifest, "test", &test, &format!("{name}/test.safetensors"))?;
            STATE.with(|s| s.borrow_mut().sets.insert(name.clone(), LoadedSet { manifest, train, test }));
            post(&Response::SetLoaded { name });
        }
        Request::Run(r) => run(r).await?,
        Request::Finetune(r) => finetune_jobs(r).await?,
        Request::Sweep(r) => sweep(r).await?,
        Request::Panic => panic!("a panic on purpose (the page was opened with ?panic-on-run)"),
    }
    Ok(())
}

fn progress(criterion: &str, step: &str, done: usize, total: usize) {
    post(&Response::Progress { criterion: criterion.into(), step: step.into(), done, total });
}

/// What every task starts from: the device, the run's model (new head), the data and the
/// calibration batch.
struct Prepared {
    device: Device,
    model: Vit,
    norm: Normalization,
    classes: usize,
    train: Split,
    test: Split,
    calib: foresight::Calibration,
    probe_train: Split,
    probe_test: Split,
    names: Vec<String>,
    total: usize,
    scope: Scope,
}

/// The device, the loaded model (with a new `classes`-way head when `new_head` is `Some(seed)`)
/// and a set's splits.
fn loaded(set: &str, new_head: Option<u64>) -> Result<(Device, Vit, Normalization, usize, Split, Split)> {
    let (device, model, data) = STATE.with(|s| {
        let s = s.borrow();
        let data = s.sets.get(set).map(|l| (l.manifest.clone(), l.train.clone(), l.test.clone()));
        (s.device.clone(), s.model.clone(), data)
    });
    let device = device.ok_or_else(|| invalid!("no compute backend is ready yet"))?;
    let model = model.ok_or_else(|| invalid!("the model is not loaded yet"))?;
    let (manifest, train, test) = data.ok_or_else(|| invalid!("data set `{set}` is not loaded"))?;
    check_fits(&manifest, &model)?;
    let classes = manifest.classes.len();
    let norm = Normalization::from_model(&model)?;
    let model = match new_head {
        Some(seed) => model.with_new_head(classes, seed)?,
        None => model,
    };
    Ok((device, model, norm, classes, train, test))
}

fn prepare(r: &RunRequest) -> Result<Prepared> {
    let (device, model, norm, classes, train, test) = loaded(&r.set, Some(r.seed))?;
    // Calibration: chosen train images plus the user's uploads.
    if let Some(i) = r.calib.iter().find(|&&i| i >= train.len()) {
        return Err(invalid!("image {i} is not in the training split"));
    }
    let mut calib_split = train.subset(&r.calib);
    let per = train.image.iter().product::<usize>();
    for u in &r.uploads {
        if u.pixels.len() != per || u.label >= classes {
            return Err(invalid!("an uploaded image does not fit the model's input or has no valid class"));
        }
        calib_split.images.extend_from_slice(&u.pixels);
        calib_split.labels.push(u.label as u8);
    }
    if calib_split.is_empty() {
        return Err(invalid!("no calibration images: select some (or drop your own) first"));
    }
    let all: Vec<usize> = (0..calib_split.len()).collect();
    let calib = calib_split.batch(&all, &norm, classes)?;
    let probe_train = train.subset(&train.k_per_class(r.probe_per_class, classes, 1234));
    let probe_test = test.balanced(r.probe_test.max(1));
    let names = model.config.prunable(false);
    let total: usize = names.iter().map(|n| model.params[n].data.len()).sum();
    let scope: Scope = r.scope.parse()?;
    Ok(Prepared { device, model, norm, classes, train, test, calib, probe_train, probe_test, names, total, scope })
}

/// The worker's WebAssembly memory in bytes.
fn wasm_memory() -> f64 {
    wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64
}

fn done(t0: f64) {
    post(&Response::Done { seconds: now() - t0, wasm_memory: wasm_memory() });
}

/// The engine's options for a run's settings at `sparsity`.
fn score_options(r: &RunRequest, scope: Scope, sparsity: f64) -> ScoreOptions {
    ScoreOptions { alpha: r.alpha, sparsity: Some(sparsity), scope, synflow_rounds: r.synflow_rounds, ..Default::default() }
}

/// Scores `name` on the prepared batch and returns (scores, masks, seconds).
async fn score_one(p: &Prepared, name: &str, r: &RunRequest, sparsity: f64) -> Result<(foresight::criteria::Scores, TensorMap<u8>, f64)> {
    let crit = by_name(name)?;
    let t0 = now();
    let report = |pr: &Progress| {
        progress(pr.criterion, pr.step, pr.done, pr.total);
        true
    };
    let ctx = ScoreContext::new(&p.model, &p.calib, p.device.clone(), score_options(r, p.scope, sparsity), &report)?;
    let scores = crit.score(&ctx).await?;
    let masks = make_masks(&scores, &p.names, sparsity, p.scope)?;
    Ok((scores, masks, now() - t0))
}

fn kept_of(masks: &TensorMap<u8>) -> usize {
    masks.values().flatten().filter(|&&k| k == 1).count()
}

async fn run(r: RunRequest) -> Result<()> {
    let t_all = now();
    let p = prepare(&r)?;
    post(&Response::RunInputs {
        model: ByteBuf::from(p.model.to_file()?.to_bytes(false)?),
        calib: ByteBuf::from(p.calib.to_file().to_bytes(false)?),
    });

    // The dense model first.
    let t0 = now();
    progress("dense", "features", 0, 1);
    let blocks = analyze(&p.model, &p.calib, &p.device, 32, &mut |_, _| true).await?;
    progress("dense", "probe", 0, 1);
    let acc = probe_accuracy(&p.model, &p.probe_train, &p.probe_test, &p.norm, p.classes, &p.device).await?;
    post(&Response::Method(MethodResult {
        method: "dense".into(),
        sparsity: 0.0,
        seconds: now() - t0,
        kept: p.total,
        total: p.total,
        density: p.names.iter().map(|n| (n.clone(), 1.0)).collect(),
        blocks,
        probe_accuracy: acc,
        masks: vec![],
        score_file: ByteBuf::new(),
    }));

    for name in &r.criteria {
        let (scores, masks, seconds) = score_one(&p, name, &r, r.sparsity).await?;
        let score_file = score_file(&p.model, &p.names, &scores, Some(&masks), name, &score_options(&r, p.scope, r.sparsity))?.to_bytes(false)?;
        let pruned = apply_masks(&p.model, &masks)?;
        progress(name, "features", 0, 1);
        let blocks = analyze(&pruned, &p.calib, &p.device, 32, &mut |_, _| true).await?;
        progress(name, "probe", 0, 1);
        let acc = probe_accuracy(&pruned, &p.probe_train, &p.probe_test, &p.norm, p.classes, &p.device).await?;
        let density = masks
            .iter()
            .map(|(n, m)| (n.clone(), m.iter().filter(|&&k| k == 1).count() as f64 / m.len() as f64))
            .collect();
        post(&Response::Method(MethodResult {
            method: name.clone(),
            sparsity: r.sparsity,
            seconds,
            kept: kept_of(&masks),
            total: p.total,
            density,
            blocks,
            probe_accuracy: acc,
            masks: masks.into_iter().map(|(n, m)| (n, ByteBuf::from(m))).collect(),
            score_file: ByteBuf::from(score_file),
        }));
    }
    done(t_all);
    Ok(())
}

fn finetune_config(s: &FinetuneSettings) -> FinetuneConfig {
    FinetuneConfig { steps: s.steps, batch: s.batch, lr: s.lr, seed: s.seed, ..Default::default() }
}

/// What a masked fine-tune of `model` gives: the tuned model, its held-out accuracy, the losses.
struct Tuned {
    model: Vit,
    accuracy: f64,
    losses: Vec<f64>,
    seconds: f64,
}

/// Fine-tunes `model` under `masks` (posting each step's loss as `method`), then measures the
/// held-out accuracy on `test`.
async fn tune(
    method: &str,
    model: &Vit,
    masks: Option<&TensorMap<u8>>,
    train: &Split,
    test: &Split,
    norm: &Normalization,
    device: &Device,
    s: &FinetuneSettings,
) -> Result<Tuned> {
    let t0 = now();
    let mut losses = Vec::with_capacity(s.steps);
    let mut on_step = |step: usize, loss: f64| {
        losses.push(loss);
        post(&Response::FinetuneStep { method: method.into(), step, steps: s.steps, loss });
        true
    };
    let tuned = finetune(model, masks, train, norm, device, &finetune_config(s), &mut on_step).await?;
    let seconds = now() - t0;
    progress(method, "test accuracy", 0, 1);
    let accuracy = split_accuracy(&tuned, test, norm, device).await?;
    Ok(Tuned { model: tuned, accuracy, losses, seconds })
}

/// What the page shows and offers of a fine-tune `t` of `model`: the drift of the kept weights,
/// a check that the pruned ones stayed zero, and the tuned model as a file.
fn finetune_result(method: &str, model: &Vit, masks: Option<&TensorMap<u8>>, s: &FinetuneSettings, test_images: usize, t: Tuned) -> Result<FinetuneResult> {
    let names = model.config.prunable(false);
    let drift = drift(model, &t.model, &names, masks, 160)?;
    let pruned_nonzero = masks.map_or(0, |ms| {
        ms.iter().map(|(n, m)| t.model.params[n].data.iter().zip(m).filter(|(x, k)| **k == 0 && **x != 0.0).count()).sum()
    });
    Ok(FinetuneResult {
        method: method.into(),
        steps: s.steps,
        seconds: t.seconds,
        steps_per_second: s.steps as f64 / t.seconds.max(1e-9),
        accuracy: t.accuracy,
        test_images,
        pruned_nonzero,
        losses: t.losses,
        drift,
        model: ByteBuf::from(t.model.to_file()?.to_bytes(false)?),
    })
}

async fn finetune_jobs(r: FinetuneRequest) -> Result<()> {
    let t_all = now();
    let (device, _, norm, classes, train, test) = loaded(&r.set, None)?;
    let model = Vit::from_bytes(&r.model, "the run's model", None)?;
    if model.config.num_classes != classes {
        return Err(invalid!("the run's model has {} classes, set `{}` {classes}: run again", model.config.num_classes, r.set));
    }
    if r.settings.steps == 0 || r.settings.batch == 0 || !(r.settings.lr > 0.0 && r.settings.lr.is_finite()) {
        return Err(invalid!("fine-tuning needs at least one step, a batch of at least one image and a positive learning rate"));
    }
    let test = test.balanced(r.settings.test_images);
    for job in &r.jobs {
        let masks: Option<TensorMap<u8>> = (!job.masks.is_empty()).then(|| job.masks.iter().map(|(n, m)| (n.clone(), m.to_vec())).collect());
        let t = tune(&job.method, &model, masks.as_ref(), &train, &test, &norm, &device, &r.settings).await?;
        post(&Response::Finetuned(finetune_result(&job.method, &model, masks.as_ref(), &r.settings, test.len(), t)?));
    }
    done(t_all);
    Ok(())
}

async fn sweep(r: SweepRequest) -> Result<()> {
    let t_all = now();
    for q in &r.sparsities {
        foresight::mask::check_sparsity(*q)?;
    }
    let p = prepare(&r.run)?;
    let test = r.finetune.as_ref().map(|s| p.test.balanced(s.test_images));
    let point = async |method: &str, q: f64, masks: Option<&TensorMap<u8>>| -> Result<SweepPoint> {
        let pruned = match masks {
            Some(m) => apply_masks(&p.model, m)?,
            None => p.model.clone(),
        };
        progress(method, &format!("probe at {:.0} %", q * 100.0), 0, 1);
        let probe_accuracy = probe_accuracy(&pruned, &p.probe_train, &p.probe_test, &p.norm, p.classes, &p.device).await?;
        let finetune_accuracy = match (&r.finetune, &test) {
            (Some(s), Some(test)) => Some(tune(method, &p.model, masks, &p.train, test, &p.norm, &p.device, s).await?.accuracy),
            _ => None,
        };
        Ok(SweepPoint { method: method.into(), sparsity: q, kept: masks.map_or(p.total, kept_of), probe_accuracy, finetune_accuracy })
    };
    post(&Response::SweepPoint(point("dense", 0.0, None).await?));
    for name in &r.run.criteria {
        // Only SynFlow's scores depend on the target sparsity: score the others once.
        let mut cached: Option<foresight::criteria::Scores> = None;
        for &q in &r.sparsities {
            let masks = match &cached {
                Some(s) => make_masks(s, &p.names, q, p.scope)?,
                None => {
                    let (scores, masks, _) = score_one(&p, name, &r.run, q).await?;
                    if name != "synflow" {
                        cached = Some(scores);
                    }
                    masks
                }
            };
            post(&Response::SweepPoint(point(name, q, Some(&masks)).await?));
        }
    }
    done(t_all);
    Ok(())
}
