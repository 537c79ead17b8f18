//! `foresight pretrain`: train our own ViT on a bundled source set (Fashion-MNIST), resumable
//! from a checkpoint that holds the model, the AdamW moments and the step.

use foresight::data::{Dataset, Normalization};
use foresight::invalid;
use foresight::rng::Rng;
use foresight::tensorfile::{Entry, TensorFile, Values};
use foresight::train::{accuracy, batch_loss_and_grad, minibatch, AdamW, TrainConfig, CPU_SLICES};
use foresight::vit::CONFIG_KEY;
use foresight::{Error, Result, Vit, VitConfig};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Clone, Debug)]
pub struct PretrainArgs {
    /// A bundled data set folder (manifest.json + shards).
    #[arg(long, default_value = "static/data/fashion-mnist")]
    pub data: PathBuf,
    /// The finished model (.safetensors).
    #[arg(long)]
    pub out: PathBuf,
    /// Checkpoint to resume from and to write to.
    #[arg(long, default_value = "checkpoints/pretrain.safetensors")]
    pub checkpoint: PathBuf,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 0.05)]
    pub weight_decay: f64,
    #[arg(long, default_value_t = 1)]
    pub warmup_epochs: usize,
    #[arg(long, default_value_t = 0.1)]
    pub label_smoothing: f64,
    #[arg(long, default_value_t = 64)]
    pub width: usize,
    #[arg(long, default_value_t = 6)]
    pub depth: usize,
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    #[arg(long, default_value_t = 4)]
    pub patch: usize,
    #[arg(long, default_value_t = 4.0)]
    pub mlp_ratio: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Random shifts of up to this many pixels (0: none).
    #[arg(long, default_value_t = 2)]
    pub shift: usize,
    /// Write a checkpoint every this many steps (and at every epoch's end).
    #[arg(long, default_value_t = 100)]
    pub checkpoint_every: usize,
    /// Stop after this many steps in this run (for smoke tests and benchmarks).
    #[arg(long)]
    pub max_steps: Option<usize>,
}

struct State {
    model: Vit,
    opt: AdamW,
    seconds: f64,
}

fn save_checkpoint(path: &Path, s: &State) -> Result<()> {
    let mut f = s.model.to_file()?;
    for (prefix, map) in [("opt.m.", &s.opt.m), ("opt.v.", &s.opt.v)] {
        for (name, v) in map {
            let shape = s.model.params[name].shape.clone();
            f.tensors.insert(format!("{prefix}{name}"), Entry::f32(shape, v.clone()));
        }
    }
    f.metadata.insert("checkpoint.step".into(), s.opt.step.to_string());
    f.metadata.insert("checkpoint.seconds".into(), format!("{:.1}", s.seconds));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.display().to_string(), source })?;
    }
    let tmp = path.with_extension("tmp");
    f.write(&tmp, false)?;
    std::fs::rename(&tmp, path).map_err(|source| Error::Io { path: path.display().to_string(), source })
}

fn load_checkpoint(path: &Path) -> Result<State> {
    let what = path.display().to_string();
    let mut f = TensorFile::read(path)?;
    let mut opt = AdamW::default();
    let keys: Vec<String> = f.tensors.keys().filter(|k| k.starts_with("opt.")).cloned().collect();
    for k in keys {
        let e = f.tensors.remove(&k).expect("listed above");
        let Values::F32(v) = e.values else { return Err(invalid!("{what}: `{k}` is not float")) };
        if let Some(n) = k.strip_prefix("opt.m.") {
            opt.m.insert(n.to_string(), v);
        } else if let Some(n) = k.strip_prefix("opt.v.") {
            opt.v.insert(n.to_string(), v);
        }
    }
    let num = |key: &str| -> Result<f64> {
        f.metadata.get(key).and_then(|s| s.parse().ok()).ok_or_else(|| invalid!("{what} has no `{key}`"))
    };
    opt.step = num("checkpoint.step")? as usize;
    let seconds = num("checkpoint.seconds")?;
    let mut model = Vit::from_file(f, &what, None)?;
    model.metadata.retain(|k, _| !k.starts_with("checkpoint."));
    Ok(State { model, opt, seconds })
}

