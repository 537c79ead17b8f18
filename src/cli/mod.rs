//! Sub-commands of the native tool that need more than a few lines.
pub mod downstream;
pub mod experiment;
pub mod pretrain;
