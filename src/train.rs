//! `linreg train`: a model from a CSV table.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::tensor::backend::AutodiffBackend;
use linreg_data::rng::SplitMix64;
use linreg_data::{read_table, Columns, CsvOptions, Split, Standardizer, Table};
use linreg_model::{LinearParams, LrModelConfig};
use linreg_store::checkpoint::{RunIdentity, RunRecord};
use linreg_train::{
    predict, train_checkpointed, LossKind, OptimizerKind, Schedule, TrainConfig, TrainError,
    Trained,
};

use linreg_store::{
    Files, MetricsJson, MetricsPair, ModelInfo, ParamsJson, Rows, StoreError, Summary,
};

use crate::artifacts;
use crate::backend::Placement;
use crate::checkpoints::{self, Checkpoints, Interrupt};
use crate::cli::{LossArg, OptimizerArg, ScheduleArg, SolverArg, TrainArgs};
use crate::exact;
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
pub fn run<B: AutodiffBackend>(
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
    let options = csv_options(&args.table)?;
    let data = prepare(args, &options)?;
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

    let model_config = LrModelConfig::new()
        .with_d_input(features.len())
        .with_d_output(targets.len());
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
        None => model_config.init::<B>(device).with_params(&initial_params(
            features.len(),
            targets.len(),
            args.seed,
        ))?,
    };
    let mut initial = ParamsJson::from(model.params());
    let mut init = match &args.init_from {
        Some(path) => format!("loaded from {}", path.display()),
        None => format!(
            "U(-1/sqrt(inputs), 1/sqrt(inputs)) from linreg's generator with seed {}, the same on every backend",
            args.seed
        ),
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
            let solved = exact::solve(split, config.loss, args.l2, features)?;
            let trained = exact::trained_from_exact::<B>(&solved, split, config.loss, device)?;
            console.line(&format!(
                "   Solved exactly: {}, {} iteration(s), {:.1} ms.",
                solved.method,
                solved.fit.iterations,
                solved.seconds * 1e3
            ));
            let report = exact::report(split, config.loss, &trained.model, &solved, device)?;
            (trained, Some(report))
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
        for line in exact::report_lines(report) {
            console.line(&line);
        }
    }

    // Nothing is written until training succeeded: a failed run keeps the last good model.
    artifacts::prepare_out_dir(&args.out)?;
    let plots = draw_plots::<B>(&args.out, &data, &trained, device)?;
    let info = ModelInfo {
        features: features.clone(),
        targets: targets.clone(),
        loss: config.loss.name().into(),
        standardizer: data.standardizer.clone(),
    };
    let saved = linreg_store::save_model(&trained.model, &info, &args.out)?;
    let (model_path, meta_path) = (saved.record.clone(), saved.meta.clone());
    let final_params = ParamsJson::from(trained.model.params());
    let summary = Summary {
        backend: placement.backend.into(),
        device: placement.device.clone(),
        seed: Some(args.seed),
        init,
        features: features.clone(),
        targets: targets.clone(),
        rows: Rows {
            train: split.train.len(),
            test: split.test.len(),
        },
        standardized: data.standardizer.is_some(),
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
        original_units: final_params.in_original_units(data.standardizer.as_ref()),
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
            model_safetensors: saved.safetensors.clone(),
            plots: plots.clone(),
        },
    };
    let summary_path = linreg_store::save_summary(&summary, &args.out)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    console.line("   Files written:");
    for path in [&model_path, &meta_path, &saved.safetensors, &summary_path]
        .into_iter()
        .chain(&plots)
    {
        console.line(&format!("   {}", path.display()));
    }
    Ok(())
}

/// The loss curves, and the predictions: the tutorial's x–y figures for one feature,
/// predicted-vs-actual for the first target otherwise.
fn draw_plots<B: AutodiffBackend>(
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
