//! Shareable links and benchmark mode.
//!
//! The whole setup lives in the URL's hash (never sent to a server):
//! `#set=mnist&sel=3,17-19&crit=snip,afr&q=0.9&scope=global&alpha=1&rounds=100&seed=0&k=10&steps=100&batch=32&lr=0.0005&test=500&ftdense=1&probe=50&ptest=500`.
//! `sel` lists train image ids (runs as `a-b`). Opening such a link restores the setup; a bad
//! value is reported and its default kept. `?bench=1` runs the setup, fine-tunes, and prints
//! timings and memory as JSON on the page and the console.

use super::*;

/// Benchmark-mode progress.
#[derive(Default, Clone, PartialEq)]
pub enum Bench {
    /// Waiting for the model and data.
    #[default]
    Waiting,
    Pruning,
    FineTuning,
    /// The JSON report.
    Done(String),
}

/// `[3, 17, 18, 19]` → `3,17-19`.
pub fn encode_ids(ids: &BTreeSet<usize>) -> String {
    let mut out: Vec<String> = Vec::new();
    let v: Vec<usize> = ids.iter().copied().collect();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        out.push(if j > i { format!("{}-{}", v[i], v[j]) } else { v[i].to_string() });
        i = j + 1;
    }
    out.join(",")
}

