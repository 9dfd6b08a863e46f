//! The no-argument run: the PyTorch "Linear Models" tutorial, section by section.

use anyhow::Result;
use burn::prelude::*;
use linreg_data::Split;
use linreg_model::{LinearParams, LrModel, LrModelConfig};
use linreg_store::{
    ExactReport, Files, MetricsJson, MetricsPair, ModelInfo, ParamsJson, Rows, SavedModel, Summary,
};
use linreg_train::{predict, train, FusedAutodiffBackend, LogEntry, Trained};

use crate::cli::{TutorialArgs, PYTORCH_SEED42_BIAS, PYTORCH_SEED42_WEIGHT};
use crate::console::Console;
use crate::device::Placement;
use crate::spec::TutorialSpec;
use crate::{artifacts, messages, plots};
use linreg_fit::Solver;

/// Runs the tutorial on backend `B` and writes its files to its `--out`.
pub fn run<B: FusedAutodiffBackend>(
    args: &TutorialArgs,
    device: &B::Device,
    placement: &Placement,
) -> Result<()> {
    // Everything the user typed is checked before any work or any file.
    let spec = crate::spec::tutorial_spec(args)?;
    let line = &spec.line;
    let data = line.generate()?;
    let n = data.len();
    let split = Split::ordered(data, spec.train_fraction)?;
    // A start file is read (and checked) before anything is printed.
    let (model, init) = initial_model::<B>(&spec, device)?;
    println!(
        "linreg: the PyTorch \"Linear Models\" tutorial on Burn (backend {}, device {})",
        placement.backend, placement.device
    );
    println!("\n1. Getting the data");
    println!(
        "   y = {}·x + {} for x = arange(0, 1, {}): {n} points",
        line.weight, line.bias, line.step
    );
    println!("\n2. Training and test data");
    println!(
        "   {} training rows, {} test rows (the first {}% in order train)",
        split.train.len(),
        split.test.len(),
        spec.train_fraction * 100.0
    );
    let initial = model.params();
    println!("   Initial parameters ({init}):");
    println!("   {}", state_dict(&initial));
    let (trained, report) = fit::<B>(&spec, &split, model, device)?;
    print_result(&spec, &trained, report.as_ref());
    let run = Finished {
        spec: &spec,
        split: &split,
        placement,
        init,
        initial: initial.into(),
        report,
    };
    run.write(trained, device)
}

/// Section 3: gradient descent as the tutorial does it, or the exact L1 optimum.
fn fit<B: FusedAutodiffBackend>(
    spec: &TutorialSpec,
    split: &Split,
    model: LrModel<B>,
    device: &B::Device,
) -> Result<(Trained<B>, Option<ExactReport>)> {
    let (names, config) = (["x".to_string()], &spec.config);
    let mut warnings = Console::new(false);
    match spec.solver {
        Solver::Gd { .. } => {
            println!(
                "\n3. Training the model: L1 loss, SGD (lr {}), {} full-batch epochs",
                config.lr, config.epochs
            );
            let trained = train(model, split, config, device, &mut |e: &LogEntry| {
                println!("{}", crate::console::epoch_line(e));
            })?;
            let (loss, m) = (config.loss, &trained.model);
            let report =
                linreg_fit::compare_if(false, split, loss, m, &names, device, &mut warnings);
            Ok((trained, report))
        }
        Solver::Exact { .. } => {
            println!("\n3. Solving for the L1 optimum exactly (least absolute deviations)");
            let solved = linreg_fit::solve(split, config.loss, 0.0, &names, true, &mut warnings)?;
            let trained = linreg_fit::trained_from_exact::<B>(&solved, split, config.loss, device)?;
            let report = linreg_fit::report(split, config.loss, &trained.model, &solved, device)?;
            Ok((trained, Some(report)))
        }
    }
}

/// The end of section 3: the final parameters and losses, and the gap to the optimum.
fn print_result<B: FusedAutodiffBackend>(
    spec: &TutorialSpec,
    trained: &Trained<B>,
    report: Option<&ExactReport>,
) {
    println!(
        "   {} in {:.1} ms. Final parameters (true line: weight {}, bias {}):",
        if spec.solver.is_exact() {
            "Solved"
        } else {
            "Trained"
        },
        trained.seconds * 1e3,
        spec.line.weight,
        spec.line.bias
    );
    println!("   {}", state_dict(&trained.model.params()));
    println!(
        "   Final loss: train {}, test {}",
        trained.train_loss, trained.test_loss
    );
    if let (false, Some(report)) = (spec.solver.is_exact(), report) {
        for line in messages::report_lines(report) {
            println!("{line}");
        }
    }
}

/// A finished tutorial run, before its files are written.
struct Finished<'a> {
    spec: &'a TutorialSpec,
    split: &'a Split,
    placement: &'a Placement,
    init: String,
    initial: ParamsJson,
    report: Option<ExactReport>,
}

