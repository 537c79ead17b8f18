//! Bad input gets a clear error naming what is wrong — never a panic.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use foresight::criteria::{Progress, ScoreContext, ScoreOptions};
use foresight::mask::{make_masks, Scope};
use foresight::tensorfile::{Entry, TensorFile};
use foresight::{Calibration, Error, Vit};

fn model_bytes() -> Vec<u8> {
    std::fs::read(fixture("tiny_vit.safetensors")).unwrap()
}

fn err_of(r: foresight::Result<Vit>) -> Error {
    r.err().expect("expected an error")
}

#[test]
fn truncated_checkpoint() {
    let b = model_bytes();
    let e = err_of(Vit::from_bytes(&b[..b.len() / 2], "model.safetensors", None));
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert!(e.to_string().contains("model.safetensors"), "{e}");
}

#[test]
fn corrupt_header() {
    let mut b = model_bytes();
    for x in b.iter_mut().skip(8).take(40) {
        *x = b'#';
    }
    let e = err_of(Vit::from_bytes(&b, "model.safetensors", None));
    assert!(matches!(e, Error::Format { .. }), "{e}");
    let e = err_of(Vit::from_bytes(b"not a checkpoint", "x.safetensors", None));
    assert!(matches!(e, Error::Format { .. }), "{e}");
}

#[test]
fn missing_tensor_is_named() {
    let mut f = tiny_model().to_file().unwrap();
    f.tensors.remove("blocks.1.mlp.fc2.weight");
    let e = err_of(Vit::from_file(f, "m", None));
    assert!(e.to_string().contains("`blocks.1.mlp.fc2.weight` is missing"), "{e}");
}

#[test]
fn unknown_tensor_is_named() {
    let mut f = tiny_model().to_file().unwrap();
    f.tensors.insert("dist_token".into(), Entry::f32(vec![1, 1, 24], vec![0.0; 24]));
    let e = err_of(Vit::from_file(f, "m", None));
    assert!(e.to_string().contains("`dist_token`"), "{e}");
}

#[test]
fn wrong_shape_names_both_shapes() {
    let mut f = tiny_model().to_file().unwrap();
    f.tensors.insert("blocks.0.attn.proj.weight".into(), Entry::f32(vec![24, 23], vec![0.0; 24 * 23]));
    let e = err_of(Vit::from_file(f, "m", None));
    let msg = e.to_string();
    assert!(msg.contains("blocks.0.attn.proj.weight") && msg.contains("[24, 23]") && msg.contains("[24, 24]"), "{msg}");
}

#[test]
fn nan_and_inf_weights() {
    for bad in [f32::NAN, f32::INFINITY] {
        let mut f = tiny_model().to_file().unwrap();
        let e = f.tensors.get_mut("pos_embed").unwrap();
        if let foresight::tensorfile::Values::F32(v) = &mut e.values {
            v[5] = bad;
        }
        let e = err_of(Vit::from_file(f, "m", None));
        assert!(matches!(e, Error::NonFinite { first: 5, .. }), "{e}");
        assert!(e.to_string().contains("pos_embed"), "{e}");
    }
}

