//! The model on the host: a [`VitConfig`] and every parameter as a flat f32 array under its timm
//! name, loaded from and saved to `.safetensors`.

use crate::config::VitConfig;
use crate::error::{check_finite, Error, Result};
use crate::invalid;
use crate::rng::Rng;
use crate::tensorfile::{Entry, TensorFile, Values};
use std::collections::BTreeMap;

/// Metadata key holding the JSON [`VitConfig`].
pub const CONFIG_KEY: &str = "foresight.config";

/// One parameter on the host, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Parameters by timm name.
pub type Params = BTreeMap<String, HostTensor>;

/// A ViT on the host: configuration, parameters and free-form metadata (normalisation,
/// training facts) carried through load and save.
#[derive(Clone, Debug)]
pub struct Vit {
    pub config: VitConfig,
    pub params: Params,
    pub metadata: BTreeMap<String, String>,
}

impl Vit {
    /// A randomly initialised model, timm-style: trunc-normal(0.02) weights and position/class
    /// embeddings, zero biases, unit LayerNorm weights.
    pub fn init(config: VitConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        let mut rng = Rng::new(seed);
        let mut params = Params::new();
        for (name, shape) in config.param_shapes() {
            let n: usize = shape.iter().product();
            let data = if name.ends_with("norm1.weight")
                || name.ends_with("norm2.weight")
                || name == "norm.weight"
            {
                vec![1.0; n]
            } else if name.ends_with(".bias") {
                vec![0.0; n]
            } else {
                (0..n).map(|_| rng.trunc_normal(0.02)).collect()
            };
            params.insert(name, HostTensor { shape, data });
        }
        Ok(Vit { config, params, metadata: BTreeMap::new() })
    }

    /// Builds a model from a parsed file. The configuration comes from the `foresight.config`
    /// metadata when present, otherwise from the tensor shapes plus `heads` (default width/64).
    pub fn from_file(mut file: TensorFile, what: &str, heads: Option<usize>) -> Result<Self> {
        let config = match file.metadata.get(CONFIG_KEY) {
            Some(json) => serde_json::from_str::<VitConfig>(json)
                .map_err(|e| invalid!("{what}: metadata `{CONFIG_KEY}` is not a valid configuration: {e}"))?,
            None => infer_config(&file, what, heads)?,
        };
        config.validate()?;
        let mut params = Params::new();
        for (name, expected) in config.param_shapes() {
            let entry = file
                .tensors
                .remove(&name)
                .ok_or_else(|| Error::MissingTensor { name: name.clone(), what: what.into() })?;
            if entry.shape != expected {
                return Err(Error::Shape { name, expected, found: entry.shape });
            }
            let data = match entry.values {
                Values::F32(v) => v,
                _ => {
                    return Err(Error::Dtype { name, dtype: entry.stored, expected: "F32, F16 or BF16".into() })
                }
            };
            check_finite(&format!("tensor `{name}` in {what}"), &data)?;
            params.insert(name, HostTensor { shape: expected, data });
        }
        if let Some(name) = file.tensors.keys().next() {
            return Err(Error::UnknownTensor { name: name.clone(), what: what.into() });
        }
        let mut metadata = file.metadata;
        metadata.remove(CONFIG_KEY);
        Ok(Vit { config, params, metadata })
    }

    /// Parses safetensors bytes.
    pub fn from_bytes(bytes: &[u8], what: &str, heads: Option<usize>) -> Result<Self> {
        Self::from_file(TensorFile::parse(bytes, what)?, what, heads)
    }

    /// Reads a `.safetensors` file.
    pub fn load(path: &std::path::Path, heads: Option<usize>) -> Result<Self> {
        let what = path.display().to_string();
        Self::from_file(TensorFile::read(path)?, &what, heads)
    }

    /// The model as a tensor file (timm names, config in the metadata).
    pub fn to_file(&self) -> Result<TensorFile> {
        let mut metadata = self.metadata.clone();
        metadata.insert(
            CONFIG_KEY.into(),
            serde_json::to_string(&self.config).map_err(|e| invalid!("cannot encode the configuration: {e}"))?,
        );
        let tensors = self
            .params
            .iter()
            .map(|(k, t)| (k.clone(), Entry::f32(t.shape.clone(), t.data.clone())))
            .collect();
        Ok(TensorFile { tensors, metadata })
    }

