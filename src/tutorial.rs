//! The no-argument run: the PyTorch "Linear Models" tutorial, section by section.

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use linreg_data::{LineSpec, Split};
use linreg_model::{LinearParams, LrModel, LrModelConfig};
use linreg_train::{predict, train, FusedAutodiffBackend, LogEntry, LossKind, TrainConfig};

use linreg_store::{Files, MetricsJson, MetricsPair, ModelInfo, ParamsJson, Rows, Summary};

use crate::artifacts;
use crate::backend::Placement;
use crate::cli::{SolverArg, TutorialArgs, PYTORCH_SEED42_BIAS, PYTORCH_SEED42_WEIGHT};
use crate::exact;

/// Runs the tutorial on backend `B` and writes its files to `args.out`.
pub fn run<B: FusedAutodiffBackend>(
    args: &TutorialArgs,
    device: &B::Device,
    placement: &Placement,
) -> Result<()> {
    // Everything the user typed is checked before any work or any file.
    let config = TrainConfig::new()
        .with_epochs(args.epochs)
        .with_lr(args.lr)
        .with_log_every(args.log_every)
        .with_loss(LossKind::L1)
        .with_train_step(args.train_step.into());
    config.validate()?;
    let spec = LineSpec {
        weight: args.weight,
        bias: args.bias,
        step: args.step,
    };
    let data = spec.generate()?;
    let n = data.len();
    let split = Split::ordered(data, args.train_fraction)?;
    for (name, v) in [
        ("init-weight", args.init_weight),
        ("init-bias", args.init_bias),
    ] {
        if v.is_some_and(|v| !v.is_finite()) {
            anyhow::bail!("--{name} must be a finite number");
        }
    }
    // A start file is read (and checked) before anything is printed.
    let (model, init) = initial_model::<B>(args, device)?;

    println!(
        "linreg: the PyTorch \"Linear Models\" tutorial on Burn (backend {}, device {})",
        placement.backend, placement.device
    );
    println!("\n1. Getting the data");
    println!(
        "   y = {}·x + {} for x = arange(0, 1, {}): {n} points",
        spec.weight, spec.bias, spec.step
    );
    println!("\n2. Training and test data");
    println!(
        "   {} training rows, {} test rows (the first {}% in order train)",
        split.train.len(),
        split.test.len(),
        args.train_fraction * 100.0
    );

    let initial = model.params();
    println!("   Initial parameters ({init}):");
    println!("   {}", state_dict(&initial));

    let names = |n: &str| vec![n.to_string()];
    let (trained, report) = match args.solver {
        SolverArg::Gd => {
            println!(
                "\n3. Training the model: L1 loss, SGD (lr {}), {} full-batch epochs",
                config.lr, config.epochs
            );
            let trained = train(model, &split, &config, device, &mut |e: &LogEntry| {
                println!("{}", crate::report::epoch_line(e));
            })?;
            let report = exact::compare_if(
                false,
                &split,
                config.loss,
                &trained.model,
                &names("x"),
                device,
            );
            (trained, report)
        }
        SolverArg::Exact => {
            println!("\n3. Solving for the L1 optimum exactly (least absolute deviations)");
            let solved = exact::solve(&split, config.loss, 0.0, &names("x"), true)?;
            let trained = exact::trained_from_exact::<B>(&solved, &split, config.loss, device)?;
            let report = exact::report(&split, config.loss, &trained.model, &solved, device)?;
            (trained, Some(report))
        }
    };
    let final_params = trained.model.params();
    println!(
        "   {} in {:.1} ms. Final parameters (true line: weight {}, bias {}):",
        if args.solver == SolverArg::Gd {
            "Trained"
        } else {
            "Solved"
        },
        trained.seconds * 1e3,
        spec.weight,
        spec.bias
    );
    println!("   {}", state_dict(&final_params));
    println!(
        "   Final loss: train {}, test {}",
        trained.train_loss, trained.test_loss
    );
    if let (SolverArg::Gd, Some(report)) = (args.solver, &report) {
        for line in exact::report_lines(report) {
            println!("{line}");
        }
    }

    // Nothing is written until training succeeded: a failed run keeps the last good model.
    artifacts::prepare_out_dir(&args.out)?;
    let inner_device = device.clone();
    let predictions = predict(&trained.model, &split.test.x, &inner_device).into_values();
    let plots = draw_plots(&args.out, &split, &predictions, &trained.history)?;

    println!("\n4. Saving models");
    let info = ModelInfo {
        features: names("x"),
        targets: names("y"),
        loss: config.loss.name().into(),
        standardizer: None,
        polynomial: None,
        exact: None,
    };
    let saved = linreg_store::save_model(&trained.model, &info, &args.out)?;
    let (model_path, meta_path) = (saved.record.clone(), saved.meta.clone());
    let (loaded, _) = linreg_store::load_model::<B::InnerBackend>(&args.out, &inner_device)?;
    let reloaded = predict(&loaded, &split.test.x, &inner_device).into_values();
    anyhow::ensure!(
        reloaded == predictions,
        "the model loaded back from {} predicts differently from the trained one",
        model_path.display()
    );
    println!(
        "   Saved to {}; loaded it into a fresh LrModel: its {} test predictions equal the trained model's.",
        model_path.display(),
        reloaded.len()
    );
    // The PyTorch copy, read back as PyTorch's keys and layout, must predict the same too.
    let torch =
        linreg_store::load_weights::<B::InnerBackend>(&saved.safetensors, None, &inner_device)?;
    anyhow::ensure!(
        predict(&torch, &split.test.x, &inner_device).into_values() == predictions,
        "the model loaded back from {} predicts differently from the trained one",
        saved.safetensors.display()
    );
    println!(
        "   For PyTorch: {} (loaded_model.load_state_dict(safetensors.torch.load_file(\"{}\"))).",
        saved.safetensors.display(),
        saved.safetensors.display()
    );

    let summary = Summary {
        backend: placement.backend.into(),
        device: placement.device.clone(),
        seed: args.seed,
        init: init.clone(),
        features: info.features.clone(),
        targets: info.targets.clone(),
        rows: Rows {
            train: split.train.len(),
            test: split.test.len(),
        },
        standardized: false,
        epochs: config.epochs,
        epochs_run: trained.epochs_run,
        best_epoch: None,
        lr: config.lr,
        loss: config.loss.name().into(),
        optimizer: config.optimizer.name().into(),
        schedule: config.schedule.name().into(),
        batch_size: None,
        solver: args.solver.name().into(),
        initial: initial.into(),
        original_units: ParamsJson::from(final_params.clone()),
        final_params: final_params.into(),
        history: trained.history,
        train_loss: trained.train_loss,
        test_loss: trained.test_loss,
        metrics: MetricsPair {
            train: MetricsJson::new(&trained.train_metrics, &info.targets),
            test: MetricsJson::new(&trained.test_metrics, &info.targets),
        },
        exact: report,
        inference: None,
        seconds: trained.seconds,
        files: Files {
            model: model_path.clone(),
            model_meta: meta_path.clone(),
            model_safetensors: saved.safetensors.clone(),
            plots: plots.clone(),
        },
    };
    let summary_path = linreg_store::save_summary(&summary, &args.out)?;
    let report = crate::html::tutorial(args, &split, &predictions, &summary, &summary_path)?;

    println!("\n5. Files written");
    for path in [&model_path, &meta_path, &saved.safetensors, &summary_path]
        .into_iter()
        .chain(&plots)
        .chain(&report)
    {
        println!("   {}", path.display());
    }
    Ok(())
}

