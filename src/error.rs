//! One error type for the whole engine. Every message is one clear sentence that names the
//! thing that is wrong (a tensor, a file, a value) so that the CLI and the page can show it as is.

use thiserror::Error;

/// Everything the engine can refuse or fail at.
#[derive(Debug, Error)]
pub enum Error {
    /// A checkpoint or calibration file that is not valid safetensors.
    #[error("{what} is not a valid safetensors file: {reason}")]
    Format { what: String, reason: String },
    /// A tensor the model needs is not in the file.
    #[error("tensor `{name}` is missing from {what}")]
    MissingTensor { name: String, what: String },
    /// A tensor the model does not know about.
    #[error("tensor `{name}` in {what} is not part of a timm VisionTransformer of this configuration")]
    UnknownTensor { name: String, what: String },
    /// A tensor whose shape disagrees with the configuration.
    #[error("tensor `{name}` has shape {found:?} but the model expects {expected:?}")]
    Shape { name: String, expected: Vec<usize>, found: Vec<usize> },
    /// A tensor stored with a dtype we cannot read.
    #[error("tensor `{name}` has dtype {dtype}, expected {expected}")]
    Dtype { name: String, dtype: String, expected: String },
    /// NaN or infinite values.
    #[error("{what} contains {count} non-finite value(s) (NaN or Inf), the first at flat index {first}")]
    NonFinite { what: String, count: usize, first: usize },
    /// A configuration or argument that cannot work.
    #[error("{0}")]
    Invalid(String),
    /// The user asked to stop.
    #[error("cancelled")]
    Cancelled,
    /// The compute backend failed (for example a lost GPU device).
    #[error("the compute backend failed: {0}")]
    Backend(String),
    /// File system errors, with the path.
    #[error("cannot read or write {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// Shorthand used across the engine.
pub type Result<T> = std::result::Result<T, Error>;

/// Builds an [`Error::Invalid`] from a format string.
#[macro_export]
macro_rules! invalid {
    ($($arg:tt)*) => { $crate::error::Error::Invalid(format!($($arg)*)) };
}

/// Checks that every value is finite; `what` names the tensor or file in the message.
pub fn check_finite(what: &str, data: &[f32]) -> Result<()> {
    let mut first = None;
    let mut count = 0;
    for (i, v) in data.iter().enumerate() {
        if !v.is_finite() {
            count += 1;
            first.get_or_insert(i);
        }
    }
    match first {
        None => Ok(()),
        Some(first) => Err(Error::NonFinite { what: what.to_string(), count, first }),
    }
}
