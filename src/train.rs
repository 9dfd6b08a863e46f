//! `linreg train`: a model from a CSV table.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use linreg_data::rng::SplitMix64;
use linreg_data::{Columns, CsvOptions, Matrix, Real, Split, Standardizer, Table};
use linreg_model::{LinearParams, LrModelConfig};
use linreg_store::checkpoint::{RunIdentity, RunRecord};
use linreg_train::{
    predict, train_checkpointed, FusedAutodiffBackend, LossKind, OptimizerKind, Schedule,
    TrainConfig, TrainError, Trained,
};

use linreg_store::{ParamsJson, PolynomialJson, Rows, StoreError};

use crate::artifacts;
use crate::backend::Placement;
use crate::checkpoints::{self, Checkpoints, Interrupt};
use crate::cli::{LossArg, OptimizerArg, ScheduleArg, SolverArg, TrainArgs};
use crate::exact::{self, Exact};
use crate::finish::{Finished, FitStatistics};
use crate::report::Console;
use crate::tables::csv_options;

/// The training configuration the arguments ask for.
pub fn config(args: &TrainArgs) -> TrainConfig {
    TrainConfig::new()
        .with_epochs(args.epochs)
        .with_lr(args.lr)
        .with_log_every(args.log_every)
        .with_loss(match args.loss {
            LossArg::L1 => LossKind::L1,
            LossArg::Mse => LossKind::Mse,
            LossArg::Huber => LossKind::Huber {
                delta: args.huber_delta,
            },
        })
        .with_optimizer(match args.optimizer {
            OptimizerArg::Sgd => OptimizerKind::Sgd,
            OptimizerArg::Adam => OptimizerKind::Adam,
            OptimizerArg::Adamw => OptimizerKind::AdamW,
        })
        .with_momentum(args.momentum)
        .with_weight_decay(args.weight_decay)
        .with_batch_size(args.batch_size)
        .with_schedule(match args.lr_schedule {
            ScheduleArg::Constant => Schedule::Constant,
            ScheduleArg::Step => Schedule::Step {
                step_size: args.lr_step_size,
                gamma: args.lr_gamma,
            },
            ScheduleArg::Cosine => Schedule::Cosine,
        })
        .with_patience(args.patience)
        .with_seed(args.seed)
        .with_train_step(args.train_step.into())
}

/// PyTorch's `nn.Linear` initialization, `U(−k, k)` with `k = 1/√inputs`, drawn on the host
/// from a seeded generator so that every backend starts from the same parameters.
pub fn initial_params(inputs: usize, outputs: usize, seed: u64) -> LinearParams {
    let mut rng = SplitMix64::new(seed);
    let k = 1.0 / (inputs as f64).sqrt();
    let mut draw = || ((rng.next_f64() * 2.0 - 1.0) * k) as f32;
    LinearParams {
        weight: (0..outputs)
            .map(|_| (0..inputs).map(|_| draw()).collect())
            .collect(),
        bias: (0..outputs).map(|_| draw()).collect(),
    }
}

/// The training and test rows the arguments ask for, standardized when asked.
pub struct Prepared {
    /// The rows, features standardized if `standardizer` is set (polynomial powers included).
    pub split: Split,
    /// Feature names (the model's inputs: `x`, `x^2`, … for a polynomial).
    pub features: Vec<String>,
    /// Target names.
    pub targets: Vec<String>,
    /// The statistics applied, if any.
    pub standardizer: Option<Standardizer>,
    /// For exact least squares: `split` in f64 (the model's metrics come from these rows, so
    /// that an f64 model keeps its digits).
    pub wide: Option<Split<f64>>,
    /// For exact least squares: the training rows in f64 as the table has them (before any
    /// standardization; one column for a polynomial), with their weights.
    pub raw: Option<Raw>,
    /// The polynomial basis, if any.
    pub polynomial: Option<PolynomialJson>,
}

/// Training rows in f64, for the exact least-squares solver.
pub struct Raw {
    /// Features as read (the one column `x` for a polynomial).
    pub x: Matrix<f64>,
    /// Targets.
    pub y: Matrix<f64>,
    /// `--weights`, one per row.
    pub weights: Option<Vec<f64>>,
}

/// A table read and split, weights separated from the targets.
struct Loaded<T: Real> {
    split: Split<T>,
    features: Vec<String>,
    targets: Vec<String>,
    weights: Option<Vec<f64>>,
}

