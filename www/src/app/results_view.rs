//! The results dashboard: summary table, kept density, feature norms, spectra, IoU matrix and
//! the mask heat map. Every panel uses one colour per method; the dense model is grey, dashed.

use super::*;
use super::finetune_view::export_buttons;

impl App {
    fn dense(&self) -> Option<&MethodResult> {
        self.results.iter().find(|r| r.method == "dense")
    }

    fn methods(&self) -> Vec<&MethodResult> {
        criteria_info().iter().filter_map(|c| self.results.iter().find(|r| r.method == c.name)).collect()
    }

    pub(super) fn view_results(&self, ctx: &Context<Self>) -> Html {
        if self.results.is_empty() && self.sweep.is_empty() {
            return html! { <p class="hint">{ "Choose images and criteria, then Run: results appear here criterion by criterion." }</p> };
        }
        html! {
            <>
              if !self.results.is_empty() {
                { self.view_summary() }
                { self.view_finetune(ctx) }
              }
              { self.view_sweep(ctx) }
              if !self.results.is_empty() {
                { self.view_density(ctx) }
                { self.view_norms(ctx) }
                { self.view_spectra(ctx) }
                { self.view_iou() }
                { self.view_heat(ctx) }
              }
              { self.view_downloads(ctx) }
            </>
        }
    }

    fn view_summary(&self) -> Html {
        let dense_acc = self.dense().map(|d| d.probe_accuracy);
        let best = self.methods().iter().map(|r| r.probe_accuracy).fold(f64::NEG_INFINITY, f64::max);
        let rows = self.dense().into_iter().chain(self.methods()).map(|r| {
            let delta = dense_acc.filter(|_| r.method != "dense").map(|d| format!("{:+.1}", (r.probe_accuracy - d) * 100.0)).unwrap_or_default();
            let bold = r.method != "dense" && r.probe_accuracy == best;
            html! { <tr data-method={r.method.clone()}>
                <td><span class="swatch" style={format!("background:{}", colour(&r.method))}></span>{ r.method.clone() }</td>
                <td class="num">{ format!("{:.2}", r.seconds) }</td>
                <td class="num">{ format!("{} / {}", r.kept, r.total) }</td>
                <td class={classes!("num", "acc", bold.then_some("best"))}>{ format!("{:.1}", r.probe_accuracy * 100.0) }</td>
                <td class="num">{ delta }</td>
            </tr> }
        });
        html! {
            <div class="panel" id="summary">
              <h3>{ "Summary" }</h3>
              <p class="caption">{ "Linear-probe accuracy of the frozen pruned backbone on held-out test images (best in bold)." }</p>
              <table><thead><tr><th>{ "method" }</th><th>{ "time s" }</th><th>{ "kept weights" }</th><th>{ "probe acc. %" }</th><th>{ "Δ vs dense" }</th></tr></thead>
              <tbody>{ for rows }</tbody></table>
            </div>
        }
    }

