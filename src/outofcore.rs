//! `linreg train` on tables that do not fit in memory, or through a query engine: one pass of
//! mergeable moments (`linreg-stream`, or the DataFusion aggregate, on one machine or on Ballista), then the exact
//! solution or full-batch MSE gradient descent from them, or mini-batches streamed from disk.

use std::time::Instant;

use anyhow::{bail, Result};
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use linreg_data::{Dataset, Matrix, Split, Standardizer};
use linreg_io::{Format, IoError, ScanOptions, Selected, Selection, Source};
use linreg_model::{LinearParams, LrModelConfig};
use linreg_solve::{Inference, Moments, Solution};
use linreg_store::{ExactReport, Pair, ParamsJson, Rows};
use linreg_stream::{
    moments_pass, scores, standardize, standardizer, train_on_moments, train_streamed, MomentsPass,
    Part, RowSplit, Rows as Which, StreamPlan,
};
use linreg_train::{LossKind, Trained};

use crate::backend::Placement;
use crate::cli::{EngineArg, LossArg, SolverArg, TrainArgs};
use crate::finish::{Finished, FitStatistics};
use crate::report::Console;
use crate::train::{config, initial_params, Prepared};

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
    fn name(self) -> &'static str {
        match self {
            Self::Stream => "stream",
            Self::DataFusion => "datafusion",
            Self::Ballista => "ballista",
        }
    }
}

/// Rows of each set read for the plots and the HTML report of an out-of-core run.
const SAMPLE_ROWS: usize = 5000;

/// Where `linreg train` reads its rows: `None` for in memory (the table fits
/// `--memory-limit`, or `--engine memory`).
pub fn engine_for(args: &TrainArgs) -> Result<Option<Engine>> {
    let engine = args.engine;
    let query_engine = matches!(engine, EngineArg::Datafusion | EngineArg::Ballista);
    if args.filter.is_some() && !query_engine {
        bail!("--where filters rows in a query engine: add --engine datafusion (or ballista)");
    }
    if args.cluster.is_some() && engine != EngineArg::Ballista {
        bail!("--cluster names a Ballista scheduler: add --engine ballista");
    }
    Ok(match engine {
        EngineArg::Memory => None,
        EngineArg::Stream => Some(Engine::Stream),
        EngineArg::Datafusion => Some(Engine::DataFusion),
        EngineArg::Ballista => Some(Engine::Ballista),
        EngineArg::Auto => {
            let cells = estimated_cells(args)?;
            (!args.table.memory_limit.fits(cells)).then_some(Engine::Stream)
        }
    })
}

/// Cells (rows × selected columns) of the training table (see `sources::estimated_cells`).
fn estimated_cells(args: &TrainArgs) -> Result<u64> {
    let options = crate::tables::csv_options(&args.table)?;
    let source = crate::sources::open(&args.table.data, &options)?;
    // Default features: every numeric column.
    let columns = args
        .features
        .as_ref()
        .map(|f| f.len() + args.target.len() + usize::from(args.weights.is_some()));
    crate::sources::estimated_cells(&source, columns)
}

/// What `linreg train` cannot do without the rows in memory, said before reading anything.
fn check_supported(args: &TrainArgs, engine: Engine) -> Result<()> {
    let hint = "; use --engine memory (and a larger --memory-limit) for it";
    if args.polynomial.is_some() {
        bail!("--polynomial expands the rows in memory{hint}");
    }
    if args.init_from.is_some() || args.checkpoint_every.is_some() || args.resume.is_some() {
        bail!("--init-from, --checkpoint-every and --resume are for training in memory{hint}");
    }
    if args.robust.is_some() {
        bail!(
            "--robust standard errors need each row's leverage, a second look at every row{hint}"
        );
    }
    if args.solver == SolverArg::Exact && args.loss != LossArg::Mse {
        bail!(
            "the exact {} solver iterates over the rows (IRLS){hint}, or train it by gradient descent out of core",
            match args.loss {
                LossArg::L1 => "l1",
                _ => "huber",
            }
        );
    }
    if args.weights.is_some() && !(args.solver == SolverArg::Exact && args.loss == LossArg::Mse) {
        bail!("--weights applies to --solver exact --loss mse (weighted least squares)");
    }
    let moments_only =
        args.solver == SolverArg::Exact || (args.loss == LossArg::Mse && args.batch_size.is_none());
    if engine != Engine::Stream && !moments_only {
        bail!(
            "--engine {} computes the moments of the table (one aggregate): exact least squares and \
             full-batch MSE gradient descent; mini-batches and the l1/huber losses read the rows every \
             epoch: use --engine stream",
            engine.name()
        );
    }
    Ok(())
}

