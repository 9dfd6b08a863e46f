//! linreg's run report: the numbers of one run in, one self-contained HTML page out.
//!
//! The page holds the PyTorch tutorial's figures (same titles, axis labels, colours and
//! `plotly_white` template), drawn by plotly.js through Plotly's Rust bindings (the `plotly`
//! crate), so they are interactive: hover for values, drag to zoom, click a legend entry to hide
//! a series. Beside them: predicted-vs-actual, residual and coefficient figures, the loss curves
//! with a linear/log switch, and tables of metrics, the gap to the exact optimum, the run's
//! configuration and the files it wrote.
//!
//! The page needs no network: plotly.js (the bundle the `plotly` crate ships, taken out of it
//! at build time) is written inside it, and it has no other script, style sheet, font or image
//! to fetch. Series longer than
//! [`MAX_POINTS`] are thinned for drawing, as the PNG charts are, and the page says so. It is
//! written atomically: to a temporary file beside the target, then renamed over it.
//!
//! This crate knows nothing of Burn or of linreg's command line: the binary converts a run into a
//! [`Report`].
//!
//! ```
//! use linreg_report::{LossHistory, MetricsRow, Report};
//!
//! let report = Report {
//!     title: "A run".into(),
//!     history: Some(LossHistory {
//!         loss: "L1".into(),
//!         epochs: vec![0, 50, 100],
//!         train: vec![0.6, 0.06, 0.01],
//!         test: vec![0.58, 0.07, 0.01],
//!         best_epoch: None,
//!     }),
//!     metrics: vec![MetricsRow::new("test", None, [0.01, 0.0002, 0.014, 0.98])],
//!     config: vec![("epochs".into(), "100".into())],
//!     ..Report::default()
//! };
//! let dir = std::env::temp_dir().join(format!("linreg-report-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let written = report.write(&dir.join("report.html"))?;
//! let html = std::fs::read_to_string(&written.path)?;
//! assert!(html.contains("Training and Testing Losses vs Epochs"));
//! assert!(!html.contains("<script src"), "nothing is fetched");
//! assert_eq!(written.figures, 1);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

mod figures;
mod page;

pub use page::plotly_js_version;

/// The tutorial's colour for training data and the training loss.
pub const TRAIN_COLOR: &str = "#1c4f96";
/// The tutorial's colour for test data and the test loss.
pub const TEST_COLOR: &str = "#f58160";
/// The tutorial's colour for predictions.
pub const PREDICTION_COLOR: &str = "#8f3974";

/// Most points drawn per series (as in `linreg-plot`): longer series are thinned to an even
/// stride, so a page of a million-row table stays small and quick to open. Histograms count
/// every row.
pub const MAX_POINTS: usize = 5_000;

/// Most targets that get their own diagnostic and coefficient figures; the tables list all.
pub const MAX_TARGET_FIGURES: usize = 4;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Two series that must pair up have different lengths.
    #[error("cannot draw the {what}: {left} values against {right}")]
    Mismatch {
        /// Which series.
        what: String,
        /// Length of the first.
        left: usize,
        /// Length of the second.
        right: usize,
    },
    /// Writing the page failed.
    #[error("could not write {path}: {source}")]
    Io {
        /// The page's path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// One run, as the page shows it. Every part is optional: a section without data is left out.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The page's heading, e.g. `linreg train: houses.csv → price`.
    pub title: String,
    /// A sentence or two under the heading.
    pub description: String,
    /// The results a reader looks for first (final losses, R², training time), as label/value.
    pub headline: Vec<(String, String)>,
    /// Remarks shown at the top (e.g. that the features were standardized).
    pub notes: Vec<String>,
    /// The tutorial's x–y figures (one feature, one target).
    pub tutorial: Option<XyFigures>,
    /// Loss per logged epoch (none for an exact solve).
    pub history: Option<LossHistory>,
    /// Predicted and actual values per target, for the diagnostic figures.
    pub fits: Vec<TargetFit>,
    /// The fitted coefficients.
    pub coefficients: Option<Coefficients>,
    /// Scores per set (and per target).
    pub metrics: Vec<MetricsRow>,
    /// How far gradient descent got from the exact optimum.
    pub exact: Option<ExactGap>,
    /// A penalized fit's path and cross-validation.
    pub regularization: Option<Regularization>,
    /// The run's configuration, as label/value rows.
    pub config: Vec<(String, String)>,
    /// The files the run wrote; those beside the page are linked.
    pub files: Vec<PathBuf>,
}

/// A penalized fit's path (and its cross-validation), as glmnet's `plot` draws them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Regularization {
    /// The α of each point, decreasing.
    pub alphas: Vec<f64>,
    /// Each coefficient's name and its value at each α (original units).
    pub coefficients: Vec<(String, Vec<f64>)>,
    /// The saved model's α.
    pub chosen: f64,
    /// K-fold cross-validation of the path.
    pub cv: Option<CvCurve>,
}

/// The cross-validation curve: mean held-out error and its standard error at each α.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CvCurve {
    /// Mean held-out mean squared error.
    pub mean: Vec<f64>,
    /// Its standard error.
    pub standard_error: Vec<f64>,
    /// The α of the least mean error.
    pub alpha_min: f64,
    /// The largest α within one standard error of it.
    pub alpha_1se: f64,
}

/// Paired x and y values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Points {
    /// The inputs.
    pub x: Vec<f32>,
    /// The outputs, one per input.
    pub y: Vec<f32>,
}

