//! Command-line arguments. The tutorial's options default to the tutorial's values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The parameters PyTorch's `nn.Linear(1, 1)` drew after `torch.manual_seed(42)`.
pub const PYTORCH_SEED42_WEIGHT: f32 = 0.764_538_5;
/// See [`PYTORCH_SEED42_WEIGHT`].
pub const PYTORCH_SEED42_BIAS: f32 = 0.830_007_9;

/// Fit, inspect, save and reuse linear models with Burn.
///
/// With no subcommand: runs the PyTorch "Linear Models" tutorial. It builds y = 0.8·x + 0.2 for
/// x = 0, 0.02, …, 0.98, splits it 80/20, trains `Linear(1, 1)` with L1 loss and SGD (lr 0.01)
/// for 500 epochs, prints the losses every 50 epochs, then writes plots, the model and a summary
/// to `artifacts/`.
///
/// The tutorial run starts from the parameters PyTorch drew with torch.manual_seed(42)
/// (w = 0.7645385, b = 0.8300079), so its numbers match PyTorch's line for line. `--seed N`
/// draws fresh parameters from Burn's own generator instead (reproducible per backend).
///
/// Subcommands train on your own CSV tables, evaluate and apply saved models, and generate
/// synthetic tables.
#[derive(Debug, Parser)]
#[command(
    name = "linreg",
    version,
    about,
    long_about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; the tutorial when absent.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The tutorial's options.
    #[command(flatten)]
    pub tutorial: TutorialArgs,

    /// Where to train and predict. Default: cuda, else wgpu, when this build has it; else
    /// ndarray.
    #[arg(long, value_enum, global = true)]
    pub backend: Option<BackendChoice>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model on a CSV table (one output per target column).
    Train(Box<TrainArgs>),
    /// Score a saved model on a CSV table that has its target columns.
    Evaluate(EvaluateArgs),
    /// Append a saved model's predictions (`<target>_pred`) to the rows of a CSV table.
    Predict(PredictArgs),
    /// Write a synthetic linear table with known coefficients (in a sidecar JSON).
    Generate(GenerateArgs),
}

/// Options of the tutorial run.
#[derive(Debug, Args)]
pub struct TutorialArgs {
    /// Number of full-batch training epochs.
    #[arg(long, default_value_t = 500)]
    pub epochs: usize,

    /// SGD learning rate.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub lr: f64,

    /// Print and record the losses every N epochs (epoch 0 included).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub log_every: usize,

    /// Draw the initial parameters from Burn's generator with this seed, instead of starting
    /// from PyTorch's seed-42 draw.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// True slope of the generated line.
    #[arg(long, default_value_t = 0.8, allow_negative_numbers = true)]
    pub weight: f32,

    /// True intercept of the generated line.
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    pub bias: f32,

    /// Spacing of the x values in [0, 1).
    #[arg(long, default_value_t = 0.02, allow_negative_numbers = true)]
    pub step: f64,

    /// Share of the rows (taken in order) used for training; the rest test.
    #[arg(long, default_value_t = 0.8, allow_negative_numbers = true)]
    pub train_fraction: f64,

    /// Start from this weight (overrides the PyTorch or seeded draw), to compare step for step
    /// with another framework.
    #[arg(long, value_name = "W", allow_negative_numbers = true)]
    pub init_weight: Option<f32>,

    /// Start from this bias (overrides the PyTorch or seeded draw).
    #[arg(long, value_name = "B", allow_negative_numbers = true)]
    pub init_bias: Option<f32>,

    /// Start from the parameters of a PyTorch state_dict (`torch.save(model.state_dict(), …)`,
    /// `.pth`) or a `.safetensors` file holding `linear.weight` [1, 1] and `linear.bias` [1].
    #[arg(long, value_name = "FILE", conflicts_with = "seed")]
    pub init_from: Option<PathBuf>,

    /// Directory for the model, summary and plots (created if missing).
    #[arg(long, value_name = "DIR", default_value = "artifacts")]
    pub out: PathBuf,

    /// `gd` trains as the tutorial does; `exact` solves for the L1 optimum directly (least
    /// absolute deviations). Either way the run reports how close gradient descent gets.
    #[arg(long, value_enum, default_value_t = SolverArg::Gd)]
    pub solver: SolverArg,

