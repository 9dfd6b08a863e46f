//! The saved model: `model.mpk` (Burn's named MessagePack record at full precision) beside
//! `model.json` (what is needed to rebuild the model before loading the record into it).

use std::fs;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::record::{
    DoublePrecisionSettings, FullPrecisionSettings, NamedMpkBytesRecorder, Recorder,
};
use linreg_data::Standardizer;
use linreg_model::{LrModel, LrModelConfig};
use serde::{Deserialize, Serialize};

use crate::{write_all_atomic, StoreError};

/// File name of the model's parameters (Burn's named MessagePack record, full precision).
pub const MODEL_FILE: &str = "model.mpk";
/// File name of what is needed to load the model without knowing its shape.
pub const MODEL_META_FILE: &str = "model.json";
/// The `format` field of `model.json`.
pub const MODEL_FORMAT: &str = "linreg-model";
/// The version of `model.json` this build writes and reads.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// The recorder of an f32 model's `model.mpk` (Burn's "full" precision settings store f32).
pub type ModelRecorder = NamedMpkBytesRecorder<FullPrecisionSettings>;
/// The recorder of an f64 model's `model.mpk` (`--precision f64`): every digit of an f64.
pub type WideRecorder = NamedMpkBytesRecorder<DoublePrecisionSettings>;

/// The float type of a backend's parameters and arithmetic: `"f32"` or `"f64"`.
pub fn precision_of<B: Backend>() -> &'static str {
    if std::mem::size_of::<B::FloatElem>() == 8 {
        "f64"
    } else {
        "f32"
    }
}

/// Encodes any record of `B` with the recorder of `B`'s precision, so an f64 model's (or its
/// optimizer's) digits survive.
pub(crate) fn record_bytes<B: Backend, R: burn::record::Record<B>>(
    record: R,
) -> Result<Vec<u8>, burn::record::RecorderError> {
    if precision_of::<B>() == "f64" {
        WideRecorder::default().record(record, ())
    } else {
        ModelRecorder::default().record(record, ())
    }
}

/// Decodes a record written by [`record_bytes`] on a backend of the same precision.
pub(crate) fn load_bytes<B: Backend, R: burn::record::Record<B>>(
    bytes: Vec<u8>,
    device: &B::Device,
) -> Result<R, burn::record::RecorderError> {
    if precision_of::<B>() == "f64" {
        WideRecorder::default().load(bytes, device)
    } else {
        ModelRecorder::default().load(bytes, device)
    }
}

/// The precision a saved model was trained in (`f32` when `model.json` does not say, or
/// cannot be read: loading it then gives the real error).
pub fn saved_precision(dir: &Path) -> String {
    fs::read_to_string(dir.join(MODEL_META_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["precision"].as_str().map(str::to_string))
        .unwrap_or_else(default_precision)
}

pub(crate) fn default_precision() -> String {
    "f32".into()
}

/// `model.json`: how to rebuild the model before loading `model.mpk` into it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Always `"linreg-model"`: tells this file from other JSON.
    pub format: String,
    /// Version of this layout.
    pub version: u32,
    /// The `LrModelConfig` the record was saved from.
    pub config: LrModelConfig,
    /// The record's file name, beside this one.
    pub record: String,
    /// Feature column names, in the model's input order.
    #[serde(default)]
    pub features: Vec<String>,
    /// Target column names, in the model's output order.
    #[serde(default)]
    pub targets: Vec<String>,
    /// The loss it was trained with (`evaluate` reports it).
    #[serde(default)]
    pub loss: Option<String>,
    /// Feature standardization fitted on the training rows; `null` when features are used raw.
    #[serde(default)]
    pub standardization: Option<StandardizationJson>,
    /// `f32` or `f64`: the float type the model was trained and saved in; `evaluate` and
    /// `predict` run it in the same (absent: f32).
    #[serde(default = "default_precision")]
    pub precision: String,
    /// Polynomial regression: the table column the inputs `x, x², …` are made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polynomial: Option<PolynomialJson>,
    /// The exact least-squares coefficients on the original columns, in f64 with every digit
    /// (shortest round trip); the record holds them at the model's precision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<crate::ParamsJson>,
    /// A penalized fit's path: `predict --alpha` takes the coefficients of any of its points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<crate::PathJson>,
}

/// A polynomial basis in `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolynomialJson {
    /// The table column `x`.
    pub column: String,
    /// The highest power.
    pub degree: usize,
}

