//! Part two of the page: masked fine-tuning with a live loss curve, parameter drift (the seed's
//! Figure 1), the sparsity sweep (the seed's result figure) and the exports.

use super::*;
use crate::protocol::{FinetuneJob, FinetuneRequest, FinetuneSettings, SweepRequest};

/// The sparsities of a sweep (the seed's).
const SWEEP: [f64; 4] = [0.8, 0.9, 0.95, 0.98];

impl App {
    pub(super) fn run_request(&self, criteria: Vec<String>) -> RunRequest {
        RunRequest {
            set: self.set.clone(),
            calib: self.selected.iter().copied().collect(),
            uploads: self.uploads.iter().map(|u| Upload { pixels: ByteBuf::from(u.pixels.clone()), label: u.label }).collect(),
            criteria,
            sparsity: self.sparsity,
            scope: self.scope.clone(),
            alpha: self.alpha,
            synflow_rounds: self.synflow_rounds,
            seed: self.seed,
            probe_per_class: self.probe_per_class,
            probe_test: self.probe_test,
        }
    }

    fn ft_settings(&self) -> FinetuneSettings {
        FinetuneSettings { steps: self.ft_steps, batch: self.ft_batch, lr: self.ft_lr, seed: self.seed, test_images: self.test_images }
    }

    pub(super) fn start_task(&mut self, ctx: &Context<Self>, task: Task) {
        self.progress.clear();
        self.task = task;
        self.running = true;
        self.run_started = now();
        let link = ctx.link().clone();
        self._ticker = gloo_timer::Interval::new(500, move || link.send_message(Msg::Tick));
    }

    /// Ends the current task; a fine-tune or sweep that did not finish gives back the previous results.
    pub(super) fn stop_task(&mut self) {
        if self.running {
            match self.task {
                Task::Finetune => {
                    if let Some(prev) = self.ft_prev.take() {
                        self.finetuned = prev;
                    }
                    self.ft_live = self.finetuned.iter().map(|(m, r)| (m.clone(), r.losses.clone())).collect();
                }
                Task::Sweep => {
                    if let Some(prev) = self.sweep_prev.take() {
                        self.sweep = prev;
                    }
                }
                Task::Run => {}
            }
        }
        self.running = false;
        self._ticker = None;
    }

    pub(super) fn start_finetune(&mut self, ctx: &Context<Self>) {
        self.message = None;
        let Some((model, _)) = &self.run_inputs else {
            self.message = Some("Run the criteria first: fine-tuning starts from their pruned models.".into());
            return;
        };
        if self.running {
            return;
        }
        if !(self.ft_lr > 0.0 && self.ft_lr.is_finite()) {
            self.message = Some("The learning rate must be a positive number.".into());
            return;
        }
        let jobs: Vec<FinetuneJob> = self
            .results
            .iter()
            .filter(|r| r.method != "dense" || self.ft_dense)
            .map(|r| FinetuneJob { method: r.method.clone(), masks: r.masks.clone() })
            .collect();
        if jobs.is_empty() {
            self.message = Some("Nothing to fine-tune: no pruned model (and the dense model is switched off).".into());
            return;
        }
        let req = FinetuneRequest { set: self.set.clone(), model: ByteBuf::from(model.clone()), jobs, settings: self.ft_settings() };
        self.ft_prev = Some(self.finetuned.clone());
        self.ft_live.clear();
        self.start_task(ctx, Task::Finetune);
        self.post(&Request::Finetune(req));
    }

    pub(super) fn start_sweep(&mut self, ctx: &Context<Self>) {
        self.message = None;
        if self.running {
            return;
        }
        if self.selected.len() + self.uploads.len() == 0 {
            self.message = Some("Select at least one calibration image (or drop your own) before a sweep.".into());
            return;
        }
        if !self.ready() {
            self.message = Some("Still loading; sweep again in a moment.".into());
            return;
        }
        let order: Vec<String> = criteria_info().iter().map(|c| c.name.to_string()).filter(|c| self.criteria.contains(c)).collect();
        if order.is_empty() {
            self.message = Some("Choose at least one criterion for the sweep.".into());
            return;
        }
        let req = SweepRequest { run: self.run_request(order), sparsities: SWEEP.to_vec(), finetune: self.sweep_finetune.then(|| self.ft_settings()) };
        self.sweep_prev = Some(std::mem::take(&mut self.sweep));
        self.start_task(ctx, Task::Sweep);
        self.post(&Request::Sweep(req));
    }