fn load<T: linreg_io::Element>(args: &TrainArgs, options: &CsvOptions) -> Result<Loaded<T>> {
    // The weight column rides along as one more target, so it is never taken as a feature.
    let mut wanted = args.target.clone();
    if let Some(w) = &args.weights {
        if args.target.contains(w) || args.features.as_ref().is_some_and(|f| f.contains(w)) {
            bail!(
                "--weights {w} is also a target or a feature; weights need a column of their own"
            );
        }
        wanted.push(w.clone());
    }
    let columns = Columns {
        targets: wanted,
        features: args.features.clone(),
    };
    let table = crate::sources::read_table_as::<T>(&args.table.data, &columns, options)?;
    let Table {
        data,
        features,
        mut targets,
    } = table;
    let mut split = match &args.test {
        Some(test_path) => {
            // The test table must offer the same columns, in the model's order.
            let test_columns = Columns {
                targets: targets.clone(),
                features: Some(features.clone()),
            };
            let test = crate::sources::read_table_as::<T>(test_path, &test_columns, options)?;
            Split {
                train: data,
                test: test.data,
            }
        }
        None if args.shuffle => Split::shuffled(data, args.train_fraction, args.seed)
            .with_context(|| format!("cannot split {}", args.table.data.display()))?,
        None => Split::ordered(data, args.train_fraction)
            .with_context(|| format!("cannot split {}", args.table.data.display()))?,
    };
    let weights = match &args.weights {
        None => None,
        Some(name) => {
            targets.pop();
            let train = take_last_column(&mut split.train.y);
            take_last_column(&mut split.test.y);
            if let Some(i) = train.iter().position(|&w| w <= 0.0 || w.is_nan()) {
                bail!(
                    "--weights {name}: row {} of the training rows has weight {}; weights must be \
                     positive (drop rows whose weight is 0)",
                    i + 1,
                    train[i]
                );
            }
            Some(train)
        }
    };
    Ok(Loaded {
        split,
        features,
        targets,
        weights,
    })
}

/// Removes a matrix's last column, returning it in f64.
fn take_last_column<T: Real>(m: &mut Matrix<T>) -> Vec<f64> {
    let (rows, cols) = (m.rows(), m.cols());
    let last = m
        .column_values(cols - 1)
        .into_iter()
        .map(Real::to_f64)
        .collect();
    let kept: Vec<T> = m
        .values()
        .chunks_exact(cols)
        .flat_map(|r| r[..cols - 1].iter().copied())
        .collect();
    *m = Matrix::new(rows, cols - 1, kept).expect("same rows, one column fewer");
    last
}

/// `[x, x², …, x^degree]` of a one-column matrix, each power rounded once.
fn expand<T: Real>(m: &Matrix<T>, degree: usize) -> Matrix<T> {
    let column: Vec<f64> = m.values().iter().map(|v| v.to_f64()).collect();
    let powers = linreg_solve::polynomial_features(&column, degree);
    Matrix::new(
        m.rows(),
        degree,
        powers.into_iter().map(T::from_f64).collect(),
    )
    .expect("rows × degree values")
}

/// Reads, splits and standardizes the data; every data error surfaces here, before training.
pub fn prepare(args: &TrainArgs, options: &CsvOptions) -> Result<Prepared> {
    if args.weights.is_some() && !(args.solver == SolverArg::Exact && args.loss == LossArg::Mse) {
        bail!("--weights applies to --solver exact --loss mse (weighted least squares)");
    }
    let exact_ls = args.solver == SolverArg::Exact && args.loss == LossArg::Mse;
    // Exact least squares reads the table in f64, expands and standardizes it in f64 (the
    // model and its metrics use those rows: an f64 model keeps their digits), and keeps the
    // raw training rows for the solver; the f32 rows are the same, rounded.
    if exact_ls {
        let l = load::<f64>(args, options)?;
        let raw = Raw {
            x: l.split.train.x.clone(),
            y: l.split.train.y.clone(),
            weights: l.weights,
        };
        let (mut split, mut features) = (l.split, l.features);
        let (polynomial, standardizer) = shape(args, &mut split, &mut features)?;
        Ok(Prepared {
            split: Split {
                train: split.train.cast(),
                test: split.test.cast(),
            },
            wide: Some(split),
            features,
            targets: l.targets,
            standardizer,
            raw: Some(raw),
            polynomial,
        })
    } else {
        let l = load::<f32>(args, options)?;
        let (mut split, mut features) = (l.split, l.features);
        let (polynomial, standardizer) = shape(args, &mut split, &mut features)?;
        Ok(Prepared {
            split,
            wide: None,
            features,
            targets: l.targets,
            standardizer,
            raw: None,
            polynomial,
        })
    }
}

