//! A fit without the table in memory, or through a query engine: one pass of mergeable
//! moments (`linreg-stream`, or the DataFusion aggregate, on one machine or on Ballista),
//! then the exact solution or full-batch MSE gradient descent from them, or mini-batches
//! streamed from disk.

use std::time::Instant;

use burn::module::AutodiffModule;
use linreg_data::{Dataset, Matrix, Split, Standardizer};
use linreg_io::{Format, IoError, ScanOptions, Selected, Selection, Source};
use linreg_model::{LinearParams, LrModel};
use linreg_solve::{Inference, Method, Moments};
use linreg_store::{ExactReport, ParamsJson, Rows};
use linreg_stream::{
    moments_pass, scores, standardize, standardizer, train_on_moments, train_streamed, FoldRule,
    MemoryBudget, MomentsPass, Part, RowSplit, Rows as Which, StreamPlan,
};
use linreg_train::{FusedAutodiffBackend, LossKind, Metrics, Trained};

use crate::exact::{standardized_params, warn_rank, Exact, Statistical};
use crate::penalized::{self, Training};
use crate::{
    AlphaChoice, ElasticNet, Fit, FitError, FitSpec, Folds, Observer, Prepared, Result, Route,
    Solver,
};

/// An engine that reads the table without holding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `linreg-stream`: this process, every core.
    Stream,
    /// DataFusion's aggregate, every core.
    DataFusion,
    /// The same aggregate on Ballista: a cluster, or standalone in this process.
    Ballista,
}

impl Engine {
    /// The name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Stream => "stream",
            Self::DataFusion => "datafusion",
            Self::Ballista => "ballista",
        }
    }
}

/// Rows of each set read for the plots and the HTML report of an out-of-core run.
pub const SAMPLE_ROWS: usize = 5000;

/// The moments of the training and test rows, from the engine asked for.
pub struct FirstPass {
    /// The moments.
    pub pass: MomentsPass,
    /// Wall time of the pass.
    pub seconds: f64,
    /// Bytes of values read (rows × selected columns × bytes per value).
    pub value_bytes: u64,
}

impl FirstPass {
    /// Training rows.
    pub fn train_rows(&self) -> u64 {
        self.pass.train.plain.rows()
    }

    /// Test rows.
    pub fn test_rows(&self) -> u64 {
        self.pass.test.plain.rows()
    }
}

/// A table opened for an out-of-core fit: its columns chosen, its split decided.
pub struct OutOfCore {
    /// The engine that reads it.
    pub engine: Engine,
    source: Source,
    selected: Selected,
    test: Option<(Source, Selected)>,
    scan: ScanOptions,
    /// Which rows train.
    pub split: RowSplit,
    /// Cross-validation: how the training rows get their fold.
    folds: Option<FoldRule>,
}

impl OutOfCore {
    /// Where `spec` reads its rows: `None` for in memory (the table fits the memory limit,
    /// or `Route::Memory`).
    pub fn engine_for(spec: &FitSpec) -> Result<Option<Engine>> {
        Ok(match &spec.route {
            Route::Memory => None,
            Route::Stream => Some(Engine::Stream),
            Route::DataFusion { .. } => Some(Engine::DataFusion),
            Route::Ballista { .. } => Some(Engine::Ballista),
            Route::Auto => {
                let cells = estimated_cells(spec)?;
                (!spec.table.memory_limit.fits(cells)).then_some(Engine::Stream)
            }
        })
    }

    /// Opens the table (and the test table) of `spec` for `engine`, refusing what cannot be
    /// done out of core before anything is read.
    pub fn open(spec: &FitSpec, engine: Engine, observer: &mut dyn Observer) -> Result<Self> {
        check_supported(spec, engine)?;
        let (table, columns) = (&spec.table, &spec.columns);
        let source = crate::sources::open(&table.data, &table.csv)?;
        let net = spec.penalty.elastic_net();
        let selected = source.select(
            &Selection::new(
                columns.targets.clone(),
                columns.features.clone(),
                columns.weights.clone(),
            )
            .with_folds(net.and_then(|n| n.cv_column()).map(String::from)),
        )?;
        let (p, k) = (selected.features().len(), selected.targets().len());
        check_width(p + k, table.memory_limit)?;
        let test = match &spec.split.test {
            Some(path) => {
                let s = crate::sources::open(path, &table.csv)?;
                let sel = s.select(&Selection::new(
                    selected.targets().to_vec(),
                    Some(selected.features().to_vec()),
                    None,
                ))?;
                Some((s, sel))
            }
            None => None,
        };
        // The read-ahead of a streamed epoch holds `read_ahead` units of `unit_rows` rows.
        let scan = ScanOptions {
            unit_rows: unit_rows(table.memory_limit.bytes(), p + k),
            ..ScanOptions::default()
        };
        let split = row_split(spec, &source, &selected, &scan, observer)?;
        Ok(Self {
            engine,
            source,
            selected,
            test,
            scan,
            split,
            folds: fold_rule(spec),
        })
    }