    /// How each training step is computed: `fused` (one pass over the rows: linreg-fused's
    /// Burn backend extension) or `plain` (Burn's autodiff graph through `Linear` and its loss
    /// modules, with Burn's optimizers: the reference).
    #[arg(long, value_enum, default_value_t = TrainStepArg::Fused)]
    pub train_step: TrainStepArg,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// Whether a run writes its HTML report.
#[derive(Debug, Clone, Copy, Args)]
pub struct ReportArgs {
    /// Do not write report.html (the run's interactive figures and tables, one offline page).
    #[arg(long)]
    pub no_report: bool,
}

/// How each training step is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrainStepArg {
    /// Loss and gradients in one fused pass over the rows (the default).
    Fused,
    /// Burn's autodiff graph and optimizers, operation by operation (the reference).
    Plain,
}

impl From<TrainStepArg> for linreg_train::TrainStep {
    fn from(a: TrainStepArg) -> Self {
        match a {
            TrainStepArg::Fused => Self::Fused,
            TrainStepArg::Plain => Self::Plain,
        }
    }
}

/// How to find the coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SolverArg {
    /// Gradient descent with the chosen optimizer.
    Gd,
    /// The loss's exact minimizer: least squares (mse, with --l2 for ridge), least absolute
    /// deviations (l1) or Huber regression (huber), by QR (double-double) or Cholesky, or IRLS.
    Exact,
}

impl From<OptimizerArg> for linreg_train::OptimizerKind {
    fn from(a: OptimizerArg) -> Self {
        match a {
            OptimizerArg::Sgd => Self::Sgd,
            OptimizerArg::Adam => Self::Adam,
            OptimizerArg::Adamw => Self::AdamW,
        }
    }
}

impl From<RobustArg> for linreg_solve::CovarianceKind {
    fn from(a: RobustArg) -> Self {
        match a {
            RobustArg::Hc0 => Self::Hc0,
            RobustArg::Hc1 => Self::Hc1,
            RobustArg::Hc2 => Self::Hc2,
            RobustArg::Hc3 => Self::Hc3,
        }
    }
}

/// The model's float type, as the CLI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrecisionArg {
    /// 32-bit floats (what GPUs run fast).
    F32,
    /// 64-bit floats: an exact solution keeps every digit in the model.
    F64,
}

/// Heteroskedasticity-consistent standard errors, as the CLI names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RobustArg {
    /// White's estimator.
    Hc0,
    /// HC0 × n/(n − p) (Stata's `robust`).
    Hc1,
    /// Squared residuals over 1 − leverage.
    Hc2,
    /// Squared residuals over (1 − leverage)² (the jackknife approximation).
    Hc3,
}

/// The loss, as the CLI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Mean absolute error (the tutorial's).
    L1,
    /// Mean squared error.
    Mse,
    /// Huber: squared within --huber-delta, linear beyond.
    Huber,
}

/// The optimizer, as the CLI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// Stochastic gradient descent (with --momentum, --weight-decay).
    Sgd,
    /// Adam.
    Adam,
    /// AdamW (decoupled weight decay).
    Adamw,
}

/// The learning-rate schedule, as the CLI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleArg {
    /// The same rate every epoch.
    Constant,
    /// Multiply by --lr-gamma every --lr-step-size epochs.
    Step,
    /// Half a cosine from the rate down to 0 over all epochs.
    Cosine,
}

/// Where the training rows are read, as the CLI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// In memory when the table fits --memory-limit, streamed from disk otherwise.
    Auto,
    /// Read the whole table into memory.
    Memory,
    /// Stream it from disk: one pass of moments for least squares, a pass per epoch for
    /// mini-batches.
    Stream,
    /// Apache DataFusion (build with `--features datafusion`): the moments as a SQL aggregate
    /// over every core, with --where filters.
    Datafusion,
    /// Apache Ballista, distributed DataFusion (build with `--features ballista`): the same
    /// aggregate on the cluster named by --cluster, or in this process without it.
    Ballista,
}

