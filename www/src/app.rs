//! The page's state and view. Heavy work goes to the worker; this file only fetches, keeps
//! choices and draws results.

use crate::charts::{colour, heat, LineChart, Series};
use crate::images::{bmp_data_url, decode_upload};
use crate::protocol::{FinetuneResult, MethodResult, ModelCard, Request, Response, RunRequest, SweepPoint, Upload};
use foresight::config::MatrixKind;
use foresight::data::{Manifest, Split};
use serde_bytes::ByteBuf;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlCanvasElement, HtmlInputElement, HtmlSelectElement, MessageEvent, Worker};
use number_input::NumberInput;
use yew::html::Scope;
use yew::prelude::*;

const MODEL_URL: &str = "static/models/vit-fmnist.safetensors";
const SETS: [(&str, &str); 3] = [("mnist", "MNIST digits"), ("animal-mnist", "Animal-MNIST"), ("hiragana", "Hiragana")];
/// The engine's criteria, in registry order (names, titles and ideas come from there).
fn criteria_info() -> Vec<foresight::criteria::Info> {
    foresight::criteria::registry().iter().map(|c| c.info()).collect()
}

struct SetData {
    manifest: Manifest,
    train: Split,
    raw: (String, Rc<Vec<u8>>, Rc<Vec<u8>>),
}

struct UploadItem {
    name: String,
    pixels: Vec<u8>,
    label: usize,
    url: String,
}

pub enum Msg {
    FromWorker(JsValue),
    WorkerFailed(String),
    Progress(String, f64, f64),
    ModelFetched(Result<Vec<u8>, String>),
    SetFetched(String, Result<(String, Vec<u8>, Vec<u8>), String>),
    SelectSet(String),
    ToggleImage(usize),
    PickPerClass,
    ClearSelection,
    MoreThumbs,
    Files(Vec<web_sys::File>),
    Uploaded(String, Result<Vec<u8>, String>),
    UploadLabel(usize, usize),
    RemoveUpload(usize),
    ToggleCriterion(String),
    Sparsity(f64),
    Scope(String),
    Alpha(f64),
    SynflowRounds(usize),
    Seed(u64),
    PerClass(usize),
    Run,
    Cancel,
    UseCpu(bool),
    HeatMethod(String),
    HeatTensor(String),
    Tick,
    FtSteps(usize),
    FtBatch(usize),
    FtLr(f64),
    FtDense(bool),
    TestImages(usize),
    ProbePerClass(usize),
    ProbeTest(usize),
    Finetune,
    Sweep,
    SweepFinetune(bool),
    DriftMethod(String),
    /// What to download (see `App::export`).
    Export(String),
    /// (chart id, PNG rather than SVG).
    ExportChart(String, bool),
    ExportFailed(String),
    CopyLink,
}

/// What the worker is busy with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Task {
    Run,
    Finetune,
    Sweep,
}

pub struct App {
    worker: Option<(Worker, Closure<dyn FnMut(MessageEvent)>, Closure<dyn FnMut(web_sys::ErrorEvent)>)>,
    backend: Option<String>,
    backend_note: Option<String>,
    force_cpu: bool,
    /// Fault injection for the tests, consumed by the first worker: `?panic-on-run` (worker.js).
    panic_on_run: bool,
    model: Option<Rc<Vec<u8>>>,
    card: Option<ModelCard>,
    loading: Option<(String, f64, f64)>,
    set: String,
    sets: BTreeMap<String, SetData>,
    worker_sets: BTreeSet<String>,
    thumbs_per_class: usize,
    thumb_cache: RefCell<HashMap<(String, usize), String>>,
    selected: BTreeSet<usize>,
    uploads: Vec<UploadItem>,
    criteria: BTreeSet<String>,
    sparsity: f64,
    scope: String,
    alpha: f64,
    synflow_rounds: usize,
    seed: u64,
    per_class: usize,
    running: bool,
    task: Task,
    run_started: f64,
    ft_steps: usize,
    ft_batch: usize,
    ft_lr: f64,
    ft_dense: bool,
    /// Test images for fine-tuned accuracy (0 = all).
    test_images: usize,
    probe_per_class: usize,
    probe_test: usize,
    /// Fine-tuned models by method; `ft_prev` holds the previous ones while a fine-tune runs
    /// (restored on cancel or error), `ft_live` the losses as they come.
    finetuned: BTreeMap<String, FinetuneResult>,
    ft_prev: Option<BTreeMap<String, FinetuneResult>>,
    ft_live: BTreeMap<String, Vec<f64>>,
    sweep: Vec<SweepPoint>,
    sweep_prev: Option<Vec<SweepPoint>>,
    sweep_finetune: bool,
    drift_method: String,
    drift_ref: NodeRef,
    /// Selected train image ids from a shared link, applied once the set has loaded.
    pending_selection: Option<Vec<usize>>,
    /// The hash is written back only after a shared setup has been applied.
    share_ready: bool,
    /// Largest worker memory seen (bytes).
    wasm_memory: f64,
    /// Seconds from navigation start to model-ready.
    ready_after: Option<f64>,
    bench: Option<share::Bench>,
    progress: BTreeMap<String, (String, usize, usize)>,
    results: Vec<MethodResult>,
    /// The last run's model (with its new head) and calibration batch, as safetensors files.
    run_inputs: Option<(Vec<u8>, Vec<u8>)>,
    total_seconds: Option<f64>,
    message: Option<String>,
    heat_method: String,
    heat_tensor: String,
    heat_ref: NodeRef,
    _ticker: Option<gloo_timer::Interval>,
}

