//! The files linreg writes and reads, as a library other programs can call.
//!
//! - [`save_model`] / [`load_model`]: a trained [`LrModel`](linreg_model::LrModel) as
//!   `model.mpk` (Burn's named MessagePack record, full precision) beside `model.json`
//!   ([`ModelMeta`]: the `LrModelConfig`, the column names, the loss and the standardization),
//!   so the model can be loaded without knowing its shape, and as `model.safetensors` for
//!   PyTorch.
//! - [`load_weights`] / [`encode_safetensors`]: PyTorch's files, a `.pth` state_dict (read)
//!   and safetensors (read and write), with the keys of PyTorch's `LrModel`: `linear.weight`
//!   (`[out, in]`) and `linear.bias` ([`pytorch`]).
//! - [`Summary`] and [`save_summary`]: `summary.json`, what a run did and reached.
//! - [`write_atomic`] / [`write_all_atomic`]: every file is written to a temporary file beside
//!   its target and renamed over it, so an interrupted or failed run never leaves half a file
//!   over a good one.
//!
//! Errors are one [`StoreError`] whose message names the file and what to do.
//!
//! ```
//! use burn::backend::NdArray;
//! use linreg_model::{LinearParams, LrModelConfig};
//! use linreg_store::{load_model, save_model, ModelInfo};
//!
//! let device = Default::default();
//! let params = LinearParams { weight: vec![vec![0.8, -0.5]], bias: vec![0.2] };
//! let model = LrModelConfig::new().with_d_input(2).init::<NdArray>(&device).with_params(&params)?;
//! let info = ModelInfo {
//!     features: vec!["x1".into(), "x2".into()],
//!     targets: vec!["y".into()],
//!     loss: "mse".into(),
//!     standardizer: None,
//!     polynomial: None,
//!     exact: None,
//!     path: None,
//! };
//!
//! let dir = std::env::temp_dir().join(format!("linreg-store-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! save_model(&model, &info, &dir)?;
//! let (loaded, meta) = load_model::<NdArray>(&dir, &device)?;
//! assert_eq!(loaded.params(), params);
//! assert_eq!(meta.features, ["x1", "x2"]);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod atomic;
pub mod checkpoint;
mod model;
mod penalty;
pub mod pytorch;
mod record_guard;
mod summary;

use std::path::PathBuf;

pub use atomic::{write_all_atomic, write_atomic};
pub use model::{
    decode_record, encode_record, load_model, parse_model_meta, precision_of, save_model,
    saved_precision, ModelInfo, ModelMeta, ModelRecorder, PolynomialJson, SavedModel,
    StandardizationJson, WideRecorder, MODEL_FILE, MODEL_FORMAT, MODEL_FORMAT_VERSION,
    MODEL_META_FILE,
};
pub use penalty::{AlphaError, CvJson, PathJson, PenaltyJson};
pub use pytorch::{
    encode_safetensors, is_weights_path, load_weights, WeightsFormat, MAX_WEIGHTS_BYTES,
    SAFETENSORS_FILE,
};
pub use summary::{
    save_summary, ExactReport, Files, InferenceJson, MetricsJson, MetricsPair, Pair, ParamsJson,
    Rows, Summary, SUMMARY_FILE,
};

