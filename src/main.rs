//! `foresight`: the native command-line tool over the same engine as the page.

mod cli;

use clap::{Parser, Subcommand};
use foresight::analysis::{analyze, apply_masks};
use foresight::backend::{device, Backend};
use foresight::finetune::FinetuneConfig;
use foresight::criteria::{Progress, ScoreOptions};
use foresight::mask::Scope;
use foresight::{Calibration, Error, Result, Vit};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "foresight", version, about = "Foresight pruning of pretrained Vision Transformers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ModelArgs {
    /// The model (.safetensors, timm names).
    #[arg(long)]
    model: PathBuf,
    /// Attention heads when the file carries no config (default: width / 64).
    #[arg(long)]
    heads: Option<usize>,
    /// Calibration batch (.safetensors with `images` f32 [N,C,H,W] and `labels` i64 [N]).
    #[arg(long)]
    calib: PathBuf,
    /// Compute backend.
    #[arg(long, default_value = "cpu")]
    backend: String,
    /// Images per forward pass.
    #[arg(long, default_value_t = 32)]
    batch: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Score every prunable weight with one criterion (and make a mask at --sparsity).
    Score {
        #[command(flatten)]
        m: ModelArgs,
        /// magnitude, snip, grasp, synflow, snip-mag, refer or afr.
        #[arg(long)]
        criterion: String,
        /// SNIP-Mag's α.
        #[arg(long, default_value_t = 1.0)]
        alpha: f64,
        /// Fraction of prunable weights to remove, in (0, 1).
        #[arg(long)]
        sparsity: Option<f64>,
        /// global or layer.
        #[arg(long, default_value = "global")]
        scope: String,
        /// Seed of a new head (used when the model has no head of the right size).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Prune the head as well.
        #[arg(long)]
        include_head: bool,
        /// SynFlow's pruning rounds (with --sparsity; 1 = a single, non-iterative SynFlow score).
        #[arg(long, default_value_t = 100)]
        synflow_rounds: usize,
        /// Output .safetensors: keep-scores under the timm names, masks as `<name>.mask`.
        #[arg(long)]
        out: PathBuf,
    },
    /// Per-block feature L1 norms and singular values, dense and (with --masks) pruned.
    Analyze {
        #[command(flatten)]
        m: ModelArgs,
        /// A `foresight score` output whose `<name>.mask` tensors are applied.
        #[arg(long)]
        masks: Option<PathBuf>,
        /// Write the JSON here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Pretrain our own ViT on a bundled source set, resumable from a checkpoint.
    Pretrain(cli::pretrain::PretrainArgs),
    /// Write a calibration file: k train images per class of a bundled set, normalised for the model.
    Calib {
        #[command(flatten)]
        d: cli::downstream::DownstreamArgs,
        #[arg(long, default_value_t = 10)]
        per_class: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Fine-tune (masked, if --masks) on a bundled set's train split; report test accuracy.
    Finetune {
        #[command(flatten)]
        d: cli::downstream::DownstreamArgs,
        /// Masks that stay zero: a `foresight score --sparsity` output (`<name>.mask`) or a masks
        /// file exported by the page (u8 under the weight names).
        #[arg(long)]
        masks: Option<PathBuf>,
        #[arg(long, default_value_t = 300)]
        steps: usize,
        /// Score on N test images only, spread over the classes (0 = the whole test split), as the page does.
        #[arg(long, default_value_t = 0)]
        test_images: usize,
        #[arg(long, default_value_t = 64)]
        batch: usize,
        #[arg(long, default_value_t = 5e-4)]
        lr: f64,
        /// Save the fine-tuned model here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The seed's experiment on every downstream set (resumable; writes docs/results.csv).
    Experiment(cli::experiment::ExperimentArgs),
    /// Markdown tables from an experiment's CSVs.
    Report {
        #[arg(long, default_value = "docs/results.csv")]
        results: PathBuf,
        #[arg(long, default_value = "docs/drift.csv")]
        drift: PathBuf,
    },
    /// Linear probe on the frozen (masked, if --masks) backbone; report test accuracy.
    Probe {
        #[command(flatten)]
        d: cli::downstream::DownstreamArgs,
        #[arg(long)]
        masks: Option<PathBuf>,
    },
}

fn load(m: &ModelArgs) -> Result<(Vit, Calibration, burn::prelude::Device)> {
    let model = Vit::load(&m.model, m.heads)?;
    let calib = Calibration::load(&m.calib)?;
    calib.check(&model.config)?;
    let dev = device(m.backend.parse::<Backend>()?)?;
    Ok((model, calib, dev))
}

fn print_progress(p: &Progress) -> bool {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return true;
    }
    eprint!("\r{}: {} {}/{}      ", p.criterion, p.step, p.done + 1, p.total.max(1));
    true
}

fn write_out(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => std::fs::write(p, text).map_err(|source| Error::Io { path: p.display().to_string(), source }),
        None => {
            println!("{text}");
            Ok(())
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Score { m, criterion, alpha, sparsity, scope, seed, include_head, synflow_rounds, out } => {
            let scope: Scope = scope.parse()?;
            let (model, calib, dev) = load(&m)?;
            let options = ScoreOptions { alpha, sparsity, scope, include_head, batch: m.batch, synflow_rounds, ..Default::default() };
            let t0 = std::time::Instant::now();
            let scored = pollster::block_on(foresight::score::score(model, &calib, dev, &criterion, seed, options, &print_progress))?;
            if let Some(note) = &scored.new_head {
                eprintln!("\rnote: {note}");
            }
            eprintln!("\r{criterion}: scored {} tensors in {:.2} s", scored.tensors, t0.elapsed().as_secs_f64());
            if let Some((kept, total, target)) = scored.kept {
                eprintln!("kept {kept} of {total} weights (target {target})");
            }
            scored.file.write(&out, false)
        }
        Command::Analyze { m, masks, out } => {
            let (model, calib, dev) = load(&m)?;
            let mut quiet = |_, _| true;
            let dense = pollster::block_on(analyze(&model, &calib, &dev, m.batch, &mut quiet))?;
            let pruned = match &masks {
                Some(p) => {
                    let pm = apply_masks(&model, &cli::downstream::read_masks(p)?)?;
                    Some(pollster::block_on(analyze(&pm, &calib, &dev, m.batch, &mut quiet))?)
                }
                None => None,
            };
            let json = serde_json::json!({ "dense": dense, "pruned": pruned });
            write_out(out.as_deref(), &serde_json::to_string_pretty(&json).unwrap_or_default())
        }
        Command::Pretrain(a) => cli::pretrain::run(a),
        Command::Calib { d, per_class, out } => cli::downstream::calib(&d, per_class, &out),
        Command::Finetune { d, masks, steps, test_images, batch, lr, out } => {
            let cfg = FinetuneConfig { steps, batch, lr, seed: d.seed, ..Default::default() };
            cli::downstream::run_finetune(&d, masks.as_deref(), cfg, test_images, out.as_deref())
        }
        Command::Experiment(a) => cli::experiment::run(a),
        Command::Report { results, drift } => cli::experiment::report(&results, &drift).map(|t| println!("{t}")),
        Command::Probe { d, masks } => cli::downstream::run_probe(&d, masks.as_deref()),
    }
}

fn main() -> ExitCode {
    // A bug must still end in one readable line, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        eprintln!("error: internal error ({msg}); please report it");
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}.");
            ExitCode::FAILURE
        }
    }
}