pub fn run(a: PretrainArgs) -> Result<()> {
    let ds = Dataset::load(&a.data)?;
    let norm = Normalization::of(&ds.train);
    let k = ds.manifest.classes.len();
    let [c, h, w] = ds.manifest.image;
    if h != w {
        return Err(invalid!("only square images are supported, the set has {h}×{w}"));
    }
    let cfg = VitConfig {
        img_size: h,
        in_chans: c,
        patch_size: a.patch,
        embed_dim: a.width,
        depth: a.depth,
        num_heads: a.heads,
        mlp_ratio: a.mlp_ratio,
        num_classes: k,
    };
    cfg.validate()?;
    let per_epoch = ds.train.len() / a.batch;
    if per_epoch == 0 {
        return Err(invalid!("batch {} is larger than the training split ({})", a.batch, ds.train.len()));
    }
    let tc = TrainConfig {
        lr: a.lr,
        weight_decay: a.weight_decay,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        warmup_steps: per_epoch * a.warmup_epochs,
        total_steps: per_epoch * a.epochs,
        min_lr_ratio: 0.01,
        label_smoothing: a.label_smoothing,
    };
    let mut s = if a.checkpoint.exists() {
        let s = load_checkpoint(&a.checkpoint)?;
        if s.model.config != cfg {
            return Err(invalid!(
                "{} holds a model of another configuration ({:?}); remove it or pass the same settings",
                a.checkpoint.display(),
                s.model.config
            ));
        }
        eprintln!("resuming from {} at step {}", a.checkpoint.display(), s.opt.step);
        s
    } else {
        State { model: Vit::init(cfg.clone(), a.seed)?, opt: AdamW::default(), seconds: 0.0 }
    };
    eprintln!(
        "pretraining {} params on {} ({} train images), {} steps of {} ({} per epoch)",
        cfg.num_params(),
        ds.manifest.title,
        ds.train.len(),
        tc.total_steps,
        a.batch,
        per_epoch
    );
    let names: Vec<String> = s.model.params.keys().cloned().collect();
    let device = burn::prelude::Device::flex();
    let test_all: Vec<usize> = (0..ds.test.len()).collect();
    let test = ds.test.batch(&test_all, &norm, k)?;
    let started = Instant::now();
    let base_seconds = s.seconds;
    let mut run_steps = 0;
    let (mut loss_sum, mut acc_sum, mut count) = (0.0, 0.0, 0);
    while s.opt.step < tc.total_steps && a.max_steps.is_none_or(|m| run_steps < m) {
        let epoch = s.opt.step / per_epoch;
        let mut order: Vec<usize> = (0..ds.train.len()).collect();
        Rng::new(a.seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37)).shuffle(&mut order);
        // The augmentation stream is a function of the step, so a resumed run sees the same images.
        let mut rng = Rng::new(a.seed ^ (s.opt.step as u64).wrapping_mul(0xA24B_AED4_963E_E407));
        for i in (s.opt.step % per_epoch)..per_epoch {
            let idx = &order[i * a.batch..(i + 1) * a.batch];
            let b = minibatch(&ds.train, idx, &norm, k, Some((a.shift, true, &mut rng)))?;
            let (loss, acc, g) = pollster::block_on(batch_loss_and_grad(&s.model, &b, &device, &names, tc.label_smoothing))?;
            let lr = tc.lr_at(s.opt.step);
            s.opt.update(&tc, &mut s.model.params, &g, lr, None);
            run_steps += 1;
            s.seconds = base_seconds + started.elapsed().as_secs_f64();
            (loss_sum, acc_sum, count) = (loss_sum + loss, acc_sum + acc, count + 1);
            if s.opt.step % 50 == 0 {
                let ips = (run_steps * a.batch) as f64 / started.elapsed().as_secs_f64();
                eprintln!(
                    "epoch {epoch} step {}/{} loss {:.4} train-acc {:.3} lr {lr:.2e} {ips:.0} img/s {:.0} s",
                    s.opt.step,
                    tc.total_steps,
                    loss_sum / count as f64,
                    acc_sum / count as f64,
                    s.seconds
                );
                (loss_sum, acc_sum, count) = (0.0, 0.0, 0);
            }
            if s.opt.step % a.checkpoint_every == 0 {
                save_checkpoint(&a.checkpoint, &s)?;
            }
            if a.max_steps.is_some_and(|m| run_steps >= m) {
                break;
            }
        }
        save_checkpoint(&a.checkpoint, &s)?;
        if s.opt.step % per_epoch == 0 {
            let acc = pollster::block_on(accuracy(&s.model, &test, &device, 500))?;
            eprintln!("epoch {} done: test accuracy {:.4} after {:.0} s", epoch + 1, acc, s.seconds);
        }
    }
    if s.opt.step < tc.total_steps {
        eprintln!("stopped at step {} of {} (checkpoint saved)", s.opt.step, tc.total_steps);
        return Ok(());
    }
    let acc32 = pollster::block_on(accuracy(&s.model, &test, &device, 500))?;
    // f16 storage if it does not change the accuracy.
    let mut m16 = s.model.clone();
    m16.params.values_mut().for_each(|t| t.data.iter_mut().for_each(|x| *x = half::f16::from_f32(*x).to_f32()));
    let acc16 = pollster::block_on(accuracy(&m16, &test, &device, 500))?;
    let half = (acc16 - acc32).abs() < 0.0005;
    let mut out = if half { m16 } else { s.model.clone() };
    let facts = serde_json::json!({
        "data": ds.manifest.name, "train_images": ds.train.len(), "test_images": ds.test.len(),
        "epochs": a.epochs, "steps": tc.total_steps, "batch": a.batch, "seconds": s.seconds.round(),
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), "batch_slices": CPU_SLICES,
        "test_accuracy_f32": acc32, "test_accuracy_stored": if half { acc16 } else { acc32 },
        "stored_as": if half { "f16" } else { "f32" }, "augmentation": format!("random shift ±{} px, horizontal flip", a.shift),
        "optimizer": tc, "seed": a.seed, "params": cfg.num_params(),
    });
    out.metadata.insert(Normalization::KEY.into(), serde_json::to_string(&norm).unwrap_or_default());
    out.metadata.insert("foresight.training".into(), facts.to_string());
    out.metadata.remove(CONFIG_KEY);
    if let Some(dir) = a.out.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.display().to_string(), source })?;
    }
    out.save(&a.out, half)?;
    println!("{}", serde_json::to_string_pretty(&facts).unwrap_or_default());
    Ok(())
}
