//! The bundled data sets: `static/data/<set>/manifest.json` plus one `.safetensors` shard per
//! split (`images` u8 `[N, H, W]`, `labels` u8 `[N]`). Loading checks the shard's SHA-256 against
//! the manifest and the per-class counts, so a corrupt or swapped shard is an error naming it.

use crate::calib::Calibration;
use crate::error::{Error, Result};
use crate::invalid;
use crate::tensorfile::{TensorFile, Values};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Where a set comes from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Source {
    pub package: String,
    pub version: String,
    pub licence: String,
}

/// One split's entry in a manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SplitInfo {
    pub file: String,
    pub count: usize,
    pub per_class: Vec<usize>,
    pub sha256: String,
}

/// `manifest.json` of a set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub title: String,
    pub classes: Vec<String>,
    /// `[C, H, W]`.
    pub image: [usize; 3],
    pub source: Source,
    pub split_seed: u64,
    pub notes: String,
    pub splits: BTreeMap<String, SplitInfo>,
}

impl Manifest {
    /// Parses a manifest; `what` names the file in errors.
    pub fn parse(text: &str, what: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| invalid!("{what} is not a valid data manifest: {e}"))
    }

    /// The entry of `split` ("train" or "test").
    pub fn split(&self, split: &str) -> Result<&SplitInfo> {
        self.splits.get(split).ok_or_else(|| invalid!("data set `{}` has no `{split}` split", self.name))
    }
}