#[test]
fn f16_and_bf16_checkpoints_load() {
    let model = tiny_model();
    let dir = std::env::temp_dir().join(format!("foresight-f16-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("m16.safetensors");
    model.save(&p, true).unwrap();
    let back = Vit::load(&p, None).unwrap();
    for (n, t) in &model.params {
        for (a, b) in t.data.iter().zip(&back.params[n].data) {
            assert!((a - b).abs() <= 1e-3 * a.abs() + 1e-7, "`{n}`: {a} vs {b} after f16");
        }
    }
    // bf16, written with the safetensors crate directly.
    use safetensors::tensor::{Dtype, TensorView};
    let raw: Vec<(String, Vec<usize>, Vec<u8>)> = model
        .params
        .iter()
        .map(|(n, t)| (n.clone(), t.shape.clone(), t.data.iter().flat_map(|x| half::bf16::from_f32(*x).to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, TensorView)> =
        raw.iter().map(|(n, s, b)| (n.clone(), TensorView::new(Dtype::BF16, s.clone(), b).unwrap())).collect();
    let bytes = safetensors::serialize(views, None).unwrap();
    // No metadata: the config comes from the shapes, plus the head count.
    let e = err_of(Vit::from_bytes(&bytes, "timm.safetensors", None));
    assert!(e.to_string().contains("--heads"), "{e}");
    let back = Vit::from_bytes(&bytes, "timm.safetensors", Some(3)).unwrap();
    assert_eq!(back.config, model.config);
    for (n, t) in &model.params {
        for (a, b) in t.data.iter().zip(&back.params[n].data) {
            assert!((a - b).abs() <= 1e-2 * a.abs() + 1e-7, "`{n}`: {a} vs {b} after bf16");
        }
    }
}

fn ctx_err(calib: &Calibration, options: ScoreOptions) -> String {
    let model = tiny_model();
    let yes = |_: &Progress| true;
    match ScoreContext::new(&model, calib, cpu(), options, &yes) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn calibration_of_the_wrong_size_or_channels() {
    let c = tiny_calib();
    let [n, ch, h, w] = c.shape;
    let small = Calibration::new([n, ch, h - 4, w - 4], vec![0.0; n * ch * (h - 4) * (w - 4)], c.labels.clone(), None).unwrap();
    let msg = ctx_err(&small, ScoreOptions::default());
    assert!(msg.contains("calibration images are 2×8×8") && msg.contains("2×12×12"), "{msg}");
    let rgb = Calibration::new([n, 3, h, w], vec![0.0; n * 3 * h * w], c.labels.clone(), None).unwrap();
    let msg = ctx_err(&rgb, ScoreOptions::default());
    assert!(msg.contains("3×12×12"), "{msg}");
}

#[test]
fn zero_images() {
    let e = Calibration::new([0, 2, 12, 12], vec![], vec![], Some(4)).unwrap_err();
    assert!(e.to_string().contains("zero images"), "{e}");
    // And from a file.
    let mut f = TensorFile::default();
    f.tensors.insert("images".into(), Entry::f32(vec![0, 2, 12, 12], vec![]));
    f.tensors.insert("labels".into(), Entry::i64(vec![0], vec![]));
    let bytes = f.to_bytes(false).unwrap();
    let e = Calibration::from_file(TensorFile::parse(&bytes, "c").unwrap(), "c").unwrap_err();
    assert!(e.to_string().contains("zero images"), "{e}");
}

#[test]
fn nan_images_and_bad_labels() {
    let c = tiny_calib();
    let mut img = c.images.clone();
    img[17] = f32::NAN;
    let e = Calibration::new(c.shape, img, c.labels.clone(), None).unwrap_err();
    assert!(matches!(e, Error::NonFinite { first: 17, .. }), "{e}");
    let e = Calibration::new(c.shape, c.images.clone(), vec![9; c.len()], Some(4)).unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
}

#[test]
fn sparsity_outside_zero_one() {
    let model = tiny_model();
    let names = model.config.prunable(false);
    let s = score(&model, &tiny_calib(), "magnitude", ScoreOptions::default()).unwrap();
    for q in [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
        let e = make_masks(&s, &names, q, Scope::Global).unwrap_err();
        assert!(e.to_string().contains("strictly between 0 and 1"), "{e}");
        let msg = ctx_err(&tiny_calib(), ScoreOptions { sparsity: Some(q), ..Default::default() });
        assert!(msg.contains("strictly between 0 and 1"), "{msg}");
    }
}

#[test]
fn unknown_criterion_lists_the_choices() {
    let e = foresight::criteria::by_name("obd").err().unwrap();
    assert!(e.to_string().contains("magnitude, snip, grasp, synflow, snip-mag, refer, afr"), "{e}");
}

#[test]
fn cancel_stops_a_criterion() {
    let (model, calib) = (tiny_model(), tiny_calib());
    let no = |_: &Progress| false;
    let ctx = ScoreContext::new(&model, &calib, cpu(), ScoreOptions::default(), &no).unwrap();
    for c in foresight::criteria::registry() {
        let r = pollster::block_on(c.score(&ctx));
        assert!(matches!(r, Err(Error::Cancelled)), "{} did not stop", c.name());
    }
}