    /// Feature columns.
    pub fn features(&self) -> &[String] {
        self.selected.features()
    }

    /// Target columns.
    pub fn targets(&self) -> &[String] {
        self.selected.targets()
    }

    /// Whether a separate test table was given.
    pub fn has_test_table(&self) -> bool {
        self.test.is_some()
    }

    fn part(&self) -> Part<'_> {
        Part::new(&self.source, &self.selected, self.split).with_folds(self.folds)
    }

    fn test_part(&self) -> Option<Part<'_>> {
        self.test
            .as_ref()
            .map(|(s, sel)| Part::new(s, sel, RowSplit::All))
    }

    /// One pass over the table (and the test table) into moments, on the engine.
    pub fn first_pass(&self, spec: &FitSpec) -> Result<FirstPass> {
        let start = Instant::now();
        let part = self.part();
        let columns = (part.features()
            + part.targets()
            + usize::from(self.selected.weights().is_some())) as u64;
        let filter = crate::engine::filter(&spec.route);
        let mut pass = match self.engine {
            Engine::Stream => moments_pass(&part, &self.scan)?,
            _ => crate::engine::pass(&spec.route, &part, filter)?,
        };
        if let Some(test) = self.test_part() {
            let t = match self.engine {
                Engine::Stream => moments_pass(&test, &self.scan)?,
                // The test table is not filtered by --where.
                _ => crate::engine::pass(&spec.route, &test, None)?,
            };
            pass.test = t.train;
        }
        if pass.train.plain.rows() == 0 {
            let matching = if filter.is_some() {
                " matching --where"
            } else {
                ""
            };
            return Err(FitError::Input(format!(
                "{} has no training rows{matching}",
                spec.table.data.display()
            )));
        }
        let rows = pass.train.plain.rows() + pass.test.plain.rows();
        let bytes = if self.source.stored_as::<f32>(&self.selected) {
            4
        } else {
            8
        };
        Ok(FirstPass {
            pass,
            seconds: start.elapsed().as_secs_f64(),
            value_bytes: rows * columns * bytes,
        })
    }

    /// Fits `spec` from the first pass: exactly from the moments, by full-batch MSE gradient
    /// descent from them, or streaming the rows every epoch.
    pub fn fit<B: FusedAutodiffBackend>(
        &self,
        spec: &FitSpec,
        first: &FirstPass,
        device: &B::Device,
        observer: &mut dyn Observer,
    ) -> Result<Fit<B>> {
        let pass = &first.pass;
        let (features, targets) = (self.features(), self.targets());
        let standardizer = match spec.basis.standardize {
            true => Some(standardizer(&pass.train.plain, features)?),
            false => None,
        };
        if standardizer.is_some() {
            observer.note("   features standardized with the training rows' mean and standard deviation (from the same pass)");
        }
        let model = crate::memory::seeded_model::<B>(spec, features.len(), targets.len(), device)?;
        let initial = ParamsJson::from(model.params_as::<f64>());
        let moments = Solve {
            spec,
            pass,
            standardizer: standardizer.as_ref(),
            features,
            targets,
        };
        let mut penalty = None;
        let (trained, exact, solved, statistics) = match spec.solver {
            Solver::Exact { .. } => {
                let st = match spec.penalty.elastic_net() {
                    Some(net) => {
                        let training = penalized_training(net, spec, pass);
                        let p = penalized::solve(spec, net, training, standardizer.as_ref())?;
                        penalty = Some(p.summary);
                        p.statistical
                    }
                    None => moments.exact(observer)?,
                };
                let model = model
                    .valid()
                    .with_params(&crate::exact::params(&st.exact))?;
                let trained = moments.trained(model, &st);
                let report = moments.report(&st, &trained, &crate::exact::params(&st.exact));
                (trained, Some(report), Some(st.exact.clone()), Some(st))
            }
            Solver::Gd { .. } => {
                let trained = self.gradient_descent(
                    spec,
                    first,
                    model,
                    standardizer.as_ref(),
                    device,
                    observer,
                )?;
                // The exact MSE optimum costs nothing more: the moments are there.
                let report = (spec.train_config().loss == LossKind::Mse)
                    .then(|| moments.exact(observer))
                    .transpose()?
                    .map(|st| moments.report(&st, &trained, &trained.model.params_as::<f64>()));
                (trained, report, None, None)
            }
        };
        Ok(Fit {
            trained,
            features: features.to_vec(),
            targets: targets.to_vec(),
            standardizer,
            polynomial: None,
            rows: Rows {
                train: first.train_rows() as usize,
                test: first.test_rows() as usize,
            },
            init: crate::memory::init_description(spec.seed),
            initial,
            exact,
            solved,
            statistics,
            penalty,
            engine: Some(self.engine),
        })
    }

    fn gradient_descent<B: FusedAutodiffBackend>(
        &self,
        spec: &FitSpec,
        first: &FirstPass,
        model: LrModel<B>,
        standardizer: Option<&Standardizer>,
        device: &B::Device,
        observer: &mut dyn Observer,
    ) -> Result<Trained<B>> {
        let (pass, config) = (&first.pass, spec.train_config());
        let in_model_units = |m: &Moments| -> Result<Moments> {
            Ok(match standardizer {
                Some(s) => standardize(m, s)?,
                None => m.clone(),
            })
        };
        let train_m = in_model_units(&pass.train.plain)?;
        let test_m = (first.test_rows() > 0)
            .then(|| in_model_units(&pass.test.plain))
            .transpose()?;
        let trained = if config.loss == LossKind::Mse && config.batch_size.is_none() {
            observer.note("   full-batch MSE gradient descent from the moments: no pass over the rows per epoch");
            train_on_moments(model, &train_m, test_m.as_ref(), config, device, observer)
        } else {
            let plan = self.stream_plan(spec, standardizer, train_m, test_m);
            observer.note(&format!(
                "   streaming the rows from disk every epoch: {}, shuffle buffer of {} rows",
                match config.batch_size {
                    Some(b) => format!("mini-batches of {b}"),
                    None => "full batch (gradients accumulated over the pass)".into(),
                },
                plan.buffer_rows.min(first.train_rows() as usize)
            ));
            train_streamed(model, &plan, config, device, observer)
        };
        crate::trained(observer, trained)
    }

    fn stream_plan(
        &self,
        spec: &FitSpec,
        standardizer: Option<&Standardizer>,
        train_moments: Moments,
        test_moments: Option<Moments>,
    ) -> StreamPlan<'_> {
        let config = spec.train_config();
        let row_bytes = StreamPlan::row_bytes(self.features().len(), self.targets().len());
        let part = self.part();
        StreamPlan {
            train: part,
            test: match self.test_part() {
                Some(t) => Some((t, Which::Train)),
                None if self.split.has_test_rows() => Some((part, Which::Test)),
                None => None,
            },
            standardizer: standardizer.cloned(),
            train_moments,
            test_moments,
            buffer_rows: spec
                .table
                .memory_limit
                .buffer_rows(row_bytes, config.batch_size.unwrap_or(1)),
            options: self.scan,
        }
    }

    /// Up to [`SAMPLE_ROWS`] training and test rows (features standardized, f32) for the
    /// plots and the report; `None` when there are no test rows, or when they cannot be read
    /// (a warning to `observer` says why).
    pub fn sample<B: FusedAutodiffBackend>(
        &self,
        fit: &Fit<B>,
        observer: &mut dyn Observer,
    ) -> Option<Prepared> {
        let standardizer = fit.standardizer.as_ref();
        let sampled = (|| -> Result<Split> {
            let train = sample_rows(&self.part(), Which::Train, standardizer, &self.scan)?;
            let test = match self.test_part() {
                Some(t) => sample_rows(&t, Which::Train, standardizer, &self.scan)?,
                None => sample_rows(&self.part(), Which::Test, standardizer, &self.scan)?,
            };
            Ok(Split { train, test })
        })();
        match sampled {
            // The figures compare training and test rows; without test rows, only the loss curves.
            Ok(split) if split.test.is_empty() || split.train.is_empty() => None,
            Ok(split) => Some(Prepared {
                split,
                features: fit.features.clone(),
                targets: fit.targets.clone(),
                standardizer: fit.standardizer.clone(),
                wide: None,
                raw: None,
                polynomial: None,
            }),
            Err(e) => {
                let why = crate::exact::chain(&e);
                observer.warn(&format!(
                    "warning: no sample of the rows for the figures: {why}"
                ));
                None
            }
        }
    }
}

