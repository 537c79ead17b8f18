//! Reading and writing `.safetensors` files as plain host arrays: f32/f16/bf16/f64 become f32,
//! integer types become i64, u8/bool stay u8. Every error names the file and the tensor.

use crate::error::{Error, Result};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::BTreeMap;

/// The values of one tensor on the host.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    F32(Vec<f32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
}

/// One tensor: shape plus values (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub shape: Vec<usize>,
    pub values: Values,
    /// The dtype as stored in the file (for messages and for keeping f16 on save).
    pub stored: String,
}

impl Entry {
    /// An f32 tensor.
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Self {
        Entry { shape, values: Values::F32(data), stored: "F32".into() }
    }
    /// An i64 tensor.
    pub fn i64(shape: Vec<usize>, data: Vec<i64>) -> Self {
        Entry { shape, values: Values::I64(data), stored: "I64".into() }
    }
    /// A u8 tensor.
    pub fn u8(shape: Vec<usize>, data: Vec<u8>) -> Self {
        Entry { shape, values: Values::U8(data), stored: "U8".into() }
    }
}

/// A parsed file: tensors by name and the `__metadata__` strings.
#[derive(Clone, Debug, Default)]
pub struct TensorFile {
    pub tensors: BTreeMap<String, Entry>,
    pub metadata: BTreeMap<String, String>,
}

fn format_err(what: &str, reason: impl ToString) -> Error {
    Error::Format { what: what.to_string(), reason: reason.to_string() }
}

fn chunks<const N: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    bytes.chunks_exact(N).map(|c| c.try_into().expect("chunks_exact gives N bytes"))
}

fn decode(name: &str, view: &TensorView<'_>) -> Result<Entry> {
    let b = view.data();
    let shape = view.shape().to_vec();
    let stored = format!("{:?}", view.dtype());
    let values = match view.dtype() {
        Dtype::F32 => Values::F32(chunks::<4>(b).map(f32::from_le_bytes).collect()),
        Dtype::F64 => Values::F32(chunks::<8>(b).map(|c| f64::from_le_bytes(c) as f32).collect()),
        Dtype::F16 => Values::F32(
            chunks::<2>(b).map(|c| half::f16::from_le_bytes(c).to_f32()).collect(),
        ),
        Dtype::BF16 => Values::F32(
            chunks::<2>(b).map(|c| half::bf16::from_le_bytes(c).to_f32()).collect(),
        ),
        Dtype::I64 => Values::I64(chunks::<8>(b).map(i64::from_le_bytes).collect()),
        Dtype::I32 => Values::I64(chunks::<4>(b).map(|c| i32::from_le_bytes(c) as i64).collect()),
        Dtype::U8 | Dtype::BOOL => Values::U8(b.to_vec()),
        other => {
            return Err(Error::Dtype {
                name: name.to_string(),
                dtype: format!("{other:?}"),
                expected: "F32, F16, BF16, F64, I64, I32, U8 or BOOL".into(),
            })
        }
    };
    Ok(Entry { shape, values, stored })
}

impl TensorFile {
    /// Parses the bytes of a safetensors file; `what` names it in errors.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| format_err(what, e))?;
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| format_err(what, e))?;
        let metadata = header
            .metadata()
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            tensors.insert(name.clone(), decode(&name, &view)?);
        }
        Ok(TensorFile { tensors, metadata })
    }

    /// Reads and parses a file from disk.
    pub fn read(path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|source| Error::Io { path: path.display().to_string(), source })?;
        Self::parse(&bytes, &path.display().to_string())
    }

    /// Serialises to safetensors bytes. `half` stores f32 tensors as f16.
    pub fn to_bytes(&self, half: bool) -> Result<Vec<u8>> {
        let mut raw: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        for (name, e) in &self.tensors {
            let (dtype, bytes) = match &e.values {
                Values::F32(v) if half => (
                    Dtype::F16,
                    v.iter().flat_map(|x| half::f16::from_f32(*x).to_le_bytes()).collect(),
                ),
                Values::F32(v) => (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                Values::I64(v) => (Dtype::I64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                Values::U8(v) => (Dtype::U8, v.clone()),
            };
            raw.push((name.clone(), dtype, e.shape.clone(), bytes));
        }
        let views = raw
            .iter()
            .map(|(n, d, s, b)| {
                TensorView::new(*d, s.clone(), b).map(|v| (n.clone(), v)).map_err(|e| {
                    Error::Invalid(format!("tensor `{n}` cannot be written: {e}"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let meta = if self.metadata.is_empty() {
            None
        } else {
            Some(self.metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        };
        safetensors::serialize(views, meta).map_err(|e| Error::Invalid(format!("cannot serialise safetensors: {e}")))
    }

    /// Writes to disk.
    pub fn write(&self, path: &std::path::Path, half: bool) -> Result<()> {
        let bytes = self.to_bytes(half)?;
        std::fs::write(path, bytes).map_err(|source| Error::Io { path: path.display().to_string(), source })
    }

    /// Takes an f32 tensor out by name; `what` names the file in errors.
    pub fn take_f32(&mut self, name: &str, what: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        match self.tensors.remove(name) {
            None => Err(Error::MissingTensor { name: name.into(), what: what.into() }),
            Some(Entry { shape, values: Values::F32(v), .. }) => Ok((shape, v)),
            Some(e) => Err(Error::Dtype { name: name.into(), dtype: e.stored, expected: "a float type".into() }),
        }
    }

    /// Takes an integer tensor out by name.
    pub fn take_i64(&mut self, name: &str, what: &str) -> Result<(Vec<usize>, Vec<i64>)> {
        match self.tensors.remove(name) {
            None => Err(Error::MissingTensor { name: name.into(), what: what.into() }),
            Some(Entry { shape, values: Values::I64(v), .. }) => Ok((shape, v)),
            Some(Entry { shape, values: Values::U8(v), .. }) => Ok((shape, v.into_iter().map(i64::from).collect())),
            Some(e) => Err(Error::Dtype { name: name.into(), dtype: e.stored, expected: "an integer type".into() }),
        }
    }
}