/// Images of one split, u8 pixels.
#[derive(Clone, Debug)]
pub struct Split {
    /// `[C, H, W]` of one image.
    pub image: [usize; 3],
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Split {
    /// Verifies `bytes` (the shard named `what`) against the manifest entry and decodes it.
    pub fn from_bytes(manifest: &Manifest, split: &str, bytes: &[u8], what: &str) -> Result<Self> {
        let info = manifest.split(split)?;
        let sha = sha256_hex(bytes);
        if sha != info.sha256 {
            return Err(invalid!(
                "{what} does not match its manifest: SHA-256 is {sha}, the manifest says {}",
                info.sha256
            ));
        }
        let mut f = TensorFile::parse(bytes, what)?;
        let take = |f: &mut TensorFile, name: &str| -> Result<(Vec<usize>, Vec<u8>)> {
            match f.tensors.remove(name) {
                Some(e) => match e.values {
                    Values::U8(v) => Ok((e.shape, v)),
                    _ => Err(Error::Dtype { name: name.into(), dtype: e.stored, expected: "U8".into() }),
                },
                None => Err(Error::MissingTensor { name: name.into(), what: what.into() }),
            }
        };
        let (ishape, images) = take(&mut f, "images")?;
        let (lshape, labels) = take(&mut f, "labels")?;
        let [c, h, w] = manifest.image;
        let n = info.count;
        let expected = if c == 1 { vec![n, h, w] } else { vec![n, c, h, w] };
        if ishape != expected {
            return Err(Error::Shape { name: format!("images in {what}"), expected, found: ishape });
        }
        if lshape != [n] {
            return Err(Error::Shape { name: format!("labels in {what}"), expected: vec![n], found: lshape });
        }
        let mut per_class = vec![0usize; manifest.classes.len()];
        for &l in &labels {
            *per_class
                .get_mut(l as usize)
                .ok_or_else(|| invalid!("{what} has label {l} but only {} classes", manifest.classes.len()))? += 1;
        }
        if per_class != info.per_class {
            return Err(invalid!("{what} has {per_class:?} images per class, the manifest says {:?}", info.per_class));
        }
        Ok(Split { image: manifest.image, images, labels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True for an empty split.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels of one image.
    pub fn pixels(&self, i: usize) -> &[u8] {
        let per = self.image.iter().product::<usize>();
        &self.images[i * per..(i + 1) * per]
    }

    /// The images at `indices`, as a new split.
    pub fn subset(&self, indices: &[usize]) -> Split {
        let mut out = Split { image: self.image, images: Vec::with_capacity(indices.len() * self.image.iter().product::<usize>()), labels: Vec::with_capacity(indices.len()) };
        for &i in indices {
            out.images.extend_from_slice(self.pixels(i));
            out.labels.push(self.labels[i]);
        }
        out
    }

    /// `n` images spread over the classes (all of them when `n` is 0 or larger than the split):
    /// the classes take turns, each giving its next image in split order, so per-class counts
    /// differ by at most one while a class has images left. The shards are sorted by class, so
    /// the first `n` images would cover only the first classes. Kept in split order.
    pub fn balanced(&self, n: usize) -> Split {
        let n = if n == 0 { self.len() } else { n.min(self.len()) };
        let classes = self.labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
        let mut queues = vec![Vec::new(); classes];
        for (i, &l) in self.labels.iter().enumerate().rev() {
            queues[l as usize].push(i);
        }
        let mut taken = Vec::with_capacity(n);
        while taken.len() < n {
            for q in queues.iter_mut() {
                if taken.len() < n {
                    taken.extend(q.pop());
                }
            }
        }
        taken.sort_unstable();
        self.subset(&taken)
    }

    /// Indices of the first `k` images of each class after a seeded shuffle.
    pub fn k_per_class(&self, k: usize, classes: usize, seed: u64) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        crate::rng::Rng::new(seed).shuffle(&mut idx);
        let mut taken = vec![0usize; classes];
        let mut out: Vec<usize> = idx
            .into_iter()
            .filter(|&i| {
                let c = self.labels[i] as usize;
                let keep = c < classes && taken[c] < k;
                if keep {
                    taken[c] += 1;
                }
                keep
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// The images at `indices` as a normalised calibration batch `[N, C, H, W]`.
    pub fn batch(&self, indices: &[usize], norm: &Normalization, num_classes: usize) -> Result<Calibration> {
        let [c, h, w] = self.image;
        let mut images = Vec::with_capacity(indices.len() * c * h * w);
        for &i in indices {
            if i >= self.len() {
                return Err(invalid!("image index {i} is out of range for a split of {}", self.len()));
            }
            images.extend(self.pixels(i).iter().enumerate().map(|(j, &p)| norm.apply(j / (h * w), p)));
        }
        let labels = indices.iter().map(|&i| self.labels[i] as i64).collect();
        Calibration::new([indices.len(), c, h, w], images, labels, Some(num_classes))
    }
}

/// Per-channel input normalisation: `x = (p/255 − mean) / std`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Normalization {
    /// Metadata key in model files.
    pub const KEY: &'static str = "foresight.normalization";

    /// Normalises one pixel of channel `c`.
    pub fn apply(&self, c: usize, p: u8) -> f32 {
        (p as f32 / 255.0 - self.mean[c]) / self.std[c]
    }

    /// Mean and standard deviation of a split's pixels (in [0, 1]) per channel.
    pub fn of(split: &Split) -> Self {
        let [c, h, w] = split.image;
        let (mut mean, mut std) = (vec![0f32; c], vec![0f32; c]);
        for ch in 0..c {
            let (mut s, mut s2, mut n) = (0f64, 0f64, 0f64);
            for i in 0..split.len() {
                for &p in &split.pixels(i)[ch * h * w..(ch + 1) * h * w] {
                    let x = p as f64 / 255.0;
                    s += x;
                    s2 += x * x;
                    n += 1.0;
                }
            }
            let m = s / n;
            mean[ch] = m as f32;
            std[ch] = (s2 / n - m * m).max(1e-12).sqrt() as f32;
        }
        Normalization { mean, std }
    }
}

/// A set read from its folder: manifest, train and test.
pub struct Dataset {
    pub manifest: Manifest,
    pub train: Split,
    pub test: Split,
}

impl Dataset {
    /// Reads `dir/manifest.json` and both shards, verifying them.
    pub fn load(dir: &std::path::Path) -> Result<Self> {
        let mpath = dir.join("manifest.json");
        let read = |p: &std::path::Path| std::fs::read(p).map_err(|source| Error::Io { path: p.display().to_string(), source });
        let text = String::from_utf8(read(&mpath)?).map_err(|_| invalid!("{} is not UTF-8", mpath.display()))?;
        let manifest = Manifest::parse(&text, &mpath.display().to_string())?;
        let split = |name: &str| -> Result<Split> {
            let p = dir.join(&manifest.split(name)?.file);
            Split::from_bytes(&manifest, name, &read(&p)?, &p.display().to_string())
        };
        let (train, test) = (split("train")?, split("test")?);
        Ok(Dataset { manifest, train, test })
    }
}

impl Normalization {
    /// The input normalisation stored in a model's metadata.
    pub fn from_model(model: &crate::vit::Vit) -> Result<Self> {
        let text = model.metadata.get(Self::KEY).ok_or_else(|| {
            invalid!("the model carries no input normalisation (metadata `{}`); it cannot be fed a bundled data set", Self::KEY)
        })?;
        let n: Normalization =
            serde_json::from_str(text).map_err(|e| invalid!("the model's metadata `{}` is not valid: {e}", Self::KEY))?;
        if n.mean.len() != model.config.in_chans || n.std.len() != model.config.in_chans || n.std.iter().any(|s| *s <= 0.0) {
            return Err(invalid!("the model's normalisation does not fit its {} input channel(s)", model.config.in_chans));
        }
        Ok(n)
    }
}

/// Checks that a set's images fit a model's input.
pub fn check_fits(manifest: &Manifest, model: &crate::vit::Vit) -> Result<()> {
    let [c, h, w] = manifest.image;
    let cfg = &model.config;
    if c != cfg.in_chans || h != cfg.img_size || w != cfg.img_size {
        return Err(invalid!(
            "data set `{}` has {c}×{h}×{w} images but the model takes {}×{}×{}",
            manifest.name,
            cfg.in_chans,
            cfg.img_size,
            cfg.img_size
        ));
    }
    Ok(())
}