/// Options shared by the commands that read a table.
#[derive(Debug, Args)]
pub struct TableArgs {
    /// The table: a CSV file (a header row naming the columns, then one row per example;
    /// `.csv.gz` and `.csv.zst` are decompressed on the fly), a Parquet file, a directory of
    /// them (read recursively), or a glob such as 'data/*.parquet'.
    #[arg(long, value_name = "FILE|DIR|GLOB")]
    pub data: PathBuf,

    /// Memory for the table's rows: a table that fits is read into memory, a larger one is
    /// streamed from disk in bounded memory (sizes like 512MiB, 4GiB).
    #[arg(long, value_name = "SIZE", default_value = "1GiB")]
    pub memory_limit: linreg_stream::MemoryBudget,

    /// Field delimiter (one character; `\t` for tab). Default: sniffed from the header
    /// (comma, semicolon or tab).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
}

/// `linreg train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub table: TableArgs,

    /// How to read the table (see --memory-limit): `auto`, `memory`, `stream`, `datafusion`
    /// or `ballista`.
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    pub engine: EngineArg,

    /// With --engine datafusion or ballista: an SQL condition the training rows must meet,
    /// such as "x1 > 0 AND region = 'north'" (the --test table is not filtered).
    #[arg(long = "where", value_name = "SQL")]
    pub filter: Option<String>,

    /// With --engine ballista: the scheduler of a running cluster, `df://HOST:PORT` (its
    /// scheduler and executors started with linreg-scheduler and linreg-executor, and --data
    /// readable at the same path by this machine and every executor). Without it, a scheduler
    /// and an executor start inside this process (Ballista's standalone mode).
    #[arg(long, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,

    /// Target column(s) to predict, comma-separated: one model output each.
    #[arg(
        long,
        value_name = "COL[,COL…]",
        value_delimiter = ',',
        required = true
    )]
    pub target: Vec<String>,

    /// Feature columns, comma-separated. Default: every other numeric column (judged on the
    /// first data row).
    #[arg(long, value_name = "COL,…", value_delimiter = ',')]
    pub features: Option<Vec<String>>,

    /// A separate test table (same columns; a file, directory or glob); then every row of
    /// --data trains.
    #[arg(long, value_name = "FILE|DIR|GLOB")]
    pub test: Option<PathBuf>,

    /// Share of the rows used for training; the rest test.
    #[arg(long, default_value_t = 0.8, allow_negative_numbers = true)]
    pub train_fraction: f64,

    /// Shuffle the rows (seeded by --seed) before splitting, instead of keeping their order.
    #[arg(long)]
    pub shuffle: bool,

    /// Seed of the shuffle, the mini-batches and the initial parameters.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Start from the parameters of a PyTorch state_dict (`.pth`) or a `.safetensors` file
    /// (`linear.weight` [targets, features], `linear.bias` [targets]) instead of a seeded
    /// draw. They act on the features as the model sees them: standardized unless
    /// --no-standardize.
    #[arg(long, value_name = "FILE")]
    pub init_from: Option<PathBuf>,

    /// Standardize the features with the training rows' mean and standard deviation (the
    /// default); the statistics are saved with the model.
    #[arg(long, overrides_with = "no_standardize")]
    pub standardize: bool,

    /// Train on the features as they are.
    #[arg(long, overrides_with = "standardize")]
    pub no_standardize: bool,

    /// Loss to minimize.
    #[arg(long, value_enum, default_value_t = LossArg::Mse)]
    pub loss: LossArg,

    /// Where the Huber loss turns from quadratic to linear.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub huber_delta: f64,

    /// Optimizer.
    #[arg(long, value_enum, default_value_t = OptimizerArg::Sgd)]
    pub optimizer: OptimizerArg,

    /// SGD momentum in [0, 1), PyTorch's semantics (no dampening).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub momentum: f64,

    /// L2 penalty (sgd, adam) or decoupled weight decay (adamw).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub weight_decay: f64,

    /// Rows per optimizer step, from a fresh shuffle each epoch. Default: all (full batch).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,

    /// Number of epochs.
    #[arg(long, default_value_t = 500)]
    pub epochs: usize,

    /// Learning rate.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub lr: f64,

    /// Learning-rate schedule.
    #[arg(long, value_enum, default_value_t = ScheduleArg::Constant)]
    pub lr_schedule: ScheduleArg,

    /// With `--lr-schedule step`: epochs between decays.
    #[arg(long, default_value_t = 100)]
    pub lr_step_size: usize,

    /// With `--lr-schedule step`: factor of each decay.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub lr_gamma: f64,

    /// Stop when the test loss has not improved for N epochs, keeping the best model.
    #[arg(long, value_name = "N")]
    pub patience: Option<usize>,

    /// Print and record the losses every N epochs.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub log_every: usize,

    /// Directory for the model, summary and plots (created if missing).
    #[arg(long, value_name = "DIR", default_value = "artifacts")]
    pub out: PathBuf,

    /// Every N epochs, save a checkpoint in OUT/checkpoints/epoch-NNNNNNNNN: the model, the
    /// optimizer's state, the schedule's position, the data order and the history so far.
    /// Ctrl-C (or SIGTERM) saves one at the end of the current epoch in any case.
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,

    /// How many checkpoints to keep (the newest).
    #[arg(long, value_name = "K", default_value_t = 2)]
    pub keep_checkpoints: usize,

    /// Continue a run from a checkpoint (a checkpoint directory, a checkpoints folder or the
    /// --out of an interrupted run: its newest checkpoint), with the same data and options as
    /// the run that wrote it. It ends exactly as the uninterrupted run would have.
    #[arg(long, value_name = "DIR", conflicts_with = "init_from")]
    pub resume: Option<PathBuf>,

    /// `gd` (gradient descent) or `exact` (the loss's exact minimizer, solved directly).
    /// Default: gd, or exact (coordinate descent) with any option of the penalties (--penalty,
    /// --alpha, --alphas, --l1-ratio, --path, --cv, --cv-column).
    #[arg(long, value_enum)]
    pub solver: Option<SolverArg>,

    /// Ridge penalty λ with `--solver exact --loss mse`: minimizes MSE + λ‖w‖² (the bias is not
    /// penalized). For gradient descent use --weight-decay.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub l2: f64,

    #[command(flatten)]
    pub penalty: PenaltyArgs,

    /// After gradient descent, solve exactly and report the gap even for a large table
    /// (tables up to 1,000,000 cells are always compared).
    #[arg(long)]
    pub compare_exact: bool,

    /// Fit without intercept (the model has no bias; R² is then about zero, as in R and
    /// statsmodels). Implies --no-standardize.
    #[arg(long)]
    pub no_intercept: bool,

    /// Polynomial regression on the one feature column: the model's inputs are x, x², …,
    /// x^DEG (kept in double-double by the exact solver).
    #[arg(long, value_name = "DEG")]
    pub polynomial: Option<usize>,

    /// Weighted least squares with `--solver exact`: positive row weights from this column.
    #[arg(long, value_name = "COL")]
    pub weights: Option<String>,

    /// Float type of the Burn model itself: its parameters, its arithmetic and the saved
    /// record (`evaluate` and `predict` use the saved one). f64 runs on the ndarray backend.
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    pub precision: PrecisionArg,

    /// Heteroskedasticity-consistent standard errors in the inference table (`--solver exact
    /// --loss mse`): hc0 (White), hc1 (× n/(n−p)), hc2 (÷ 1−h), hc3 (÷ (1−h)²).
    #[arg(long, value_enum, value_name = "KIND")]
    pub robust: Option<RobustArg>,

    /// How each training step is computed: `fused` (one pass over the rows) or `plain`
    /// (Burn's autodiff graph and optimizers, the reference).
    #[arg(long, value_enum, default_value_t = TrainStepArg::Fused)]
    pub train_step: TrainStepArg,

    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,

    /// Print the summary as JSON on stdout (and nothing else), for scripts.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// The elastic net: `(1/2n)‖y − Xβ − β₀‖² + α(R‖β‖₁ + (1−R)/2‖β‖²)`, as scikit-learn's
