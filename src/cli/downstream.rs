//! `foresight calib`, `finetune` and `probe`: a downstream set from static/data, the bundled or a
//! user's model, and optionally the masks of a `foresight score` run.

use foresight::data::{check_fits, Dataset, Normalization};
use foresight::finetune::{finetune, probe_accuracy, split_accuracy, FinetuneConfig};
use foresight::mask::TensorMap;
use foresight::tensorfile::TensorFile;
use foresight::{Result, Vit};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Clone, Debug)]
pub struct DownstreamArgs {
    /// The model (.safetensors with `foresight.normalization` metadata).
    #[arg(long)]
    pub model: PathBuf,
    /// A bundled data set folder, e.g. static/data/mnist.
    #[arg(long)]
    pub data: PathBuf,
    /// Seed of the new head (and of the fine-tuning order).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub struct Loaded {
    pub model: Vit,
    pub ds: Dataset,
    pub norm: Normalization,
}

pub fn load(a: &DownstreamArgs) -> Result<Loaded> {
    let ds = Dataset::load(&a.data)?;
    let model = Vit::load(&a.model, None)?;
    check_fits(&ds.manifest, &model)?;
    let norm = Normalization::from_model(&model)?;
    let model = model.with_new_head(ds.manifest.classes.len(), a.seed)?;
    Ok(Loaded { model, ds, norm })
}

/// Masks from a `foresight score` output or an exported masks file.
pub fn read_masks(path: &Path) -> Result<TensorMap<u8>> {
    foresight::export::masks_from_file(TensorFile::read(path)?, &path.display().to_string())
}

/// Writes a calibration file: `per_class` train images per class, drawn with `seed`.
pub fn calib(a: &DownstreamArgs, per_class: usize, out: &Path) -> Result<()> {
    let l = load(a)?;
    let classes = l.ds.manifest.classes.len();
    let idx = l.ds.train.k_per_class(per_class, classes, a.seed);
    let c = l.ds.train.batch(&idx, &l.norm, classes)?;
    let mut f = c.to_file();
    f.metadata.insert("data".into(), l.ds.manifest.name.clone());
    f.metadata.insert("indices".into(), serde_json::to_string(&idx).unwrap_or_default());
    f.write(out, false)?;
    eprintln!("wrote {} images ({per_class} per class) of {} to {}", c.len(), l.ds.manifest.title, out.display());
    Ok(())
}

pub fn run_finetune(a: &DownstreamArgs, masks: Option<&Path>, cfg: FinetuneConfig, test_images: usize, out: Option<&Path>) -> Result<()> {
    let l = load(a)?;
    let masks = masks.map(read_masks).transpose()?;
    let device = burn::prelude::Device::flex();
    let t0 = Instant::now();
    let mut log = |step: usize, loss: f64| {
        if (step + 1) % 50 == 0 {
            eprintln!("step {} loss {loss:.4}", step + 1);
        }
        true
    };
    let tuned = pollster::block_on(finetune(&l.model, masks.as_ref(), &l.ds.train, &l.norm, &device, &cfg, &mut log))?;
    let test = l.ds.test.balanced(test_images);
    let acc = pollster::block_on(split_accuracy(&tuned, &test, &l.norm, &device))?;
    let (kept, total) = kept_of(&tuned, masks.as_ref());
    let report = serde_json::json!({
        "data": l.ds.manifest.name, "test_accuracy": acc, "test_images": test.len(), "steps": cfg.steps, "batch": cfg.batch,
        "seconds": t0.elapsed().as_secs_f64(), "kept": kept, "prunable": total,
    });
    println!("{report}");
    if let Some(p) = out {
        tuned.save(p, false)?;
    }
    Ok(())
}

/// Non-zero weights among the masked tensors (all prunable tensors when there are no masks).
fn kept_of(model: &Vit, masks: Option<&TensorMap<u8>>) -> (usize, usize) {
    let names: Vec<String> = match masks {
        Some(m) => m.keys().cloned().collect(),
        None => model.config.prunable(false),
    };
    names.iter().fold((0, 0), |(k, n), name| {
        let d = &model.params[name].data;
        (k + d.iter().filter(|x| **x != 0.0).count(), n + d.len())
    })
}

pub fn run_probe(a: &DownstreamArgs, masks: Option<&Path>) -> Result<()> {
    let l = load(a)?;
    let model = match masks {
        Some(p) => foresight::analysis::apply_masks(&l.model, &read_masks(p)?)?,
        None => l.model,
    };
    let device = burn::prelude::Device::flex();
    let t0 = Instant::now();
    let classes = l.ds.manifest.classes.len();
    let acc = pollster::block_on(probe_accuracy(&model, &l.ds.train, &l.ds.test, &l.norm, classes, &device))?;
    println!("{}", serde_json::json!({"data": l.ds.manifest.name, "probe_accuracy": acc, "seconds": t0.elapsed().as_secs_f64()}));
    Ok(())
}