impl Finished<'_> {
    /// Sections 4 and 5: the model saved and loaded back, the summary, the figures and the
    /// report. Nothing is written until training succeeded: a failed run keeps the last
    /// good model.
    fn write<B: FusedAutodiffBackend>(self, trained: Trained<B>, device: &B::Device) -> Result<()> {
        let (spec, split) = (self.spec, self.split);
        let out = &spec.out;
        artifacts::prepare_out_dir(out)?;
        let predictions = predict(&trained.model, &self.split.test.x, device).into_values();
        let plots = plots::tutorial(out, self.split, &predictions, &trained.history)?;
        println!("\n4. Saving models");
        let info = ModelInfo {
            features: vec!["x".into()],
            targets: vec!["y".into()],
            loss: spec.config.loss.name().into(),
            standardizer: None,
            polynomial: None,
            exact: None,
            path: None,
        };
        let saved = linreg_store::save_model(&trained.model, &info, out)?;
        reload_and_compare::<B>(&saved, out, self.split, &predictions, device)?;
        let summary = self.summary(trained, &info, &saved, plots.clone());
        let summary_path = linreg_store::save_summary(&summary, out)?;
        let report = crate::html::tutorial(spec, split, &predictions, &summary, &summary_path)?;
        println!("\n5. Files written");
        for path in [
            &saved.record,
            &saved.meta,
            &saved.safetensors,
            &summary_path,
        ]
        .into_iter()
        .chain(&plots)
        .chain(&report)
        {
            println!("   {}", path.display());
        }
        Ok(())
    }

    fn summary<B: FusedAutodiffBackend>(
        self,
        trained: Trained<B>,
        info: &ModelInfo,
        saved: &SavedModel,
        plots: Vec<std::path::PathBuf>,
    ) -> Summary {
        let (config, split) = (&self.spec.config, self.split);
        let final_params = trained.model.params();
        Summary {
            backend: self.placement.backend.into(),
            device: self.placement.device.clone(),
            seed: self.spec.seed,
            init: self.init,
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
            solver: self.spec.solver.name().into(),
            initial: self.initial,
            original_units: ParamsJson::from(final_params.clone()),
            final_params: final_params.into(),
            history: trained.history,
            train_loss: trained.train_loss,
            test_loss: trained.test_loss,
            metrics: MetricsPair {
                train: MetricsJson::new(&trained.train_metrics, &info.targets),
                test: MetricsJson::new(&trained.test_metrics, &info.targets),
            },
            exact: self.report,
            inference: None,
            penalty: None,
            seconds: trained.seconds,
            files: Files {
                model: saved.record.clone(),
                model_meta: saved.meta.clone(),
                model_safetensors: saved.safetensors.clone(),
                plots,
            },
        }
    }
}

/// Loads the saved model back, as Burn's record and as PyTorch's safetensors, and checks
/// that both predict exactly what the trained model predicted.
fn reload_and_compare<B: FusedAutodiffBackend>(
    saved: &SavedModel,
    out: &std::path::Path,
    split: &Split,
    predictions: &[f32],
    device: &B::Device,
) -> Result<()> {
    let (loaded, _) = linreg_store::load_model::<B::InnerBackend>(out, device)?;
    let reloaded = predict(&loaded, &split.test.x, device).into_values();
    anyhow::ensure!(
        reloaded == predictions,
        "the model loaded back from {} predicts differently from the trained one",
        saved.record.display()
    );
    println!(
        "   Saved to {}; loaded it into a fresh LrModel: its {} test predictions equal the trained model's.",
        saved.record.display(),
        reloaded.len()
    );
    // The PyTorch copy, read back as PyTorch's keys and layout, must predict the same too.
    let torch = linreg_store::load_weights::<B::InnerBackend>(&saved.safetensors, None, device)?;
    anyhow::ensure!(
        predict(&torch, &split.test.x, device).into_values() == predictions,
        "the model loaded back from {} predicts differently from the trained one",
        saved.safetensors.display()
    );
    println!(
        "   For PyTorch: {} (loaded_model.load_state_dict(safetensors.torch.load_file(\"{}\"))).",
        saved.safetensors.display(),
        saved.safetensors.display()
    );
    Ok(())
}

/// The starting model and a sentence saying where its parameters came from.
fn initial_model<B: Backend>(
    spec: &TutorialSpec,
    device: &B::Device,
) -> Result<(LrModel<B>, String)> {
    let config = LrModelConfig::new();
    let (model, mut source) = match (&spec.init_from, spec.seed) {
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
    let (init_weight, init_bias) = spec.init;
    if init_weight.is_none() && init_bias.is_none() {
        return Ok((model, source));
    }
    let mut p = model.params();
    if let Some(w) = init_weight {
        p.weight[0][0] = w;
    }
    if let Some(b) = init_bias {
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