/// The starting model and a sentence saying where its parameters came from.
fn initial_model<B: Backend>(
    args: &TutorialArgs,
    device: &B::Device,
) -> Result<(LrModel<B>, String)> {
    let config = LrModelConfig::new();
    let (model, mut source) = match (&args.init_from, args.seed) {
        // Any `Linear(1, 1)` state_dict, such as the one the tutorial saves (the parser refuses
        // `--seed` beside `--init-from`).
        (Some(path), _) => {
            let model = linreg_store::load_weights::<B>(path, Some(&config), device)?;
            (model, format!("loaded from {}", path.display()))
        }
        (None, Some(seed)) => {
            B::seed(device, seed);
            (
                config.init::<B>(device),
                format!("drawn by Burn's generator with seed {seed}"),
            )
        }
        (None, None) => {
            let model = config.init::<B>(device).with_params(&LinearParams {
                weight: vec![vec![PYTORCH_SEED42_WEIGHT]],
                bias: vec![PYTORCH_SEED42_BIAS],
            })?;
            (
                model,
                "PyTorch's nn.Linear draw after torch.manual_seed(42); --seed N draws from Burn's generator"
                    .to_string(),
            )
        }
    };
    if args.init_weight.is_none() && args.init_bias.is_none() {
        return Ok((model, source));
    }
    let mut p = model.params();
    if let Some(w) = args.init_weight {
        p.weight[0][0] = w;
    }
    if let Some(b) = args.init_bias {
        p.bias[0] = b;
    }
    source.push_str(", overridden by --init-weight/--init-bias");
    Ok((model.with_params(&p)?, source))
}

/// PyTorch's `state_dict()` printout, with every digit of each f32.
fn state_dict(p: &LinearParams) -> String {
    let rows: Vec<String> = p.weight.iter().map(|r| format!("[{}]", join(r))).collect();
    format!(
        "OrderedDict([('linear.weight', tensor([{}])), ('linear.bias', tensor([{}]))])",
        rows.join(", "),
        join(&p.bias)
    )
}

fn join(v: &[f32]) -> String {
    v.iter().map(f32::to_string).collect::<Vec<_>>().join(", ")
}

/// The tutorial's three figures, each as PNG and SVG.
fn draw_plots(
    dir: &Path,
    split: &Split,
    predictions: &[f32],
    history: &[LogEntry],
) -> Result<Vec<PathBuf>> {
    let train = (split.train.x.values(), split.train.y.values());
    let test = (split.test.x.values(), split.test.y.values());
    let mut written = crate::report::loss_curves(dir, history)?;
    for ext in ["png", "svg"] {
        let path = dir.join(format!("data.{ext}"));
        linreg_plot::plot_predictions(&path, train, test, None)?;
        written.push(path);
        let path = dir.join(format!("predictions.{ext}"));
        linreg_plot::plot_predictions(&path, train, test, Some(predictions))?;
        written.push(path);
    }
    written.sort();
    Ok(written)
}
