//! What to fit, checked once: [`FitOptions`] is filled in (by the CLI or by a program) and
//! [`FitOptions::check`] turns it into a [`FitSpec`], raising every "these options do not go
//! together" error there. Nothing below a `FitSpec` checks an option again.

use std::ops::Deref;
use std::path::PathBuf;

use linreg_data::CsvOptions;
use linreg_solve::CovarianceKind;
use linreg_stream::MemoryBudget;
use linreg_train::{LossKind, TrainConfig};

use crate::family::{AlphaChoice, Alphas, ElasticNet, Family, Folds, Penalty};
use crate::FitError;

/// The table a command reads.
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// A CSV file (plain or `.gz`/`.zst`), a Parquet file, a directory of them, or a glob.
    pub data: PathBuf,
    /// How CSV text is split into fields.
    pub csv: CsvOptions,
    /// Memory for the table's rows: a table that fits is read whole, a larger one streamed.
    pub memory_limit: MemoryBudget,
}

impl TableSpec {
    /// `data` with the default reading options (sniffed delimiter, a 1 GiB budget).
    pub fn new(data: impl Into<PathBuf>) -> Self {
        Self {
            data: data.into(),
            csv: CsvOptions::default(),
            memory_limit: MemoryBudget::default(),
        }
    }
}

/// The columns a fit uses.
#[derive(Debug, Clone, Default)]
pub struct ColumnSpec {
    /// Target columns: one model output each.
    pub targets: Vec<String>,
    /// Feature columns; `None`: every other numeric column.
    pub features: Option<Vec<String>>,
    /// A column of positive row weights (weighted least squares).
    pub weights: Option<String>,
}

/// Which rows train and which test.
#[derive(Debug, Clone)]
pub struct SplitSpec {
    /// A separate test table (then every row of the data trains).
    pub test: Option<PathBuf>,
    /// Share of the rows that train.
    pub train_fraction: f64,
    /// Shuffle (seeded) before splitting instead of keeping the rows' order.
    pub shuffle: bool,
}

impl Default for SplitSpec {
    fn default() -> Self {
        Self {
            test: None,
            train_fraction: 0.8,
            shuffle: false,
        }
    }
}

/// The model's inputs, made from the feature columns.
#[derive(Debug, Clone, Copy)]
pub struct BasisSpec {
    /// `x, x², …, x^degree` of the one feature column.
    pub polynomial: Option<usize>,
    /// Standardize the inputs with the training rows' mean and standard deviation.
    pub standardize: bool,
    /// Fit an intercept (a model bias).
    pub intercept: bool,
}

impl Default for BasisSpec {
    fn default() -> Self {
        Self {
            polynomial: None,
            standardize: true,
            intercept: true,
        }
    }
}

/// How the coefficients are found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Solver {
    /// Gradient descent with the options of [`FitOptions::train`]; `compare_exact` solves
    /// exactly afterwards even for a large table, to report the gap.
    Gd {
        /// Compare with the exact optimum whatever the table's size.
        compare_exact: bool,
    },
    /// The loss's exact minimizer; `robust` asks for heteroskedasticity-consistent standard
    /// errors in the inference table.
    Exact {
        /// HC0–HC3, or the classical standard errors.
        robust: Option<CovarianceKind>,
    },
}

impl Solver {
    /// The name as the CLI and `summary.json` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gd { .. } => "gd",
            Self::Exact { .. } => "exact",
        }
    }

    /// Whether this is the exact solver.
    pub fn is_exact(self) -> bool {
        matches!(self, Self::Exact { .. })
    }
}

/// Where the rows are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// In memory when the table fits the memory limit, streamed otherwise.
    Auto,
    /// The whole table in memory.
    Memory,
    /// Streamed from disk (`linreg-stream`).
    Stream,
    /// DataFusion's aggregate, with an optional SQL filter on the training rows.
    DataFusion {
        /// An SQL condition the training rows must meet.
        filter: Option<String>,
    },
    /// The same aggregate on Ballista: the scheduler `cluster` (`df://HOST:PORT`), or in this
    /// process without one.
    Ballista {
        /// An SQL condition the training rows must meet.
        filter: Option<String>,
        /// The scheduler; `None` for Ballista's standalone mode.
        cluster: Option<String>,
    },
}

/// Where the initial parameters of gradient descent come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Init {
    /// PyTorch's `nn.Linear` draw from linreg's generator, seeded by [`FitOptions::seed`].
    #[default]
    Seeded,
    /// A PyTorch state_dict (`.pth`) or a `.safetensors` file.
    From(PathBuf),
}