/// Cells (rows × selected columns) of the training table (see [`crate::estimated_cells`]).
fn estimated_cells(spec: &FitSpec) -> Result<u64> {
    let source = crate::sources::open(&spec.table.data, &spec.table.csv)?;
    let c = &spec.columns;
    // Default features: every numeric column.
    let columns = c
        .features
        .as_ref()
        .map(|f| f.len() + c.targets.len() + usize::from(c.weights.is_some()));
    crate::sources::estimated_cells(&source, columns)
}

/// How cross-validation gives the training rows their folds, if it is asked for.
fn fold_rule(spec: &FitSpec) -> Option<FoldRule> {
    match &spec.penalty.elastic_net()?.choice {
        AlphaChoice::CrossValidation(cv) => Some(match cv.folds {
            Folds::Seeded(folds) => FoldRule::Seeded {
                seed: spec.seed,
                folds,
            },
            Folds::Column(_) => FoldRule::Column,
        }),
        AlphaChoice::Smallest => None,
    }
}

/// The penalized solver's input from the pass: each fold's weighted moments for
/// cross-validation, else the training rows'.
fn penalized_training(net: &ElasticNet, spec: &FitSpec, pass: &MomentsPass) -> Training {
    let assignment = match &net.choice {
        AlphaChoice::CrossValidation(c) => match &c.folds {
            Folds::Seeded(_) => format!("seeded by --seed {}", spec.seed),
            Folds::Column(c) => c.clone(),
        },
        AlphaChoice::Smallest => return Training::Whole(pass.train.weighted.clone()),
    };
    Training::Folds {
        folds: pass.folds.iter().map(|(_, f)| f.weighted.clone()).collect(),
        assignment,
    }
}