/// The polynomial basis and the standardization, applied to both sets of rows.
fn shape<T: Real>(
    args: &TrainArgs,
    split: &mut Split<T>,
    features: &mut Vec<String>,
) -> Result<(Option<PolynomialJson>, Option<Standardizer>)> {
    let polynomial = match args.polynomial {
        None => None,
        Some(degree) => {
            if features.len() != 1 || degree == 0 {
                bail!(
                    "--polynomial {degree} needs exactly one feature column (got {}: {}) and a degree ≥ 1; \
                     choose it with --features",
                    features.len(),
                    features.join(", ")
                );
            }
            let column = features[0].clone();
            split.train.x = expand(&split.train.x, degree);
            split.test.x = expand(&split.test.x, degree);
            *features = (1..=degree)
                .map(|k| {
                    if k == 1 {
                        column.clone()
                    } else {
                        format!("{column}^{k}")
                    }
                })
                .collect();
            Some(PolynomialJson { column, degree })
        }
    };
    let standardizer = if args.no_standardize || args.no_intercept {
        None
    } else {
        let s = Standardizer::fit(&split.train.x, features)?;
        s.apply(&mut split.train.x);
        s.apply(&mut split.test.x);
        Some(s)
    };
    Ok((polynomial, standardizer))
}

/// How `initial_params` drew the start, as `summary.json`'s `init` says it.
pub fn init_description(seed: u64) -> String {
    format!(
        "U(-1/sqrt(inputs), 1/sqrt(inputs)) from linreg's generator with seed {seed}, the same on every backend"
    )
}

