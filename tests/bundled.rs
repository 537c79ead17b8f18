//! The bundled model loads through the same safetensors path users use, carries its config,
//! normalisation and training facts, and reaches its stated accuracy on a fixed test subset.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::cpu;
use foresight::data::{Dataset, Normalization};
use foresight::finetune::{finetune, split_accuracy, FinetuneConfig};
use foresight::Vit;
use std::path::PathBuf;

fn path(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn bundled() -> Vit {
    Vit::load(&path("static/models/vit-fmnist.safetensors"), None).expect("the bundled model loads")
}

#[test]
fn bundled_model_reaches_its_accuracy_on_the_first_2000_test_images() {
    let m = bundled();
    assert!(m.config.depth >= 6 && m.config.num_params() <= 5_000_000, "{:?}", m.config);
    let facts: serde_json::Value = serde_json::from_str(&m.metadata["foresight.training"]).unwrap();
    let stated = facts["test_accuracy_stored"].as_f64().unwrap();
    let norm = Normalization::from_model(&m).unwrap();
    let ds = Dataset::load(&path("static/data/fashion-mnist")).unwrap();
    let subset = ds.test.subset(&(0..2000).collect::<Vec<_>>());
    let acc = pollster::block_on(split_accuracy(&m, &subset, &norm, &cpu())).unwrap();
    eprintln!("bundled model: {acc:.4} on the first 2000 test images, {stated:.4} stated for all 10000");
    // A 2000-image subset estimates the full accuracy within ~1.5 points (2 standard errors).
    assert!((acc - stated).abs() < 0.015, "subset accuracy {acc} vs stated {stated}");
}

#[test]
fn dense_finetune_of_the_bundled_model_beats_its_untrained_head() {
    let ds = Dataset::load(&path("static/data/mnist")).unwrap();
    let m = bundled().with_new_head(10, 0).unwrap();
    let norm = Normalization::from_model(&m).unwrap();
    let test = ds.test.balanced(500);
    let before = pollster::block_on(split_accuracy(&m, &test, &norm, &cpu())).unwrap();
    let cfg = FinetuneConfig { steps: 40, batch: 32, ..Default::default() };
    let tuned = pollster::block_on(finetune(&m, None, &ds.train, &norm, &cpu(), &cfg, &mut |_, _| true)).unwrap();
    let after = pollster::block_on(split_accuracy(&tuned, &test, &norm, &cpu())).unwrap();
    eprintln!("MNIST: untrained head {before:.3}, after 40 steps {after:.3}");
    assert!(after > before + 0.3, "{before} → {after}");
}