/// What a fit cannot do without the rows in memory, said before reading anything.
fn check_supported(spec: &FitSpec, engine: Engine) -> Result<()> {
    let hint = "; use --engine memory (and a larger --memory-limit) for it";
    let refuse = |text: String| Err(FitError::Options(text));
    let gd = !spec.solver.is_exact();
    if spec.basis.polynomial.is_some() {
        return refuse(format!("--polynomial expands the rows in memory{hint}"));
    }
    let c = &spec.checkpoints;
    if spec.init != crate::Init::Seeded || c.every.is_some() || c.resume.is_some() {
        return refuse(format!(
            "--init-from, --checkpoint-every and --resume are for training in memory{hint}"
        ));
    }
    if matches!(spec.solver, Solver::Exact { robust: Some(_) }) {
        return refuse(format!(
            "--robust standard errors need each row's leverage, a second look at every row{hint}"
        ));
    }
    if engine != Engine::Stream && matches!(fold_rule(spec), Some(FoldRule::Seeded { .. })) {
        return refuse(format!(
            "--cv K gives rows folds by their place in the table, and --engine {} scans in \
             parallel without one: name a column of fold labels with --cv-column COL, or use \
             --engine stream",
            engine.name()
        ));
    }
    let config = spec.train_config();
    if !gd && config.loss != LossKind::Mse {
        return refuse(format!(
            "the exact {} solver iterates over the rows (IRLS){hint}, or train it by gradient descent out of core",
            config.loss.name()
        ));
    }
    let moments_only = !gd || (config.loss == LossKind::Mse && config.batch_size.is_none());
    if engine != Engine::Stream && !moments_only {
        return refuse(format!(
            "--engine {} computes the moments of the table (one aggregate): exact least squares and \
             full-batch MSE gradient descent; mini-batches and the l1/huber losses read the rows every \
             epoch: use --engine stream",
            engine.name()
        ));
    }
    Ok(())
}