/// `ElasticNet` and glmnet define it.
#[derive(Debug, Args)]
#[command(next_help_heading = "Penalties, paths and cross-validation")]
pub struct PenaltyArgs {
    /// Penalize the coefficients (least squares, solved by coordinate descent): `l1` (lasso),
    /// `l2` (ridge) or `elasticnet` (both, mixed by --l1-ratio). The intercept is not
    /// penalized; with standardized features (the default) the penalty acts on the
    /// standardized coefficients, as glmnet's standardize=TRUE.
    #[arg(long, value_enum)]
    pub penalty: Option<PenaltyArg>,

    /// The penalty's strength α (one fit).
    #[arg(long, allow_negative_numbers = true)]
    pub alpha: Option<f64>,

    /// R, the lasso's share of the elastic net (1: lasso, 0: ridge). Default: 0.5 with
    /// --penalty elasticnet.
    #[arg(long, value_name = "R", allow_negative_numbers = true)]
    pub l1_ratio: Option<f64>,

    /// Fit the whole path: --n-alphas values of α from α_max (where every coefficient is 0)
    /// down to α_max × --alpha-min-ratio, each from the last. The model saved is the last;
    /// `predict --alpha A` applies any α of the path.
    #[arg(long)]
    pub path: bool,

    /// Number of α values on the path (default 100).
    #[arg(long, value_name = "N")]
    pub n_alphas: Option<usize>,