mod gloo_timer {
    //! A tiny interval timer (setInterval) that clears itself on drop.
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    pub struct Interval {
        id: i32,
        _callback: Closure<dyn FnMut()>,
    }
    impl Interval {
        pub fn new(ms: i32, f: impl FnMut() + 'static) -> Option<Self> {
            let c = Closure::<dyn FnMut()>::new(f);
            let id = web_sys::window()?.set_interval_with_callback_and_timeout_and_arguments_0(c.as_ref().unchecked_ref(), ms).ok()?;
            Some(Interval { id, _callback: c })
        }
    }
    impl Drop for Interval {
        fn drop(&mut self) {
            if let Some(w) = web_sys::window() {
                w.clear_interval_with_handle(self.id);
            }
        }
    }
}

fn now() -> f64 {
    js_sys::Date::now() / 1000.0
}

fn url_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    search.trim_start_matches('?').split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| v.to_string())
    })
}

/// Fetches a same-origin file, reporting (loaded, total) bytes.
async fn fetch_bytes(url: &str, link: &Scope<App>) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str(url)).await.map_err(|_| format!("cannot fetch {url}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| format!("{url}: not a response"))?;
    if !resp.ok() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    let total: f64 = resp.headers().get("content-length").ok().flatten().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let body = resp.body().ok_or(format!("{url}: empty body"))?;
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut buf = Vec::new();
    loop {
        let r = JsFuture::from(reader.read()).await.map_err(|_| format!("{url}: the download failed"))?;
        if js_sys::Reflect::get(&r, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true) {
            break;
        }
        let chunk: js_sys::Uint8Array = js_sys::Reflect::get(&r, &"value".into()).map_err(|_| "bad chunk")?.unchecked_into();
        buf.extend(chunk.to_vec());
        link.send_message(Msg::Progress(url.to_string(), buf.len() as f64, total));
    }
    Ok(buf)
}

impl App {
    fn post(&self, req: &Request) {
        if let Some((w, _, _)) = &self.worker {
            match serde_wasm_bindgen::to_value(req) {
                Ok(v) => {
                    let _ = w.post_message(&v);
                }
                Err(e) => web_sys::console::error_1(&format!("cannot encode a request: {e}").into()),
            }
        }
    }

    /// (Re)starts the worker and hands it the model and every loaded set.
    fn start_worker(&mut self, ctx: &Context<Self>) {
        if let Some((w, _, _)) = self.worker.take() {
            w.terminate();
        }
        self.backend = None;
        self.worker_sets.clear();
        let opts = web_sys::WorkerOptions::new();
        opts.set_type(web_sys::WorkerType::Module);
        // Fault injection for the tests (see worker.js): `?lose-gpu-after=MS`, and `?panic-on-run`
        // for the first worker only (the restarted one must work).
        let script = match url_param("lose-gpu-after") {
            Some(ms) if ms.parse::<u32>().is_ok() => format!("./worker.js?lose-gpu-after={ms}"),
            _ if std::mem::take(&mut self.panic_on_run) => "./worker.js?panic-on-run=1".to_string(),
            _ => "./worker.js".to_string(),
        };
        let worker = match Worker::new_with_options(&script, &opts) {
            Ok(w) => w,
            Err(_) => {
                self.message = Some("This browser cannot start a web worker; the page cannot compute.".into());
                return;
            }
        };
        let link = ctx.link().clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| link.send_message(Msg::FromWorker(e.data())));
        let link = ctx.link().clone();
        let onerror = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
            e.prevent_default();
            link.send_message(Msg::WorkerFailed(e.message()))
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        self.worker = Some((worker, onmessage, onerror));
        let webgpu = !self.force_cpu && has_webgpu();
        if !self.force_cpu && !webgpu {
            self.backend_note = Some("this browser offers no WebGPU".into());
        }
        self.post(&Request::Init { webgpu });
        if let Some(m) = &self.model {
            self.post(&Request::LoadModel { bytes: ByteBuf::from(m.to_vec()) });
        }
        let raws: Vec<(String, (String, Rc<Vec<u8>>, Rc<Vec<u8>>))> = self.sets.iter().map(|(k, s)| (k.clone(), s.raw.clone())).collect();
        for (name, (manifest, train, test)) in raws {
            self.post(&Request::LoadSet { name: name.clone(), manifest, train: ByteBuf::from(train.to_vec()), test: ByteBuf::from(test.to_vec()) });
            self.worker_sets.insert(name);
        }
    }

    fn load_set(&mut self, ctx: &Context<Self>, name: String) {
        if self.sets.contains_key(&name) {
            return;
        }
        let link = ctx.link().clone();
        ctx.link().send_future(async move {
            let base = format!("static/data/{name}");
            let r = async {
                let m = fetch_bytes(&format!("{base}/manifest.json"), &link).await?;
                let m = String::from_utf8(m).map_err(|_| format!("{base}/manifest.json is not text"))?;
                let train = fetch_bytes(&format!("{base}/train.safetensors"), &link).await?;
                let test = fetch_bytes(&format!("{base}/test.safetensors"), &link).await?;
                Ok((m, train, test))
            }
            .await;
            Msg::SetFetched(name, r)
        });
    }

    fn ready(&self) -> bool {
        self.backend.is_some() && self.card.is_some() && self.worker_sets.contains(&self.set) && self.sets.contains_key(&self.set)
    }

    fn thumb(&self, set: &SetData, i: usize) -> String {
        let key = (set.manifest.name.clone(), i);
        if let Some(u) = self.thumb_cache.borrow().get(&key) {
            return u.clone();
        }
        let [_, h, w] = set.manifest.image;
        let u = bmp_data_url(set.train.pixels(i), w, h);
        self.thumb_cache.borrow_mut().insert(key, u.clone());
        u
    }
}

