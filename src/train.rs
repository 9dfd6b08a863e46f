//! `linreg train`: a model from a CSV table.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use linreg_data::rng::SplitMix64;
use linreg_data::{read_table, Columns, CsvOptions, Dataset, Split, Standardizer, Table};
use linreg_model::{LinearParams, LrModelConfig};
use linreg_train::{
    predict, train_on_device, DeviceData, DeviceSplit, FusedAutodiffBackend, LossKind,
    OptimizerKind, Schedule, TrainConfig, Trained,
};

use crate::artifacts::{
    self, Files, MetricsJson, MetricsPair, ModelInfo, ParamsJson, Rows, Summary,
};
use crate::backend::Placement;
use crate::cli::{LossArg, OptimizerArg, ScheduleArg, SolverArg, TrainArgs};
use crate::exact::{self, ExactReport};
use crate::report::{metrics_table, Console};
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
    /// The rows, features standardized if `standardizer` is set.
    pub split: Split,
    /// Feature names.
    pub features: Vec<String>,
    /// Target names.
    pub targets: Vec<String>,
    /// The statistics applied, if any.
    pub standardizer: Option<Standardizer>,
}

/// Reads, splits and standardizes the data; every data error surfaces here, before training.
pub fn prepare(args: &TrainArgs, options: &CsvOptions) -> Result<Prepared> {
    let columns = Columns {
        targets: args.target.clone(),
        features: args.features.clone(),
    };
    let table = read_table(&args.table.data, &columns, options)?;
    let Table {
        data,
        features,
        targets,
    } = table;
    let mut split = match &args.test {
        Some(test_path) => {
            // The test table must offer the same columns, in the model's order.
            let test_columns = Columns {
                targets: targets.clone(),
                features: Some(features.clone()),
            };
            let test = read_table(test_path, &test_columns, options)?;
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
    let standardizer = if args.no_standardize {
        None
    } else {
        let s = Standardizer::fit(&split.train.x, &features)?;
        s.apply(&mut split.train.x);
        s.apply(&mut split.test.x);
        Some(s)
    };
    Ok(Prepared {
        split,
        features,
        targets,
        standardizer,
    })
}

/// Runs `linreg train` on backend `B`.
pub fn run<B: FusedAutodiffBackend>(
    args: &TrainArgs,
    device: &B::Device,
    placement: &Placement,
) -> Result<()> {
    let config = config(args);
    config.validate()?;
    if !(args.l2.is_finite() && args.l2 >= 0.0) {
        bail!(
            "--l2 = {} is invalid: expected a finite number ≥ 0",
            args.l2
        );
    }
    if args.l2 > 0.0 && (args.solver != SolverArg::Exact || args.loss != LossArg::Mse) {
        bail!("--l2 applies to --solver exact with --loss mse; for gradient descent use --weight-decay");
    }
    let options = csv_options(&args.table)?;
    let read_start = std::time::Instant::now();
    let Prepared {
        split,
        features,
        targets,
        standardizer,
    } = prepare(args, &options)?;
    let (features, targets) = (&features, &targets);
    let rows = Rows {
        train: split.train.len(),
        test: split.test.len(),
    };

    let mut console = Console::new(args.quiet || args.json);
    console.line(&format!(
        "linreg train: {} → {} training and {} test rows; {} feature(s) → {} target(s) (backend {}, device {})",
        args.table.data.display(),
        rows.train,
        rows.test,
        features.len(),
        targets.len(),
        placement.backend,
        placement.device
    ));
    console.line(&format!("   features: {}", features.join(", ")));
    console.line(&format!("   targets:  {}", targets.join(", ")));
    if standardizer.is_some() {
        console
            .line("   features standardized with the training rows' mean and standard deviation");
    }
    console.line(&format!(
        "   read, split and prepared in {:.2} s",
        read_start.elapsed().as_secs_f64()
    ));

    let model = LrModelConfig::new()
        .with_d_input(features.len())
        .with_d_output(targets.len())
        .init::<B>(device)
        .with_params(&initial_params(features.len(), targets.len(), args.seed))?;
    let initial = ParamsJson::from(model.params());
    let (trained, exact_report, samples) = match args.solver {
        SolverArg::Gd => {
            // The rows move to the device and exist there only, unless the exact comparison
            // will read them on the host (small tables, or --compare-exact).
            let compare = args.compare_exact || exact::small_enough(&split);
            let (on_device, host) = if compare {
                (DeviceSplit::copied(&split, device), Some(split))
            } else {
                (DeviceSplit::new(split, device), None)
            };
            let trained = train_on_device(model, on_device.clone(), &config, &mut console)?;
            console.finish();
            let stopped = match trained.best_epoch {
                Some(best) => format!(" (early stop; kept epoch {best})"),
                None => String::new(),
            };
            console.line(&format!(
                "   Trained {} epochs in {:.3} s{stopped}.",
                trained.epochs_run, trained.seconds
            ));
            let report = host.as_ref().and_then(|split| {
                exact::compare_if(true, split, config.loss, &trained.model, features, device)
            });
            let samples = Samples::from_device(&on_device);
            (trained, report, samples)
        }
        SolverArg::Exact => {
            let solved = exact::solve(&split, config.loss, args.l2, features)?;
            let trained = exact::trained_from_exact::<B>(&solved, &split, config.loss, device)?;
            console.line(&format!(
                "   Solved exactly: {}, {} iteration(s), {:.1} ms.",
                solved.method,
                solved.fit.iterations,
                solved.seconds * 1e3
            ));
            let report = ExactReport::new(&split, config.loss, &trained.model, &solved, device)?;
            (trained, Some(report), Samples::from_host(&split))
        }
    };
    console.line(&metrics_table(
        &[
            ("train", &trained.train_metrics),
            ("test", &trained.test_metrics),
        ],
        targets,
    ));

    if let (SolverArg::Gd, Some(report)) = (args.solver, &exact_report) {
        for line in report.lines() {
            console.line(&line);
        }
    }

    // Nothing is written until training succeeded: a failed run keeps the last good model.
    artifacts::prepare_out_dir(&args.out)?;
    let one_feature_figure = features.len() == 1 && targets.len() == 1 && standardizer.is_none();
    let plots = draw_plots::<B>(
        &args.out,
        &samples,
        one_feature_figure,
        &targets[0],
        &trained,
        device,
    )?;
    let info = ModelInfo {
        features: features.clone(),
        targets: targets.clone(),
        loss: config.loss.name().into(),
        standardizer: standardizer.clone(),
    };
    let (model_path, meta_path) = artifacts::save_model(&trained.model, &info, &args.out)?;
    let final_params = ParamsJson::from(trained.model.params());
    let summary = Summary {
        backend: placement.backend.into(),
        device: placement.device.clone(),
        seed: Some(args.seed),
        init: format!(
            "U(-1/sqrt(inputs), 1/sqrt(inputs)) from linreg's generator with seed {}, the same on every backend",
            args.seed
        ),
        features: features.clone(),
        targets: targets.clone(),
        rows,
        standardized: standardizer.is_some(),
        epochs: config.epochs,
        epochs_run: trained.epochs_run,
        best_epoch: trained.best_epoch,
        lr: config.lr,
        loss: config.loss.name().into(),
        optimizer: config.optimizer.name().into(),
        schedule: config.schedule.name().into(),
        batch_size: config.batch_size,
        solver: args.solver.name().into(),
        initial,
        original_units: final_params.in_original_units(standardizer.as_ref()),
        final_params,
        history: trained.history.clone(),
        train_loss: trained.train_loss,
        test_loss: trained.test_loss,
        metrics: MetricsPair {
            train: MetricsJson::new(&trained.train_metrics, targets),
            test: MetricsJson::new(&trained.test_metrics, targets),
        },
        exact: exact_report,
        seconds: trained.seconds,
        files: Files {
            model: model_path.clone(),
            model_meta: meta_path.clone(),
            plots: plots.clone(),
        },
    };
    let summary_path = artifacts::save_summary(&summary, &args.out)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    console.line("   Files written:");
    for path in [&model_path, &meta_path, &summary_path]
        .into_iter()
        .chain(&plots)
    {
        console.line(&format!("   {}", path.display()));
    }
    Ok(())
}

/// The rows the figures show: at most `linreg_plot::MAX_POINTS` evenly spaced ones per set,
/// exactly those the plot would keep of all rows, read from wherever the rows are.
struct Samples {
    train: Dataset,
    test: Dataset,
}

/// Every `⌈n / MAX_POINTS⌉`-th row, as `linreg-plot` thins a series.
fn plotted_rows(n: usize) -> Vec<usize> {
    let stride = n.div_ceil(linreg_plot::MAX_POINTS).max(1);
    (0..n).step_by(stride).collect()
}

impl Samples {
    fn from_device<B: burn::prelude::Backend>(data: &DeviceSplit<B>) -> Self {
        let sample = |d: &DeviceData<B>| d.rows(&plotted_rows(d.len()));
        Self {
            train: sample(&data.train),
            test: sample(&data.test),
        }
    }

    fn from_host(split: &Split) -> Self {
        let sample = |d: &Dataset| {
            let idx = plotted_rows(d.len());
            Dataset {
                x: d.x.select_rows(&idx),
                y: d.y.select_rows(&idx),
            }
        };
        Self {
            train: sample(&split.train),
            test: sample(&split.test),
        }
    }
}

/// The loss curves, and the predictions: the tutorial's x–y figures for one feature,
/// predicted-vs-actual for the first target otherwise.
fn draw_plots<B: FusedAutodiffBackend>(
    dir: &Path,
    samples: &Samples,
    one_feature_figure: bool,
    target: &str,
    trained: &Trained<B>,
    device: &B::Device,
) -> Result<Vec<PathBuf>> {
    let (train, test) = (&samples.train, &samples.test);
    let train_pred = predict(&trained.model, &train.x, device);
    let test_pred = predict(&trained.model, &test.x, device);
    let column = |m: &linreg_data::Matrix| m.column_values(0);
    let mut written = crate::report::loss_curves(dir, &trained.history)?;
    for ext in ["png", "svg"] {
        let path = dir.join(format!("predictions.{ext}"));
        if one_feature_figure {
            let train_xy = (train.x.values(), train.y.values());
            let test_xy = (test.x.values(), test.y.values());
            linreg_plot::plot_predictions(&path, train_xy, test_xy, Some(test_pred.values()))?;
            written.push(path);
            let path = dir.join(format!("data.{ext}"));
            linreg_plot::plot_predictions(&path, train_xy, test_xy, None)?;
            written.push(path);
            continue;
        }
        linreg_plot::plot_predicted_vs_actual(
            &path,
            target,
            (&column(&train.y), &column(&train_pred)),
            (&column(&test.y), &column(&test_pred)),
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