/// linreg's cap on the number of columns out of core: each partial sum is a `d × d` f64
/// matrix (`d` = features + targets), and a pass holds four (training and test, weighted and
/// plain) per reading thread plus those waiting to merge in order (about one per thread), so
/// `8·d²·4·(2·threads + 1)` bytes must fit the memory budget. (Spark caps its normal-equation
/// route at 4,096 features; here the cap follows the budget: about 2,600 columns for 1 GiB on
/// two cores, and solving costs `d³/3` flops, about a second at 4,096.)
fn check_width(d: usize, budget: linreg_stream::MemoryBudget) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let need = 8 * (d as u64).pow(2) * 4 * (2 * threads + 1);
    if need > budget.bytes() {
        bail!(
            "{d} columns need {:.1} GiB of partial sums out of core ({} threads), more than --memory-limit {budget}; \
             raise --memory-limit or choose fewer columns with --features",
            need as f64 / (1u64 << 30) as f64,
            threads
        );
    }
    Ok(())
}

/// The moments of the training and test rows, from the engine asked for.
struct FirstPass {
    pass: MomentsPass,
    seconds: f64,
    /// Bytes of values read (rows × selected columns × bytes per value).
    value_bytes: u64,
}

/// Runs `linreg train` out of core. The arguments have been checked by `train::run`.
pub fn run<B: linreg_train::FusedAutodiffBackend>(
    args: &TrainArgs,
    engine: Engine,
    device: &B::Device,
    placement: &Placement,
) -> Result<()> {
    check_supported(args, engine)?;
    let config = config(args);
    let options = crate::tables::csv_options(&args.table)?;
    let source = crate::sources::open(&args.table.data, &options)?;
    let selected = source.select(&Selection::new(
        args.target.clone(),
        args.features.clone(),
        args.weights.clone(),
    ))?;
    let features = selected.features().to_vec();
    let targets = selected.targets().to_vec();
    check_width(features.len() + targets.len(), args.table.memory_limit)?;
    let test_source = match &args.test {
        Some(path) => Some(crate::sources::open(path, &options)?),
        None => None,
    };
    let test_selected = match &test_source {
        Some(t) => Some(t.select(&Selection::new(
            targets.clone(),
            Some(features.clone()),
            None,
        ))?),
        None => None,
    };
    let scan = ScanOptions {
        // The read-ahead of a streamed epoch holds `read_ahead` units of `unit_rows` rows.
        unit_rows: unit_rows(
            args.table.memory_limit.bytes(),
            features.len() + targets.len(),
        ),
        ..ScanOptions::default()
    };
    let mut console = Console::new(args.quiet || args.json);

    let split = row_split(args, &source, &selected, &scan, &mut console)?;
    let part = Part::new(&source, &selected, split);
    let first = first_pass(
        args,
        engine,
        &part,
        test_source.as_ref().zip(test_selected.as_ref()),
        &scan,
    )?;
    let FirstPass { pass, .. } = &first;
    let (n_train, n_test) = (pass.train.plain.rows(), pass.test.plain.rows());
    if n_train == 0 {
        bail!(
            "{} has no training rows{}",
            args.table.data.display(),
            if args.filter.is_some() {
                " matching --where"
            } else {
                ""
            }
        );
    }
    console.line(&format!(
        "linreg train (out of core, engine {}): {} → {} training and {} test rows; {} feature(s) → {} target(s) (backend {}, device {})",
        engine.name(),
        args.table.data.display(),
        n_train,
        n_test,
        features.len(),
        targets.len(),
        placement.backend,
        placement.device
    ));
    console.line(&format!("   features: {}", features.join(", ")));
    console.line(&format!("   targets:  {}", targets.join(", ")));
    console.line(&format!(
        "   one pass of moments: {:.2} s, {:.1} MB of values at {:.0} MB/s",
        first.seconds,
        first.value_bytes as f64 / 1e6,
        first.value_bytes as f64 / 1e6 / first.seconds.max(1e-9)
    ));
    if split == RowSplit::All && test_source.is_none() {
        console.line("   every row trains: no test rows (give them with --test FILE)");
    }

    let standardizer = if args.no_standardize || args.no_intercept {
        None
    } else {
        Some(standardizer(&pass.train.plain, &features)?)
    };
    if standardizer.is_some() {
        console.line("   features standardized with the training rows' mean and standard deviation (from the same pass)");
    }
    let in_model_units = |m: &Moments| -> Result<Moments> {
        Ok(match &standardizer {
            Some(s) => standardize(m, s)?,
            None => m.clone(),
        })
    };
    let train_m = in_model_units(&pass.train.plain)?;
    let test_m = (n_test > 0)
        .then(|| in_model_units(&pass.test.plain))
        .transpose()?;

    let mut start = initial_params(features.len(), targets.len(), args.seed);
    if args.no_intercept {
        start.bias.clear();
    }
    let model = LrModelConfig::new()
        .with_d_input(features.len())
        .with_d_output(targets.len())
        .with_bias(!args.no_intercept)
        .init::<B>(device)
        .with_params(&start)?;
    let initial = ParamsJson::from(model.params_as::<f64>());

    let mut statistical = None;
    let (trained, exact_report): (Trained<B>, Option<ExactReport>) = match args.solver {
        SolverArg::Exact => {
            let st = exact(args, pass, standardizer.as_ref(), &features, &targets)?;
            let model = model.valid().with_params(&st.model_params)?;
            let (train, test) = scored(
                &pass.train.plain,
                Some(&pass.test.plain).filter(|_| n_test > 0),
                &st.original,
            );
            let trained = Trained {
                model,
                history: Vec::new(),
                train_loss: train.mean.mse,
                test_loss: test.mean.mse,
                train_metrics: train,
                test_metrics: test,
                epochs_run: 0,
                best_epoch: None,
                seconds: st.seconds,
            };
            console.line(&format!(
                "   Solved exactly: {}, {:.1} ms.",
                st.method,
                st.seconds * 1e3
            ));
            let report = exact_report(&st, &trained, &st.model_params);
            statistical = Some(st);
            (trained, Some(report))
        }
        SolverArg::Gd => {
            let trained = if config.loss == LossKind::Mse && config.batch_size.is_none() {
                console.line("   full-batch MSE gradient descent from the moments: no pass over the rows per epoch");
                train_on_moments(
                    model,
                    &train_m,
                    test_m.as_ref(),
                    &config,
                    device,
                    &mut console,
                )?
            } else {
                let row_bytes = StreamPlan::row_bytes(features.len(), targets.len());
                let plan = StreamPlan {
                    train: part,
                    test: match (&test_source, &test_selected) {
                        (Some(s), Some(sel)) => {
                            Some((Part::new(s, sel, RowSplit::All), Which::Train))
                        }
                        _ if split.has_test_rows() => Some((part, Which::Test)),
                        _ => None,
                    },
                    standardizer: standardizer.clone(),
                    train_moments: train_m.clone(),
                    test_moments: test_m.clone(),
                    buffer_rows: args
                        .table
                        .memory_limit
                        .buffer_rows(row_bytes, config.batch_size.unwrap_or(1)),
                    options: scan,
                };
                console.line(&format!(
                    "   streaming the rows from disk every epoch: {}, shuffle buffer of {} rows",
                    match config.batch_size {
                        Some(b) => format!("mini-batches of {b}"),
                        None => "full batch (gradients accumulated over the pass)".into(),
                    },
                    plan.buffer_rows.min(n_train as usize)
                ));
                // `plan` borrows the test source, which outlives it.
                train_with(&plan, model, &config, device, &mut console)?
            };
            console.finish();
            let stopped = match trained.best_epoch {
                Some(best) => format!(" (early stop; kept epoch {best})"),
                None => String::new(),
            };
            console.line(&format!(
                "   Trained {} epochs in {:.3} s{stopped}.",
                trained.epochs_run, trained.seconds
            ));
            // The exact MSE optimum costs nothing more: the moments are there.
            let report = (config.loss == LossKind::Mse)
                .then(|| exact(args, pass, standardizer.as_ref(), &features, &targets))
                .transpose()?
                .map(|st| exact_report(&st, &trained, &trained.model.params_as::<f64>()));
            (trained, report)
        }
    };
    let finished = Finished {
        trained: &trained,
        features: &features,
        targets: &targets,
        standardizer: standardizer.as_ref(),
        polynomial: None,
        rows: Rows {
            train: n_train as usize,
            test: n_test as usize,
        },
        init: crate::train::init_description(args.seed),
        initial,
        exact_report,
        statistics: statistical.as_ref().map(|st| FitStatistics {
            original: &st.original,
            tables: &st.tables,
            conditioning: &st.solution.conditioning,
        }),
    };
    finished.print(args, &mut console);

    // Nothing is written until training succeeded.
    crate::artifacts::prepare_out_dir(&args.out)?;
    let sample = sample(
        &part,
        test_source.as_ref().zip(test_selected.as_ref()),
        standardizer.as_ref(),
        &features,
        &targets,
        &scan,
    );
    let plots = match &sample {
        Some(data) => crate::train::draw_plots::<B>(&args.out, data, &trained, device)?,
        None => crate::report::loss_curves(&args.out, &trained.history)?,
    };
    let saved = finished.save(args, &config, placement, plots)?;
    let report = match &sample {
        Some(data) => crate::html::train(
            args,
            data,
            &trained.model,
            device,
            &saved.summary,
            &saved.summary_path,
        )?,
        None => None,
    };
    saved.print(args, report.as_ref(), &mut console)
}