fn has_webgpu() -> bool {
    web_sys::window()
        .map(|w| js_sys::Reflect::has(&w.navigator(), &"gpu".into()).unwrap_or(false))
        .unwrap_or(false)
}

impl App {
    /// `Component::update`'s work: applies one message; whether to render.
    fn handle(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Progress(label, done, total) => self.loading = Some((label, done, total)),
            Msg::ModelFetched(Ok(bytes)) => {
                self.model = Some(Rc::new(bytes));
                self.post(&Request::LoadModel { bytes: ByteBuf::from(self.model.as_ref().map(|m| m.to_vec()).unwrap_or_default()) });
            }
            Msg::ModelFetched(Err(e)) | Msg::SetFetched(_, Err(e)) => {
                self.loading = None;
                self.message = Some(e);
            }
            Msg::SetFetched(name, Ok((manifest_text, train, test))) => {
                self.loading = None;
                let parsed = Manifest::parse(&manifest_text, &format!("{name}/manifest.json")).map_err(|e| e.to_string()).and_then(|m| {
                    Split::from_bytes(&m, "train", &train, &format!("{name}/train.safetensors")).map(|t| (m, t)).map_err(|e| e.to_string())
                });
                match parsed {
                    Ok((manifest, split)) => {
                        let train = Rc::new(train);
                        let test = Rc::new(test);
                        self.post(&Request::LoadSet { name: name.clone(), manifest: manifest_text.clone(), train: ByteBuf::from(train.to_vec()), test: ByteBuf::from(test.to_vec()) });
                        self.worker_sets.insert(name.clone());
                        let classes = manifest.classes.len();
                        if name == self.set {
                            self.apply_pending_selection(split.len());
                        }
                        if name == self.set && self.selected.is_empty() {
                            self.selected = split.k_per_class(self.per_class, classes, self.seed).into_iter().collect();
                        }
                        if name == self.set {
                            self.share_ready = true;
                        }
                        self.sets.insert(name, SetData { manifest, train: split, raw: (manifest_text, train, test) });
                    }
                    Err(e) => self.message = Some(e),
                }
            }
            Msg::FromWorker(v) => match serde_wasm_bindgen::from_value::<Response>(v) {
                Ok(Response::Ready { backend, note }) => {
                    self.backend = Some(backend);
                    if note.is_some() {
                        self.backend_note = note;
                    }
                }
                Ok(Response::ModelLoaded { card }) => {
                    self.card = Some(card);
                    if self.loading.as_ref().is_some_and(|l| l.0.contains("models")) {
                        self.loading = None;
                    }
                }
                Ok(Response::SetLoaded { .. }) => {}
                Ok(Response::RunInputs { model, calib }) => self.run_inputs = Some((model.into_vec(), calib.into_vec())),
                Ok(Response::GpuLost { reason, message }) => {
                    // A lost device cannot be trusted again this session: go on on the CPU.
                    let was_running = self.running;
                    self.stop_task();
                    self.force_cpu = true;
                    self.message = Some(format!(
                        "The GPU device was lost ({reason}{}). {}Foresight switched to the CPU backend; earlier results are kept.",
                        if message.is_empty() { String::new() } else { format!(": {message}") },
                        if was_running { "The run stopped. " } else { "" }
                    ));
                    self.start_worker(ctx);
                }
                Ok(Response::Progress { criterion, step, done, total }) => {
                    self.progress.insert(criterion, (step, done, total));
                }
                Ok(Response::Method(r)) => {
                    if self.heat_method.is_empty() && r.method != "dense" {
                        self.heat_method = r.method.clone();
                    }
                    self.progress.insert(r.method.clone(), ("done".into(), 1, 1));
                    self.results.retain(|x| x.method != r.method);
                    self.results.push(r);
                }
                Ok(Response::FinetuneStep { method, step, steps, loss }) => {
                    self.progress.insert(method.clone(), ("fine-tune step".into(), step, steps));
                    // A sweep's fine-tunes only report their accuracy; the loss chart is the fine-tune's.
                    if self.task == Task::Finetune {
                        self.ft_live.entry(method).or_default().push(loss);
                    }
                }
                Ok(Response::Finetuned(r)) => {
                    self.progress.insert(r.method.clone(), ("done".into(), 1, 1));
                    if self.task == Task::Finetune {
                        if self.drift_method.is_empty() || !self.finetuned.contains_key(&self.drift_method) {
                            self.drift_method = r.method.clone();
                        }
                        self.finetuned.insert(r.method.clone(), r);
                    }
                }
                Ok(Response::SweepPoint(p)) => {
                    self.progress.insert(p.method.clone(), (format!("done {:.0} %", p.sparsity * 100.0), 1, 1));
                    self.sweep.push(p);
                }
                Ok(Response::Done { seconds, wasm_memory }) => {
                    self.running = false;
                    self.wasm_memory = self.wasm_memory.max(wasm_memory);
                    match self.task {
                        Task::Run => self.total_seconds = Some(seconds),
                        Task::Finetune => self.ft_prev = None,
                        Task::Sweep => self.sweep_prev = None,
                    }
                    self._ticker = None;
                    self.bench_step(ctx);
                }
                Ok(Response::Error { message }) => {
                    self.message = Some(message);
                    if self.running {
                        self.stop_task();
                        self._ticker = None;
                    }
                }
                Ok(Response::Panicked { message }) => {
                    // The worker may be unusable after a panic: start afresh.
                    self.message = Some(format!("{message}; the worker was restarted and earlier results kept."));
                    self.stop_task();
                    self._ticker = None;
                    self.start_worker(ctx);
                }
                Err(e) => self.message = Some(format!("unexpected message from the worker: {e}")),
            },
            Msg::WorkerFailed(e) => {
                self.message = Some(format!("The computation stopped ({e}); the worker was restarted and earlier results kept."));
                self.stop_task();
                self.start_worker(ctx);
            }
            Msg::SelectSet(name) => {
                if name != self.set {
                    self.set = name.clone();
                    self.selected.clear();
                    self.uploads.clear();
                    self.results.clear();
                    self.run_inputs = None;
                    self.finetuned.clear();
                    self.sweep.clear();
                    if let Some(s) = self.sets.get(&name) {
                        self.selected = s.train.k_per_class(self.per_class, s.manifest.classes.len(), self.seed).into_iter().collect();
                    }
                    self.load_set(ctx, name);
                }
            }
            Msg::ToggleImage(i) => {
                if !self.selected.remove(&i) {
                    self.selected.insert(i);
                }
            }
            Msg::PickPerClass => {
                if let Some(s) = self.sets.get(&self.set) {
                    self.selected = s.train.k_per_class(self.per_class, s.manifest.classes.len(), self.seed).into_iter().collect();
                }
            }
            Msg::ClearSelection => {
                self.selected.clear();
                self.uploads.clear();
            }
            Msg::MoreThumbs => self.thumbs_per_class *= 2,
            Msg::Files(files) => {
                for f in files {
                    let name = f.name();
                    ctx.link().send_future(async move {
                        let r = async {
                            let buf = JsFuture::from(f.array_buffer()).await.map_err(|_| "cannot read the file".to_string())?;
                            let bytes = js_sys::Uint8Array::new(&buf).to_vec();
                            decode_upload(&bytes, 28).await
                        }
                        .await;
                        Msg::Uploaded(name, r)
                    });
                }
            }
            Msg::Uploaded(name, Ok(pixels)) => {
                let url = bmp_data_url(&pixels, 28, 28);
                self.uploads.push(UploadItem { name, pixels, label: 0, url });
            }
            Msg::Uploaded(name, Err(e)) => self.message = Some(format!("{name}: {e}")),
            Msg::UploadLabel(i, l) => {
                if let Some(u) = self.uploads.get_mut(i) {
                    u.label = l;
                }
            }
            Msg::RemoveUpload(i) => {
                if i < self.uploads.len() {
                    self.uploads.remove(i);
                }
            }
            Msg::ToggleCriterion(c) => {
                if !self.criteria.remove(&c) {
                    self.criteria.insert(c);
                }
            }
            Msg::Sparsity(q) => self.sparsity = q,
            Msg::Scope(s) => self.scope = s,
            Msg::Alpha(a) => self.alpha = a,
            Msg::SynflowRounds(n) => self.synflow_rounds = n.clamp(1, 1000),
            Msg::Seed(s) => self.seed = s,
            Msg::PerClass(k) => self.per_class = k,
            Msg::Run => {
                self.message = None;
                let n = self.selected.len() + self.uploads.len();
                if n == 0 {
                    self.message = Some("Select at least one calibration image (or drop your own) before running.".into());
                    return true;
                }
                if !(self.sparsity > 0.0 && self.sparsity < 1.0) {
                    self.message = Some("Sparsity must lie strictly between 0 and 100 %.".into());
                    return true;
                }
                if !self.ready() {
                    self.message = Some("Still loading; run again in a moment.".into());
                    return true;
                }
                let order: Vec<String> = criteria_info().iter().map(|c| c.name.to_string()).filter(|c| self.criteria.contains(c)).collect();
                let req = self.run_request(order);
                self.results.clear();
                self.run_inputs = None;
                self.finetuned.clear();
                self.ft_live.clear();
                self.total_seconds = None;
                self.start_task(ctx, Task::Run);
                self.post(&Request::Run(req));
            }
            Msg::Cancel => {
                if self.running {
                    let what = match self.task {
                        Task::Run => "the results so far are kept",
                        Task::Finetune | Task::Sweep => "the previous results are kept",
                    };
                    self.stop_task();
                    self.message = Some(format!("Cancelled: the worker was stopped; {what}."));
                    self.start_worker(ctx);
                }
            }
            Msg::FtSteps(n) => self.ft_steps = n.clamp(1, 100_000),
            Msg::FtBatch(n) => self.ft_batch = n.clamp(1, 1024),
            Msg::FtLr(x) => self.ft_lr = x,
            Msg::FtDense(b) => self.ft_dense = b,
            Msg::TestImages(n) => self.test_images = n,
            Msg::ProbePerClass(n) => self.probe_per_class = n.clamp(1, 10_000),
            Msg::ProbeTest(n) => self.probe_test = n.clamp(1, 100_000),
            Msg::Finetune => self.start_finetune(ctx),
            Msg::Sweep => self.start_sweep(ctx),
            Msg::SweepFinetune(b) => self.sweep_finetune = b,
            Msg::DriftMethod(m) => self.drift_method = m,
            Msg::Export(what) => {
                if let Err(e) = self.export(&what) {
                    self.message = Some(e);
                }
            }
            Msg::ExportChart(id, png) => {
                let file = format!("foresight-{id}");
                if png {
                    let link = ctx.link().clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Err(e) = crate::exports::save_png(id, file).await {
                            link.send_message(Msg::ExportFailed(e));
                        }
                    });
                } else if let Err(e) = crate::exports::save_svg(&id, &file) {
                    self.message = Some(e);
                }
            }
            Msg::ExportFailed(e) => self.message = Some(e),
            Msg::CopyLink => self.copy_link(),
            Msg::UseCpu(cpu) => {
                if cpu != self.force_cpu {
                    self.force_cpu = cpu;
                    self.running = false;
                    self.backend_note = None;
                    self.start_worker(ctx);
                }
            }
            Msg::HeatMethod(m) => self.heat_method = m,
            Msg::HeatTensor(t) => self.heat_tensor = t,
            Msg::Tick => {}
        }
        true
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let force_cpu = url_param("backend").as_deref() == Some("cpu");
        let mut app = App {
            worker: None,
            backend: None,
            backend_note: None,
            force_cpu,
            panic_on_run: url_param("panic-on-run").is_some(),
            model: None,
            card: None,
            loading: Some(("starting".into(), 0.0, 0.0)),
            set: "mnist".into(),
            sets: BTreeMap::new(),
            worker_sets: BTreeSet::new(),
            thumbs_per_class: 12,
            thumb_cache: RefCell::new(HashMap::new()),
            selected: BTreeSet::new(),
            uploads: Vec::new(),
            criteria: criteria_info().iter().map(|c| c.name.to_string()).collect(),
            sparsity: 0.9,
            scope: "global".into(),
            alpha: 1.0,
            synflow_rounds: 100,
            seed: 0,
            per_class: 10,
            running: false,
            task: Task::Run,
            run_started: 0.0,
            ft_steps: 100,
            ft_batch: 32,
            ft_lr: 5e-4,
            ft_dense: true,
            test_images: 500,
            probe_per_class: 50,
            probe_test: 500,
            finetuned: BTreeMap::new(),
            ft_prev: None,
            ft_live: BTreeMap::new(),
            sweep: Vec::new(),
            sweep_prev: None,
            sweep_finetune: false,
            drift_method: String::new(),
            drift_ref: NodeRef::default(),
            pending_selection: None,
            share_ready: false,
            wasm_memory: 0.0,
            ready_after: None,
            bench: url_param("bench").filter(|v| v != "0").map(|_| share::Bench::default()),
            progress: BTreeMap::new(),
            results: Vec::new(),
            run_inputs: None,
            total_seconds: None,
            message: None,
            heat_method: String::new(),
            heat_tensor: "blocks.0.attn.qkv.weight".into(),
            heat_ref: NodeRef::default(),
            _ticker: None,
        };
        app.apply_shared_hash();
        app.start_worker(ctx);
        let link = ctx.link().clone();
        ctx.link().send_future(async move { Msg::ModelFetched(fetch_bytes(MODEL_URL, &link).await) });
        app.load_set(ctx, app.set.clone());
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let tick = matches!(msg, Msg::Tick);
        let render = self.handle(ctx, msg);
        // Yew's scheduler yields to the browser every 16 ms and runs `rendered` only once no
        // update is pending, which during a task (progress messages, the 500 ms ticker, a view
        // slower than 16 ms) was seen to be never. So the link follows the setup here, and during
        // a task the ticker also draws the canvases (drawn into the DOM of the last render; the
        // heat map of a finished method stayed blank until the run ended otherwise).
        self.write_shared_hash();
        if tick {
            self.draw_heat();
            self.draw_drift();
        }
        render
    }

    fn rendered(&mut self, ctx: &Context<Self>, _first: bool) {
        self.draw_heat();
        self.draw_drift();
        self.bench_step(ctx);
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        html! {
            <>
              { self.view_header(ctx) }
              if let Some(m) = &self.message { <div class="message" role="alert" id="message">{ m.clone() }</div> }
              <main>
                <section class="left">{ self.view_experiment(ctx) }</section>
                <section class="right">{ self.view_results(ctx) }</section>
              </main>
            </>
        }
    }
}