/// Standardization statistics in `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardizationJson {
    /// Per-feature mean of the training rows.
    pub mean: Vec<f64>,
    /// Per-feature standard deviation of the training rows.
    pub scale: Vec<f64>,
}

impl ModelMeta {
    /// The description of `model` as [`save_model`] writes it.
    pub fn new<B: Backend>(model: &LrModel<B>, info: &ModelInfo) -> Self {
        Self {
            format: MODEL_FORMAT.into(),
            version: MODEL_FORMAT_VERSION,
            config: model.config(),
            record: MODEL_FILE.into(),
            features: info.features.clone(),
            targets: info.targets.clone(),
            loss: Some(info.loss.clone()),
            standardization: info.standardizer.as_ref().map(|s| StandardizationJson {
                mean: s.mean.clone(),
                scale: s.scale.clone(),
            }),
            precision: precision_of::<B>().into(),
            polynomial: info.polynomial.clone(),
            exact: info.exact.clone(),
            path: info.path.clone(),
        }
    }

    /// The standardizer to apply before the model, if any.
    pub fn standardizer(&self) -> Option<Standardizer> {
        self.standardization.as_ref().map(|s| Standardizer {
            mean: s.mean.clone(),
            scale: s.scale.clone(),
        })
    }

    /// Whether the column lists and the standardization fit the model's shape (finite means,
    /// positive finite scales), so applying the model cannot index out of range or divide by 0.
    pub fn is_consistent(&self) -> bool {
        let (d_in, d_out) = (self.config.d_input, self.config.d_output);
        (self.features.is_empty() || self.features.len() == d_in)
            && (self.targets.is_empty() || self.targets.len() == d_out)
            && self.standardization.as_ref().is_none_or(|s| {
                s.mean.len() == d_in
                    && s.scale.len() == d_in
                    && s.mean.iter().all(|m| m.is_finite())
                    && s.scale.iter().all(|v| v.is_finite() && *v > 0.0)
            })
            && self
                .path
                .as_ref()
                .is_none_or(|p| p.is_consistent(d_in, d_out))
    }
}

/// What `model.json` records beside the model's shape.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// Feature column names.
    pub features: Vec<String>,
    /// Target column names.
    pub targets: Vec<String>,
    /// The loss trained with.
    pub loss: String,
    /// Standardization applied to the features, if any.
    pub standardizer: Option<Standardizer>,
    /// The polynomial basis, if any.
    pub polynomial: Option<PolynomialJson>,
    /// Exact f64 coefficients on the original columns, if solved exactly.
    pub exact: Option<crate::ParamsJson>,
    /// A penalized fit's path, if any.
    pub path: Option<crate::PathJson>,
}

/// Encodes `model` as `model.mpk`'s bytes.
pub fn encode_record<B: Backend>(model: &LrModel<B>) -> Result<Vec<u8>, StoreError> {
    record_bytes::<B, _>(model.clone().into_record()).map_err(StoreError::Encode)
}

/// The files [`save_model`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedModel {
    /// `model.mpk`, Burn's record.
    pub record: PathBuf,
    /// `model.json`, its description.
    pub meta: PathBuf,
    /// `model.safetensors`, the same parameters for PyTorch (`linear.weight` `[out, in]`).
    pub safetensors: PathBuf,
}

/// Saves `model` as `dir/model.mpk` and `dir/model.json`, and as `dir/model.safetensors` for
/// PyTorch: all three or none.
pub fn save_model<B: Backend>(
    model: &LrModel<B>,
    info: &ModelInfo,
    dir: &Path,
) -> Result<SavedModel, StoreError> {
    let bytes = encode_record(model)?;
    let meta = ModelMeta::new(model, info);
    let meta_bytes = serde_json::to_vec_pretty(&meta).map_err(StoreError::EncodeJson)?;
    let safetensors = crate::encode_safetensors(model)?;
    let saved = SavedModel {
        record: dir.join(MODEL_FILE),
        meta: dir.join(MODEL_META_FILE),
        safetensors: dir.join(crate::SAFETENSORS_FILE),
    };
    // All or none: a record never sits beside another model's description or weights.
    write_all_atomic(&[
        (&saved.record, &bytes),
        (&saved.meta, &meta_bytes),
        (&saved.safetensors, &safetensors),
    ])?;
    Ok(saved)
}