/// Runs `linreg train` on backend `B`.
pub fn run<B: FusedAutodiffBackend>(
    args: &TrainArgs,
    device: &B::Device,
    placement: &Placement,
) -> Result<()> {
    let config = config(args);
    config.validate()?;
    checkpoints::validate(args)?;
    if args.solver == SolverArg::Exact && (args.checkpoint_every.is_some() || args.resume.is_some())
    {
        bail!(
            "--checkpoint-every and --resume apply to gradient descent (--solver gd); an exact \
             solve has no epochs to save or resume"
        );
    }
    // Checkpoints are written into --out during training: refuse a file there now.
    artifacts::check_out_dir(&args.out)?;
    if !(args.l2.is_finite() && args.l2 >= 0.0) {
        bail!(
            "--l2 = {} is invalid: expected a finite number ≥ 0",
            args.l2
        );
    }
    if args.l2 > 0.0 && (args.solver != SolverArg::Exact || args.loss != LossArg::Mse) {
        bail!("--l2 applies to --solver exact with --loss mse; for gradient descent use --weight-decay");
    }
    if args.robust.is_some() && (args.solver != SolverArg::Exact || args.loss != LossArg::Mse) {
        bail!("--robust applies to the inference table of --solver exact --loss mse");
    }
    if args.robust.is_some() && args.l2 > 0.0 {
        bail!("--robust needs ordinary least squares: ridge (--l2) has no inference table");
    }
    if args.no_intercept && args.solver == SolverArg::Exact && args.loss != LossArg::Mse {
        bail!("--no-intercept with --solver exact is for least squares (--loss mse); the l1 and huber solvers fit an intercept");
    }
    if args.no_intercept && args.standardize {
        bail!("--no-intercept cannot standardize (centring the features adds an intercept back); drop --standardize");
    }
    if let Some(engine) = crate::outofcore::engine_for(args)? {
        return crate::outofcore::run::<B>(args, engine, device, placement);
    }
    let options = csv_options(&args.table)?;
    let read_start = std::time::Instant::now();
    let data = prepare(args, &options)?;
    let prepared_in = read_start.elapsed().as_secs_f64();
    let (split, features, targets) = (&data.split, &data.features, &data.targets);

    let mut console = Console::new(args.quiet || args.json);
    console.line(&format!(
        "linreg train: {} → {} training and {} test rows; {} feature(s) → {} target(s) (backend {}, device {})",
        args.table.data.display(),
        split.train.len(),
        split.test.len(),
        features.len(),
        targets.len(),
        placement.backend,
        placement.device
    ));
    console.line(&format!("   features: {}", features.join(", ")));
    console.line(&format!("   targets:  {}", targets.join(", ")));
    if data.standardizer.is_some() {
        console
            .line("   features standardized with the training rows' mean and standard deviation");
    }
    if args.no_intercept {
        console.line("   no intercept: the model has no bias, features used as they are");
    }
    console.line(&format!(
        "   read, split and prepared in {prepared_in:.2} s"
    ));

    let model_config = LrModelConfig::new()
        .with_d_input(features.len())
        .with_d_output(targets.len())
        .with_bias(!args.no_intercept);
    let model = match &args.init_from {
        Some(path) => linreg_store::load_weights::<B>(path, Some(&model_config), device).map_err(
            |e| match e {
                StoreError::ShapeDoesNotFit { .. } => anyhow::anyhow!(
                    "{e} for the {} feature(s) and {} target(s) of {}",
                    features.len(),
                    targets.len(),
                    args.table.data.display()
                ),
                other => other.into(),
            },
        )?,
        None => {
            let mut start = initial_params(features.len(), targets.len(), args.seed);
            if args.no_intercept {
                start.bias.clear();
            }
            model_config.init::<B>(device).with_params(&start)?
        }
    };
    let mut statistical = None;
    let mut initial = ParamsJson::from(model.params_as::<f64>());
    let mut init = match &args.init_from {
        Some(path) => format!("loaded from {}", path.display()),
        None => init_description(args.seed),
    };
    let (trained, exact_report) = match args.solver {
        SolverArg::Gd => {
            // What a checkpoint must match to be resumed here; a resumed run reports the
            // start of the run it continues.
            let identity = RunIdentity::new(
                &config,
                model.config(),
                features,
                targets,
                data.standardizer.as_ref(),
                split,
            );
            let resumed = match &args.resume {
                Some(path) => Some(checkpoints::resume::<B>(path, &identity, device)?),
                None => None,
            };
            if let Some(r) = &resumed {
                initial = r.meta.run.initial.clone();
                init = r.meta.run.init.clone();
                console.line(&format!(
                    "   resuming from {} after epoch {} of {}",
                    r.dir.display(),
                    r.meta.epochs_done,
                    config.epochs
                ));
            }
            let run = RunRecord {
                identity,
                initial: initial.clone(),
                init: init.clone(),
            };
            let interrupt = Interrupt::listen()?;
            console.line(&format!(
                "   Training {} epochs; Ctrl-C stops after the current epoch and saves a checkpoint.",
                config.epochs
            ));
            let mut saver = Checkpoints::new(args, &config, &run, &interrupt);
            let result = train_checkpointed(
                model,
                split,
                &config,
                device,
                &mut console,
                &mut saver,
                resumed.map(|r| r.state),
            );
            console.finish();
            let trained = match result {
                Err(TrainError::Interrupted { epochs_done }) => {
                    return Err(saver.interrupted(epochs_done, &args.out).into())
                }
                other => other?,
            };
            let stopped = match trained.best_epoch {
                Some(best) => format!(" (early stop; kept epoch {best})"),
                None => String::new(),
            };
            console.line(&format!(
                "   Trained {} epochs in {:.3} s{stopped}.",
                trained.epochs_run, trained.seconds
            ));
            let report = exact::compare_if(
                args.compare_exact,
                split,
                config.loss,
                &trained.model,
                features,
                device,
            );
            (trained, report)
        }
        SolverArg::Exact => {
            // Ridge on standardized features penalizes the standardized coefficients: that
            // problem is the f32 standardized one, solved as before.
            let ridge_standardized = args.l2 > 0.0 && data.standardizer.is_some();
            let solved = if config.loss == LossKind::Mse && !ridge_standardized {
                let st = exact::least_squares_statistical(&data, args)?;
                let solved = Exact {
                    fit: st.exact.fit.clone(),
                    method: st.exact.method,
                    seconds: st.exact.seconds,
                    bias: st.exact.bias,
                };
                statistical = Some(st);
                solved
            } else {
                exact::solve(split, config.loss, args.l2, features, !args.no_intercept)?
            };
            // Scored on the f64 rows when there are (an f64 model keeps their digits).
            let (trained, report) = match &data.wide {
                Some(wide) => {
                    let t = exact::trained_from_exact::<B>(&solved, wide, config.loss, device)?;
                    let r = exact::report(wide, config.loss, &t.model, &solved, device)?;
                    (t, r)
                }
                None => {
                    let t = exact::trained_from_exact::<B>(&solved, split, config.loss, device)?;
                    let r = exact::report(split, config.loss, &t.model, &solved, device)?;
                    (t, r)
                }
            };
            console.line(&format!(
                "   Solved exactly: {}, {} iteration(s), {:.1} ms.",
                solved.method,
                solved.fit.iterations,
                solved.seconds * 1e3
            ));
            (trained, Some(report))
        }
    };
    let finished = Finished {
        trained: &trained,
        features,
        targets,
        standardizer: data.standardizer.as_ref(),
        polynomial: data.polynomial.clone(),
        rows: Rows {
            train: split.train.len(),
            test: split.test.len(),
        },
        init,
        initial,
        exact_report,
        statistics: statistical.as_ref().map(|st| FitStatistics {
            original: &st.original,
            tables: &st.tables,
            conditioning: &st.conditioning,
        }),
    };
    finished.print(args, &mut console);

    // Nothing is written until training succeeded: a failed run keeps the last good model.
    artifacts::prepare_out_dir(&args.out)?;
    let plots = draw_plots::<B>(&args.out, &data, &trained, device)?;
    let saved = finished.save(args, &config, placement, plots)?;
    let report = crate::html::train(
        args,
        &data,
        &trained.model,
        device,
        &saved.summary,
        &saved.summary_path,
    )?;
    saved.print(args, report.as_ref(), &mut console)
}

