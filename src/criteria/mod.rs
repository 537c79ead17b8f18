//! The seven pruning criteria behind one trait, found by name in one registry.
//!
//! Each criterion gives a keep-score for every weight of the prunable set `P`; masks keep the
//! highest scores (see [`crate::mask`]). The definitions follow `docs/criteria.md`.
//! To add a criterion: write one file with a type implementing [`Criterion`] and add one line to
//! [`registry`].

mod afr;
mod grasp;
mod magnitude;
mod refer;
mod snip;
mod snip_mag;
mod synflow;

use crate::calib::Calibration;
use crate::error::{Error, Result};
use crate::grad::GradPass;
use crate::invalid;
use crate::mask::{Scope, TensorMap};
use crate::vit::Vit;
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;

/// Every criterion, in the order the page lists them.
pub fn registry() -> Vec<Box<dyn Criterion>> {
    vec![
        Box::new(magnitude::Magnitude),
        Box::new(snip::Snip),
        Box::new(grasp::Grasp),
        Box::new(synflow::SynFlow),
        Box::new(snip_mag::SnipMag),
        Box::new(refer::ReFer),
        Box::new(afr::Afr),
    ]
}

/// The criterion called `name` (as on the command line: magnitude, snip, grasp, synflow,
/// snip-mag, refer, afr).
pub fn by_name(name: &str) -> Result<Box<dyn Criterion>> {
    registry().into_iter().find(|c| c.name() == name).ok_or_else(|| {
        let names: Vec<&str> = registry().iter().map(|c| c.name()).collect();
        invalid!("unknown criterion `{name}`; choose one of: {}", names.join(", "))
    })
}

/// Keep-scores for the prunable tensors.
pub type Scores = TensorMap<f32>;

/// The future a criterion returns (boxed so the trait stays object-safe; not `Send`, because in
/// the browser it runs on one thread).
pub type ScoreFuture<'a> = Pin<Box<dyn Future<Output = Result<Scores>> + 'a>>;

/// What a criterion is called and what it does, for menus and tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Info {
    /// Command-line name.
    pub name: &'static str,
    /// Name for humans.
    pub title: &'static str,
    /// One line on the idea.
    pub idea: &'static str,
    /// Whether the criterion reads the calibration labels.
    pub uses_labels: bool,
}

/// A pruning criterion.
pub trait Criterion {
    /// Its name and idea.
    fn info(&self) -> Info;
    /// Keep-scores for every tensor of `ctx.prunable()`.
    fn score<'a>(&'a self, ctx: &'a ScoreContext<'a>) -> ScoreFuture<'a>;
    /// Command-line name.
    fn name(&self) -> &'static str {
        self.info().name
    }
    /// Name for humans.
    fn title(&self) -> &'static str {
        self.info().title
    }
}

/// Knobs shared by the criteria.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScoreOptions {
    /// SNIP-Mag's weight on the magnitude term (default 1).
    pub alpha: f64,
    /// Target sparsity: SynFlow's schedule needs it; without it SynFlow scores in one round.
    pub sparsity: Option<f64>,
    /// Mask scope (SynFlow re-masks with it each round).
    pub scope: Scope,
    /// Prune the head too.
    pub include_head: bool,
    /// Images per forward pass.
    pub batch: usize,
    /// GraSP's temperature `T`.
    pub grasp_temperature: f64,
    /// GraSP's finite-difference step, relative to `‖θ_P‖`.
    pub grasp_rel_eps: f64,
    /// SynFlow's rounds `E`.
    pub synflow_rounds: usize,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            alpha: 1.0,
            sparsity: None,
            scope: Scope::Global,
            include_head: false,
            batch: 32,
            grasp_temperature: 200.0,
            grasp_rel_eps: 1e-3,
            synflow_rounds: 100,
        }
    }
}

/// Where a criterion stands, for progress displays.
#[derive(Clone, Debug, Serialize)]
pub struct Progress<'a> {
    pub criterion: &'a str,
    pub step: &'a str,
    pub done: usize,
    pub total: usize,
}

