//! The bundled data shards: hashes, per-class counts, disjoint splits, clear errors when broken.
#![cfg(not(target_arch = "wasm32"))]

use foresight::data::{sha256_hex, Dataset, Manifest, Split};
use std::collections::HashSet;
use std::path::PathBuf;

const SETS: [&str; 4] = ["fashion-mnist", "mnist", "animal-mnist", "hiragana"];

fn dir(set: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static/data").join(set)
}

#[test]
fn shards_match_manifests_and_splits_are_disjoint() {
    for set in SETS {
        let ds = Dataset::load(&dir(set)).unwrap_or_else(|e| panic!("{set}: {e}"));
        let m = &ds.manifest;
        assert_eq!(m.classes.len(), 10, "{set}");
        for (name, split) in [("train", &ds.train), ("test", &ds.test)] {
            let info = m.split(name).unwrap();
            assert_eq!(split.len(), info.count, "{set}/{name}");
            let mut per_class = vec![0; m.classes.len()];
            split.labels.iter().for_each(|&l| per_class[l as usize] += 1);
            assert_eq!(per_class, info.per_class, "{set}/{name}");
            assert!(per_class.iter().all(|&c| c > 0), "{set}/{name} has an empty class");
        }
        let train: HashSet<&[u8]> = (0..ds.train.len()).map(|i| ds.train.pixels(i)).collect();
        let overlap = (0..ds.test.len()).filter(|&i| train.contains(ds.test.pixels(i))).count();
        assert_eq!(overlap, 0, "{set}: {overlap} test images also in train");
        assert_eq!(train.len(), ds.train.len(), "{set}: duplicate images inside train");
    }
}

#[test]
fn corrupt_shard_or_hash_mismatch_names_the_file() {
    let d = dir("mnist");
    let m = Manifest::parse(&std::fs::read_to_string(d.join("manifest.json")).unwrap(), "manifest").unwrap();
    let mut bytes = std::fs::read(d.join("test.safetensors")).unwrap();
    assert_eq!(sha256_hex(&bytes), m.split("test").unwrap().sha256);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let e = Split::from_bytes(&m, "test", &bytes, "static/data/mnist/test.safetensors").unwrap_err().to_string();
    assert!(e.contains("static/data/mnist/test.safetensors") && e.contains("SHA-256"), "{e}");
    // A truncated shard whose manifest was "updated" to match still fails on its content.
    let mut m2 = m.clone();
    let cut = &bytes[..bytes.len() / 2];
    m2.splits.get_mut("test").unwrap().sha256 = sha256_hex(cut);
    let e = Split::from_bytes(&m2, "test", cut, "cut.safetensors").unwrap_err().to_string();
    assert!(e.contains("cut.safetensors"), "{e}");
    // A manifest that is not JSON.
    let e = Manifest::parse("{", "static/data/x/manifest.json").unwrap_err().to_string();
    assert!(e.contains("static/data/x/manifest.json"), "{e}");
}

#[test]
fn k_per_class_is_seeded_and_stratified() {
    let ds = Dataset::load(&dir("animal-mnist")).unwrap();
    let a = ds.train.k_per_class(10, 10, 7);
    assert_eq!(a, ds.train.k_per_class(10, 10, 7));
    assert_ne!(a, ds.train.k_per_class(10, 10, 8));
    let mut per = [0; 10];
    a.iter().for_each(|&i| per[ds.train.labels[i] as usize] += 1);
    assert_eq!(per, [10; 10]);
}

#[test]
fn balanced_subsets_cover_every_class() {
    let ds = Dataset::load(&dir("mnist")).unwrap();
    // The shards are sorted by class: the first 25 test images are all of class 0.
    assert!(ds.test.labels[..25].iter().all(|&l| l == 0));
    for n in [1, 10, 25, 333] {
        let sub = ds.test.balanced(n);
        assert_eq!(sub.len(), n);
        let mut per = [0usize; 10];
        sub.labels.iter().for_each(|&l| per[l as usize] += 1);
        let (lo, hi) = (per.iter().min().unwrap(), per.iter().max().unwrap());
        assert!(hi - lo <= 1 && per.iter().sum::<usize>() == n, "n = {n}: {per:?}");
    }
    // The i-th image of class c in the subset is the i-th image of class c in the split.
    let sub = ds.test.balanced(25);
    let class1: Vec<usize> = (0..ds.test.len()).filter(|&i| ds.test.labels[i] == 1).take(3).collect();
    let sub1: Vec<&[u8]> = (0..sub.len()).filter(|&i| sub.labels[i] == 1).map(|i| sub.pixels(i)).collect();
    assert_eq!(sub1, class1.iter().map(|&i| ds.test.pixels(i)).collect::<Vec<_>>());
    // 0 or more than the split: the whole split, unchanged.
    assert_eq!(ds.test.balanced(0).labels, ds.test.labels);
    assert_eq!(ds.test.balanced(ds.test.len() + 5).images, ds.test.images);
}