impl App {
    fn view_header(&self, ctx: &Context<Self>) -> Html {
        let badge = match &self.backend {
            Some(b) if b == "webgpu" => html! { <span class="badge ok" id="backend" data-backend="webgpu">{ "WebGPU" }</span> },
            Some(_) => html! { <span class="badge warn" id="backend" data-backend="cpu">{ format!("CPU backend{}", self.backend_note.as_ref().map(|n| format!(" — {n}")).unwrap_or_default()) }</span> },
            None => html! { <span class="badge" id="backend" data-backend="">{ "starting…" }</span> },
        };
        let onswitch = ctx.link().callback(|e: Event| Msg::UseCpu(e.target_unchecked_into::<HtmlInputElement>().checked()));
        html! {
            <header>
              <h1>{ "Foresight" }</h1>
              <span class="tagline">{ "prune a pretrained ViT before fine-tuning — and see what each criterion keeps" }</span>
              { badge }
              <label class="switch"><input type="checkbox" id="force-cpu" checked={self.force_cpu} onchange={onswitch}/>{ " CPU backend" }</label>
              if let Some(c) = &self.card {
                <details class="card" id="model-card">
                  <summary>{ format!("ViT {}×{} · depth {} · width {} · {:.2} M params", c.image, c.image, c.depth, c.width, c.params as f64 / 1e6) }</summary>
                  <p>{ format!("patch {}, {} heads; pretrained by Foresight's own code on Fashion-MNIST.", c.patch, c.heads) }</p>
                  <pre>{ c.training.clone() }</pre>
                </details>
              }
              if let Some((label, done, total)) = &self.loading {
                <div class="loading" id="loading">
                  <progress max={total.max(1.0).to_string()} value={done.to_string()}></progress>
                  <span>{ format!(" {label} {:.1} MB", done / 1e6) }</span>
                </div>
              }
            </header>
        }
    }