/// Parses and checks `model.json`'s text; `path` names it in errors.
pub fn parse_model_meta(text: &str, path: &Path) -> Result<ModelMeta, StoreError> {
    let meta: ModelMeta =
        serde_json::from_str(text).map_err(|source| StoreError::NotModelMeta {
            path: path.to_path_buf(),
            source,
        })?;
    if meta.format != MODEL_FORMAT || meta.version != MODEL_FORMAT_VERSION {
        return Err(StoreError::UnknownModelFormat {
            path: path.to_path_buf(),
            format: meta.format,
            version: meta.version,
        });
    }
    if !meta.is_consistent() {
        return Err(StoreError::InconsistentMeta {
            path: path.to_path_buf(),
            d_input: meta.config.d_input,
            d_output: meta.config.d_output,
        });
    }
    Ok(meta)
}

/// Decodes `model.mpk`'s bytes into a model of `meta`'s shape on `device`; `path` names the
/// record in errors, `meta_path` its description.
pub fn decode_record<B: Backend>(
    bytes: Vec<u8>,
    meta: &ModelMeta,
    device: &B::Device,
    path: &Path,
    meta_path: &Path,
) -> Result<LrModel<B>, StoreError> {
    // Burn decodes tensors without checking them against the model: check first.
    crate::record_guard::check_model(&bytes, &meta.config).map_err(|reason| {
        StoreError::BadRecord {
            path: path.to_path_buf(),
            meta: meta_path.to_path_buf(),
            reason,
        }
    })?;
    let record = if meta.precision == "f64" {
        WideRecorder::default().load(bytes, device)
    } else {
        ModelRecorder::default().load(bytes, device)
    }
    .map_err(|source| StoreError::CorruptRecord {
        path: path.to_path_buf(),
        source,
    })?;
    meta.config
        .init_with_record(record, device)
        .map_err(|source| StoreError::RecordMismatch {
            record: path.to_path_buf(),
            meta: meta_path.to_path_buf(),
            source,
        })
}

