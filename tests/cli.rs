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