    /// Writes a `.safetensors` file (`half`: f16 storage).
    pub fn save(&self, path: &std::path::Path, half: bool) -> Result<()> {
        self.to_file()?.write(path, half)
    }

    /// Returns the model with a head for `num_classes`: the existing head if its output size
    /// already matches, otherwise a new one (trunc-normal(0.02) weight, zero bias) from `seed`.
    pub fn with_head(mut self, num_classes: usize, seed: u64) -> Result<Self> {
        if num_classes == 0 {
            return Err(invalid!("the downstream task needs at least one class"));
        }
        if self.config.num_classes == num_classes {
            return Ok(self);
        }
        let d = self.config.embed_dim;
        let mut rng = Rng::new(seed ^ 0x4EAD);
        let w = (0..num_classes * d).map(|_| rng.trunc_normal(0.02)).collect();
        self.params.insert("head.weight".into(), HostTensor { shape: vec![num_classes, d], data: w });
        self.params.insert("head.bias".into(), HostTensor { shape: vec![num_classes], data: vec![0.0; num_classes] });
        self.config.num_classes = num_classes;
        Ok(self)
    }

    /// Returns the model with a freshly drawn head for `num_classes`, whatever head it had (a
    /// downstream task's classes are not the pretraining classes even when their count matches).
    pub fn with_new_head(mut self, num_classes: usize, seed: u64) -> Result<Self> {
        self.params.remove("head.weight");
        self.params.remove("head.bias");
        self.config.num_classes = 0;
        self.with_head(num_classes, seed)
    }

    /// A parameter by name (an error naming it if absent).
    pub fn param(&self, name: &str) -> Result<&HostTensor> {
        self.params.get(name).ok_or_else(|| Error::MissingTensor { name: name.into(), what: "the model".into() })
    }
}

fn shape_of<'a>(file: &'a TensorFile, name: &str, what: &str) -> Result<&'a [usize]> {
    file.tensors
        .get(name)
        .map(|e| e.shape.as_slice())
        .ok_or_else(|| Error::MissingTensor { name: name.into(), what: what.into() })
}

/// Reads the configuration off the tensor shapes (timm checkpoints carry no config).
fn infer_config(file: &TensorFile, what: &str, heads: Option<usize>) -> Result<VitConfig> {
    let pe = shape_of(file, "patch_embed.proj.weight", what)?;
    let [d, c, p, p2] = *pe else {
        return Err(invalid!("tensor `patch_embed.proj.weight` in {what} must have 4 dimensions, found {pe:?}"));
    };
    if p != p2 {
        return Err(invalid!("tensor `patch_embed.proj.weight` in {what} has a non-square kernel {pe:?}"));
    }
    let pos = shape_of(file, "pos_embed", what)?;
    let tokens = match *pos {
        [1, t, dd] if dd == d && t >= 2 => t,
        _ => return Err(Error::Shape { name: "pos_embed".into(), expected: vec![1, 0, d], found: pos.to_vec() }),
    };
    let grid = ((tokens - 1) as f64).sqrt().round() as usize;
    if grid * grid != tokens - 1 {
        return Err(invalid!("tensor `pos_embed` in {what} has {tokens} tokens, which is not 1 + a square number"));
    }
    let mut depth = 0;
    while file.tensors.contains_key(&format!("blocks.{depth}.norm1.weight")) {
        depth += 1;
    }
    if depth == 0 {
        return Err(Error::MissingTensor { name: "blocks.0.norm1.weight".into(), what: what.into() });
    }
    let fc1 = shape_of(file, "blocks.0.mlp.fc1.weight", what)?;
    let hidden = fc1.first().copied().unwrap_or(0);
    let num_classes = file.tensors.get("head.weight").map(|e| e.shape[0]).unwrap_or(0);
    let num_heads = match heads {
        Some(h) => h,
        None if d % 64 == 0 => d / 64,
        None => {
            return Err(invalid!(
                "{what} has no `{CONFIG_KEY}` metadata and its width {d} is not a multiple of 64: give the number of heads (--heads)"
            ))
        }
    };
    Ok(VitConfig {
        img_size: grid * p,
        in_chans: c,
        patch_size: p,
        embed_dim: d,
        depth,
        num_heads,
        mlp_ratio: hidden as f64 / d as f64,
        num_classes,
    })
}