    fn view_experiment(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let set_select = link.callback(|e: Event| Msg::SelectSet(e.target_unchecked_into::<HtmlSelectElement>().value()));
        let data = self.sets.get(&self.set);
        let classes: Vec<String> = data.map(|d| d.manifest.classes.clone()).unwrap_or_default();
        let mut per_class_count = vec![0usize; classes.len()];
        if let Some(d) = data {
            for &i in &self.selected {
                per_class_count[d.train.labels[i] as usize] += 1;
            }
        }
        for u in &self.uploads {
            if u.label < per_class_count.len() {
                per_class_count[u.label] += 1;
            }
        }
        let gallery = match data {
            None => html! { <p>{ "loading the data set…" }</p> },
            Some(d) => {
                let k = d.manifest.classes.len();
                let rows = (0..k).map(|c| {
                    let shown: Vec<usize> = (0..d.train.len()).filter(|&i| d.train.labels[i] as usize == c).take(self.thumbs_per_class).collect();
                    let extra: Vec<usize> = self.selected.iter().copied().filter(|&i| d.train.labels[i] as usize == c && !shown.contains(&i)).collect();
                    let items = shown.into_iter().chain(extra).map(|i| {
                        let sel = self.selected.contains(&i);
                        let onclick = link.callback(move |_| Msg::ToggleImage(i));
                        html! { <button class={classes!("thumb", sel.then_some("sel"))} aria-pressed={sel.to_string()} title={format!("train image {i}")} {onclick} data-index={i.to_string()}>
                                  <img src={self.thumb(d, i)} alt={format!("image {i}")} width="28" height="28"/></button> }
                    });
                    html! { <div class="class-row"><span class="cls">{ format!("{} ({})", d.manifest.classes[c], per_class_count[c]) }</span>{ for items }</div> }
                });
                html! { <div class="gallery" id="gallery">{ for rows }</div> }
            }
        };
        let ondrop = link.callback(|e: DragEvent| {
            e.prevent_default();
            let files = e.data_transfer().and_then(|d| d.files()).map(|fl| (0..fl.length()).filter_map(|i| fl.get(i)).collect()).unwrap_or_default();
            Msg::Files(files)
        });
        let ondragover = Callback::from(|e: DragEvent| e.prevent_default());
        let onfile = link.callback(|e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let files = input.files().map(|fl| (0..fl.length()).filter_map(|i| fl.get(i)).collect()).unwrap_or_default();
            input.set_value("");
            Msg::Files(files)
        });
        let uploads = self.uploads.iter().enumerate().map(|(i, u)| {
            let onchange = link.callback(move |e: Event| Msg::UploadLabel(i, e.target_unchecked_into::<HtmlSelectElement>().value().parse().unwrap_or(0)));
            let onremove = link.callback(move |_| Msg::RemoveUpload(i));
            html! { <div class="upload">
                <img src={u.url.clone()} width="56" height="56" alt={u.name.clone()} class="pix"/>
                <label>{ "class " }<select {onchange} aria-label={format!("class of {}", u.name)}>
                  { for classes.iter().enumerate().map(|(c, n)| html! { <option value={c.to_string()} selected={c == u.label}>{ n.clone() }</option> }) }
                </select></label>
                <button onclick={onremove} aria-label={format!("remove {}", u.name)}>{ "×" }</button>
            </div> }
        });
        let crit = criteria_info().into_iter().map(|info| {
            let (id, title, idea) = (info.name, info.title, info.idea);
            let id_s = id.to_string();
            let onchange = link.callback(move |_| Msg::ToggleCriterion(id_s.clone()));
            html! { <label class="crit"><span class="swatch" style={format!("background:{}", colour(id))}></span>
                <input type="checkbox" checked={self.criteria.contains(id)} {onchange} id={format!("crit-{id}")}/>
                <b>{ title }</b>{ format!(" — {idea}") }</label> }
        });
        let presets = [0.8, 0.9, 0.95, 0.98].map(|q| {
            let onclick = link.callback(move |_| Msg::Sparsity(q));
            html! { <button class={classes!(((self.sparsity - q).abs() < 1e-9).then_some("on"))} {onclick}>{ format!("{:.0} %", q * 100.0) }</button> }
        });
        let n_sel = self.selected.len() + self.uploads.len();
        let order: Vec<&str> = std::iter::once("dense").chain(criteria_info().into_iter().map(|c| c.name)).collect();
        let progress = order.into_iter().filter_map(|c| self.progress.get_key_value(c)).map(|(c, (step, done, total))| {
            let r = self.results.iter().find(|r| &r.method == c);
            let text = match (step.as_str(), r) {
                ("done", Some(r)) if self.task == Task::Run => format!("done in {:.1} s", r.seconds),
                (s, _) if s.starts_with("done") => s.to_string(),
                _ => format!("{step} {}/{}", done + 1, total.max(&1)),
            };
            html! { <li>{ format!("{c}: {text}") }</li> }
        });
        html! {
          <>
            <h2>{ "1. Downstream set" }</h2>
            <select id="set" onchange={set_select} aria-label="downstream data set">
              { for SETS.iter().map(|(id, t)| html! { <option value={*id} selected={self.set == *id}>{ *t }</option> }) }
            </select>
            <h2>{ "2. Calibration images " }<span id="selection-count" class="count">{ format!("{n_sel} selected") }</span></h2>
            <div class="row">
              <label>{ "k per class " }<NumberInput id="per-class" min="1" max="100" value={self.per_class.to_string()}
                onchange={link.callback(|v: String| Msg::PerClass(v.parse().unwrap_or(10)))}/></label>
              <label>{ " seed " }<NumberInput id="seed" min="0" value={self.seed.to_string()}
                onchange={link.callback(|v: String| Msg::Seed(v.parse().unwrap_or(0)))}/></label>
              <button id="pick" onclick={link.callback(|_| Msg::PickPerClass)}>{ "pick at random" }</button>
              <button id="clear" onclick={link.callback(|_| Msg::ClearSelection)}>{ "clear" }</button>
              <button onclick={link.callback(|_| Msg::MoreThumbs)}>{ "show more" }</button>
            </div>
            { gallery }
            <div class="drop" id="drop" ondrop={ondrop} ondragover={ondragover}>
              <p>{ "Drop your own PNG / JPEG / WebP images here, or " }
                <input type="file" id="file" accept="image/*" multiple=true onchange={onfile} aria-label="upload images"/></p>
              <p class="note">{ "Your images never leave this tab: they are decoded, shrunk to 28×28 grayscale and used right here." }</p>
              { for uploads }
            </div>
            <h2>{ "3. Criteria" }</h2>
            { for crit }
            <label>{ "α (SNIP-Mag) " }<NumberInput id="alpha" step="0.1" min="0" value={self.alpha.to_string()}
              onchange={link.callback(|v: String| Msg::Alpha(v.parse().unwrap_or(1.0)))}/></label>
            <label title="SynFlow prunes in this many rounds (exponential schedule); 1 = a single score">{ "SynFlow rounds " }<NumberInput id="synflow-rounds" step="1" min="1" max="1000" value={self.synflow_rounds.to_string()}
              onchange={link.callback(|v: String| Msg::SynflowRounds(v.parse().unwrap_or(100)))}/></label>
            <h2>{ "4. Sparsity " }<span id="sparsity-value">{ format!("{:.1} %", self.sparsity * 100.0) }</span></h2>
            <input type="range" min="0.5" max="0.99" step="0.01" value={self.sparsity.to_string()} id="sparsity" aria-label="sparsity"
              oninput={link.callback(|e: InputEvent| Msg::Sparsity(e.target_unchecked_into::<HtmlInputElement>().value().parse().unwrap_or(0.9)))}/>
            <div class="row">{ for presets }</div>
            <label>{ "scope " }<select id="scope" onchange={link.callback(|e: Event| Msg::Scope(e.target_unchecked_into::<HtmlSelectElement>().value()))}>
              <option value="global" selected={self.scope == "global"}>{ "global" }</option>
              <option value="layer" selected={self.scope == "layer"}>{ "per layer" }</option>
            </select></label>
            <h2>{ "5. Run" }</h2>
            <button id="run" class="primary" disabled={self.running} onclick={link.callback(|_| Msg::Run)}>{ "Run" }</button>
            <button id="cancel" disabled={!self.running} onclick={link.callback(|_| Msg::Cancel)}>{ "Cancel" }</button>
            if self.running { <span class="elapsed">{ format!(" {:.0} s", now() - self.run_started) }</span> }
            if let Some(s) = self.total_seconds { <span class="elapsed" id="total-time">{ format!(" all done in {s:.1} s") }</span> }
            <ul class="progress" id="progress">{ for progress }</ul>
            { self.view_finetune_settings(ctx) }
          </>
        }
    }
}

mod finetune_view;
mod number_input;
mod results_view;
mod share;
