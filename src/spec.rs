//! The parsed arguments, checked once into the fitting library's specs. Below this module no
//! clap type is read: `linreg_fit::FitOptions::check` raises every "these options do not go
//! together" error; the few that the spec's types cannot even express are raised here.

use anyhow::{bail, Result};
use linreg_data::CsvOptions;
use linreg_fit::{
    AlphaChoice, Alphas, ApplySpec, BasisSpec, CheckpointSpec, ColumnSpec, CvRule, CvSpec,
    ElasticNet, Family, FitOptions, FitSpec, Folds, Init, Penalty, Route, Solver, SplitSpec,
    TableSpec,
};
use linreg_train::{LossKind, Schedule, TrainConfig};

use crate::cli::{
    CvRuleArg, EngineArg, LossArg, PenaltyArg, PenaltyArgs, ScheduleArg, SolverArg, TableArgs,
    TrainArgs, TutorialArgs, WeightsColumns,
};

/// `linreg train`'s arguments as a checked [`FitSpec`].
pub fn fit_spec(args: &TrainArgs) -> Result<FitSpec> {
    let options = FitOptions {
        table: table_spec(&args.table)?,
        columns: ColumnSpec {
            targets: args.target.clone(),
            features: args.features.clone(),
            weights: args.weights.clone(),
        },
        split: SplitSpec {
            test: args.test.clone(),
            train_fraction: args.train_fraction,
            shuffle: args.shuffle,
        },
        basis: BasisSpec {
            polynomial: args.polynomial,
            // Without an intercept the features are used as given, unless asked otherwise
            // (which the check refuses, saying why).
            standardize: match args.no_intercept {
                true => args.standardize,
                false => !args.no_standardize,
            },
            intercept: !args.no_intercept,
        },
        family: Family::Regression(loss(args)),
        penalty: penalty(args)?,
        solver: match solver(args) {
            SolverArg::Gd => Solver::Gd {
                compare_exact: args.compare_exact,
            },
            SolverArg::Exact => Solver::Exact {
                robust: args.robust.map(Into::into),
            },
        },
        train: train_config(args),
        route: route(args)?,
        init: match &args.init_from {
            Some(path) => Init::From(path.clone()),
            None => Init::Seeded,
        },
        seed: args.seed,
        checkpoints: CheckpointSpec {
            every: args.checkpoint_every,
            keep: args.keep_checkpoints,
            resume: args.resume.clone(),
        },
    };
    let spec = options.check()?;
    // The spec's gradient descent has no standard errors to make robust.
    if args.robust.is_some() && solver(args) == SolverArg::Gd {
        bail!("--robust applies to the inference table of --solver exact --loss mse");
    }
    Ok(spec)
}

/// The solver: as given (the spec refuses gradient descent with a penalty), else coordinate
/// descent (exact) for a penalty, else gradient descent.
fn solver(args: &TrainArgs) -> SolverArg {
    match args.solver {
        Some(s) => s,
        None if penalized(&args.penalty) => SolverArg::Exact,
        None => SolverArg::Gd,
    }
}

/// Whether any elastic-net option was given.
fn penalized(p: &PenaltyArgs) -> bool {
    p.penalty.is_some()
        || p.alpha.is_some()
        || p.l1_ratio.is_some()
        || p.path
        || p.alphas.is_some()
        || p.cv.is_some()
        || p.cv_column.is_some()
}

/// `--l2`, or the elastic net the penalty options describe.
fn penalty(args: &TrainArgs) -> Result<Penalty> {
    let p = &args.penalty;
    if !penalized(p) {
        if p.n_alphas.is_some()
            || p.alpha_min_ratio.is_some()
            || p.cv_rule.is_some()
            || p.tol.is_some()
        {
            bail!("--n-alphas, --alpha-min-ratio, --cv-rule and --tol shape a penalized fit: add --penalty (with --path or --cv)");
        }
        return Ok(Penalty::ridge(args.l2));
    }
    if args.l2 != 0.0 {
        bail!("--l2 is the closed-form ridge; with --penalty use --penalty l2 --alpha A (the same fit: MSE + A‖w‖², with the population standard deviation when standardizing)");
    }
    Ok(Penalty::ElasticNet(ElasticNet {
        l1_ratio: l1_ratio(p)?,
        alphas: alphas(p)?,
        choice: choice(p)?,
        tol: p.tol.unwrap_or(ElasticNet::DEFAULT_TOL),
    }))
}

fn l1_ratio(p: &PenaltyArgs) -> Result<f64> {
    Ok(match (p.penalty, p.l1_ratio) {
        (Some(PenaltyArg::L1) | None, None) => 1.0,
        (Some(PenaltyArg::L2), None) => 0.0,
        (Some(PenaltyArg::Elasticnet), None) => 0.5,
        (Some(PenaltyArg::Elasticnet) | None, Some(r)) => r,
        // Saying what the penalty already says is no conflict.
        (Some(PenaltyArg::L1), Some(r)) if r == 1.0 => r,
        (Some(PenaltyArg::L2), Some(r)) if r == 0.0 => r,
        (Some(k), Some(r)) => bail!(
            "--l1-ratio {r} mixes the elastic net; --penalty {} fixes it at {}: use --penalty elasticnet --l1-ratio {r}",
            if k == PenaltyArg::L1 { "l1" } else { "l2" },
            if k == PenaltyArg::L1 { 1 } else { 0 }
        ),
    })
}

