//! The calibration batch `D_c`: images `[N, C, H, W]` (normalised as the model expects) and
//! labels `[N]`, read from a safetensors file with tensors `images` and `labels`.

use crate::config::VitConfig;
use crate::error::{check_finite, Error, Result};
use crate::invalid;
use crate::tensorfile::{Entry, TensorFile};
use burn::prelude::*;

/// Images and labels on the host.
#[derive(Clone, Debug)]
pub struct Calibration {
    /// `[N, C, H, W]`.
    pub shape: [usize; 4],
    pub images: Vec<f32>,
    pub labels: Vec<i64>,
    /// Classes of the task (from the file's `num_classes` metadata, else max label + 1).
    pub num_classes: usize,
}

impl Calibration {
    /// Builds and validates a batch.
    pub fn new(shape: [usize; 4], images: Vec<f32>, labels: Vec<i64>, num_classes: Option<usize>) -> Result<Self> {
        let [n, c, h, w] = shape;
        if n == 0 {
            return Err(invalid!("the calibration set has zero images; select at least one"));
        }
        if images.len() != n * c * h * w {
            return Err(invalid!("the calibration images hold {} values, not {n}×{c}×{h}×{w}", images.len()));
        }
        if labels.len() != n {
            return Err(invalid!("there are {} labels for {n} calibration images", labels.len()));
        }
        check_finite("the calibration images", &images)?;
        if let Some(bad) = labels.iter().find(|&&l| l < 0) {
            return Err(invalid!("calibration label {bad} is negative"));
        }
        let max = *labels.iter().max().expect("n > 0") as usize;
        let num_classes = num_classes.unwrap_or(max + 1);
        if max >= num_classes {
            return Err(invalid!("calibration label {max} is out of range for {num_classes} classes"));
        }
        Ok(Calibration { shape, images, labels, num_classes })
    }

    /// Parses a calibration file.
    pub fn from_file(mut f: TensorFile, what: &str) -> Result<Self> {
        let (ishape, images) = f.take_f32("images", what)?;
        let (lshape, labels) = f.take_i64("labels", what)?;
        let shape: [usize; 4] = ishape.clone().try_into().map_err(|_| Error::Shape {
            name: "images".into(),
            expected: vec![0, 0, 0, 0],
            found: ishape.clone(),
        })?;
        if lshape != [shape[0]] {
            return Err(Error::Shape { name: "labels".into(), expected: vec![shape[0]], found: lshape });
        }
        let num_classes = match f.metadata.get("num_classes") {
            Some(s) => Some(s.parse().map_err(|_| invalid!("{what}: metadata num_classes `{s}` is not a number"))?),
            None => None,
        };
        Self::new(shape, images, labels, num_classes)
    }

    /// Reads a calibration file from disk.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        Self::from_file(TensorFile::read(path)?, &path.display().to_string())
    }

    /// The batch as a tensor file.
    pub fn to_file(&self) -> TensorFile {
        let mut f = TensorFile::default();
        f.tensors.insert("images".into(), Entry::f32(self.shape.to_vec(), self.images.clone()));
        f.tensors.insert("labels".into(), Entry::i64(vec![self.shape[0]], self.labels.clone()));
        f.metadata.insert("num_classes".into(), self.num_classes.to_string());
        f
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// Never true for a validated batch.
    pub fn is_empty(&self) -> bool {
        self.shape[0] == 0
    }

    /// Checks that the images fit the model's input.
    pub fn check(&self, cfg: &VitConfig) -> Result<()> {
        let [_, c, h, w] = self.shape;
        if c != cfg.in_chans || h != cfg.img_size || w != cfg.img_size {
            return Err(invalid!(
                "calibration images are {c}×{h}×{w} (channels×height×width) but the model takes {}×{}×{}",
                cfg.in_chans,
                cfg.img_size,
                cfg.img_size
            ));
        }
        Ok(())
    }

    /// Images `start..start+len` as a device tensor `[len, C, H, W]`.
    pub fn images_tensor(&self, start: usize, len: usize, device: &Device) -> Tensor<4> {
        let [_, c, h, w] = self.shape;
        let per = c * h * w;
        let data = self.images[start * per..(start + len) * per].to_vec();
        Tensor::from_data(TensorData::new(data, [len, c, h, w]), device)
    }

    /// One-hot labels `start..start+len` as `[len, K]`.
    pub fn one_hot(&self, start: usize, len: usize, k: usize, device: &Device) -> Tensor<2> {
        let mut v = vec![0f32; len * k];
        for (i, &l) in self.labels[start..start + len].iter().enumerate() {
            v[i * k + l as usize] = 1.0;
        }
        Tensor::from_data(TensorData::new(v, [len, k]), device)
    }
}
