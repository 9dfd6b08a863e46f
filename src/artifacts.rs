//! Files a run writes: the model (`model.mpk` + `model.json`) and `summary.json`.
//!
//! Every file is written atomically: to a temporary file in the same directory, then renamed
//! over the target, so an interrupted or failed run never leaves half a file over a good one.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use burn::record::{
    DoublePrecisionSettings, FullPrecisionSettings, NamedMpkBytesRecorder, Recorder,
};
use linreg_data::Standardizer;
use linreg_model::{LinearParams, LrModel, LrModelConfig};
use linreg_train::{LogEntry, Metrics, Scores};

use crate::exact::ExactReport;
use serde::{Deserialize, Serialize};

/// File name of the model's parameters (Burn's named MessagePack record, full precision).
pub const MODEL_FILE: &str = "model.mpk";
/// File name of what is needed to load the model without knowing its shape.
pub const MODEL_META_FILE: &str = "model.json";
/// File name of the run's summary.
pub const SUMMARY_FILE: &str = "summary.json";

/// The version of `model.json` this build writes and reads.
const MODEL_FORMAT_VERSION: u32 = 1;

/// f32 models: Burn's "full" precision settings store f32.
type ModelRecorder = NamedMpkBytesRecorder<FullPrecisionSettings>;
/// f64 models (`--precision f64`): every digit of an f64 parameter.
type WideRecorder = NamedMpkBytesRecorder<DoublePrecisionSettings>;

/// `model.json`: how to rebuild the model before loading `model.mpk` into it.
#[derive(Debug, Serialize, Deserialize)]
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
    pub exact: Option<ParamsJson>,
}

fn default_precision() -> String {
    "f32".into()
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
    /// The standardizer to apply before the model, if any.
    pub fn standardizer(&self) -> Option<Standardizer> {
        self.standardization.as_ref().map(|s| Standardizer {
            mean: s.mean.clone(),
            scale: s.scale.clone(),
        })
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
    pub exact: Option<ParamsJson>,
}

/// The float type of a model's parameters and arithmetic.
pub fn precision_of<B: Backend>() -> &'static str {
    if std::mem::size_of::<B::FloatElem>() == 8 {
        "f64"
    } else {
        "f32"
    }
}

/// The precision a saved model was trained in (`f32` when `model.json` does not say, or
/// cannot be read: loading it then gives the real error).
pub fn saved_precision(dir: &Path) -> String {
    fs::read_to_string(dir.join(MODEL_META_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["precision"].as_str().map(str::to_string))
        .unwrap_or_else(|| "f32".into())
}

/// Parameters in PyTorch's orientation, as `summary.json` shows them.
///
/// Each f32 is written as the f64 of the same value (0.7645385265350342, not 0.7645385), the
/// way PyTorch's `.item()` reports it, so a reader in any language gets the exact number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamsJson {
    /// `[out][in]`.
    pub weight: Vec<Vec<f64>>,
    /// One per output.
    pub bias: Vec<f64>,
}

impl From<LinearParams> for ParamsJson {
    fn from(p: LinearParams) -> Self {
        let wide = |v: Vec<f32>| v.into_iter().map(f64::from).collect();
        Self {
            weight: p.weight.into_iter().map(wide).collect(),
            bias: wide(p.bias),
        }
    }
}

impl From<LinearParams<f64>> for ParamsJson {
    fn from(p: LinearParams<f64>) -> Self {
        Self {
            weight: p.weight,
            bias: p.bias,
        }
    }
}

impl ParamsJson {
    /// The same model's coefficients on the original (unstandardized) columns.
    pub fn in_original_units(&self, standardizer: Option<&Standardizer>) -> Self {
        match standardizer {
            None => self.clone(),
            Some(s) => {
                let (weight, bias) = s.to_original_units(&self.weight, &self.bias);
                Self { weight, bias }
            }
        }
    }
}