/// Checkpoints of gradient descent.
#[derive(Debug, Clone)]
pub struct CheckpointSpec {
    /// Save one every this many epochs.
    pub every: Option<usize>,
    /// How many to keep (the newest).
    pub keep: usize,
    /// Continue from this checkpoint (a checkpoint, a checkpoints folder or an `--out`).
    pub resume: Option<PathBuf>,
}

impl Default for CheckpointSpec {
    fn default() -> Self {
        Self {
            every: None,
            keep: 2,
            resume: None,
        }
    }
}

/// Everything a fit needs, before it is checked. Fill it in, then [`FitOptions::check`].
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// The training table.
    pub table: TableSpec,
    /// Its columns.
    pub columns: ColumnSpec,
    /// The split into training and test rows.
    pub split: SplitSpec,
    /// The model's inputs.
    pub basis: BasisSpec,
    /// The model family (with its loss); the seam where new families plug in.
    pub family: Family,
    /// The penalty on the coefficients.
    pub penalty: Penalty,
    /// How the coefficients are found.
    pub solver: Solver,
    /// Gradient descent's hyperparameters (its loss is the family's). An exact fit records
    /// them in its summary as given.
    pub train: TrainConfig,
    /// Where the rows are read.
    pub route: Route,
    /// Where gradient descent starts.
    pub init: Init,
    /// Seed of the shuffle, the mini-batches and the initial parameters.
    pub seed: u64,
    /// Checkpoints of gradient descent.
    pub checkpoints: CheckpointSpec,
}

impl FitOptions {
    /// Least squares on `targets` of `data`, with every other option at its default.
    pub fn new(data: impl Into<PathBuf>, targets: &[&str]) -> Self {
        Self {
            table: TableSpec::new(data),
            columns: ColumnSpec {
                targets: targets.iter().map(|t| t.to_string()).collect(),
                ..ColumnSpec::default()
            },
            split: SplitSpec::default(),
            basis: BasisSpec::default(),
            family: Family::default(),
            penalty: Penalty::None,
            solver: Solver::Exact { robust: None },
            train: TrainConfig::new().with_loss(LossKind::Mse),
            route: Route::Auto,
            init: Init::Seeded,
            seed: 0,
            checkpoints: CheckpointSpec::default(),
        }
    }

    /// Checks the options against each other: the one place where they are.
    pub fn check(mut self) -> Result<FitSpec, FitError> {
        // Gradient descent minimizes the family's loss, whatever `train` said.
        self.train.loss = self.family.loss();
        self.train.seed = self.seed;
        self.train.validate()?;
        self.check_checkpoints()?;
        self.check_penalty()?;
        self.check_basis()?;
        if self.columns.weights.is_some() && !self.exact_least_squares() {
            return invalid(
                "--weights applies to --solver exact --loss mse (weighted least squares)",
            );
        }
        Ok(FitSpec(self))
    }

    fn exact_least_squares(&self) -> bool {
        self.solver.is_exact() && self.family.is_least_squares()
    }

    fn check_checkpoints(&self) -> Result<(), FitError> {
        let c = &self.checkpoints;
        if c.every == Some(0) {
            return invalid("--checkpoint-every = 0 is invalid: expected a number of epochs ≥ 1");
        }
        if c.keep == 0 {
            return invalid(
                "--keep-checkpoints = 0 is invalid: expected ≥ 1 (the newest checkpoints are kept)",
            );
        }
        if self.solver.is_exact() && (c.every.is_some() || c.resume.is_some()) {
            return invalid(
                "--checkpoint-every and --resume apply to gradient descent (--solver gd); an exact \
                 solve has no epochs to save or resume",
            );
        }
        Ok(())
    }

    fn check_penalty(&self) -> Result<(), FitError> {
        let l2 = self.penalty.l2();
        if !(l2.is_finite() && l2 >= 0.0) {
            return invalid(format!(
                "--l2 = {l2} is invalid: expected a finite number ≥ 0"
            ));
        }
        let robust = matches!(self.solver, Solver::Exact { robust: Some(_) });
        if l2 > 0.0 && !self.exact_least_squares() {
            return invalid(
                "--l2 applies to --solver exact with --loss mse; for gradient descent use --weight-decay",
            );
        }
        if robust && !self.family.is_least_squares() {
            return invalid("--robust applies to the inference table of --solver exact --loss mse");
        }
        if robust && l2 > 0.0 {
            return invalid(
                "--robust needs ordinary least squares: ridge (--l2) has no inference table",
            );
        }
        match self.penalty.elastic_net() {
            Some(net) => self.check_elastic_net(net),
            None => Ok(()),
        }
    }