/// linreg's cap on the number of columns out of core: each partial sum is a `d × d` f64
/// matrix (`d` = features + targets), and a pass holds four (training and test, weighted and
/// plain) per reading thread plus those waiting to merge in order (about one per thread), so
/// `8·d²·4·(2·threads + 1)` bytes must fit the memory budget. (Spark caps its normal-equation
/// route at 4,096 features; here the cap follows the budget: about 2,600 columns for 1 GiB on
/// two cores, and solving costs `d³/3` flops, about a second at 4,096.)
pub fn check_width(d: usize, budget: MemoryBudget) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let need = 8 * (d as u64).pow(2) * 4 * (2 * threads + 1);
    if need > budget.bytes() {
        return Err(FitError::Input(format!(
            "{d} columns need {:.1} GiB of partial sums out of core ({} threads), more than --memory-limit {budget}; \
             raise --memory-limit or choose fewer columns with --features",
            need as f64 / (1u64 << 30) as f64,
            threads
        )));
    }
    Ok(())
}

/// Rows per read unit: the read-ahead (a unit per core, plus one) takes at most a quarter of
/// the budget at 8 bytes per value; between 64 Ki and 1 Mi rows.
fn unit_rows(budget: u64, columns: usize) -> u64 {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64 + 1;
    (budget / 4 / threads / (columns.max(1) as u64 * 8)).clamp(1 << 16, 1 << 20)
}

/// The split `spec` asks for: a separate test table (every row of the data trains), the
/// ordered train-fraction split (the row count from Parquet footers, or counted in a pass
/// over CSV files), or with shuffling a seeded hash of each row's index.
fn row_split(
    spec: &FitSpec,
    source: &Source,
    selected: &Selected,
    scan: &ScanOptions,
    observer: &mut dyn Observer,
) -> Result<RowSplit> {
    let f = spec.split.train_fraction;
    if !(f > 0.0 && f < 1.0) {
        return Err(FitError::Options(format!(
            "--train-fraction = {f} is invalid: expected a number strictly between 0 and 1, such as 0.8"
        )));
    }
    if spec.split.test.is_some()
        || matches!(
            spec.route,
            Route::DataFusion { .. } | Route::Ballista { .. }
        )
    {
        // A parallel or distributed scan keeps no row order: the test rows come from --test.
        return Ok(RowSplit::All);
    }
    if spec.split.shuffle {
        return Ok(RowSplit::Hashed {
            fraction: f,
            seed: spec.seed,
        });
    }
    let rows = match source.rows()? {
        Some(r) => r,
        None => count_rows(source, selected, scan, observer)?,
    };
    let train_rows = (f * rows as f64) as u64;
    if train_rows == 0 || train_rows == rows {
        return Err(FitError::Input(format!(
            "a train fraction of {f} leaves {train_rows} training and {} test rows out of {rows}; both need at least one row",
            rows - train_rows
        )));
    }
    Ok(RowSplit::Ordered { train_rows })
}

/// Rows of CSV files, counted in a pass (they do not say how many they hold).
fn count_rows(
    source: &Source,
    selected: &Selected,
    scan: &ScanOptions,
    observer: &mut dyn Observer,
) -> Result<u64> {
    let start = Instant::now();
    let counts = source.scan::<f32, _, IoError>(
        selected,
        scan,
        || 0u64,
        |n, c| {
            *n += c.rows() as u64;
            Ok(())
        },
    )?;
    let rows = counts.iter().sum();
    observer.note(&format!(
        "   counted {rows} rows in {:.2} s (CSV files do not say how many they hold; --test FILE or Parquet skip this pass)",
        start.elapsed().as_secs_f64()
    ));
    Ok(rows)
}

/// The exact least-squares solution from the first pass, and how it scores.
struct Solve<'a> {
    spec: &'a FitSpec,
    pass: &'a MomentsPass,
    standardizer: Option<&'a Standardizer>,
    features: &'a [String],
    targets: &'a [String],
}