/// Metrics as `summary.json` and `evaluate --json` show them: the averages, then one entry per
/// target by name.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsJson {
    /// Mean absolute error, averaged over targets.
    pub mae: f64,
    /// Mean squared error, averaged over targets.
    pub mse: f64,
    /// Root mean squared error, averaged over targets.
    pub rmse: f64,
    /// R², averaged over targets.
    pub r2: f64,
    /// Each target's scores, keyed by its column name, in column order.
    #[serde(serialize_with = "ordered_map")]
    pub per_target: Vec<(String, Scores)>,
}

impl MetricsJson {
    /// Names `metrics`' targets.
    pub fn new(metrics: &Metrics, targets: &[String]) -> Self {
        Self {
            mae: metrics.mean.mae,
            mse: metrics.mean.mse,
            rmse: metrics.mean.rmse,
            r2: metrics.mean.r2,
            per_target: targets
                .iter()
                .cloned()
                .zip(metrics.per_target.iter().copied())
                .collect(),
        }
    }
}

fn ordered_map<S: serde::Serializer>(pairs: &[(String, Scores)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

/// Train and test metrics.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsPair {
    /// On the training rows.
    pub train: MetricsJson,
    /// On the test rows.
    pub test: MetricsJson,
}

/// Row counts.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rows {
    /// Training rows.
    pub train: usize,
    /// Test rows.
    pub test: usize,
}

/// Paths of the files a run wrote.
#[derive(Debug, Default, Serialize)]
pub struct Files {
    /// `model.mpk`.
    pub model: PathBuf,
    /// `model.json`.
    pub model_meta: PathBuf,
    /// Every chart, PNG and SVG.
    pub plots: Vec<PathBuf>,
}

/// `summary.json`.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// `ndarray` or `wgpu`.
    pub backend: String,
    /// The device in words.
    pub device: String,
    /// The seed of the initial draw (Burn's generator in the tutorial run, linreg's own in
    /// `train`), or null when the run started from given parameters.
    pub seed: Option<u64>,
    /// Where the initial parameters came from.
    pub init: String,
    /// Feature column names.
    pub features: Vec<String>,
    /// Target column names.
    pub targets: Vec<String>,
    /// Training and test row counts.
    pub rows: Rows,
    /// Whether the features were standardized.
    pub standardized: bool,
    /// Epochs asked for.
    pub epochs: usize,
    /// Epochs run (fewer with early stopping).
    pub epochs_run: usize,
    /// With early stopping: the epoch whose model was kept.
    pub best_epoch: Option<usize>,
    /// Base learning rate.
    pub lr: f64,
    /// Loss minimized.
    pub loss: String,
    /// Optimizer.
    pub optimizer: String,
    /// Learning-rate schedule.
    pub schedule: String,
    /// Rows per step; null for full batch.
    pub batch_size: Option<usize>,
    /// `gd` or `exact`.
    pub solver: String,
    /// Parameters before training (on the features the model sees).
    pub initial: ParamsJson,
    /// Parameters after training (on the features the model sees).
    #[serde(rename = "final")]
    pub final_params: ParamsJson,
    /// The final parameters on the original columns (equal to `final` when nothing was
    /// standardized).
    pub original_units: ParamsJson,
    /// Every logged evaluation.
    pub history: Vec<LogEntry>,
    /// Final loss on the training rows.
    pub train_loss: f64,
    /// Final loss on the test rows.
    pub test_loss: f64,
    /// Final metrics.
    pub metrics: MetricsPair,
    /// The exact optimum and how far gradient descent got from it (absent when the table was
    /// too large to solve without `--compare-exact`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact: Option<ExactReport>,
    /// The inference table of an exact least-squares fit: one block (an object) for one
    /// target, a list of blocks (each naming its `target`) for several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference: Option<crate::exact::InferenceJson>,
    /// Training time in seconds.
    pub seconds: f64,
    /// The other files.
    pub files: Files,
}

/// Writes `bytes` to `path` atomically (temporary file beside it, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_all_atomic(&[(path, bytes)])
}

