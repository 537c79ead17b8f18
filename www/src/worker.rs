//! The worker: owns the compute device, the model and the loaded sets, and runs the criteria
//! off the main thread. Cancel = the page terminates this worker and starts a new one.

use crate::protocol::{MethodResult, ModelCard, Request, Response, RunRequest};
use burn::prelude::Device;
use foresight::analysis::{analyze, apply_masks};
use foresight::backend::{device_async, Backend};
use foresight::criteria::{by_name, Progress, ScoreContext, ScoreOptions};
use foresight::export::score_file;
use foresight::data::{check_fits, Manifest, Normalization, Split};
use foresight::finetune::probe_accuracy;
use foresight::mask::{make_masks, Scope};
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
        post(&Response::Error { message: format!("the worker stopped on an internal error: {info}") });
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
    }
    Ok(())
}

fn progress(criterion: &str, step: &str, done: usize, total: usize) {
    post(&Response::Progress { criterion: criterion.into(), step: step.into(), done, total });
}

async fn run(r: RunRequest) -> Result<()> {
    let t_all = now();
    let (device, model, set) = STATE.with(|s| {
        let s = s.borrow();
        let set = s.sets.get(&r.set).map(|l| (l.manifest.clone(), l.train.clone(), l.test.clone()));
        (s.device.clone(), s.model.clone(), set)
    });
    let device = device.ok_or_else(|| invalid!("no compute backend is ready yet"))?;
    let model = model.ok_or_else(|| invalid!("the model is not loaded yet"))?;
    let (manifest, train, test) = set.ok_or_else(|| invalid!("data set `{}` is not loaded", r.set))?;
    check_fits(&manifest, &model)?;
    let classes = manifest.classes.len();
    let norm = Normalization::from_model(&model)?;
    let model = model.with_new_head(classes, r.seed)?;
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
    let all: Vec<usize> = (0..calib_split.len()).collect();
    let calib = calib_split.batch(&all, &norm, classes)?;
    post(&Response::RunInputs {
        model: ByteBuf::from(model.to_file()?.to_bytes(false)?),
        calib: ByteBuf::from(calib.to_file().to_bytes(false)?),
    });
    let probe_train = train.subset(&train.k_per_class(r.probe_per_class, classes, 1234));
    let probe_test = test.subset(&(0..r.probe_test.min(test.len())).collect::<Vec<_>>());
    let names = model.config.prunable(false);
    let total: usize = names.iter().map(|n| model.params[n].data.len()).sum();
    let scope: Scope = r.scope.parse()?;

    // The dense model first.
    let t0 = now();
    progress("dense", "features", 0, 1);
    let blocks = analyze(&model, &calib, &device, 32, &mut |_, _| true).await?;
    progress("dense", "probe", 0, 1);
    let acc = probe_accuracy(&model, &probe_train, &probe_test, &norm, classes, &device).await?;
    post(&Response::Method(MethodResult {
        method: "dense".into(),
        seconds: now() - t0,
        kept: total,
        total,
        density: names.iter().map(|n| (n.clone(), 1.0)).collect(),
        blocks,
        probe_accuracy: acc,
        masks: vec![],
        score_file: ByteBuf::new(),
    }));

    for name in &r.criteria {
        let crit = by_name(name)?;
        let t0 = now();
        let report = |p: &Progress| {
            progress(p.criterion, p.step, p.done, p.total);
            true
        };
        let options = ScoreOptions { alpha: r.alpha, sparsity: Some(r.sparsity), scope, synflow_rounds: r.synflow_rounds, ..Default::default() };
        let ctx = ScoreContext::new(&model, &calib, device.clone(), options.clone(), &report)?;
        let scores = crit.score(&ctx).await?;
        let masks = make_masks(&scores, &names, r.sparsity, scope)?;
        let seconds = now() - t0;
        let score_file = score_file(&model, &names, &scores, Some(&masks), name, &options)?.to_bytes(false)?;
        let pruned = apply_masks(&model, &masks)?;
        progress(name, "features", 0, 1);
        let blocks = analyze(&pruned, &calib, &device, 32, &mut |_, _| true).await?;
        progress(name, "probe", 0, 1);
        let acc = probe_accuracy(&pruned, &probe_train, &probe_test, &norm, classes, &device).await?;
        let density = masks
            .iter()
            .map(|(n, m)| (n.clone(), m.iter().filter(|&&k| k == 1).count() as f64 / m.len() as f64))
            .collect();
        let kept = masks.values().flatten().filter(|&&k| k == 1).count();
        post(&Response::Method(MethodResult {
            method: name.clone(),
            seconds,
            kept,
            total,
            density,
            blocks,
            probe_accuracy: acc,
            masks: masks.into_iter().map(|(n, m)| (n, ByteBuf::from(m))).collect(),
            score_file: ByteBuf::from(score_file),
        }));
    }
    post(&Response::Done { seconds: now() - t_all });
    Ok(())
}