/// Everything a criterion reads. Build it with [`ScoreContext::new`], which validates.
pub struct ScoreContext<'a> {
    /// The model, with a head for the calibration task.
    pub model: &'a Vit,
    pub calib: &'a Calibration,
    pub device: Device,
    pub options: ScoreOptions,
    /// Called at every step; returning false cancels the run.
    pub progress: &'a dyn Fn(&Progress) -> bool,
    prunable: Vec<String>,
}

impl<'a> ScoreContext<'a> {
    /// Validates the inputs (image shape, a head matching the classes, options).
    pub fn new(
        model: &'a Vit,
        calib: &'a Calibration,
        device: Device,
        options: ScoreOptions,
        progress: &'a dyn Fn(&Progress) -> bool,
    ) -> Result<Self> {
        calib.check(&model.config)?;
        if model.config.num_classes != calib.num_classes {
            return Err(invalid!(
                "the model's head has {} outputs but the calibration set has {} classes (use Vit::with_head)",
                model.config.num_classes,
                calib.num_classes
            ));
        }
        if let Some(q) = options.sparsity {
            crate::mask::check_sparsity(q)?;
        }
        if !(options.alpha.is_finite() && options.alpha >= 0.0) {
            return Err(invalid!("alpha must be a finite number ≥ 0, got {}", options.alpha));
        }
        if options.synflow_rounds == 0 {
            return Err(invalid!("SynFlow needs at least one round"));
        }
        if !(options.grasp_temperature > 0.0 && options.grasp_rel_eps > 0.0) {
            return Err(invalid!("GraSP's temperature and step must be positive"));
        }
        let prunable = model.config.prunable(options.include_head);
        Ok(ScoreContext { model, calib, device, options, progress, prunable })
    }

    /// The prunable tensor names `P`, in timm order.
    pub fn prunable(&self) -> &[String] {
        &self.prunable
    }

    /// Reports a step; an error if the user cancelled.
    pub fn step(&self, criterion: &str, step: &str, done: usize, total: usize) -> Result<()> {
        if (self.progress)(&Progress { criterion, step, done, total }) {
            Ok(())
        } else {
            Err(Error::Cancelled)
        }
    }

    /// A gradient pass over the calibration batch for `P`.
    pub fn grad_pass(&self) -> GradPass<'_> {
        GradPass {
            config: &self.model.config,
            calib: self.calib,
            device: self.device.clone(),
            wrt: &self.prunable,
            batch: self.options.batch,
        }
    }

    /// A chunk callback that reports `step` of `criterion`.
    pub fn chunk_reporter<'s>(&'s self, criterion: &'s str, step: &'s str) -> impl FnMut(usize, usize) -> bool + 's {
        move |done, total| (self.progress)(&Progress { criterion, step, done, total })
    }

    /// The current weights of `P`.
    pub fn weights(&self, name: &str) -> &[f32] {
        &self.model.params[name].data
    }
}

/// `|θ ⊙ g|` for every tensor of `P`.
pub fn abs_theta_times(ctx: &ScoreContext, g: &TensorMap<f32>) -> Scores {
    ctx.prunable()
        .iter()
        .map(|n| {
            let s = ctx.weights(n).iter().zip(&g[n]).map(|(t, g)| (t * g).abs()).collect();
            (n.clone(), s)
        })
        .collect()
}

/// `Σ_P s` in f64.
pub fn total(s: &Scores) -> f64 {
    s.values().flat_map(|v| v.iter()).map(|&x| x as f64).sum()
}

/// `a / Σa + w · b / Σb` (each term normalised to unit mass over `P`; a zero-mass term drops out).
pub fn mass_balanced(a: &Scores, b: &Scores, w: f64) -> Scores {
    let (ta, tb) = (total(a), total(b));
    let ia = if ta > 0.0 { 1.0 / ta } else { 0.0 };
    let ib = if tb > 0.0 { w / tb } else { 0.0 };
    a.iter()
        .map(|(n, va)| {
            let s = va.iter().zip(&b[n]).map(|(x, y)| (*x as f64 * ia + *y as f64 * ib) as f32).collect();
            (n.clone(), s)
        })
        .collect()
}

#[allow(dead_code)]
fn _assert_object_safe(_: &dyn Criterion) {}
