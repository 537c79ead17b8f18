//! `foresight experiment`: the seed's protocol on our miniature — for each downstream set and
//! seed, a fixed calibration batch (k per class), every criterion at every sparsity plus the dense
//! model, then a linear probe and a masked fine-tune. Resumable: rows already in the CSV are
//! skipped. Also the seed's Figure 1 analogue: how far weights move when fine-tuning the
//! pretrained model versus the same architecture from random initialisation.

use foresight::criteria::{by_name, Progress, ScoreContext, ScoreOptions, Scores};
use foresight::data::{check_fits, Dataset, Normalization};
use foresight::finetune::{finetune, probe_accuracy, split_accuracy, FinetuneConfig};
use foresight::mask::{make_masks, Scope, TensorMap};
use foresight::{invalid, Error, Result, Vit};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Clone, Debug)]
pub struct ExperimentArgs {
    #[arg(long, default_value = "static/models/vit-fmnist.safetensors")]
    pub model: PathBuf,
    /// Folder holding the data sets.
    #[arg(long, default_value = "static/data")]
    pub data_root: PathBuf,
    #[arg(long, value_delimiter = ',', default_value = "mnist,animal-mnist,hiragana")]
    pub sets: Vec<String>,
    #[arg(long, value_delimiter = ',', default_value = "magnitude,snip,grasp,synflow,snip-mag,refer,afr")]
    pub criteria: Vec<String>,
    #[arg(long, value_delimiter = ',', default_value = "0.8,0.9,0.95,0.98")]
    pub sparsities: Vec<f64>,
    #[arg(long, value_delimiter = ',', default_value = "0,1")]
    pub seeds: Vec<u64>,
    /// Calibration images per class.
    #[arg(long, default_value_t = 10)]
    pub per_class: usize,
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    #[arg(long, default_value_t = 5e-4)]
    pub lr: f64,
    /// Train images the probe is fitted on (a fixed stratified subset; 0 = all).
    #[arg(long, default_value_t = 4000)]
    pub probe_train: usize,
    /// Results CSV (appended to; existing rows are skipped).
    #[arg(long, default_value = "docs/results.csv")]
    pub out: PathBuf,
    /// Parameter-drift CSV (the Figure 1 analogue).
    #[arg(long, default_value = "docs/drift.csv")]
    pub drift: PathBuf,
}

const DRIFT_HEADER: &str = "set,seed,init,correlation,mean_abs_change_over_mean_abs,finetune_acc";
const HEADER: &str = "set,seed,method,sparsity,kept,probe_acc,finetune_acc,score_s,finetune_s";

/// The first `key_cols` columns of every data row already in a CSV.
fn done_rows(path: &Path, key_cols: usize) -> HashSet<String> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().skip(1).map(|l| l.split(',').take(key_cols).collect::<Vec<_>>().join(",")).collect())
        .unwrap_or_default()
}

fn append(path: &Path, header: &str, line: &str) -> Result<()> {
    let io = |source| Error::Io { path: path.display().to_string(), source };
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
    if new {
        writeln!(f, "{header}").map_err(io)?;
    }
    writeln!(f, "{line}").map_err(io)
}


/// Pearson correlation of θ before/after and `mean|Δθ| / mean|θ|` over the prunable weights.
fn drift(before: &Vit, after: &Vit) -> Result<(f64, f64)> {
    let d = foresight::drift::drift(before, after, &before.config.prunable(false), None, 1)?;
    Ok((d.correlation, d.relative_change))
}