    /// Left column: fine-tuning and sweep settings and actions.
    pub(super) fn view_finetune_settings(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let num = |id: &'static str, label: &'static str, value: String, step: &'static str, msg: fn(String) -> Msg| {
            html! { <label>{ label }<NumberInput id={id} min="0" step={step} value={value} onchange={link.callback(msg)}/></label> }
        };
        let can_ft = self.run_inputs.is_some() && !self.running;
        html! {
          <>
            <h2>{ "6. Fine-tune" }</h2>
            <div class="settings">
              { num("ft-steps", "steps ", self.ft_steps.to_string(), "1", |v| Msg::FtSteps(v.parse().unwrap_or(100))) }
              { num("ft-batch", "batch ", self.ft_batch.to_string(), "1", |v| Msg::FtBatch(v.parse().unwrap_or(32))) }
              { num("ft-lr", "peak lr ", self.ft_lr.to_string(), "0.0001", |v| Msg::FtLr(v.parse().unwrap_or(5e-4))) }
              { num("test-images", "test images (0 = all) ", self.test_images.to_string(), "1", |v| Msg::TestImages(v.parse().unwrap_or(0))) }
              <label><input type="checkbox" id="ft-dense" checked={self.ft_dense}
                onchange={link.callback(|e: Event| Msg::FtDense(e.target_unchecked_into::<HtmlInputElement>().checked()))}/>{ " the dense model too" }</label>
            </div>
            <p class="note">{ "Masked AdamW (pruned weights stay exactly zero), linear warm-up then cosine decay, random shifts of ±2 px; the seed fixes the head and the batch order. Same recipe as `foresight finetune`." }</p>
            <button id="finetune" class="primary" disabled={!can_ft} onclick={link.callback(|_| Msg::Finetune)}>{ "Fine-tune every pruned model" }</button>
            <h2>{ "7. Sparsity sweep" }</h2>
            <p class="note">{ "The chosen criteria at 80, 90, 95 and 98 %: probe accuracy, or fine-tuned accuracy (slower)." }</p>
            <label><input type="checkbox" id="sweep-finetune" checked={self.sweep_finetune}
              onchange={link.callback(|e: Event| Msg::SweepFinetune(e.target_unchecked_into::<HtmlInputElement>().checked()))}/>{ " fine-tune each (uses the steps above)" }</label>
            <button id="sweep" disabled={self.running} onclick={link.callback(|_| Msg::Sweep)}>{ "Sweep" }</button>
            <details class="settings"><summary>{ "probe size" }</summary>
              { num("probe-per-class", "train images per class ", self.probe_per_class.to_string(), "1", |v| Msg::ProbePerClass(v.parse().unwrap_or(50))) }
              { num("probe-test", "test images ", self.probe_test.to_string(), "1", |v| Msg::ProbeTest(v.parse().unwrap_or(500))) }
            </details>
            <h2>{ "Share" }</h2>
            <button id="copy-link" onclick={link.callback(|_| Msg::CopyLink)}>{ "Copy link to this setup" }</button>
            <p class="note">{ "The address bar always holds the setup (set, selected images, criteria, sparsity, α, seed, steps); dropped images are not in the link." }</p>
            if let Some(share::Bench::Done(json)) = &self.bench { <h2>{ "Benchmark" }</h2><pre id="bench">{ json.clone() }</pre> }
          </>
        }
    }

    pub(super) fn export_cb(&self, ctx: &Context<Self>) -> Option<Callback<(String, bool)>> {
        Some(ctx.link().callback(|(id, png)| Msg::ExportChart(id, png)))
    }

    /// Right column: fine-tune results, loss curves, drift.
    pub(super) fn view_finetune(&self, ctx: &Context<Self>) -> Html {
        if self.finetuned.is_empty() && self.ft_live.is_empty() {
            return html! {};
        }
        let order: Vec<&str> = std::iter::once("dense").chain(criteria_info().into_iter().map(|c| c.name)).collect();
        let series: Vec<Series> = order
            .iter()
            .filter_map(|m| self.ft_live.get(*m).map(|l| (m, l)))
            .map(|(m, l)| Series { label: m.to_string(), colour: colour(m).into(), dashed: *m == "dense", points: l.iter().enumerate().map(|(i, x)| (i as f64 + 1.0, *x)).collect() })
            .collect();
        let dense = self.finetuned.get("dense").map(|d| d.accuracy);
        let rows = order.iter().filter_map(|m| self.finetuned.get(*m)).map(|r| {
            let delta = dense.filter(|_| r.method != "dense").map(|d| format!("{:+.1}", (r.accuracy - d) * 100.0)).unwrap_or_default();
            html! { <tr data-method={r.method.clone()}>
                <td><span class="swatch" style={format!("background:{}", colour(&r.method))}></span>{ r.method.clone() }</td>
                <td class="num">{ r.steps }</td>
                <td class="num">{ format!("{:.1}", r.steps_per_second) }</td>
                <td class="num ft-acc">{ format!("{:.1}", r.accuracy * 100.0) }</td>
                <td class="num">{ delta }</td>
                <td class="num">{ format!("{:.4}", r.drift.correlation) }</td>
                <td class="num">{ format!("{:.4}", r.drift.relative_change) }</td>
                <td class="num pruned-nonzero">{ r.pruned_nonzero }</td>
            </tr> }
        });
        let test_n = self.finetuned.values().next().map(|r| r.test_images).unwrap_or(0);
        html! {
            <div class="panel" id="finetuned">
              <h3>{ "Fine-tuned" }</h3>
              <p class="caption">{ format!("Held-out accuracy after masked fine-tuning ({test_n} test images), and how far the kept weights moved: corr(θ before, θ after) and Σ|Δθ| / Σ|θ|. The last column counts pruned weights that are not exactly zero (always 0).") }</p>
              <LineChart id="chart-loss" series={series} width={420.0} height={190.0} x_label="step" y_label="training loss" export={self.export_cb(ctx)}/>
              <table id="ft-table"><thead><tr><th>{ "method" }</th><th>{ "steps" }</th><th>{ "steps/s" }</th><th>{ "acc. %" }</th><th>{ "Δ vs dense" }</th><th>{ "corr" }</th><th>{ "Σ|Δθ|/Σ|θ|" }</th><th>{ "pruned ≠ 0" }</th></tr></thead>
              <tbody>{ for rows }</tbody></table>
              { self.view_drift(ctx) }
            </div>
        }
    }

    fn view_drift(&self, ctx: &Context<Self>) -> Html {
        let Some(r) = self.finetuned.get(&self.drift_method) else { return html! {} };
        let link = ctx.link();
        let d = &r.drift;
        html! {
            <div id="drift">
              <h3>{ "Parameter drift (the seed's Figure 1)" }</h3>
              <select aria-label="method for the drift plot" id="drift-method" onchange={link.callback(|e: Event| Msg::DriftMethod(e.target_unchecked_into::<HtmlSelectElement>().value()))}>
                { for self.finetuned.keys().map(|m| html! { <option value={m.clone()} selected={*m == self.drift_method}>{ m.clone() }</option> }) }
              </select>
              <p class="caption" id="drift-stats">{ format!(
                  "{} kept weights, before (x) vs after (y) fine-tuning, each axis ±{:.3}; darker = more weights. corr = {:.4}, Σ|Δθ|/Σ|θ| = {:.4}. On the diagonal = did not move.",
                  d.weights, d.limit, d.correlation, d.relative_change) }</p>
              <canvas ref={self.drift_ref.clone()} id="drift-canvas" class="pix" style="width:320px;height:320px"></canvas>
              { export_buttons(ctx, "drift-canvas") }
            </div>
        }
    }

    /// Draws the chosen drift histogram: one pixel per bin, grey level = log count, red diagonal.
    pub(super) fn draw_drift(&self) {
        let Some(canvas) = self.drift_ref.cast::<HtmlCanvasElement>() else { return };
        let Some(r) = self.finetuned.get(&self.drift_method) else { return };
        let (n, h) = (r.drift.bins, &r.drift.histogram);
        if n == 0 || h.len() != n * n {
            return;
        }
        canvas.set_width(n as u32);
        canvas.set_height(n as u32);
        let Ok(Some(ctx)) = canvas.get_context("2d") else { return };
        let ctx: web_sys::CanvasRenderingContext2d = ctx.unchecked_into();
        let top = (*h.iter().max().unwrap_or(&1)).max(1) as f64;
        let mut rgba = vec![255u8; n * n * 4];
        for (i, &c) in h.iter().enumerate() {
            let (row, col) = (i / n, i % n);
            let px = &mut rgba[i * 4..i * 4 + 4];
            if c > 0 {
                let v = (255.0 * (1.0 - (1.0 + c as f64).ln() / (1.0 + top).ln()) * 0.85) as u8;
                px.copy_from_slice(&[v, v, v, 255]);
            } else if row + col == n - 1 {
                px.copy_from_slice(&[240, 160, 160, 255]);
            }
        }
        if let Ok(img) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(wasm_bindgen::Clamped(&rgba), n as u32, n as u32) {
            let _ = ctx.put_image_data(&img, 0.0, 0.0);
        }
    }

    /// Right column: accuracy vs sparsity per method.
    pub(super) fn view_sweep(&self, ctx: &Context<Self>) -> Html {
        if self.sweep.is_empty() {
            return html! {};
        }
        let tuned = self.sweep.iter().any(|p| p.finetune_accuracy.is_some());
        let acc = |p: &SweepPoint| if tuned { p.finetune_accuracy.unwrap_or(f64::NAN) } else { p.probe_accuracy } * 100.0;
        let dense = self.sweep.iter().find(|p| p.method == "dense").map(acc);
        let mut series: Vec<Series> = criteria_info()
            .iter()
            .filter(|c| self.sweep.iter().any(|p| p.method == c.name))
            .map(|c| Series {
                label: c.name.to_string(),
                colour: colour(c.name).into(),
                dashed: false,
                points: self.sweep.iter().filter(|p| p.method == c.name).map(|p| (p.sparsity * 100.0, acc(p))).collect(),
            })
            .collect();
        if let Some(d) = dense {
            series.push(Series { label: format!("dense {d:.1} %"), colour: colour("dense").into(), dashed: true, points: vec![(SWEEP[0] * 100.0, d), (SWEEP[SWEEP.len() - 1] * 100.0, d)] });
        }
        let rows = criteria_info().into_iter().filter(|c| self.sweep.iter().any(|p| p.method == c.name)).map(|c| {
            let cells = SWEEP.iter().map(|q| {
                let v = self.sweep.iter().find(|p| p.method == c.name && (p.sparsity - q).abs() < 1e-9).map(acc);
                html! { <td class="num sweep-acc">{ v.map(|v| format!("{v:.1}")).unwrap_or("…".into()) }</td> }
            });
            html! { <tr><td>{ c.name }</td>{ for cells }</tr> }
        });
        html! {
            <div class="panel" id="sweep-panel">
              <h3>{ "Accuracy vs sparsity" }</h3>
              <p class="caption">{ format!("{} accuracy (%) of each method's pruned model at 80–98 % sparsity; dense dashed. The seed's claim: pretrained-aware criteria (AFR, SNIP-Mag) hold up best as sparsity grows.", if tuned { "Fine-tuned" } else { "Linear-probe" }) }</p>
              <LineChart id="chart-sweep" series={series} width={420.0} height={220.0} x_label="sparsity %" y_label="accuracy %" export={self.export_cb(ctx)}/>
              <table><thead><tr><th>{ "method" }</th>{ for SWEEP.iter().map(|q| html! { <th>{ format!("{:.0} %", q * 100.0) }</th> }) }</tr></thead><tbody>{ for rows }</tbody></table>
            </div>
        }
    }

    /// Results as a table: one row per method (the run, its fine-tune) and per sweep point.
    fn results_table(&self) -> Vec<serde_json::Value> {
        let mut rows: Vec<serde_json::Value> = Vec::new();
        for r in &self.results {
            let f = self.finetuned.get(&r.method);
            rows.push(serde_json::json!({
                "kind": "run", "set": self.set, "method": r.method, "sparsity": r.sparsity, "kept": r.kept, "total": r.total,
                "seconds": r.seconds, "probe_accuracy": r.probe_accuracy,
                "finetune_accuracy": f.map(|f| f.accuracy), "finetune_steps": f.map(|f| f.steps),
                "drift_correlation": f.map(|f| f.drift.correlation), "drift_relative_change": f.map(|f| f.drift.relative_change),
            }));
        }
        for p in &self.sweep {
            rows.push(serde_json::json!({
                "kind": "sweep", "set": self.set, "method": p.method, "sparsity": p.sparsity, "kept": p.kept, "total": serde_json::Value::Null,
                "seconds": serde_json::Value::Null, "probe_accuracy": p.probe_accuracy, "finetune_accuracy": p.finetune_accuracy,
                "finetune_steps": p.finetune_accuracy.map(|_| self.ft_steps), "drift_correlation": serde_json::Value::Null, "drift_relative_change": serde_json::Value::Null,
            }));
        }
        rows
    }

    /// `model`, `calib`, `scores:<method>`, `masks:<method>`, `tuned:<method>`, `csv` or `json` as a download.
    pub(super) fn export(&self, what: &str) -> Result<(), String> {
        let set = &self.set;
        match what.split_once(':') {
            Some(("masks", m)) => {
                let r = self.results.iter().find(|r| r.method == m && m != "dense").ok_or(format!("no masks of `{m}`: run first"))?;
                let (model, _) = self.run_inputs.as_ref().ok_or("run first")?;
                let model = foresight::Vit::from_bytes(model, "the run's model", None).map_err(|e| e.to_string())?;
                let masks = r.masks.iter().map(|(n, v)| (n.clone(), v.to_vec())).collect();
                let bytes = foresight::export::mask_file(&model, &masks, m, r.sparsity).and_then(|f| f.to_bytes(false)).map_err(|e| e.to_string())?;
                crate::exports::offer(&format!("foresight-masks-{m}-{set}.safetensors"), &bytes, "application/octet-stream")
            }
            Some(("scores", m)) => self.download(m),
            None if what == "model" || what == "calib" => self.download(what),
            Some(("tuned", m)) => {
                let r = self.finetuned.get(m).ok_or(format!("`{m}` is not fine-tuned yet"))?;
                crate::exports::offer(&format!("foresight-finetuned-{m}-{set}.safetensors"), &r.model, "application/octet-stream")
            }
            _ if what == "json" => {
                let doc = serde_json::json!({ "setup": self.shared_hash(), "backend": self.backend, "results": self.results_table() });
                crate::exports::offer(&format!("foresight-results-{set}.json"), doc.to_string().as_bytes(), "application/json")
            }
            _ if what == "csv" => {
                let cols = ["kind", "set", "method", "sparsity", "kept", "total", "seconds", "probe_accuracy", "finetune_accuracy", "finetune_steps", "drift_correlation", "drift_relative_change"];
                let mut out = cols.join(",") + "\n";
                for row in self.results_table() {
                    let cells: Vec<String> = cols.iter().map(|c| match &row[*c] {
                        serde_json::Value::Null => String::new(),
                        serde_json::Value::String(s) => s.clone(),
                        v => v.to_string(),
                    }).collect();
                    out += &(cells.join(",") + "\n");
                }
                crate::exports::offer(&format!("foresight-results-{set}.csv"), out.as_bytes(), "text/csv")
            }
            _ => Err(format!("nothing to export as `{what}`")),
        }
    }
}

/// SVG / PNG buttons for the chart (or canvas) `id`.
pub(super) fn export_buttons(ctx: &Context<App>, id: &'static str) -> Html {
    html! { <span class="chart-export">
        <button class="tiny" id={format!("{id}-svg")} onclick={ctx.link().callback(move |_| Msg::ExportChart(id.into(), false))}>{ "SVG" }</button>
        <button class="tiny" id={format!("{id}-png")} onclick={ctx.link().callback(move |_| Msg::ExportChart(id.into(), true))}>{ "PNG" }</button>
    </span> }
}