impl Solve<'_> {
    /// OLS, WLS or ridge from the training moments. Ridge on standardized features penalizes
    /// the standardized coefficients (as in memory): it is solved on the standardized moments.
    fn exact(&self, observer: &mut dyn Observer) -> Result<Statistical> {
        let start = Instant::now();
        let (intercept, l2) = (self.spec.basis.intercept, self.spec.penalty.l2());
        let ridge_standardized = l2 > 0.0 && self.standardizer.is_some();
        let (solution, original) = match self.standardizer {
            Some(s) if ridge_standardized => {
                let m = standardize(&self.pass.train.weighted, s)?;
                let sol = m.least_squares(intercept, l2)?;
                let original = s.to_original_units(&sol.fit.weight, &sol.fit.bias);
                (sol, original)
            }
            _ => {
                let sol = self.pass.train.weighted.least_squares(intercept, l2)?;
                let original = (sol.fit.weight.clone(), sol.fit.bias.clone());
                (sol, original)
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        warn_rank(&solution.fit, self.features, true, observer);
        let tables: Vec<Inference> = match ridge_standardized {
            true => Vec::new(),
            false => self
                .targets
                .iter()
                .enumerate()
                .filter_map(|(t, name)| Inference::new(&solution, t, self.features, name, None))
                .collect(),
        };
        let (weight, bias) = standardized_params(&original, self.standardizer);
        let fit = linreg_solve::Fit {
            weight,
            bias,
            iterations: 1,
            ..solution.fit.clone()
        };
        Ok(Statistical {
            exact: Exact {
                fit,
                method: self.spec.family.exact_method(Method::Moments, l2 > 0.0),
                seconds,
                bias: intercept,
            },
            original,
            tables,
            conditioning: solution.conditioning,
        })
    }

    /// Scores of coefficients in original units on the training and test rows.
    fn scored(&self, (w, b): &(Vec<Vec<f64>>, Vec<f64>)) -> (Metrics, Metrics) {
        let train = scores(&self.pass.train.plain, w, b);
        let test = match self.pass.test.plain.rows() {
            0 => Metrics::nan(train.per_target.len()),
            _ => scores(&self.pass.test.plain, w, b),
        };
        (train, test)
    }

    /// The exact solution as a trained model (scores from the moments).
    fn trained<B: FusedAutodiffBackend>(
        &self,
        model: LrModel<B::InnerBackend>,
        st: &Statistical,
    ) -> Trained<B> {
        let (train, test) = self.scored(&st.original);
        Trained {
            model,
            history: Vec::new(),
            train_loss: train.mean.mse,
            test_loss: test.mean.mse,
            train_metrics: train,
            test_metrics: test,
            epochs_run: 0,
            best_epoch: None,
            seconds: st.exact.seconds,
        }
    }

    /// The gap report: the exact optimum's MSE (from the moments) beside the trained model's.
    fn report<B: FusedAutodiffBackend>(
        &self,
        st: &Statistical,
        trained: &Trained<B>,
        gd: &LinearParams<f64>,
    ) -> ExactReport {
        let (train, test) = self.scored(&st.original);
        let losses = (
            (train.mean.mse, test.mean.mse),
            (trained.train_loss, trained.test_loss),
        );
        let optimum = crate::exact::params(&st.exact);
        crate::exact::gap_report(&st.exact, optimum, losses, gd)
    }
}

/// Up to [`SAMPLE_ROWS`] rows of `which` in `part`, features standardized, f32.
fn sample_rows(
    part: &Part<'_>,
    which: Which,
    standardizer: Option<&Standardizer>,
    scan: &ScanOptions,
) -> Result<Dataset> {
    let (p, k) = (part.features(), part.targets());
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let order =
        (part.source.format() == Format::Parquet).then(|| part.units(which, scan.unit_rows));
    // (The test rows of an ordered split of CSV files are at their end: this reads the
    // text up to them.)
    let mut scratch = Vec::new();
    let done = "sample complete";
    let r = part
        .source
        .stream::<f32, IoError>(part.selected, scan, order.as_deref(), |c| {
            part.rows_of(c, which, &mut scratch, |cols, _| {
                for r in 0..cols[0].len() {
                    if y.len() / k.max(1) >= SAMPLE_ROWS {
                        break;
                    }
                    for (j, col) in cols[..p].iter().enumerate() {
                        x.push(match standardizer {
                            Some(s) => ((f64::from(col[r]) - s.mean[j]) / s.scale[j]) as f32,
                            None => col[r],
                        });
                    }
                    y.extend(cols[p..p + k].iter().map(|c| c[r]));
                }
            });
            if y.len() / k.max(1) >= SAMPLE_ROWS {
                return Err(IoError::Stopped(done.into()));
            }
            Ok(())
        });
    match r {
        Ok(()) => {}
        Err(IoError::Stopped(m)) if m == done => {}
        Err(e) => return Err(e.into()),
    }
    let n = y.len() / k.max(1);
    Ok(Dataset::new(Matrix::new(n, p, x)?, Matrix::new(n, k, y)?)?)
}