fn alphas(p: &PenaltyArgs) -> Result<Alphas> {
    let path = p.path || p.cv.is_some() || p.cv_column.is_some();
    let grid = p.n_alphas.is_some() || p.alpha_min_ratio.is_some();
    match (p.alpha, &p.alphas) {
        (Some(_), _) if path || p.alphas.is_some() => bail!(
            "--alpha fits one α; a path (--path, --cv) takes its α from --alphas A,B,… or a grid \
             (--n-alphas, --alpha-min-ratio)"
        ),
        _ if grid && (p.alpha.is_some() || p.alphas.is_some()) => bail!(
            "--n-alphas and --alpha-min-ratio shape a generated grid; --alpha and --alphas give \
             the α values themselves: use one or the other"
        ),
        (Some(a), _) => Ok(Alphas::Given(vec![a])),
        (None, Some(list)) => Ok(Alphas::Given(list.clone())),
        (None, None) if path => Ok(Alphas::Grid {
            count: p.n_alphas.unwrap_or(100),
            min_ratio: p.alpha_min_ratio.unwrap_or(1e-3),
        }),
        (None, None) => bail!(
            "--penalty needs a strength: --alpha A for one fit, --path for the whole path, or \
             --cv K to choose α by cross-validation"
        ),
    }
}

fn choice(p: &PenaltyArgs) -> Result<AlphaChoice> {
    let folds = match (p.cv, &p.cv_column) {
        (Some(k), None) => Folds::Seeded(k),
        (None, Some(c)) => Folds::Column(c.clone()),
        _ if p.cv_rule.is_some() => {
            bail!("--cv-rule chooses among the folds of --cv K or --cv-column COL: add one")
        }
        _ => return Ok(AlphaChoice::Smallest),
    };
    Ok(AlphaChoice::CrossValidation(CvSpec {
        folds,
        rule: match p.cv_rule {
            Some(CvRuleArg::OneSe) => CvRule::OneSe,
            _ => CvRule::Min,
        },
    }))
}

/// The loss the arguments name.
fn loss(args: &TrainArgs) -> LossKind {
    match args.loss {
        LossArg::L1 => LossKind::L1,
        LossArg::Mse => LossKind::Mse,
        LossArg::Huber => LossKind::Huber {
            delta: args.huber_delta,
        },
    }
}