    fn view_density(&self, ctx: &Context<Self>) -> Html {
        let depth = self.card.as_ref().map(|c| c.depth).unwrap_or(0);
        let series: Vec<Series> = self
            .methods()
            .iter()
            .map(|r| {
                let mut kept = vec![(0usize, 0usize); depth];
                for (name, m) in &r.masks {
                    if let Some((_, Some(b))) = MatrixKind::of(name) {
                        if b < depth {
                            kept[b].0 += m.iter().filter(|&&k| k == 1).count();
                            kept[b].1 += m.len();
                        }
                    }
                }
                Series { label: r.method.clone(), colour: colour(&r.method).into(), dashed: false, points: kept.iter().enumerate().map(|(b, (k, n))| (b as f64, *k as f64 / (*n).max(1) as f64)).collect() }
            })
            .collect();
        let kinds = [MatrixKind::PatchEmbed, MatrixKind::Qkv, MatrixKind::Proj, MatrixKind::Fc1, MatrixKind::Fc2];
        let rows = self.methods().into_iter().map(|r| {
            let cells = kinds.iter().map(|kind| {
                let (k, n) = r.masks.iter().filter(|(name, _)| MatrixKind::of(name).map(|x| x.0) == Some(*kind)).fold((0, 0), |(k, n), (_, m)| (k + m.iter().filter(|&&v| v == 1).count(), n + m.len()));
                let d = k as f64 / (n as f64).max(1.0);
                html! { <td class="num" style={format!("background:{}", heat(d * 3.0))}>{ format!("{:.1} %", d * 100.0) }</td> }
            });
            html! { <tr><td>{ r.method.clone() }</td>{ for cells }</tr> }
        });
        html! {
            <div class="panel" id="density">
              <h3>{ "Kept density" }</h3>
              <p class="caption">{ "Fraction of weights each method keeps per block, and per matrix type. Global masks move weights between layers; watch which layers each criterion starves." }</p>
              <LineChart id="chart-density" series={series} width={420.0} height={200.0} x_label="block" y_label="kept fraction" export={self.export_cb(ctx)}/>
              <table><thead><tr><th>{ "method" }</th>{ for kinds.iter().map(|k| html! { <th>{ k.label() }</th> }) }</tr></thead><tbody>{ for rows }</tbody></table>
            </div>
        }
    }

    fn view_norms(&self, ctx: &Context<Self>) -> Html {
        let series: Vec<Series> = self
            .dense()
            .into_iter()
            .chain(self.methods())
            .map(|r| Series {
                label: r.method.clone(),
                colour: colour(&r.method).into(),
                dashed: r.method == "dense",
                points: r.blocks.iter().map(|b| (b.block as f64, b.l1_per_token)).collect(),
            })
            .collect();
        html! {
            <div class="panel" id="norms">
              <h3>{ "Feature size per block" }</h3>
              <p class="caption">{ "Mean L1 norm of a token after each block, dense (grey, dashed) vs pruned. ReFer is built to keep this curve." }</p>
              <LineChart id="chart-norms" series={series} width={420.0} height={200.0} x_label="block" y_label="‖F‖₁ / token" export={self.export_cb(ctx)}/>
            </div>
        }
    }

    fn view_spectra(&self, ctx: &Context<Self>) -> Html {
        let Some(dense) = self.dense() else { return html! {} };
        let panels = dense.blocks.iter().map(|db| {
            let series: Vec<Series> = std::iter::once(dense)
                .chain(self.methods())
                .filter_map(|r| r.blocks.get(db.block).map(|b| (r, b)))
                .map(|(r, b)| Series {
                    label: format!("{} (effective rank {:.1})", r.method, b.effective_rank),
                    colour: colour(&r.method).into(),
                    dashed: r.method == "dense",
                    points: b.singular_values.iter().enumerate().map(|(i, s)| (i as f64, *s)).collect(),
                })
                .collect();
            html! { <LineChart id={format!("chart-spectrum-{}", db.block)} series={series} width={210.0} height={150.0} log_y=true
                       title={format!("block {} · erank {:.1}", db.block, db.effective_rank)} x_label="i" y_label="σᵢ" export={self.export_cb(ctx)}/> }
        });
        let erank: Vec<Series> = std::iter::once(dense)
            .chain(self.methods())
            .map(|r| Series { label: r.method.clone(), colour: colour(&r.method).into(), dashed: r.method == "dense", points: r.blocks.iter().map(|b| (b.block as f64, b.effective_rank)).collect() })
            .collect();
        html! {
            <div class="panel" id="spectra">
              <h3>{ "Singular-value spectra" }</h3>
              <p class="caption">{ "σᵢ of each block's token matrix (log scale), dense dashed. AFR is built to keep these spectra; hover a line for its effective rank." }</p>
              <div class="small-multiples">{ for panels }</div>
              <LineChart id="chart-erank" series={erank} width={420.0} height={180.0} x_label="block" y_label="effective rank" export={self.export_cb(ctx)}/>
            </div>
        }
    }