pub fn run(a: ExperimentArgs) -> Result<()> {
    let base = Vit::load(&a.model, None)?;
    let norm = Normalization::from_model(&base)?;
    for q in &a.sparsities {
        foresight::mask::check_sparsity(*q)?;
    }
    for c in &a.criteria {
        by_name(c)?;
    }
    if let Some(dir) = a.out.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.display().to_string(), source })?;
    }
    let done = done_rows(&a.out, 4);
    let drift_done = done_rows(&a.drift, 3);
    let device = burn::prelude::Device::flex();
    let ft = |seed| FinetuneConfig { steps: a.steps, batch: a.batch, lr: a.lr, seed, ..Default::default() };
    let started = Instant::now();
    for set in &a.sets {
        let ds = Dataset::load(&a.data_root.join(set))?;
        check_fits(&ds.manifest, &base)?;
        let k = ds.manifest.classes.len();
        let probe_idx = if a.probe_train == 0 { (0..ds.train.len()).collect() } else { ds.train.k_per_class(a.probe_train / k, k, 99) };
        let probe_train = ds.train.subset(&probe_idx);
        for &seed in &a.seeds {
            let model = base.clone().with_new_head(k, seed)?;
            let calib = ds.train.batch(&ds.train.k_per_class(a.per_class, k, seed), &norm, k)?;
            let run_one = |method: &str, q: Option<f64>, masks: Option<&TensorMap<u8>>, score_s: f64| -> Result<()> {
                let key = format!("{set},{seed},{method},{}", q.map(|q| q.to_string()).unwrap_or("0".into()));
                if done.contains(&key) {
                    return Ok(());
                }
                let pm = match masks {
                    Some(m) => foresight::analysis::apply_masks(&model, m)?,
                    None => model.clone(),
                };
                let probe = pollster::block_on(probe_accuracy(&pm, &probe_train, &ds.test, &norm, k, &device))?;
                let t0 = Instant::now();
                let tuned = pollster::block_on(finetune(&model, masks, &ds.train, &norm, &device, &ft(seed), &mut |_, _| true))?;
                let ft_s = t0.elapsed().as_secs_f64();
                let acc = pollster::block_on(split_accuracy(&tuned, &ds.test, &norm, &device))?;
                let kept = masks.map(|m| m.values().flatten().filter(|&&x| x == 1).count()).unwrap_or_else(|| {
                    model.config.prunable(false).iter().map(|n| model.params[n].data.len()).sum()
                });
                append(&a.out, HEADER, &format!("{key},{kept},{probe:.4},{acc:.4},{score_s:.2},{ft_s:.1}"))?;
                eprintln!("[{:.0} s] {key}: probe {probe:.4} fine-tuned {acc:.4}", started.elapsed().as_secs_f64());
                if method == "dense" && !drift_done.contains(&format!("{set},{seed},pretrained")) {
                    let (r, rel) = drift(&model, &tuned)?;
                    append(&a.drift, DRIFT_HEADER, &format!("{set},{seed},pretrained,{r:.5},{rel:.5},{acc:.4}"))?;
                    // The same architecture from random initialisation, fine-tuned the same way.
                    let scratch = Vit::init(model.config.clone(), 1000 + seed)?;
                    let tuned_s = pollster::block_on(finetune(&scratch, None, &ds.train, &norm, &device, &ft(seed), &mut |_, _| true))?;
                    let acc_s = pollster::block_on(split_accuracy(&tuned_s, &ds.test, &norm, &device))?;
                    let (r, rel) = drift(&scratch, &tuned_s)?;
                    append(&a.drift, DRIFT_HEADER, &format!("{set},{seed},random,{r:.5},{rel:.5},{acc_s:.4}"))?;
                }
                Ok(())
            };
            run_one("dense", None, None, 0.0)?;
            let quiet = |_: &Progress| true;
            let mut cache: BTreeMap<String, (Scores, f64)> = BTreeMap::new();
            for c in &a.criteria {
                for &q in &a.sparsities {
                    let key = format!("{set},{seed},{c},{q}");
                    if done.contains(&key) {
                        continue;
                    }
                    // Only SynFlow's scores depend on the target sparsity.
                    let ck = if c == "synflow" { format!("{c}@{q}") } else { c.clone() };
                    if !cache.contains_key(&ck) {
                        let opts = ScoreOptions { sparsity: Some(q), ..Default::default() };
                        let ctx = ScoreContext::new(&model, &calib, device.clone(), opts, &quiet)?;
                        let t0 = Instant::now();
                        let s = pollster::block_on(by_name(c)?.score(&ctx))?;
                        cache.insert(ck.clone(), (s, t0.elapsed().as_secs_f64()));
                    }
                    let (s, secs) = &cache[&ck];
                    let masks = make_masks(s, &model.config.prunable(false), q, Scope::Global)?;
                    run_one(c, Some(q), Some(&masks), *secs)?;
                }
            }
        }
    }
    if a.sets.is_empty() {
        return Err(invalid!("no data sets given"));
    }
    eprintln!("experiment finished in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Mean and sample standard deviation.
fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 { (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    (m, sd)
}

/// Markdown tables from the results and drift CSVs.
pub fn report(results: &Path, drift: &Path) -> Result<String> {
    let text = std::fs::read_to_string(results).map_err(|source| Error::Io { path: results.display().to_string(), source })?;
    // (set, method, sparsity) → [(probe, finetune)]
    let mut cells: BTreeMap<(String, String, String), Vec<(f64, f64)>> = BTreeMap::new();
    let (mut seconds, mut runs) = (0.0, 0);
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 9 {
            return Err(invalid!("{} line {}: expected 9 fields", results.display(), i + 1));
        }
        let num = |s: &str| s.parse::<f64>().map_err(|_| invalid!("{} line {}: `{s}` is not a number", results.display(), i + 1));
        cells.entry((f[0].into(), f[2].into(), f[3].into())).or_default().push((num(f[5])?, num(f[6])?));
        seconds += num(f[7])? + num(f[8])?;
        runs += 1;
    }
    let mut out = String::new();
    out += &format!("{runs} runs; scoring + fine-tuning took {:.1} CPU-hours in total (probes not counted).\n", seconds / 3600.0);
    let sets: Vec<String> = cells.keys().map(|k| k.0.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let order = ["dense", "magnitude", "snip", "grasp", "synflow", "snip-mag", "refer", "afr"];
    for set in &sets {
        let qs: Vec<String> = {
            let mut v: Vec<String> = cells.keys().filter(|k| &k.0 == set && k.2 != "0").map(|k| k.2.clone()).collect();
            v.sort_by(|a, b| a.parse::<f64>().unwrap_or(0.0).total_cmp(&b.parse::<f64>().unwrap_or(0.0)));
            v.dedup();
            v
        };
        for (title, pick) in [("fine-tuned", 1usize), ("linear probe", 0usize)] {
            out += &format!("\n### {set}: {title} test accuracy (%), mean ± sd over seeds\n\n| method | ");
            out += &qs.iter().map(|q| format!("{:.0} %", q.parse::<f64>().unwrap_or(0.0) * 100.0)).collect::<Vec<_>>().join(" | ");
            out += " |\n|---|";
            out += &"---:|".repeat(qs.len());
            out += "\n";
            for m in order {
                let row: Vec<String> = qs
                    .iter()
                    .map(|q| {
                        let q = if m == "dense" { "0".to_string() } else { q.clone() };
                        match cells.get(&(set.clone(), m.to_string(), q)) {
                            Some(v) => {
                                let xs: Vec<f64> = v.iter().map(|p| if pick == 1 { p.1 } else { p.0 } * 100.0).collect();
                                let (mu, sd) = mean_sd(&xs);
                                // One seed has no spread to show: say so rather than print ± 0.
                                if xs.len() > 1 { format!("{mu:.2} ± {sd:.2}") } else { format!("{mu:.2} (1 seed)") }
                            }
                            None => "–".into(),
                        }
                    })
                    .collect();
                if row.iter().all(|c| c == "–") {
                    continue;
                }
                out += &format!("| {m} | {} |\n", row.join(" | "));
            }
        }
    }
    if let Ok(d) = std::fs::read_to_string(drift) {
        out += "\n### Parameter drift during dense fine-tuning (the seed's Figure 1 analogue)\n\n";
        out += "| set | seed | initialisation | corr(θ before, θ after) | mean abs(Δθ) / mean abs(θ) | fine-tuned acc. |\n|---|---:|---|---:|---:|---:|\n";
        for line in d.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() == 6 {
                out += &format!("| {} | {} | {} | {} | {} | {} |\n", f[0], f[1], f[2], f[3], f[4], f[5]);
            }
        }
    }
    Ok(out)
}