fn train_with<B: AutodiffBackend>(
    plan: &StreamPlan<'_>,
    model: linreg_model::LrModel<B>,
    config: &linreg_train::TrainConfig,
    device: &B::Device,
    console: &mut Console,
) -> Result<Trained<B>> {
    Ok(train_streamed(model, plan, config, device, console)?)
}

/// Rows per read unit: the read-ahead (a unit per core, plus one) takes at most a quarter of
/// the budget at 8 bytes per value; between 64 Ki and 1 Mi rows.
fn unit_rows(budget: u64, columns: usize) -> u64 {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64 + 1;
    (budget / 4 / threads / (columns.max(1) as u64 * 8)).clamp(1 << 16, 1 << 20)
}

/// The split the arguments ask for: a separate test table (every row of --data trains), the
/// ordered `--train-fraction` split (the row count from Parquet footers, or counted in a
/// pass over CSV files), or with `--shuffle` a seeded hash of each row's index.
fn row_split(
    args: &TrainArgs,
    source: &Source,
    selected: &Selected,
    scan: &ScanOptions,
    console: &mut Console,
) -> Result<RowSplit> {
    let f = args.train_fraction;
    if !(f > 0.0 && f < 1.0) {
        bail!("--train-fraction = {f} is invalid: expected a number strictly between 0 and 1, such as 0.8");
    }
    if args.test.is_some() {
        return Ok(RowSplit::All);
    }
    if matches!(args.engine, EngineArg::Datafusion | EngineArg::Ballista) {
        // A parallel or distributed scan keeps no row order: the test rows come from --test.
        return Ok(RowSplit::All);
    }
    if args.shuffle {
        return Ok(RowSplit::Hashed {
            fraction: f,
            seed: args.seed,
        });
    }
    let rows = match source.rows()? {
        Some(r) => r,
        None => {
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
            console.line(&format!(
                "   counted {rows} rows in {:.2} s (CSV files do not say how many they hold; --test FILE or Parquet skip this pass)",
                start.elapsed().as_secs_f64()
            ));
            rows
        }
    };
    let train_rows = (f * rows as f64) as u64;
    if train_rows == 0 || train_rows == rows {
        bail!(
            "a train fraction of {f} leaves {train_rows} training and {} test rows out of {rows}; both need at least one row",
            rows - train_rows
        );
    }
    Ok(RowSplit::Ordered { train_rows })
}