    /// Smallest α of the path as a share of α_max (default 1e-3).
    #[arg(long, value_name = "RATIO", allow_negative_numbers = true)]
    pub alpha_min_ratio: Option<f64>,

    /// The α values of the path, comma-separated, instead of a grid.
    #[arg(
        long,
        value_name = "A,B,…",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    pub alphas: Option<Vec<f64>>,

    /// Choose α by K-fold cross-validation over the path (folds seeded by --seed).
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,

    /// Cross-validation with the folds this column gives (one per distinct value).
    #[arg(long, value_name = "COL", conflicts_with = "cv")]
    pub cv_column: Option<String>,

    /// Which α cross-validation saves: `min` (least mean error) or `1se` (the largest α within
    /// one standard error of it, glmnet's lambda.1se). Default: min.
    #[arg(long, value_enum)]
    pub cv_rule: Option<CvRuleArg>,

    /// Coordinate descent stops when the duality gap is below TOL times the target's mean
    /// square (default 1e-7).
    #[arg(long, allow_negative_numbers = true)]
    pub tol: Option<f64>,
}

/// What `--penalty` penalizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PenaltyArg {
    /// The lasso: α‖β‖₁.
    L1,
    /// Ridge: α/2‖β‖².
    L2,
    /// Both: α(R‖β‖₁ + (1−R)/2‖β‖²).
    Elasticnet,
}

/// Which α cross-validation picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CvRuleArg {
    /// The least mean held-out error.
    Min,
    /// The largest α within one standard error of the least.
    #[value(name = "1se")]
    OneSe,
}

/// `linreg evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Directory of a saved model (as written by `linreg train` or the tutorial run), or a
    /// PyTorch `.pth` state_dict or `.safetensors` file (then name its columns with
    /// --features and --target).
    #[arg(long, value_name = "DIR|FILE")]
    pub model: PathBuf,

    #[command(flatten)]
    pub table: TableArgs,

    #[command(flatten)]
    pub columns: WeightsColumns,

    /// Print the metrics as JSON on stdout.
    #[arg(long)]
    pub json: bool,

    /// Directory for report.html (created if missing). Not the model's directory, whose
    /// report.html describes the training run.
    #[arg(long, value_name = "DIR", default_value = "evaluation")]
    pub out: PathBuf,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// `linreg predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Directory of a saved model, or a PyTorch `.pth` state_dict or `.safetensors` file (then
    /// name its columns with --features and --target).
    #[arg(long, value_name = "DIR|FILE")]
    pub model: PathBuf,

    #[command(flatten)]
    pub table: TableArgs,

    #[command(flatten)]
    pub columns: WeightsColumns,

    /// Where to write the rows with their predictions: CSV, or Parquet when the name ends in
    /// `.parquet`. Default: stdout (CSV).
    #[arg(long, value_name = "FILE.csv|FILE.parquet")]
    pub output: Option<PathBuf>,
}

/// Column names for a model file that has none (`.pth`, `.safetensors`).
#[derive(Debug, Args)]
pub struct WeightsColumns {
    /// With a `.pth`/`.safetensors` model: the table's columns that are its inputs, in order.
    #[arg(long, value_name = "COL,…", value_delimiter = ',')]
    pub features: Option<Vec<String>>,