/// `3,17-19` → ids; `None` on anything else (or a run longer than 100 000).
pub fn decode_ids(s: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                if b < a || b - a > 100_000 {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

fn decode(v: &str) -> String {
    js_sys::decode_uri_component(v).map(String::from).unwrap_or_else(|_| v.to_string())
}

impl App {
    /// The setup as a URL hash (without `#`).
    pub(super) fn shared_hash(&self) -> String {
        let crit: Vec<String> = criteria_info().iter().map(|c| c.name.to_string()).filter(|c| self.criteria.contains(c)).collect();
        format!(
            "set={}&sel={}&crit={}&q={}&scope={}&alpha={}&rounds={}&seed={}&k={}&steps={}&batch={}&lr={}&test={}&ftdense={}&probe={}&ptest={}",
            self.set,
            encode_ids(&self.selected),
            crit.join(","),
            self.sparsity,
            self.scope,
            self.alpha,
            self.synflow_rounds,
            self.seed,
            self.per_class,
            self.ft_steps,
            self.ft_batch,
            self.ft_lr,
            self.test_images,
            u8::from(self.ft_dense),
            self.probe_per_class,
            self.probe_test
        )
    }

    /// Reads the setup from the URL hash; bad values are listed in the message and left at
    /// their defaults.
    pub(super) fn apply_shared_hash(&mut self) {
        let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
        let hash = hash.trim_start_matches('#');
        if hash.is_empty() {
            return;
        }
        let mut bad: Vec<String> = Vec::new();
        for kv in hash.split('&').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let v = decode(v);
            let ok = match k {
                "set" => SETS.iter().any(|(id, _)| *id == v).then(|| self.set = v.clone()).is_some(),
                "sel" => decode_ids(&v).map(|ids| self.pending_selection = Some(ids)).is_some(),
                "crit" => {
                    let known: BTreeSet<String> = criteria_info().iter().map(|c| c.name.to_string()).collect();
                    let asked: BTreeSet<String> = v.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect();
                    if !asked.is_empty() && asked.is_subset(&known) {
                        self.criteria = asked;
                        true
                    } else {
                        false
                    }
                }
                "q" => v.parse::<f64>().ok().filter(|q| *q > 0.0 && *q < 1.0).map(|q| self.sparsity = q).is_some(),
                "scope" => matches!(v.as_str(), "global" | "layer").then(|| self.scope = v.clone()).is_some(),
                "alpha" => v.parse::<f64>().ok().filter(|a| a.is_finite() && *a >= 0.0).map(|a| self.alpha = a).is_some(),
                "rounds" => v.parse::<usize>().ok().filter(|r| (1..=1000).contains(r)).map(|r| self.synflow_rounds = r).is_some(),
                "seed" => v.parse::<u64>().ok().map(|x| self.seed = x).is_some(),
                "k" => v.parse::<usize>().ok().filter(|k| (1..=100).contains(k)).map(|k| self.per_class = k).is_some(),
                "steps" => v.parse::<usize>().ok().filter(|n| (1..=100_000).contains(n)).map(|n| self.ft_steps = n).is_some(),
                "batch" => v.parse::<usize>().ok().filter(|n| (1..=1024).contains(n)).map(|n| self.ft_batch = n).is_some(),
                "lr" => v.parse::<f64>().ok().filter(|x| *x > 0.0 && *x < 1.0).map(|x| self.ft_lr = x).is_some(),
                "test" => v.parse::<usize>().ok().map(|n| self.test_images = n).is_some(),
                "ftdense" => matches!(v.as_str(), "0" | "1").then(|| self.ft_dense = v == "1").is_some(),
                "probe" => v.parse::<usize>().ok().filter(|n| (1..=10_000).contains(n)).map(|n| self.probe_per_class = n).is_some(),
                "ptest" => v.parse::<usize>().ok().filter(|n| (1..=100_000).contains(n)).map(|n| self.probe_test = n).is_some(),
                _ => false,
            };
            if !ok {
                bad.push(format!("`{k}={}`", v.chars().take(40).collect::<String>()));
            }
        }
        self.message = Some(if bad.is_empty() {
            "Setup restored from the link. Press Run to run it again.".into()
        } else {
            format!("The link's setup was restored except {}: not valid, so the defaults are used there. Press Run to run it.", bad.join(", "))
        });
    }

    /// Applies a shared selection once the set (with `n` train images) has loaded.
    pub(super) fn apply_pending_selection(&mut self, n: usize) {
        let Some(ids) = self.pending_selection.take() else { return };
        let (ok, out): (Vec<usize>, Vec<usize>) = ids.into_iter().partition(|&i| i < n);
        self.selected = ok.into_iter().collect();
        if !out.is_empty() {
            let note = format!(" {} image id(s) in the link are not in this set's {n} train images and were left out.", out.len());
            self.message = Some(self.message.take().unwrap_or_default() + &note);
        }
    }

    /// Keeps the address bar's hash equal to the setup (replaceState: no history entries).
    pub(super) fn write_shared_hash(&self) {
        if !self.share_ready {
            return;
        }
        let Some(w) = web_sys::window() else { return };
        let want = format!("#{}", self.shared_hash());
        if w.location().hash().ok().as_deref() != Some(want.as_str()) {
            if let Ok(h) = w.history() {
                let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&want));
            }
        }
    }

    /// Puts the link on the clipboard (and shows it, for browsers that refuse).
    pub(super) fn copy_link(&mut self) {
        let Some(w) = web_sys::window() else { return };
        let href = w.location().href().unwrap_or_default();
        let _ = w.navigator().clipboard().write_text(&href);
        self.message = Some(format!("Link to this setup (copied if the browser allowed it): {href}"));
    }

    /// Benchmark mode: once ready, run; after the run, fine-tune; then report.
    pub(super) fn bench_step(&mut self, ctx: &Context<Self>) {
        if self.ready_after.is_none() && self.ready() {
            self.ready_after = web_sys::window().and_then(|w| w.performance()).map(|p| p.now() / 1000.0);
        }
        let Some(b) = self.bench.clone() else { return };
        if self.running {
            return;
        }
        match b {
            Bench::Waiting if self.ready() && !self.selected.is_empty() => {
                self.bench = Some(Bench::Pruning);
                ctx.link().send_message(Msg::Run);
            }
            Bench::Pruning if !self.results.is_empty() => {
                self.bench = Some(Bench::FineTuning);
                self.start_finetune(ctx);
            }
            Bench::FineTuning => {
                let report = self.bench_report();
                web_sys::console::log_1(&format!("foresight-bench {report}").into());
                self.bench = Some(Bench::Done(report));
            }
            _ => {}
        }
    }

    fn bench_report(&self) -> String {
        let criteria: serde_json::Map<String, serde_json::Value> = self.results.iter().map(|r| (r.method.clone(), serde_json::json!(r.seconds))).collect();
        let ft: Vec<serde_json::Value> = self.finetuned.values().map(|f| serde_json::json!({"method": f.method, "steps": f.steps, "steps_per_second": f.steps_per_second, "seconds": f.seconds})).collect();
        let js_heap = web_sys::window()
            .and_then(|w| w.performance())
            .and_then(|p| js_sys::Reflect::get(&p, &"memory".into()).ok())
            .and_then(|m| js_sys::Reflect::get(&m, &"usedJSHeapSize".into()).ok())
            .and_then(|v| v.as_f64());
        // Tasks over 50 ms on the page's main thread since it opened (www/main.js observes them).
        let long_tasks: serde_json::Value = web_sys::window()
            .and_then(|w| js_sys::Reflect::get(&w, &"foresightLongTasks".into()).ok())
            .and_then(|v| serde_wasm_bindgen::from_value(v).ok())
            .unwrap_or_default();
        serde_json::json!({
            "backend": self.backend,
            "model_ready_seconds": self.ready_after,
            "calibration_images": self.selected.len() + self.uploads.len(),
            "sparsity": self.sparsity,
            "seconds_per_criterion": criteria,
            "run_seconds": self.total_seconds,
            "finetune_batch": self.ft_batch,
            "finetune": ft,
            "worker_wasm_memory_bytes": self.wasm_memory,
            "page_js_heap_bytes": js_heap,
            "main_thread_long_tasks": long_tasks,
            "gpu_memory": "not measurable from a page (WebGPU exposes no memory query)",
        })
        .to_string()
    }
}