/// Loads the model saved in `dir` by [`save_model`] onto `device`, with its description.
pub fn load_model<B: Backend>(
    dir: &Path,
    device: &B::Device,
) -> Result<(LrModel<B>, ModelMeta), StoreError> {
    let meta_path = dir.join(MODEL_META_FILE);
    let text = fs::read_to_string(&meta_path).map_err(|source| StoreError::NoModel {
        dir: dir.to_path_buf(),
        meta: meta_path.clone(),
        source,
    })?;
    let meta = parse_model_meta(&text, &meta_path)?;
    // The record must sit beside its description: a bare file name, not a path elsewhere.
    let record_path = match Path::new(&meta.record).file_name() {
        Some(name) if name == meta.record.as_str() => dir.join(name),
        _ => {
            return Err(StoreError::InconsistentMeta {
                path: meta_path,
                d_input: meta.config.d_input,
                d_output: meta.config.d_output,
            })
        }
    };
    let bytes = fs::read(&record_path).map_err(|source| StoreError::ReadRecord {
        path: record_path.clone(),
        source,
    })?;
    let model = decode_record(bytes, &meta, device, &record_path, &meta_path)?;
    Ok((model, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::tmp;
    use burn::backend::NdArray;
    use linreg_model::LinearParams;

    type B = NdArray;

    fn model() -> LrModel<B> {
        LrModelConfig::new()
            .with_d_input(2)
            .with_d_output(3)
            .init::<B>(&Default::default())
            .with_params(&LinearParams {
                weight: vec![vec![0.1, 0.2], vec![0.3, 0.4], vec![1.0 / 3.0, -7.25e-8]],
                bias: vec![0.5, 0.6, 0.7],
            })
            .unwrap()
    }

    fn info() -> ModelInfo {
        ModelInfo {
            features: vec!["a".into(), "b".into()],
            targets: vec!["p".into(), "q".into(), "r".into()],
            loss: "mse".into(),
            standardizer: Some(Standardizer {
                mean: vec![1.0, 2.0],
                scale: vec![2.0, 3.0],
            }),
            polynomial: None,
            exact: None,
            path: None,
        }
    }

    fn load_err(dir: &Path) -> StoreError {
        load_model::<B>(dir, &Default::default()).unwrap_err()
    }

    /// The message a person reads: the error and its causes, as `anyhow`'s `{:#}` joins them.
    fn chain(err: &StoreError) -> String {
        let mut out = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            out.push_str(&format!(": {s}"));
            source = s.source();
        }
        out
    }

    #[test]
    fn round_trip_is_exact() {
        let dir = tmp("roundtrip");
        let m = model();
        save_model(&m, &info(), &dir).unwrap();
        let (loaded, meta) = load_model::<B>(&dir, &Default::default()).unwrap();
        assert_eq!(meta.features, ["a", "b"]);
        assert_eq!(meta.standardizer().unwrap().scale, vec![2.0, 3.0]);
        assert_eq!(loaded.params(), m.params());
        assert_eq!(loaded.config().d_output, 3);
        // No temporary file is left behind.
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["model.json", "model.mpk", "model.safetensors"]);
        // The safetensors file holds the same numbers, for PyTorch.
        let st =
            crate::load_weights::<B>(&dir.join("model.safetensors"), None, &Default::default())
                .unwrap();
        assert_eq!(st.params(), m.params());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_model_is_a_clear_error() {
        let dir = tmp("missing");
        let err = load_err(&dir);
        assert!(matches!(err, StoreError::NoModel { .. }), "{err}");
        let text = chain(&err);
        assert!(
            text.contains("no model in") && text.contains("model.json"),
            "{text}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn corrupt_record_is_a_clear_error() {
        let dir = tmp("corrupt");
        save_model(&model(), &info(), &dir).unwrap();
        fs::write(dir.join(MODEL_FILE), b"\x93not a record").unwrap();
        let err = load_err(&dir);
        assert!(matches!(err, StoreError::BadRecord { .. }), "{err}");
        assert!(chain(&err).contains("model.mpk is corrupt"), "{err}");
        fs::write(dir.join(MODEL_META_FILE), b"{").unwrap();
        let err = load_err(&dir);
        assert!(matches!(err, StoreError::NotModelMeta { .. }), "{err}");
        assert!(
            chain(&err).contains("is not a linreg model description"),
            "{err}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn record_that_disagrees_with_its_config_is_refused() {
        let dir = tmp("mismatch");
        save_model(&model(), &info(), &dir).unwrap();
        let meta = r#"{"format":"linreg-model","version":1,"config":{"d_input":1,"d_output":1,"bias":true},"record":"model.mpk"}"#;
        fs::write(dir.join(MODEL_META_FILE), meta).unwrap();
        let err = chain(&load_err(&dir));
        assert!(
            err.contains("does not match")
                && err.contains("holds a weight of shape [2, 3], but the model's is [1, 1]"),
            "{err}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_parameter_id_burn_cannot_read_is_refused() {
        // Found by fuzzing (`tests/fuzz_loaders.rs`): Burn panics on such an id.
        let dir = tmp("bad-id");
        let m = model();
        save_model(&m, &info(), &dir).unwrap();
        let path = dir.join(MODEL_FILE);
        let mut bytes = fs::read(&path).unwrap();
        let id = m.linear.weight.id.serialize();
        let at = bytes
            .windows(id.len())
            .position(|w| w == id.as_bytes())
            .unwrap();
        bytes[at..at + id.len()].copy_from_slice(b"zzzzzzzzzzzzz");
        fs::write(&path, bytes).unwrap();
        let err = load_err(&dir);
        assert!(matches!(err, StoreError::BadRecord { .. }), "{err}");
        assert!(err.to_string().contains("valid parameter id"), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn standardization_that_would_divide_by_zero_is_refused() {
        let dir = tmp("zero-scale");
        save_model(&model(), &info(), &dir).unwrap();
        let path = dir.join(MODEL_META_FILE);
        let text = fs::read_to_string(&path).unwrap().replace("3.0", "0.0");
        fs::write(&path, text).unwrap();
        let err = load_err(&dir);
        assert!(matches!(err, StoreError::InconsistentMeta { .. }), "{err}");
        assert!(err.to_string().contains("positive scales"), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn other_formats_and_record_paths_elsewhere_are_refused() {
        let dir = tmp("format");
        save_model(&model(), &info(), &dir).unwrap();
        let path = dir.join(MODEL_META_FILE);
        let good = fs::read_to_string(&path).unwrap();
        fs::write(&path, good.replace("\"version\": 1", "\"version\": 7")).unwrap();
        let err = load_err(&dir);
        assert!(
            matches!(err, StoreError::UnknownModelFormat { version: 7, .. }),
            "{err}"
        );
        fs::write(
            &path,
            good.replace("\"model.mpk\"", "\"../elsewhere/model.mpk\""),
        )
        .unwrap();
        assert!(matches!(
            load_err(&dir),
            StoreError::InconsistentMeta { .. }
        ));
        fs::remove_dir_all(dir).unwrap();
    }
}