    /// With a `.pth`/`.safetensors` model: the names of its outputs, in order (`predict`
    /// writes `<name>_pred`; `evaluate` scores against these columns).
    #[arg(long, value_name = "COL[,COL…]", value_delimiter = ',')]
    pub target: Option<Vec<String>>,

    /// With a model saved with a regularization path (--path, --cv): apply its coefficients
    /// at this α (between two points of the path, linear in α, as glmnet's predict).
    #[arg(long, allow_negative_numbers = true)]
    pub alpha: Option<f64>,
}

/// `linreg generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of rows.
    #[arg(long)]
    pub rows: usize,

    /// Number of feature columns (`x1`, `x2`, …).
    #[arg(long)]
    pub features: usize,

    /// Number of target columns (`y`, or `y1`, `y2`, … for several).
    #[arg(long, default_value_t = 1)]
    pub targets: usize,

    /// Standard deviation of the Gaussian noise added to the targets.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    pub noise: f64,

    /// Seed: the same seed writes the same table.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// The file to write: CSV, or Parquet when the name ends in `.parquet` (written a chunk
    /// at a time, so it may be larger than memory); the coefficients go beside it, in
    /// `<name>.coefficients.json`.
    #[arg(long, value_name = "FILE.csv|FILE.parquet")]
    pub output: PathBuf,

    /// Rows per Parquet row group (the unit that readers spread over cores and shuffle).
    #[arg(long, value_name = "N", default_value_t = 1 << 20)]
    pub row_group_rows: usize,
}

/// A Burn backend this binary may have been built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// CPU, through burn-ndarray (cargo feature `ndarray`).
    Ndarray,
    /// GPU, through burn-wgpu: Vulkan, Metal, DirectX or OpenGL (cargo feature `wgpu`).
    Wgpu,
    /// NVIDIA GPU, through burn-cuda (cargo feature `cuda`).
    Cuda,
}

impl BackendChoice {
    /// The backend used when `--backend` is not given.
    pub fn default_for_build() -> Self {
        if cfg!(feature = "cuda") {
            Self::Cuda
        } else if cfg!(feature = "wgpu") {
            Self::Wgpu
        } else {
            Self::Ndarray
        }
    }

    /// The name as the CLI and `summary.json` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ndarray => "ndarray",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_are_the_tutorial() {
        let a = Cli::try_parse_from(["linreg"]).unwrap();
        assert!(a.command.is_none());
        let t = a.tutorial;
        assert_eq!((t.epochs, t.lr, t.log_every), (500, 0.01, 50));
        assert_eq!(
            (t.weight, t.bias, t.step, t.train_fraction),
            (0.8, 0.2, 0.02, 0.8)
        );
        assert_eq!(t.seed, None);
        assert_eq!(t.out, PathBuf::from("artifacts"));
        let a = Cli::try_parse_from(["linreg", "--init-weight", "-0.5"]).unwrap();
        assert_eq!(a.tutorial.init_weight, Some(-0.5));
    }

    #[test]
    fn train_parses_column_lists_and_flags() {
        let a = Cli::try_parse_from([
            "linreg",
            "train",
            "--data",
            "d.csv",
            "--target",
            "a,b",
            "--features",
            "x,y",
            "--no-standardize",
            "--backend",
            "ndarray",
        ])
        .unwrap();
        let Some(Command::Train(t)) = a.command else {
            panic!("train")
        };
        assert_eq!(t.target, ["a", "b"]);
        assert_eq!(
            t.features.as_deref(),
            Some(&["x".to_string(), "y".to_string()][..])
        );
        assert!(t.no_standardize);
        assert_eq!(a.backend, Some(BackendChoice::Ndarray));
        // Tutorial options do not mix with subcommands.
        assert!(
            Cli::try_parse_from(["linreg", "--epochs", "3", "generate", "--rows", "2"]).is_err()
        );
    }

    #[test]
    fn pytorch_constants_are_the_reference_values() {
        assert_eq!(f64::from(PYTORCH_SEED42_WEIGHT), 0.764_538_526_535_034_2);
        assert_eq!(f64::from(PYTORCH_SEED42_BIAS), 0.830_007_910_728_454_6);
    }
}