    fn view_iou(&self) -> Html {
        let ms = self.methods();
        if ms.len() < 2 {
            return html! {};
        }
        let masks: Vec<foresight::mask::TensorMap<u8>> = ms.iter().map(|r| r.masks.iter().map(|(n, m)| (n.clone(), m.to_vec())).collect()).collect();
        let rows = ms.iter().enumerate().map(|(i, r)| {
            let cells = (0..ms.len()).map(|j| {
                let v = foresight::mask::iou(&masks[i], &masks[j]);
                html! { <td class="num iou" style={format!("background:{}", heat(v))}>{ format!("{v:.2}") }</td> }
            });
            html! { <tr><th>{ r.method.clone() }</th>{ for cells }</tr> }
        });
        html! {
            <div class="panel" id="iou">
              <h3>{ "Mask overlap (IoU)" }</h3>
              <p class="caption">{ "Intersection over union of the kept weights of every pair of methods." }</p>
              <table><thead><tr><th></th>{ for ms.iter().map(|r| html! { <th>{ r.method.clone() }</th> }) }</tr></thead><tbody>{ for rows }</tbody></table>
            </div>
        }
    }

    fn view_heat(&self, ctx: &Context<Self>) -> Html {
        let ms = self.methods();
        let Some(first) = ms.first() else { return html! {} };
        let names: Vec<String> = first.masks.iter().map(|(n, _)| n.clone()).collect();
        let link = ctx.link();
        html! {
            <div class="panel" id="heat">
              <h3>{ "Mask of one weight matrix" }</h3>
              <p class="caption">{ "White = kept, black = pruned; one pixel per weight (rows = outputs)." }</p>
              <select aria-label="method" onchange={link.callback(|e: Event| Msg::HeatMethod(e.target_unchecked_into::<HtmlSelectElement>().value()))}>
                { for ms.iter().map(|r| html! { <option value={r.method.clone()} selected={r.method == self.heat_method}>{ r.method.clone() }</option> }) }
              </select>
              <select aria-label="weight matrix" onchange={link.callback(|e: Event| Msg::HeatTensor(e.target_unchecked_into::<HtmlSelectElement>().value()))}>
                { for names.iter().map(|n| html! { <option value={n.clone()} selected={*n == self.heat_tensor}>{ n.clone() }</option> }) }
              </select>
              <div class="heat-wrap"><canvas ref={self.heat_ref.clone()} id="heat-canvas" class="pix"></canvas></div>
              { export_buttons(ctx, "heat-canvas") }
            </div>
        }
    }

    /// Draws the chosen mask into the canvas, one pixel per weight (CSS scales it, pixelated).
    pub(super) fn draw_heat(&self) {
        let Some(canvas) = self.heat_ref.cast::<HtmlCanvasElement>() else { return };
        let Some(r) = self.results.iter().find(|r| r.method == self.heat_method) else { return };
        let Some((_, mask)) = r.masks.iter().find(|(n, _)| *n == self.heat_tensor) else { return };
        let Some(model_shape) = shape_of(&self.heat_tensor, self.card.as_ref()) else { return };
        let (rows, cols) = model_shape;
        if rows * cols != mask.len() {
            return;
        }
        canvas.set_width(cols as u32);
        canvas.set_height(rows as u32);
        let scale = (512 / cols.max(rows)).clamp(1, 8);
        let _ = canvas.set_attribute("style", &format!("width:{}px", cols * scale));
        let Ok(Some(ctx)) = canvas.get_context("2d") else { return };
        let ctx: web_sys::CanvasRenderingContext2d = ctx.unchecked_into();
        let mut rgba = vec![0u8; rows * cols * 4];
        for (i, k) in mask.iter().enumerate() {
            let v = if *k == 1 { 255 } else { 0 };
            rgba[i * 4..i * 4 + 4].copy_from_slice(&[v, v, v, 255]);
        }
        if let Ok(img) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(wasm_bindgen::Clamped(&rgba), cols as u32, rows as u32) {
            let _ = ctx.put_image_data(&img, 0.0, 0.0);
        }
    }
}

