//! `summary.json`: what a run did and reached, for people and for other programs.

use std::path::{Path, PathBuf};

use linreg_data::Standardizer;
use linreg_model::LinearParams;
use linreg_train::{LogEntry, Metrics, Scores};
use serde::{Deserialize, Serialize};

use crate::{write_atomic, StoreError};

/// File name of the run's summary.
pub const SUMMARY_FILE: &str = "summary.json";

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

/// `summary.json`'s `inference`: the table of one target (an object), or a list of tables,
/// each naming its `target`, for several.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum InferenceJson {
    /// One target.
    One(Box<linreg_solve::Inference>),
    /// Several targets, in column order.
    Many(Vec<linreg_solve::Inference>),
}

impl InferenceJson {
    /// One table per target, in column order: `None` for none, [`One`](Self::One) for one.
    pub fn from_tables(mut tables: Vec<linreg_solve::Inference>) -> Option<Self> {
        match tables.len() {
            0 => None,
            1 => Some(Self::One(Box::new(tables.remove(0)))),
            _ => Some(Self::Many(tables)),
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
    /// `model.safetensors`, the model for PyTorch.
    pub model_safetensors: PathBuf,
    /// Every chart, PNG and SVG.
    pub plots: Vec<PathBuf>,
}

/// Train and test values.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Pair<T> {
    /// On the training rows.
    pub train: T,
    /// On the test rows.
    pub test: T,
}

/// `summary.json`'s `exact` block: how far gradient descent got from the exact optimum.
#[derive(Debug, Clone, Serialize)]
pub struct ExactReport {
    /// The method.
    pub method: String,
    /// The exact coefficients in f64, `[out][in]`, in the units of `final` (standardized
    /// features when the run standardized them).
    pub weight: Vec<Vec<f64>>,
    /// The exact intercepts in f64.
    pub bias: Vec<f64>,
    /// The optimum's loss on the training rows.
    pub train_loss: f64,
    /// The optimum's loss on the test rows.
    pub test_loss: f64,
    /// The loss gradient descent reached on the training rows.
    pub gd_train_loss: f64,
    /// The loss gradient descent reached on the test rows.
    pub gd_test_loss: f64,
    /// `(gd − optimum) / optimum`; null where the optimum is 0.
    pub gap: Pair<Option<f64>>,
    /// `gd − optimum`.
    pub gap_abs: Pair<f64>,
    /// Euclidean distance between the two parameter sets (weights and biases, as in `final`).
    pub param_distance: f64,
    /// IRLS iterations (1 for the direct least-squares solve).
    pub iterations: usize,
    /// Solve time in seconds.
    pub seconds: f64,
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
    /// The inference table of an exact least-squares fit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference: Option<InferenceJson>,
    /// A penalized fit: the penalty, its path and cross-validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub penalty: Option<crate::PenaltyJson>,
    /// Training time in seconds.
    pub seconds: f64,
    /// The other files.
    pub files: Files,
}

/// Writes `summary.json` into `dir` atomically; returns its path.
pub fn save_summary(summary: &Summary, dir: &Path) -> Result<PathBuf, StoreError> {
    let path = dir.join(SUMMARY_FILE);
    let bytes = serde_json::to_vec_pretty(summary).map_err(StoreError::EncodeJson)?;
    write_atomic(&path, &bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_written_as_the_exact_f64_of_each_f32() {
        let p = ParamsJson::from(LinearParams {
            weight: vec![vec![0.764_538_5_f32]],
            bias: vec![0.830_007_9_f32],
        });
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(
            text,
            r#"{"weight":[[0.7645385265350342]],"bias":[0.8300079107284546]}"#
        );
    }

    #[test]
    fn per_target_metrics_keep_column_order() {
        let s = |v: f64| Scores {
            mae: v,
            mse: v,
            rmse: v,
            r2: v,
        };
        let m = Metrics {
            mean: s(1.5),
            per_target: vec![s(2.0), s(1.0)],
        };
        let json = serde_json::to_string(&MetricsJson::new(&m, &["z".into(), "a".into()])).unwrap();
        let (z, a) = (json.find("\"z\"").unwrap(), json.find("\"a\"").unwrap());
        assert!(z < a, "{json}");
    }
}