/// Gradient descent's hyperparameters.
pub fn train_config(args: &TrainArgs) -> TrainConfig {
    TrainConfig::new()
        .with_epochs(args.epochs)
        .with_lr(args.lr)
        .with_log_every(args.log_every)
        .with_loss(loss(args))
        .with_optimizer(args.optimizer.into())
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

/// The route `--engine`, `--where` and `--cluster` ask for.
fn route(args: &TrainArgs) -> Result<Route> {
    let query_engine = matches!(args.engine, EngineArg::Datafusion | EngineArg::Ballista);
    if args.filter.is_some() && !query_engine {
        bail!("--where filters rows in a query engine: add --engine datafusion (or ballista)");
    }
    if args.cluster.is_some() && args.engine != EngineArg::Ballista {
        bail!("--cluster names a Ballista scheduler: add --engine ballista");
    }
    let filter = args.filter.clone();
    Ok(match args.engine {
        EngineArg::Auto => Route::Auto,
        EngineArg::Memory => Route::Memory,
        EngineArg::Stream => Route::Stream,
        EngineArg::Datafusion => Route::DataFusion { filter },
        EngineArg::Ballista => Route::Ballista {
            filter,
            cluster: args.cluster.clone(),
        },
    })
}

/// The table options: `--delimiter` must be one ASCII character (or `\t`).
pub fn table_spec(args: &TableArgs) -> Result<TableSpec> {
    let delimiter = match args.delimiter.as_deref() {
        None => None,
        Some("\\t" | "tab" | "\t") => Some(b'\t'),
        Some(d) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
        Some(d) => bail!("--delimiter {d:?} is invalid: give one character, such as , or ; or \\t"),
    };
    Ok(TableSpec {
        data: args.data.clone(),
        csv: CsvOptions { delimiter },
        memory_limit: args.memory_limit,
    })
}

/// `evaluate`'s and `predict`'s model and table.
pub fn apply_spec(
    model: &std::path::Path,
    columns: &WeightsColumns,
    table: &TableArgs,
) -> Result<ApplySpec> {
    Ok(ApplySpec {
        model: model.to_path_buf(),
        features: columns.features.clone(),
        targets: columns.target.clone(),
        table: table_spec(table)?,
        alpha: columns.alpha,
    })
}

/// The tutorial run's arguments, checked.
pub struct TutorialSpec {
    /// L1 loss, SGD: the tutorial's loop.
    pub config: TrainConfig,
    /// The line the data come from.
    pub line: linreg_data::LineSpec,
    /// Share of the rows (in order) that train.
    pub train_fraction: f64,
    /// A PyTorch or safetensors start.
    pub init_from: Option<std::path::PathBuf>,
    /// Draw the start from Burn's generator with this seed.
    pub seed: Option<u64>,
    /// Start from this weight and bias instead (each overrides the draw or the file).
    pub init: (Option<f32>, Option<f32>),
    /// Train as the tutorial does, or solve for the L1 optimum.
    pub solver: Solver,
    /// Where the files go.
    pub out: std::path::PathBuf,
    /// Write report.html.
    pub report: bool,
}

/// The tutorial's arguments, checked before any work or any file.
pub fn tutorial_spec(args: &TutorialArgs) -> Result<TutorialSpec> {
    let config = TrainConfig::new()
        .with_epochs(args.epochs)
        .with_lr(args.lr)
        .with_log_every(args.log_every)
        .with_loss(LossKind::L1)
        .with_train_step(args.train_step.into());
    config.validate()?;
    for (name, v) in [
        ("init-weight", args.init_weight),
        ("init-bias", args.init_bias),
    ] {
        if v.is_some_and(|v| !v.is_finite()) {
            bail!("--{name} must be a finite number");
        }
    }
    Ok(TutorialSpec {
        config,
        line: linreg_data::LineSpec {
            weight: args.weight,
            bias: args.bias,
            step: args.step,
        },
        train_fraction: args.train_fraction,
        init_from: args.init_from.clone(),
        seed: args.seed,
        init: (args.init_weight, args.init_bias),
        solver: match args.solver {
            SolverArg::Gd => Solver::Gd {
                compare_exact: false,
            },
            SolverArg::Exact => Solver::Exact { robust: None },
        },
        out: args.out.clone(),
        report: !args.report.no_report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn train(args: &[&str]) -> TrainArgs {
        let all = [
            &["linreg", "train", "--data", "d.csv", "--target", "y"],
            args,
        ]
        .concat();
        match crate::cli::Cli::try_parse_from(all).unwrap().command {
            Some(crate::cli::Command::Train(t)) => *t,
            _ => panic!("train"),
        }
    }

    fn message(args: &[&str]) -> String {
        format!("{:#}", fit_spec(&train(args)).unwrap_err())
    }

    #[test]
    fn delimiters() {
        let t = |d: Option<&str>| {
            table_spec(&TableArgs {
                data: "x.csv".into(),
                delimiter: d.map(String::from),
                memory_limit: Default::default(),
            })
            .map(|s| s.csv.delimiter)
        };
        assert_eq!(t(None).unwrap(), None);
        assert_eq!(t(Some(";")).unwrap(), Some(b';'));
        assert_eq!(t(Some("\\t")).unwrap(), Some(b'\t'));
        assert!(t(Some(";;")).is_err());
    }

    #[test]
    fn arguments_map_onto_the_spec() {
        let spec = fit_spec(&train(&[
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
            "--seed",
            "4",
        ]))
        .unwrap();
        let c = spec.train_config();
        assert_eq!(c.loss, LossKind::Huber { delta: 2.0 });
        assert_eq!(c.optimizer, linreg_train::OptimizerKind::AdamW);
        assert_eq!(
            c.schedule,
            Schedule::Step {
                step_size: 7,
                gamma: 0.5
            }
        );
        assert_eq!(
            (c.batch_size, c.patience, c.weight_decay, c.seed),
            (Some(32), Some(9), 0.01, 4)
        );
        assert_eq!(
            spec.family,
            Family::Regression(LossKind::Huber { delta: 2.0 })
        );
        assert!(spec.basis.standardize && spec.basis.intercept);
        assert_eq!(spec.route, Route::Auto);
    }

    #[test]
    fn options_that_do_not_go_together_are_refused_here() {
        let cases: [(&[&str], &str); 8] = [
            (
                &["--robust", "hc1"],
                "--robust applies to the inference table",
            ),
            (
                &["--where", "x > 0"],
                "--where filters rows in a query engine",
            ),
            (
                &["--cluster", "df://h:1"],
                "--cluster names a Ballista scheduler",
            ),
            (&["--l2", "1"], "--l2 applies to --solver exact"),
            (
                &["--solver", "exact", "--robust", "hc1", "--l2", "1"],
                "--robust needs ordinary least squares",
            ),
            (
                &["--no-intercept", "--standardize"],
                "--no-intercept cannot standardize",
            ),
            (
                &["--weights", "w"],
                "--weights applies to --solver exact --loss mse",
            ),
            (
                &["--solver", "exact", "--checkpoint-every", "5"],
                "apply to gradient descent",
            ),
        ];
        for (args, expected) in cases {
            let m = message(args);
            assert!(m.contains(expected), "{args:?}: {m}");
        }
        assert!(message(&["--epochs", "0"]).contains("--epochs = 0 is invalid"));
    }
}
