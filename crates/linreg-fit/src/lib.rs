//! linreg's fitting library: everything `linreg train`, `evaluate` and `predict` do, for any
//! Rust program, without the command line.
//!
//! A fit starts from [`FitOptions`], checked once into a [`FitSpec`] (the options' errors are
//! raised there; what only a route out of core refuses, such as a polynomial basis, is raised
//! by [`OutOfCore::open`] before anything is read). [`fit`] then reads the table, in memory or
//! out of core as the spec's [`Route`] says, fits the [`Family`] by gradient descent or
//! exactly, and returns an owned [`Fit`]: the model, its scores, the exact optimum and, for
//! exact least squares, the inference tables. [`evaluate()`] scores a saved model on a table;
//! [`predict()`] appends its predictions to a table's rows. Nothing here prints,
//! parses arguments or writes model files: progress and warnings go to an [`Observer`], and
//! `linreg-store` writes what a caller wants kept.
//!
//! ```
//! use burn::backend::{Autodiff, NdArray};
//! use linreg_fit::{fit, FitOptions};
//!
//! // y = 2·x + 1, exactly.
//! let dir = std::env::temp_dir().join(format!("linreg-fit-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let table = dir.join("line.csv");
//! let rows: String = (0..20).map(|i| format!("{i},{}\n", 2 * i + 1)).collect();
//! std::fs::write(&table, format!("x,y\n{rows}"))?;
//!
//! let spec = FitOptions::new(&table, &["y"]).check()?; // exact least squares, 80/20 split
//! let fitted = fit::<Autodiff<NdArray>>(&spec, &Default::default(), &mut ())?;
//! let (weight, bias) = fitted.original_units();
//! assert!((weight[0][0] - 2.0).abs() < 1e-9 && (bias[0] - 1.0).abs() < 1e-9);
//! assert_eq!(fitted.rows.train, 16);
//! # std::fs::remove_dir_all(dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod apply;
mod engine;
mod exact;
mod family;
mod memory;
mod outofcore;
mod penalized;
mod prepare;
pub mod report;
mod result;
mod sources;
mod spec;

pub use apply::{evaluate, load_model, predict, Evaluation, LoadedModel, PredictSink, Prediction};
pub use exact::{
    compare_if, report, solve, standardized_params, trained_from_exact, Exact, Statistical,
    AUTO_CELLS,
};
pub use family::{AlphaChoice, Alphas, CvRule, CvSpec, ElasticNet, Family, Folds, Penalty};
pub use memory::{fit_in_memory, init_description, initial_params, start_gd, GdStart};
pub use outofcore::{check_width, Engine, FirstPass, OutOfCore, SAMPLE_ROWS};
pub use prepare::{prepare, Prepared, Raw};
pub use result::Fit;
pub use sources::{estimated_cells, open, plain_csv_that_fits, read_table_as};
pub use spec::{
    ApplySpec, BasisSpec, CheckpointSpec, ColumnSpec, FitOptions, FitSpec, Init, Route, Solver,
    SplitSpec, TableSpec,
};

use linreg_train::FusedAutodiffBackend;

/// Why a fit, an evaluation or a prediction stopped. Each message names the problem and,
/// where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    /// Options that do not go together, or a value out of range.
    #[error("{0}")]
    Options(String),
    /// The input (a table, a model file) cannot be used as asked.
    #[error("{0}")]
    Input(String),
    /// What was being done when `source` failed (`cannot read data.csv: …`).
    #[error("{context}")]
    Context {
        /// What failed, in words.
        context: String,
        /// Why.
        #[source]
        source: Box<FitError>,
    },
    /// A query engine (DataFusion, Ballista) failed.
    #[error("{context}")]
    Engine {
        /// What failed, in words.
        context: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A query engine failed, as it says.
    #[error(transparent)]
    Query(Box<dyn std::error::Error + Send + Sync>),
    /// Reading a table.
    #[error(transparent)]
    Io(#[from] linreg_io::IoError),
    /// Reading a CSV table.
    #[error(transparent)]
    Csv(#[from] linreg_data::CsvError),
    /// Shaping the data.
    #[error(transparent)]
    Data(#[from] linreg_data::DataError),
    /// An exact solve.
    #[error(transparent)]
    Solve(#[from] linreg_solve::SolveError),
    /// A penalized fit (coordinate descent, its path or cross-validation).
    #[error("{}", penalized::explain(.0))]
    Path(#[from] linreg_path::PathError),
    /// Parameters that do not fit the model.
    #[error(transparent)]
    Model(#[from] linreg_model::ModelError),
    /// A model or checkpoint file.
    #[error(transparent)]
    Store(#[from] linreg_store::StoreError),
    /// Training.
    #[error(transparent)]
    Train(#[from] linreg_train::TrainError),
    /// An out-of-core pass.
    #[error(transparent)]
    Stream(#[from] linreg_stream::StreamError),
    /// Reading or writing a file.
    #[error("{context}")]
    File {
        /// What was being read or written.
        context: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
}

impl FitError {
    /// `self`, with what was being done when it happened.
    pub fn context(self, context: impl Into<String>) -> Self {
        Self::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }
}

/// This crate's result.
pub type Result<T, E = FitError> = std::result::Result<T, E>;

/// Where a fit reports what it does: the training loop's epochs and logged losses
/// ([`linreg_train::Progress`]), lines worth telling a person, and warnings. The binary
/// prints them; `()` ignores them.
pub trait Observer: linreg_train::Progress {
    /// A step of the fit, in words ("one pass of moments: 0.43 s, …").
    fn note(&mut self, _text: &str) {}
    /// Something the user should know that does not stop the fit (collinear columns, a
    /// comparison that could not be made).
    fn warn(&mut self, _text: &str) {}
    /// Training is over: a progress bar, if any, can go.
    fn training_done(&mut self) {}
}

impl Observer for () {}

/// Tells `observer` that training is over and how it went: the line a person reads right
/// after the epochs, before anything computed from the trained model.
pub(crate) fn trained<B: burn::tensor::backend::AutodiffBackend>(
    observer: &mut dyn Observer,
    result: std::result::Result<linreg_train::Trained<B>, impl Into<FitError>>,
) -> Result<linreg_train::Trained<B>> {
    observer.training_done();
    let trained = result.map_err(Into::into)?;
    let stopped = match trained.best_epoch {
        Some(best) => format!(" (early stop; kept epoch {best})"),
        None => String::new(),
    };
    observer.note(&format!(
        "   Trained {} epochs in {:.3} s{stopped}.",
        trained.epochs_run, trained.seconds
    ));
    Ok(trained)
}

/// Fits `spec` on backend `B`, reading the table in memory or out of core as its route
/// says. `()` as the observer ignores progress; gradient descent runs without checkpoints
/// (see [`fit_in_memory`] for them).
pub fn fit<B: FusedAutodiffBackend>(
    spec: &FitSpec,
    device: &B::Device,
    observer: &mut dyn Observer,
) -> Result<Fit<B>> {
    match OutOfCore::engine_for(spec)? {
        None => {
            let data = prepare(spec)?;
            let start = start_gd::<B>(spec, &data, device)?;
            fit_in_memory(spec, &data, start, device, observer, &mut ())
        }
        Some(engine) => {
            let ooc = OutOfCore::open(spec, engine, observer)?;
            let first = ooc.first_pass(spec)?;
            ooc.fit::<B>(spec, &first, device, observer)
        }
    }
}