/// Writes several files so that none is replaced unless all were written: each goes to a
/// temporary file beside its target first, and only then are they renamed over the targets
/// (renames within a directory do not fail half-way through a file).
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> Result<()> {
    let mut staged: Vec<(PathBuf, &Path)> = Vec::with_capacity(files.len());
    let cleanup = |staged: &[(PathBuf, &Path)]| {
        for (tmp, _) in staged {
            let _ = fs::remove_file(tmp);
        }
    };
    for &(path, bytes) in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .context("a file path needs a file name")?;
        let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        if let Err(e) = fs::write(&tmp, bytes) {
            let _ = fs::remove_file(&tmp);
            cleanup(&staged);
            return Err(e).with_context(|| format!("could not write {}", path.display()));
        }
        staged.push((tmp, path));
    }
    for (i, (tmp, path)) in staged.iter().enumerate() {
        if let Err(e) = fs::rename(tmp, path) {
            cleanup(&staged[i..]);
            return Err(e).with_context(|| format!("could not write {}", path.display()));
        }
    }
    Ok(())
}

/// Creates the output directory, refusing a path that is a file.
pub fn prepare_out_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!(
            "--out {} is a file, not a directory; give a directory path",
            dir.display()
        );
    }
    fs::create_dir_all(dir).with_context(|| format!("could not create --out {}", dir.display()))
}

/// Saves `model` as `dir/model.mpk` and `dir/model.json`; returns their paths.
pub fn save_model<B: Backend>(
    model: &LrModel<B>,
    info: &ModelInfo,
    dir: &Path,
) -> Result<(PathBuf, PathBuf)> {
    let record = model.clone().into_record();
    let bytes = if precision_of::<B>() == "f64" {
        WideRecorder::default().record(record, ())
    } else {
        ModelRecorder::default().record(record, ())
    }
    .context("could not encode the model")?;
    let meta = ModelMeta {
        format: "linreg-model".into(),
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
    };
    let (model_path, meta_path) = (dir.join(MODEL_FILE), dir.join(MODEL_META_FILE));
    // Both files or neither: a record never sits beside another model's description.
    let meta_bytes = serde_json::to_vec_pretty(&meta)?;
    write_all_atomic(&[(&model_path, &bytes), (&meta_path, &meta_bytes)])?;
    Ok((model_path, meta_path))
}

/// Loads the model saved in `dir` by [`save_model`] onto `device`, with its description.
pub fn load_model<B: Backend>(dir: &Path, device: &B::Device) -> Result<(LrModel<B>, ModelMeta)> {
    let meta_path = dir.join(MODEL_META_FILE);
    let text = fs::read_to_string(&meta_path).with_context(|| {
        format!(
            "no model in {}: could not read {} (train one first, or point to the directory a run wrote)",
            dir.display(),
            meta_path.display()
        )
    })?;
    let meta: ModelMeta = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a linreg model description; re-save the model with linreg",
            meta_path.display()
        )
    })?;
    if meta.format != "linreg-model" || meta.version != MODEL_FORMAT_VERSION {
        bail!(
            "{} has format {:?} version {}; this linreg reads \"linreg-model\" version {MODEL_FORMAT_VERSION}",
            meta_path.display(),
            meta.format,
            meta.version
        );
    }
    let record_path = dir.join(&meta.record);
    let bytes = fs::read(&record_path).with_context(|| {
        format!(
            "could not read the model parameters {}",
            record_path.display()
        )
    })?;
    let record = if meta.precision == "f64" {
        WideRecorder::default().load(bytes, device)
    } else {
        ModelRecorder::default().load(bytes, device)
    }
    .map_err(|e| anyhow::anyhow!("{e:?}"))
    .with_context(|| {
        format!(
            "{} is corrupt or not a linreg model record; re-train or restore it",
            record_path.display()
        )
    })?;
    let model = meta
        .config
        .init_with_record(record, device)
        .with_context(|| {
            format!(
                "{} does not match {}",
                record_path.display(),
                meta_path.display()
            )
        })?;
    let (d_in, d_out) = (meta.config.d_input, meta.config.d_output);
    let widths_ok = (meta.features.is_empty() || meta.features.len() == d_in)
        && (meta.targets.is_empty() || meta.targets.len() == d_out)
        && meta.standardization.as_ref().is_none_or(|s| {
            s.mean.len() == d_in
                && s.scale.len() == d_in
                && s.mean.iter().all(|m| m.is_finite())
                && s.scale.iter().all(|v| v.is_finite() && *v > 0.0)
        });
    if !widths_ok {
        bail!(
            "{} is inconsistent: its column lists or standardization (finite means, positive scales) do not fit a {d_in}→{d_out} model",
            meta_path.display()
        );
    }
    Ok((model, meta))
}