/// One pass over the table (and the test table) into moments, on the engine asked for.
fn first_pass(
    args: &TrainArgs,
    engine: Engine,
    part: &Part<'_>,
    test: Option<(&Source, &Selected)>,
    scan: &ScanOptions,
) -> Result<FirstPass> {
    let start = Instant::now();
    let columns =
        (part.features() + part.targets() + usize::from(part.selected.weights().is_some())) as u64;
    let mut pass = match engine {
        Engine::Stream => moments_pass(part, scan)?,
        Engine::DataFusion | Engine::Ballista => {
            engine_pass(args, engine, part, args.filter.as_deref())?
        }
    };
    if let Some((source, selected)) = test {
        let test_part = Part::new(source, selected, RowSplit::All);
        let t = match engine {
            Engine::Stream => moments_pass(&test_part, scan)?,
            // The test table is not filtered by --where.
            _ => engine_pass(args, engine, &test_part, None)?,
        };
        pass.test = t.train;
    }
    let rows = pass.train.plain.rows() + pass.test.plain.rows();
    let bytes = if part.source.stored_as::<f32>(part.selected) {
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

#[cfg(feature = "datafusion")]
fn engine_pass(
    args: &TrainArgs,
    engine: Engine,
    part: &Part<'_>,
    filter: Option<&str>,
) -> Result<MomentsPass> {
    use linreg_datafusion::{MomentsQuery, TableFormat};
    use linreg_stream::SetMoments;
    let format = match part.source.format() {
        Format::Parquet => TableFormat::Parquet,
        Format::Csv => TableFormat::Csv {
            delimiter: match part.source.csv_options().delimiter {
                Some(d) => d,
                None => {
                    let first = &part.source.files()[0];
                    let text = std::fs::read(first)?;
                    let header = text.split(|&b| b == b'\n').next().unwrap_or_default();
                    linreg_data::table::sniff_delimiter(&String::from_utf8_lossy(header))
                }
            },
        },
    };
    let query = MomentsQuery {
        location: part.source.spec().to_string_lossy().into_owned(),
        format,
        features: part.selected.features().to_vec(),
        targets: part.selected.targets().to_vec(),
        weights: part.selected.weights().map(String::from),
        filter: filter.map(String::from),
    };
    let moments = match engine {
        Engine::Ballista => ballista_moments(&query, args.cluster.as_deref())?,
        _ => linreg_datafusion::moments(&query)?,
    };
    let (p, k) = (part.features(), part.targets());
    Ok(MomentsPass {
        train: SetMoments {
            weighted: moments.weighted,
            plain: moments.plain,
        },
        test: SetMoments {
            weighted: Moments::new(p, k),
            plain: Moments::new(p, k),
        },
    })
}

#[cfg(feature = "ballista")]
fn ballista_moments(
    query: &linreg_datafusion::MomentsQuery,
    cluster: Option<&str>,
) -> Result<linreg_datafusion::EngineMoments> {
    linreg_ballista::moments(query, cluster).map_err(|e| match cluster {
        Some(url) => anyhow::Error::new(e).context(format!(
            "the Ballista cluster at {url} could not compute the moments (is its scheduler \
             running, started with linreg-scheduler, with executors started with linreg-executor, \
             and can they read --data at the same path?)"
        )),
        None => anyhow::Error::new(e).context("Ballista's standalone mode failed"),
    })
}

#[cfg(all(feature = "datafusion", not(feature = "ballista")))]
fn ballista_moments(
    _: &linreg_datafusion::MomentsQuery,
    _: Option<&str>,
) -> Result<linreg_datafusion::EngineMoments> {
    bail!(
        "this linreg was built without the ballista engine; rebuild it with `--features ballista` \
         (or use --engine datafusion on this machine)"
    )
}

#[cfg(not(feature = "datafusion"))]
fn engine_pass(
    _: &TrainArgs,
    engine: Engine,
    _: &Part<'_>,
    _: Option<&str>,
) -> Result<MomentsPass> {
    bail!(
        "this linreg was built without the {0} engine; rebuild it with `--features {0}` \
         (or use --engine stream, which needs no engine)",
        engine.name()
    )
}

/// An exact least-squares solution from moments, with its statistics.
struct Statistical {
    solution: Solution,
    /// The coefficients on the original columns.
    original: (Vec<Vec<f64>>, Vec<f64>),
    /// The same in the model's (standardized) units.
    model_params: LinearParams<f64>,
    tables: Vec<Inference>,
    method: &'static str,
    seconds: f64,
    /// MSE of the solution on the training and test rows (NaN without test rows).
    train_mse: f64,
    test_mse: f64,
}

/// OLS, WLS or ridge from the training moments. Ridge on standardized features penalizes the
/// standardized coefficients (as in memory): it is solved on the standardized moments.
fn exact(
    args: &TrainArgs,
    pass: &MomentsPass,
    standardizer: Option<&Standardizer>,
    features: &[String],
    targets: &[String],
) -> Result<Statistical> {
    let start = Instant::now();
    let intercept = !args.no_intercept;
    let ridge_standardized = args.l2 > 0.0 && standardizer.is_some();
    let (solution, original) = match standardizer {
        Some(s) if ridge_standardized => {
            let m = standardize(&pass.train.weighted, s)?;
            let sol = m.least_squares(intercept, args.l2)?;
            let original = s.to_original_units(&sol.fit.weight, &sol.fit.bias);
            (sol, original)
        }
        _ => {
            let sol = pass.train.weighted.least_squares(intercept, args.l2)?;
            let original = (sol.fit.weight.clone(), sol.fit.bias.clone());
            (sol, original)
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    crate::exact::warn_rank(&solution.fit, features, true);
    let tables: Vec<Inference> = if ridge_standardized {
        Vec::new()
    } else {
        targets
            .iter()
            .enumerate()
            .filter_map(|(t, name)| Inference::new(&solution, t, features, name, None))
            .collect()
    };
    // The model sees standardized features: w' = w·scale, b' = b + Σ w·mean.
    let (mut weight, mut bias) = original.clone();
    if let Some(s) = standardizer {
        for (row, b) in weight.iter_mut().zip(bias.iter_mut()) {
            for ((w, m), sc) in row.iter_mut().zip(&s.mean).zip(&s.scale) {
                *b += *w * m;
                *w *= sc;
            }
        }
    }
    let method = match args.l2 > 0.0 {
        false => "least squares (one-pass moments, Cholesky)",
        true => "ridge (one-pass moments, Cholesky)",
    };
    let n_test = pass.test.plain.rows();
    let (train_s, test_s) = scored(
        &pass.train.plain,
        Some(&pass.test.plain).filter(|_| n_test > 0),
        &original,
    );
    Ok(Statistical {
        train_mse: train_s.mean.mse,
        test_mse: test_s.mean.mse,
        solution,
        original,
        model_params: LinearParams {
            weight,
            bias: if intercept { bias } else { Vec::new() },
        },
        tables,
        method,
        seconds,
    })
}

/// Scores of coefficients in original units on the training and test rows, from moments.
fn scored(
    train: &Moments,
    test: Option<&Moments>,
    (w, b): &(Vec<Vec<f64>>, Vec<f64>),
) -> (linreg_train::Metrics, linreg_train::Metrics) {
    let train_s = scores(train, w, b);
    let test_s = match test {
        Some(t) => scores(t, w, b),
        None => nan_metrics(train_s.per_target.len()),
    };
    (train_s, test_s)
}

fn nan_metrics(k: usize) -> linreg_train::Metrics {
    let nan = linreg_train::Scores {
        mae: f64::NAN,
        mse: f64::NAN,
        rmse: f64::NAN,
        r2: f64::NAN,
    };
    linreg_train::Metrics {
        mean: nan,
        per_target: vec![nan; k],
    }
}

/// The gap report: the exact optimum's MSE (from the moments) beside the trained model's.
fn exact_report<B: AutodiffBackend>(
    st: &Statistical,
    trained: &Trained<B>,
    gd: &LinearParams<f64>,
) -> ExactReport {
    let (train_loss, test_loss) = (st.train_mse, st.test_mse);
    let rel = |gd: f64, opt: f64| (opt > 0.0).then(|| (gd - opt) / opt);
    let param_distance = gd
        .weight
        .iter()
        .flatten()
        .chain(&gd.bias)
        .zip(
            st.model_params
                .weight
                .iter()
                .flatten()
                .chain(&st.model_params.bias),
        )
        .map(|(&a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    ExactReport {
        method: st.method.into(),
        weight: st.model_params.weight.clone(),
        bias: st.model_params.bias.clone(),
        train_loss,
        test_loss,
        gd_train_loss: trained.train_loss,
        gd_test_loss: trained.test_loss,
        gap: Pair {
            train: rel(trained.train_loss, train_loss),
            test: rel(trained.test_loss, test_loss),
        },
        gap_abs: Pair {
            train: trained.train_loss - train_loss,
            test: trained.test_loss - test_loss,
        },
        param_distance,
        iterations: 1,
        seconds: st.seconds,
    }
}

/// Up to [`SAMPLE_ROWS`] training and test rows (features standardized, f32) for the plots
/// and the report; `None` when they cannot be read (a warning says why).
fn sample(
    part: &Part<'_>,
    test: Option<(&Source, &Selected)>,
    standardizer: Option<&Standardizer>,
    features: &[String],
    targets: &[String],
    scan: &ScanOptions,
) -> Option<Prepared> {
    let read = |part: &Part<'_>, which: Which| -> Result<Dataset> {
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
    };
    let sampled = (|| -> Result<Split> {
        let train = read(part, Which::Train)?;
        let test = match test {
            Some((s, sel)) => read(&Part::new(s, sel, RowSplit::All), Which::Train)?,
            None => read(part, Which::Test)?,
        };
        Ok(Split { train, test })
    })();
    match sampled {
        // The figures compare training and test rows; without test rows, only the loss curves.
        Ok(split) if split.test.is_empty() || split.train.is_empty() => None,
        Ok(split) => Some(Prepared {
            split,
            features: features.to_vec(),
            targets: targets.to_vec(),
            standardizer: standardizer.cloned(),
            wide: None,
            raw: None,
            polynomial: None,
        }),
        Err(e) => {
            eprintln!("warning: no sample of the rows for the figures: {e:#}");
            None
        }
    }
}