/// (rows, cols) of a prunable matrix as drawn (the patch embedding flattened to D × C·P·P).
fn shape_of(name: &str, card: Option<&ModelCard>) -> Option<(usize, usize)> {
    card?.matrices.iter().find(|m| m.0 == name).map(|m| (m.1, m.2))
}

impl App {
    /// Files to reproduce the run with `foresight score`, each method's scores and masks, masks
    /// alone, fine-tuned models, and the results as CSV / JSON. The buttons name what to
    /// download; the bytes are looked up only when one is clicked.
    fn view_downloads(&self, ctx: &Context<Self>) -> Html {
        let button = |id: String, what: String, label: String| {
            html! { <button id={id} onclick={ctx.link().callback(move |_| Msg::Export(what.clone()))}>{ label }</button> }
        };
        let inputs = self.run_inputs.is_some().then(|| html! { <>
            { button("export-model".into(), "model".into(), "model with head".into()) }
            { button("export-calib".into(), "calib".into(), "calibration batch".into()) }
        </> });
        let methods = self.methods();
        let scores = methods.iter().map(|r| button(format!("export-{}", r.method), format!("scores:{}", r.method), r.method.clone()));
        let masks = methods.iter().map(|r| button(format!("export-masks-{}", r.method), format!("masks:{}", r.method), r.method.clone()));
        let tuned = self.finetuned.keys().map(|m| button(format!("export-tuned-{m}"), format!("tuned:{m}"), m.clone()));
        html! {
            <div class="panel" id="downloads">
              <h3>{ "Export" }</h3>
              <p class="caption">{ "Everything is made in this tab (no upload). Every chart has its own SVG / PNG buttons." }</p>
              <p><b>{ "results " }</b>{ button("export-csv".into(), "csv".into(), "CSV".into()) }{ button("export-json".into(), "json".into(), "JSON".into()) }</p>
              if !methods.is_empty() {
                <p><b>{ "masks " }</b>{ for masks }</p>
                <p class="caption">{ "u8, 1 = kept, under each weight's timm name and shape: in PyTorch, masks = safetensors.torch.load_file(path); prune.custom_from_mask(model.blocks[0].attn.qkv, \"weight\", masks[\"blocks.0.attn.qkv.weight\"])." }</p>
                <p><b>{ "scores + masks " }</b>{ for inputs }{ for scores }</p>
                <p class="caption">{ "Laid out as `foresight score --out` writes them (scores under each weight's name, the mask as <name>.mask); the model and calibration batch reproduce the run: foresight score --model foresight-model-SET.safetensors --calib foresight-calib-SET.safetensors --criterion NAME --sparsity Q --scope SCOPE --alpha A." }</p>
              }
              if !self.finetuned.is_empty() { <p><b>{ "fine-tuned models " }</b>{ for tuned }</p> }
            </div>
        }
    }

    /// Offers `model`, `calib` or a method's score file as a download.
    pub(super) fn download(&self, what: &str) -> Result<(), String> {
        let set = &self.set;
        let file = match (what, &self.run_inputs) {
            ("model", Some((model, _))) => Some((format!("foresight-model-{set}.safetensors"), model.as_slice())),
            ("calib", Some((_, calib))) => Some((format!("foresight-calib-{set}.safetensors"), calib.as_slice())),
            _ => self.results.iter().find(|r| r.method == what && r.method != "dense").map(|r| (format!("foresight-scores-{what}-{set}.safetensors"), r.score_file.as_slice())),
        };
        match file {
            Some((name, bytes)) => crate::exports::offer(&name, bytes, "application/octet-stream"),
            None => Err(format!("Nothing to download for `{what}`: run first.")),
        }
    }
}