/// Why a file could not be written or read. Each message names the file; the causes (an I/O
/// or parse error) are its [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be written (nothing was replaced).
    #[error("could not write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The model record could not be read.
    #[error("could not read the model parameters {}", path.display())]
    ReadRecord {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A path to write has no file name (`/`, `..`).
    #[error("{} is not a file path; give a path that ends in a file name", .0.display())]
    NoFileName(PathBuf),
    /// Burn could not encode the model record.
    #[error("could not encode the model")]
    Encode(#[source] burn::record::RecorderError),
    /// A value could not be written as JSON.
    #[error("could not encode JSON")]
    EncodeJson(#[source] serde_json::Error),
    /// The directory has no `model.json`.
    #[error(
        "no model in {}: could not read {} (train one first, or point to the directory a run wrote)",
        dir.display(),
        meta.display()
    )]
    NoModel {
        /// The directory given.
        dir: PathBuf,
        /// The description looked for.
        meta: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `model.json` is not JSON of the expected layout.
    #[error("{} is not a linreg model description; re-save the model with linreg", path.display())]
    NotModelMeta {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// `model.json` is of another format or version.
    #[error(
        "{} has format {format:?} version {version}; this linreg reads {MODEL_FORMAT:?} version {MODEL_FORMAT_VERSION}",
        path.display()
    )]
    UnknownModelFormat {
        /// The file.
        path: PathBuf,
        /// Its `format`.
        format: String,
        /// Its `version`.
        version: u32,
    },
    /// `model.json`'s column lists, standardization or record name do not fit its model.
    #[error(
        "{} is inconsistent: its column lists or standardization (finite means, positive scales) \
         do not fit a {d_input}→{d_output} model, or its record is not a file beside it",
        path.display()
    )]
    InconsistentMeta {
        /// The file.
        path: PathBuf,
        /// The model's inputs.
        d_input: usize,
        /// The model's outputs.
        d_output: usize,
    },
    /// The record is not a Burn record of an `LrModel`.
    #[error("{} is corrupt or not a linreg model record; re-train or restore it", path.display())]
    CorruptRecord {
        /// The file.
        path: PathBuf,
        /// Burn's error.
        #[source]
        source: burn::record::RecorderError,
    },
    /// A checkpoint could not be read or is not usable.
    #[error("{} is not a usable linreg checkpoint: it {reason}", path.display())]
    Checkpoint {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong, as words that follow "it".
        reason: String,
    },
    /// No checkpoint where one was expected.
    #[error(
        "no checkpoint in {}: give a checkpoint directory (…/checkpoints/epoch-000000040), the \
         checkpoints folder or the --out directory of an interrupted run",
        path.display()
    )]
    NoCheckpoint {
        /// Where one was looked for.
        path: PathBuf,
    },
    /// A weights file has an extension linreg does not read.
    #[error(
        "{} is neither a directory a linreg run wrote nor a .pth, .pt or .safetensors file",
        path.display()
    )]
    UnknownWeightsFormat {
        /// The file.
        path: PathBuf,
    },
    /// A weights file could not be read.
    #[error("could not read {}", path.display())]
    ReadWeights {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A weights file is larger than linreg reads.
    #[error(
        "{} is {bytes} bytes, more than the {} bytes of the largest weights file linreg reads",
        path.display(),
        MAX_WEIGHTS_BYTES
    )]
    WeightsTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// A weights file is not a PyTorch state_dict or safetensors file of tensors.
    #[error(
        "{} {reason}; save a state_dict with torch.save(model.state_dict(), PATH) or \
         safetensors.torch.save_file(model.state_dict(), PATH)",
        path.display()
    )]
    NotWeights {
        /// The file.
        path: PathBuf,
        /// What is wrong, as words that follow the file's name.
        reason: String,
    },
    /// A weights file does not hold exactly `linear.weight` (and `linear.bias`).
    #[error("{}", wrong_keys(path, found))]
    WrongKeys {
        /// The file.
        path: PathBuf,
        /// The tensor names it holds.
        found: Vec<String>,
    },
    /// A tensor of a weights file has the wrong type, shape or values.
    #[error("{}: {key} {problem}", path.display())]
    BadTensor {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A weights file's layer does not have the shape the run needs.
    #[error("{} holds a {found}, but this model needs a {expected}", path.display())]
    ShapeDoesNotFit {
        /// The file.
        path: PathBuf,
        /// The file's layer.
        found: String,
        /// The layer needed.
        expected: String,
    },
    /// The model could not be encoded as safetensors.
    #[error("could not encode the model as safetensors: {0}")]
    EncodeWeights(String),
    /// The record is not a valid record of the model `model.json` describes.
    #[error(
        "{} is corrupt or does not match {}: it {reason}; re-train or restore it",
        path.display(),
        meta.display()
    )]
    BadRecord {
        /// The record.
        path: PathBuf,
        /// Its description.
        meta: PathBuf,
        /// What is wrong, as words that follow "it".
        reason: String,
    },
    /// The record's parameters do not have the shape `model.json` gives.
    #[error("{} does not match {}", record.display(), meta.display())]
    RecordMismatch {
        /// The record.
        record: PathBuf,
        /// Its description.
        meta: PathBuf,
        /// How they differ.
        #[source]
        source: linreg_model::ModelError,
    },
}

/// The message of [`StoreError::WrongKeys`].
fn wrong_keys(path: &std::path::Path, found: &[String]) -> String {
    let list = if found.is_empty() {
        "no tensors".to_string()
    } else {
        found.join(", ")
    };
    let hint = if found
        .iter()
        .any(|k| k.ends_with(".linear.weight") || k.ends_with(".linear.bias"))
    {
        " (it looks like a training checkpoint or a larger model: save the linear model's own \
         state_dict)"
    } else {
        ""
    };
    format!(
        "{} holds {list}; linreg reads a state_dict with exactly {} [out, in] and, with an \
         intercept, {} [out], as an nn.Linear attribute named `linear` saves them{hint}",
        path.display(),
        pytorch::WEIGHT_KEY,
        pytorch::BIAS_KEY
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// A fresh, empty directory for one test.
    pub fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("linreg-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