/// Writes `summary.json` into `dir`.
pub fn save_summary(summary: &Summary, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(SUMMARY_FILE);
    write_atomic(&path, &serde_json::to_vec_pretty(summary)?)?;
    Ok(path)
}

#[cfg(all(test, feature = "ndarray"))]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray;

    fn tmp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("linreg-artifacts-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

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
        }
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
        assert_eq!(names, ["model.json", "model.mpk"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_model_is_a_clear_error() {
        let dir = tmp("missing");
        let err = format!(
            "{:#}",
            load_model::<B>(&dir, &Default::default()).unwrap_err()
        );
        assert!(
            err.contains("no model in") && err.contains("model.json"),
            "{err}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn corrupt_record_is_a_clear_error() {
        let dir = tmp("corrupt");
        save_model(&model(), &info(), &dir).unwrap();
        fs::write(dir.join(MODEL_FILE), b"\x93not a record").unwrap();
        let err = format!(
            "{:#}",
            load_model::<B>(&dir, &Default::default()).unwrap_err()
        );
        assert!(err.contains("model.mpk is corrupt"), "{err}");
        fs::write(dir.join(MODEL_META_FILE), b"{").unwrap();
        let err = format!(
            "{:#}",
            load_model::<B>(&dir, &Default::default()).unwrap_err()
        );
        assert!(err.contains("is not a linreg model description"), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn record_that_disagrees_with_its_config_is_refused() {
        let dir = tmp("mismatch");
        save_model(&model(), &info(), &dir).unwrap();
        let meta = r#"{"format":"linreg-model","version":1,"config":{"d_input":1,"d_output":1,"bias":true},"record":"model.mpk"}"#;
        fs::write(dir.join(MODEL_META_FILE), meta).unwrap();
        let err = format!(
            "{:#}",
            load_model::<B>(&dir, &Default::default()).unwrap_err()
        );
        assert!(
            err.contains("does not match") && err.contains("expected 1→1"),
            "{err}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn standardization_that_would_divide_by_zero_is_refused() {
        let dir = tmp("zero-scale");
        save_model(&model(), &info(), &dir).unwrap();
        let path = dir.join(MODEL_META_FILE);
        let text = fs::read_to_string(&path).unwrap().replace("3.0", "0.0");
        fs::write(&path, text).unwrap();
        let err = format!(
            "{:#}",
            load_model::<B>(&dir, &Default::default()).unwrap_err()
        );
        assert!(err.contains("positive scales"), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn files_written_together_are_all_or_nothing() {
        let dir = tmp("pair");
        let first = dir.join("a.mpk");
        fs::write(&first, b"old").unwrap();
        let unwritable = dir.join("missing-dir").join("a.json");
        assert!(write_all_atomic(&[(&first, b"new"), (&unwritable, b"{}")]).is_err());
        assert_eq!(
            fs::read(&first).unwrap(),
            b"old",
            "the first file is untouched"
        );
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn out_dir_that_is_a_file_is_refused() {
        let dir = tmp("outfile");
        let file = dir.join("f");
        fs::write(&file, b"keep").unwrap();
        let err = prepare_out_dir(&file).unwrap_err().to_string();
        assert!(err.contains("is a file"), "{err}");
        assert_eq!(fs::read(&file).unwrap(), b"keep");
        fs::remove_dir_all(dir).unwrap();
    }
}