    fn check_elastic_net(&self, net: &ElasticNet) -> Result<(), FitError> {
        if !self.exact_least_squares() {
            return invalid(
                "--penalty, --path and --cv fit least squares by coordinate descent: use them with \
                 --loss mse and without --solver gd (for gradient descent use --weight-decay)",
            );
        }
        if matches!(self.solver, Solver::Exact { robust: Some(_) }) {
            return invalid(
                "--robust is for the inference table of ordinary least squares; a penalized fit has \
                 none (its coefficients were selected by the penalty)",
            );
        }
        let r = net.l1_ratio;
        if !(0.0..=1.0).contains(&r) {
            return invalid(format!(
                "--l1-ratio {r} is invalid: expected a number in [0, 1] (1: lasso, 0: ridge)"
            ));
        }
        if !(net.tol.is_finite() && net.tol > 0.0) {
            return invalid(format!(
                "--tol {} is invalid: expected a small positive number such as 1e-7",
                net.tol
            ));
        }
        check_alphas(&net.alphas)?;
        if let AlphaChoice::CrossValidation(cv) = &net.choice {
            if let Alphas::Given(a) = &net.alphas {
                if a.len() < 2 {
                    return invalid(
                        "--cv chooses α along a path: give several with --alphas, or leave --alpha \
                         out for a grid of --n-alphas values",
                    );
                }
            }
            if let Folds::Seeded(k) = cv.folds {
                if !(2..=linreg_stream::MAX_FOLDS).contains(&k) {
                    return invalid(format!(
                        "--cv {k} is invalid: expected 2 to {} folds (10 is usual)",
                        linreg_stream::MAX_FOLDS
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_basis(&self) -> Result<(), FitError> {
        if !self.basis.intercept && self.solver.is_exact() && !self.family.is_least_squares() {
            return invalid(
                "--no-intercept with --solver exact is for least squares (--loss mse); the l1 and huber solvers fit an intercept",
            );
        }
        if !self.basis.intercept && self.basis.standardize {
            return invalid(
                "--no-intercept cannot standardize (centring the features adds an intercept back); drop --standardize",
            );
        }
        Ok(())
    }
}

/// A checked [`FitOptions`]: what every fitting function takes.
#[derive(Debug, Clone)]
pub struct FitSpec(FitOptions);

impl Deref for FitSpec {
    type Target = FitOptions;

    fn deref(&self) -> &FitOptions {
        &self.0
    }
}

impl FitSpec {
    /// The training configuration (its loss is the family's).
    pub fn train_config(&self) -> &TrainConfig {
        &self.0.train
    }

    /// Whether the fit is exact least squares (ordinary, weighted or ridge).
    pub fn exact_least_squares(&self) -> bool {
        self.0.exact_least_squares()
    }
}

/// What `evaluate` and `predict` apply, to which table.
#[derive(Debug, Clone)]
pub struct ApplySpec {
    /// A model directory written by a fit, or a PyTorch `.pth`/`.safetensors` file.
    pub model: PathBuf,
    /// For a `.pth`/`.safetensors` model: its input columns, in order.
    pub features: Option<Vec<String>>,
    /// For a `.pth`/`.safetensors` model: its output names, in order.
    pub targets: Option<Vec<String>>,
    /// The table.
    pub table: TableSpec,
    /// For a model saved with a regularization path: apply its coefficients at this α.
    pub alpha: Option<f64>,
}

fn check_alphas(alphas: &Alphas) -> Result<(), FitError> {
    match alphas {
        Alphas::Given(a) if a.is_empty() => invalid("--alphas is empty: give at least one α"),
        Alphas::Given(a) => match a.iter().find(|a| !(a.is_finite() && **a >= 0.0)) {
            Some(bad) => invalid(format!(
                "α = {bad} is invalid: expected finite numbers ≥ 0 (--alpha, --alphas)"
            )),
            None => Ok(()),
        },
        Alphas::Grid { count, min_ratio } => {
            if *count == 0 {
                return invalid("--n-alphas 0 is invalid: expected at least 1 (100 is usual)");
            }
            if !(min_ratio.is_finite() && *min_ratio > 0.0 && *min_ratio < 1.0) {
                return invalid(format!(
                    "--alpha-min-ratio {min_ratio} is invalid: expected a number in (0, 1) such as 1e-3"
                ));
            }
            Ok(())
        }
    }
}

fn invalid<T>(message: impl Into<String>) -> Result<T, FitError> {
    Err(FitError::Options(message.into()))
}