/// The tutorial's `plot_predictions` data: training and test points, and the predictions at the
/// test inputs. Drawn twice, as in the tutorial: before training (data only) and after.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct XyFigures {
    /// Label of the x axis (`X` in the tutorial).
    pub x_label: String,
    /// Label of the y axis (`Y` in the tutorial).
    pub y_label: String,
    /// Training rows.
    pub train: Points,
    /// Test rows.
    pub test: Points,
    /// The trained model's predictions at `test.x`.
    pub predictions: Option<Vec<f32>>,
}

/// The tutorial's `plot_epoch_losses` data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LossHistory {
    /// The loss's name, for the caption (`L1`, `MSE`, …).
    pub loss: String,
    /// The logged epochs.
    pub epochs: Vec<usize>,
    /// Training loss at each logged epoch.
    pub train: Vec<f64>,
    /// Test loss at each logged epoch.
    pub test: Vec<f64>,
    /// With early stopping: the epoch whose model was kept (marked on the curve).
    pub best_epoch: Option<usize>,
}

/// Which rows a set of predictions belongs to; it picks the tutorial's colour and legend entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Training rows: "Training Data", #1c4f96.
    Train,
    /// Test rows: "Testing Data", #f58160.
    Test,
    /// Rows a saved model was evaluated on: "Evaluated Data", #8f3974.
    Evaluated,
}

/// Actual and predicted values of one target on one set of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct FitSet {
    /// Which rows.
    pub role: Role,
    /// The target column's values.
    pub actual: Vec<f32>,
    /// The model's predictions, one per row.
    pub predicted: Vec<f32>,
}

/// One target's predictions on each set: drawn as predicted against actual, residuals against
/// predictions, and a histogram of the residuals.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetFit {
    /// The target's name.
    pub target: String,
    /// One entry per set of rows.
    pub sets: Vec<FitSet>,
}

/// The fitted coefficients of every target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coefficients {
    /// What the numbers are, e.g. "on the original columns (the model saw standardized
    /// features)".
    pub caption: String,
    /// Confidence level of the intervals (e.g. `0.95`), when there are any.
    pub level: Option<f64>,
    /// One entry per target.
    pub targets: Vec<TargetCoefficients>,
}

/// The coefficients of one target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetCoefficients {
    /// The target's name.
    pub target: String,
    /// One entry per feature, and the intercept.
    pub terms: Vec<Term>,
}

/// One coefficient, with what is known about it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Term {
    /// The feature's name, or `(intercept)`.
    pub name: String,
    /// The fitted value.
    pub estimate: f64,
    /// The exact optimum's value, when it was computed.
    pub exact: Option<f64>,
    /// Standard error of the estimate.
    pub std_error: Option<f64>,
    /// Confidence interval `(lower, upper)`.
    pub interval: Option<(f64, f64)>,
    /// p-value of the test that the coefficient is 0.
    pub p_value: Option<f64>,
}

impl Term {
    /// A coefficient known only by its value.
    pub fn new(name: impl Into<String>, estimate: f64) -> Self {
        Self {
            name: name.into(),
            estimate,
            ..Self::default()
        }
    }
}

/// One line of the metrics table.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsRow {
    /// The set of rows (`train`, `test`, a file name).
    pub set: String,
    /// The target, or `None` for the average over targets.
    pub target: Option<String>,
    /// Mean absolute error.
    pub mae: f64,
    /// Mean squared error.
    pub mse: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Coefficient of determination.
    pub r2: f64,
}

impl MetricsRow {
    /// A row from `[mae, mse, rmse, r2]`.
    pub fn new(
        set: impl Into<String>,
        target: Option<String>,
        [mae, mse, rmse, r2]: [f64; 4],
    ) -> Self {
        Self {
            set: set.into(),
            target,
            mae,
            mse,
            rmse,
            r2,
        }
    }
}

/// How far gradient descent got from the exact optimum of the same loss.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExactGap {
    /// The exact method, in words.
    pub method: String,
    /// Its iterations (1 for a direct solve).
    pub iterations: usize,
    /// Its wall time in seconds.
    pub seconds: f64,
    /// Euclidean distance between the two parameter sets.
    pub param_distance: f64,
    /// One line per set of rows.
    pub sets: Vec<GapRow>,
}

/// The optimum's loss and the one reached, on one set of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct GapRow {
    /// The set (`train`, `test`).
    pub set: String,
    /// The exact optimum's loss.
    pub optimum: f64,
    /// The loss gradient descent reached.
    pub reached: f64,
    /// `reached − optimum`.
    pub gap_abs: f64,
    /// `(reached − optimum) / optimum`; `None` where the optimum is 0.
    pub gap_rel: Option<f64>,
}

/// What [`Report::write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The page.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: usize,
    /// How many figures it draws.
    pub figures: usize,
}

impl Report {
    /// The page as a string, and how many figures it draws; `dir` is the directory it will be
    /// saved in (files written there are linked by name).
    pub fn to_html(&self, dir: &Path) -> Result<(String, usize), ReportError> {
        let page = page::render(self, dir)?;
        Ok((
            [page.head.as_str(), page::PLOTLY_JS, page.body.as_str()].concat(),
            page.figures,
        ))
    }

    /// Writes the page to `path` atomically (a temporary file beside it, then a rename), so a
    /// failure never leaves half a page over a good one. Every figure is built before the
    /// file is opened: bad data leaves no file at all.
    pub fn write(&self, path: &Path) -> Result<Written, ReportError> {
        let io = |source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let page = page::render(self, dir)?;
        let parts = [
            page.head.as_bytes(),
            page::PLOTLY_JS.as_bytes(),
            page.body.as_bytes(),
        ];
        linreg_atomic::write_parts(path, &parts).map_err(io)?;
        Ok(Written {
            path: path.to_path_buf(),
            bytes: parts.iter().map(|p| p.len()).sum(),
            figures: page.figures,
        })
    }
}

#[cfg(test)]
mod tests;
