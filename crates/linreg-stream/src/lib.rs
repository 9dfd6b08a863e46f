//! Linear models on tables larger than memory.
//!
//! Least squares needs one pass: the count, means and centred cross products of disjoint
//! parts of a table merge exactly ([`linreg_solve::Moments`], Chan–Golub–LeVeque). This crate
//! reads a [`linreg_io::Source`] once on every core into those moments ([`moments_pass`]) —
//! the training rows and the test rows apart — and everything that is a function of them
//! follows without touching the rows again:
//!
//! - exact OLS, ridge and WLS and the inference table (`Moments::least_squares`);
//! - the standardization statistics ([`standardizer`]) and the moments of the standardized
//!   columns ([`standardize`]);
//! - MSE, RMSE and R² of any linear model on those rows ([`scores`]);
//! - full-batch MSE gradient descent ([`train_on_moments`]): the loss is the quadratic form
//!   `(wᵀ·XᵀX·w − 2·wᵀ·Xᵀy + yᵀy)/n` of the model's own parameters, so every epoch costs a
//!   `p × p` product, whatever the number of rows.
//!
//! Any other training — mini-batches, L1, Huber — streams the rows from disk every epoch
//! ([`train_streamed`]): Parquet row groups in a seeded random order, read ahead on other
//! threads, their rows gathered into a shuffle buffer of a size the [`MemoryBudget`] allows,
//! shuffled there and cut into batches for Burn's autodiff and optimizers. Memory stays
//! flat in the number of rows.
//!
//! ```
//! use linreg_io::{ParquetWriter, ScanOptions, Selection, Source};
//! use linreg_stream::{moments_pass, Part, RowSplit};
//!
//! let dir = std::env::temp_dir().join(format!("linreg-stream-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("line.parquet");
//! let x: Vec<f32> = (0..1000).map(|i| i as f32 / 100.0).collect();
//! let y: Vec<f32> = x.iter().map(|x| 3.0 * x - 1.0).collect();
//! let mut w = ParquetWriter::create(&path, &["x".into(), "y".into()], Default::default())?;
//! w.write_columns::<f32>(&[&x, &y])?;
//! w.finish()?;
//!
//! let source = Source::open(&path)?;
//! let selected = source.select(&Selection::new(vec!["y".into()], None, None))?;
//! // The first 800 rows train, the last 200 test: one pass gives both sets' moments.
//! let part = Part::new(&source, &selected, RowSplit::Ordered { train_rows: 800 });
//! let pass = moments_pass(&part, &ScanOptions::default())?;
//! assert_eq!((pass.train.weighted.rows(), pass.test.plain.rows()), (800, 200));
//! let fit = pass.train.weighted.least_squares(true, 0.0)?.fit;
//! assert!((fit.weight[0][0] - 3.0).abs() < 1e-5 && (fit.bias[0] + 1.0).abs() < 1e-5);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod budget;
mod folds;
mod gd;
mod metrics;
mod optim;
mod part;
mod pass;
mod set;
mod streamed;

pub use budget::MemoryBudget;
pub use folds::{FoldRule, MAX_FOLDS};
pub use gd::train_on_moments;
pub use metrics::{scores, EvalSums};
pub use part::{Part, RowSplit, Rows};
pub use pass::{moments_pass, standardize, standardizer, MomentsPass, SetMoments};
pub use streamed::{evaluate_streamed, train_streamed, StreamPlan};

/// Why an out-of-core fit stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StreamError {
    /// Reading the table failed.
    #[error(transparent)]
    Io(#[from] linreg_io::IoError),
    /// The solver refused the statistics.
    #[error(transparent)]
    Solve(#[from] linreg_solve::SolveError),
    /// Training failed (bad configuration, divergence).
    #[error(transparent)]
    Train(#[from] linreg_train::TrainError),
    /// The data cannot be used as asked (a constant feature under standardization, …).
    #[error(transparent)]
    Data(#[from] linreg_data::DataError),
    /// The model and the data disagree, or a parameter is out of range.
    #[error("{0}")]
    Invalid(String),
}

impl StreamError {
    /// `e` from summing `chunk`'s rows, with the file, row group, column and row of a
    /// non-finite value when that is why.
    pub(crate) fn located<T: linreg_io::Element>(
        chunk: &linreg_io::Chunk<'_, T>,
        e: linreg_solve::SolveError,
    ) -> Self {
        match (&e, chunk.check_finite()) {
            (linreg_solve::SolveError::NonFinite, Err(io)) => io.into(),
            _ => e.into(),
        }
    }

    /// Row `row` of `part` has the weight `w`, which is not positive and finite.
    pub(crate) fn bad_weight(part: &Part<'_>, row: u64, w: f64) -> Self {
        Self::Invalid(format!(
            "--weights {}: row {row} has weight {w}; weights must be positive finite numbers (drop rows whose weight is 0)",
            part.selected.weights().unwrap_or_default(),
        ))
    }
}