/// The loss curves, and the predictions: the tutorial's x–y figures for one feature,
/// predicted-vs-actual for the first target otherwise.
pub fn draw_plots<B: FusedAutodiffBackend>(
    dir: &Path,
    data: &Prepared,
    trained: &Trained<B>,
    device: &B::Device,
) -> Result<Vec<PathBuf>> {
    let split = &data.split;
    let train_pred = predict(&trained.model, &split.train.x, device);
    let test_pred = predict(&trained.model, &split.test.x, device);
    let target = &data.targets[0];
    let column = |m: &linreg_data::Matrix| m.column_values(0);
    let mut written = crate::report::loss_curves(dir, &trained.history)?;
    for ext in ["png", "svg"] {
        let path = dir.join(format!("predictions.{ext}"));
        if data.features.len() == 1 && data.standardizer.is_none() {
            let train = (split.train.x.values(), split.train.y.values());
            let test = (split.test.x.values(), split.test.y.values());
            if data.targets.len() == 1 {
                linreg_plot::plot_predictions(&path, train, test, Some(test_pred.values()))?;
                written.push(path);
                let path = dir.join(format!("data.{ext}"));
                linreg_plot::plot_predictions(&path, train, test, None)?;
                written.push(path);
                continue;
            }
        }
        linreg_plot::plot_predicted_vs_actual(
            &path,
            target,
            (&column(&split.train.y), &column(&train_pred)),
            (&column(&split.test.y), &column(&test_pred)),
        )?;
        written.push(path);
    }
    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_parameters_are_seeded_and_bounded() {
        let p = initial_params(4, 3, 9);
        assert_eq!(p, initial_params(4, 3, 9));
        assert_ne!(p, initial_params(4, 3, 10));
        assert_eq!((p.weight.len(), p.weight[0].len(), p.bias.len()), (3, 4, 3));
        assert!(p
            .weight
            .iter()
            .flatten()
            .chain(&p.bias)
            .all(|v| v.abs() <= 0.5));
    }

    #[test]
    fn arguments_map_onto_the_config() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "linreg",
            "train",
            "--data",
            "d.csv",
            "--target",
            "y",
            "--loss",
            "huber",
            "--huber-delta",
            "2",
            "--optimizer",
            "adamw",
            "--weight-decay",
            "0.01",
            "--lr-schedule",
            "step",
            "--lr-step-size",
            "7",
            "--lr-gamma",
            "0.5",
            "--batch-size",
            "32",
            "--patience",
            "9",
        ])
        .unwrap();
        let Some(crate::cli::Command::Train(args)) = cli.command else {
            panic!("train")
        };
        let c = config(&args);
        assert_eq!(c.loss, LossKind::Huber { delta: 2.0 });
        assert_eq!(c.optimizer, OptimizerKind::AdamW);
        assert_eq!(
            c.schedule,
            Schedule::Step {
                step_size: 7,
                gamma: 0.5
            }
        );
        assert_eq!(
            (c.batch_size, c.patience, c.weight_decay),
            (Some(32), Some(9), 0.01)
        );
        assert!(c.validate().is_ok());
    }
}
