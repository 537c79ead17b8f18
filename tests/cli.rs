//! The `foresight` binary: outputs in the contracted layout, errors as one sentence.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use foresight::tensorfile::{TensorFile, Values};
use std::process::Command;

fn foresight(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_foresight")).args(args).output().expect("binary runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn tmp(name: &str) -> String {
    let d = std::env::temp_dir().join(format!("foresight-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name).display().to_string()
}

#[test]
fn score_writes_scores_and_masks_under_timm_names() {
    let (m, c) = (fixture("tiny_vit.safetensors"), fixture("tiny_calib.safetensors"));
    let out = tmp("afr.safetensors");
    let (ok, _, err) = foresight(&[
        "score", "--model", m.to_str().unwrap(), "--calib", c.to_str().unwrap(), "--criterion", "afr",
        "--sparsity", "0.9", "--out", &out,
    ]);
    assert!(ok, "{err}");
    assert!(!err.contains("class head"), "the model's own 4-class head fits the 4-class batch: {err}");
    let f = TensorFile::read(std::path::Path::new(&out)).unwrap();
    let model = tiny_model();
    let names = model.config.prunable(false);
    let mut kept = 0;
    let mut total = 0;
    for n in &names {
        let s = &f.tensors[n];
        assert_eq!(s.shape, model.params[n].shape, "{n}");
        assert!(matches!(s.values, Values::F32(_)));
        let m = &f.tensors[&format!("{n}.mask")];
        assert_eq!(m.shape, model.params[n].shape);
        let Values::U8(v) = &m.values else { panic!("mask of {n} is not u8") };
        assert!(v.iter().all(|&x| x <= 1));
        kept += v.iter().filter(|&&x| x == 1).count();
        total += v.len();
    }
    assert_eq!(f.tensors.len(), 2 * names.len());
    assert_eq!(kept, ((1.0 - 0.9) * total as f64).round() as usize);

    // analyze with those masks
    let (ok, json, err) = foresight(&[
        "analyze", "--model", m.to_str().unwrap(), "--calib", c.to_str().unwrap(), "--masks", &out,
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for key in ["dense", "pruned"] {
        let blocks = v[key].as_array().unwrap();
        assert_eq!(blocks.len(), 3);
        for b in blocks {
            assert!(b["l1_per_token"].as_f64().unwrap() > 0.0);
            assert_eq!(b["singular_values"].as_array().unwrap().len(), 24);
            assert!(b["effective_rank"].as_f64().unwrap() >= 1.0);
        }
    }
    assert_ne!(v["dense"][2]["l1_per_token"], v["pruned"][2]["l1_per_token"]);
}

#[test]
fn score_says_when_it_draws_a_new_head() {
    // The fixture batch with `num_classes` 6: the 4-class head cannot serve it.
    let mut calib = TensorFile::read(&fixture("tiny_calib.safetensors")).unwrap();
    calib.metadata.insert("num_classes".into(), "6".into());
    let c = tmp("calib6.safetensors");
    calib.write(std::path::Path::new(&c), false).unwrap();
    let m = fixture("tiny_vit.safetensors");
    let (ok, _, err) = foresight(&[
        "score", "--model", m.to_str().unwrap(), "--calib", &c, "--criterion", "snip", "--seed", "3", "--out", &tmp("snip6.safetensors"),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("the model's head has 4 classes, the calibration batch 6") && err.contains("new 6-class head (seed 3)"), "{err}");
}

#[test]
fn errors_are_one_sentence_without_a_backtrace() {
    let (m, c) = (fixture("tiny_vit.safetensors"), fixture("tiny_calib.safetensors"));
    let (m, c) = (m.to_str().unwrap(), c.to_str().unwrap());
    let out = tmp("x.safetensors");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["score", "--model", c, "--calib", c, "--criterion", "snip", "--out", &out], "is missing"),
        (vec!["score", "--model", m, "--calib", c, "--criterion", "obd", "--out", &out], "unknown criterion"),
        (vec!["score", "--model", m, "--calib", c, "--criterion", "snip", "--sparsity", "1.2", "--out", &out], "strictly between 0 and 1"),
        (vec!["score", "--model", "/nonexistent.safetensors", "--calib", c, "--criterion", "snip", "--out", &out], "cannot read"),
        (vec!["score", "--model", m, "--calib", c, "--criterion", "snip", "--scope", "block", "--out", &out], "scope"),
        (vec!["analyze", "--model", m, "--calib", c, "--masks", m], "holds no"),
    ];
    for (args, expect) in cases {
        let (ok, _, err) = foresight(&args);
        assert!(!ok, "{args:?} should fail");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: expected one line, got {err:?}");
        assert!(lines[0].starts_with("error: ") && lines[0].contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    }
}

#[test]
fn finetune_takes_a_page_masks_file_keeps_its_zeros_and_scores_the_first_test_images() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let model_path = root.join("static/models/vit-fmnist.safetensors");
    let model = foresight::Vit::load(&model_path, None).unwrap();
    let names = model.config.prunable(false);
    let scores = names.iter().map(|n| (n.clone(), model.params[n].data.iter().map(|x| x.abs()).collect())).collect();
    let masks = foresight::mask::make_masks(&scores, &names, 0.9, foresight::mask::Scope::Global).unwrap();
    let masks_path = tmp("masks.safetensors");
    foresight::export::mask_file(&model, &masks, "magnitude", 0.9).unwrap().write(std::path::Path::new(&masks_path), false).unwrap();
    let out = tmp("tuned.safetensors");
    let (ok, stdout, err) = foresight(&[
        "finetune", "--model", model_path.to_str().unwrap(), "--data", root.join("static/data/mnist").to_str().unwrap(),
        "--masks", &masks_path, "--steps", "3", "--batch", "4", "--test-images", "40", "--out", &out,
    ]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["test_images"], 40);
    assert_eq!(report["kept"], masks.values().flatten().filter(|&&k| k == 1).count());
    let tuned = foresight::Vit::load(std::path::Path::new(&out), None).unwrap();
    for (n, m) in &masks {
        let moved = tuned.params[n].data.iter().zip(&model.params[n].data).zip(m).filter(|((a, b), k)| **k == 1 && a != b).count();
        assert!(moved > 0, "`{n}`: kept weights were trained");
        assert!(tuned.params[n].data.iter().zip(m).all(|(x, k)| *k == 1 || *x == 0.0), "`{n}`: a pruned weight is not zero");
    }
}

/// Cargo.toml sets `test = false` for the library and the binary (their test harnesses were empty
/// builds of the whole crate), so a unit test written in src/ would never run: refuse one.
#[test]
fn no_unit_tests_in_src() {
    fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, found);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                if text.contains("#[test]") || text.contains("#[cfg(test)]") {
                    found.push(p.display().to_string());
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
    assert!(found.is_empty(), "unit tests in {found:?} would not run (Cargo.toml: test = false); put them in tests/");
}
