//! `linreg train`: the arguments checked into a spec, the fit run by `linreg-fit` in memory
//! or out of core, then the messages and the files.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use linreg_fit::{
    fit_in_memory, start_gd, Engine, Fit, FitError, FitSpec, GdStart, OutOfCore, Prepared, Solver,
};
use linreg_train::{FusedAutodiffBackend, TrainError};

use crate::checkpoints::{Checkpoints, Interrupt};
use crate::cli::TrainArgs;
use crate::console::Console;
use crate::device::Placement;
use crate::{artifacts, html, messages, plots};

/// What a run writes and prints, besides the fit.
pub struct Outputs {
    /// `--out`.
    pub out: PathBuf,
    /// Write `report.html`.
    pub report: bool,
    /// Print the summary as JSON on stdout.
    pub json: bool,
}

/// Runs `linreg train` on backend `B`.
pub fn run<B: FusedAutodiffBackend>(
    args: &TrainArgs,
    device: &B::Device,
    placement: &Placement,
) -> Result<()> {
    let spec = crate::spec::fit_spec(args)?;
    let outputs = Outputs {
        out: args.out.clone(),
        report: !args.report.no_report,
        json: args.json,
    };
    // Checkpoints are written into --out during training: refuse a file there now.
    artifacts::check_out_dir(&outputs.out)?;
    let mut console = Console::new(args.quiet || args.json);
    let run = Run {
        spec: &spec,
        outputs: &outputs,
        placement,
    };
    match OutOfCore::engine_for(&spec)? {
        None => run.in_memory::<B>(device, &mut console),
        Some(engine) => run.out_of_core::<B>(engine, device, &mut console),
    }
}

/// One `linreg train`: its spec, what it writes, where it runs.
struct Run<'a> {
    spec: &'a FitSpec,
    outputs: &'a Outputs,
    placement: &'a Placement,
}

impl Run<'_> {
    fn in_memory<B: FusedAutodiffBackend>(
        &self,
        device: &B::Device,
        console: &mut Console,
    ) -> Result<()> {
        let started = Instant::now();
        let data = linreg_fit::prepare(self.spec)?;
        let prepared_in = started.elapsed().as_secs_f64();
        let (split, spec) = (&data.split, self.spec);
        let rows = (split.train.len() as u64, split.test.len() as u64);
        self.header(None, rows, &data.features, &data.targets, console);
        if data.standardizer.is_some() {
            console.line(
                "   features standardized with the training rows' mean and standard deviation",
            );
        }
        if !spec.basis.intercept {
            console.line("   no intercept: the model has no bias, features used as they are");
        }
        console.line(&format!(
            "   read, split and prepared in {prepared_in:.2} s"
        ));
        let start = start_gd::<B>(spec, &data, device)?;
        let fit = match spec.solver {
            Solver::Gd { .. } => self.gradient_descent(&data, start, device, console)?,
            Solver::Exact { .. } => fit_in_memory(spec, &data, start, device, console, &mut ())?,
        };
        self.finish(&fit, Some(&data), device, console)
    }

    /// Gradient descent in memory, with checkpoints every N epochs and on Ctrl-C.
    fn gradient_descent<B: FusedAutodiffBackend>(
        &self,
        data: &Prepared,
        start: GdStart<B>,
        device: &B::Device,
        console: &mut Console,
    ) -> Result<Fit<B>> {
        let config = self.spec.train_config();
        if let Some((_, meta, dir)) = &start.resumed {
            console.line(&format!(
                "   resuming from {} after epoch {} of {}",
                dir.display(),
                meta.epochs_done,
                config.epochs
            ));
        }
        let run = start.run.clone();
        let interrupt = Interrupt::listen()?;
        console.line(&format!(
            "   Training {} epochs; Ctrl-C stops after the current epoch and saves a checkpoint.",
            config.epochs
        ));
        let mut saver = Checkpoints::new(
            &self.spec.checkpoints,
            &self.outputs.out,
            config,
            &run,
            &interrupt,
        );
        match fit_in_memory(self.spec, data, start, device, console, &mut saver) {
            Err(FitError::Train(TrainError::Interrupted { epochs_done })) => {
                Err(saver.interrupted(epochs_done, &self.outputs.out).into())
            }
            other => Ok(other?),
        }
    }

    fn out_of_core<B: FusedAutodiffBackend>(
        &self,
        engine: Engine,
        device: &B::Device,
        console: &mut Console,
    ) -> Result<()> {
        let ooc = OutOfCore::open(self.spec, engine, console)?;
        let first = ooc.first_pass(self.spec)?;
        let rows = (first.train_rows(), first.test_rows());
        self.header(Some(engine), rows, ooc.features(), ooc.targets(), console);
        console.line(&messages::first_pass(&first));
        if ooc.split == linreg_stream::RowSplit::All && !ooc.has_test_table() {
            console.line("   every row trains: no test rows (give them with --test FILE)");
        }
        let fit = ooc.fit::<B>(self.spec, &first, device, console)?;
        let sample = ooc.sample(&fit, console);
        self.finish(&fit, sample.as_ref(), device, console)
    }

    /// The first lines: the table, the rows, the columns, the backend.
    fn header(
        &self,
        engine: Option<Engine>,
        (train, test): (u64, u64),
        features: &[String],
        targets: &[String],
        console: &mut Console,
    ) {
        let how = match engine {
            None => String::new(),
            Some(e) => format!(" (out of core, engine {})", e.name()),
        };
        console.line(&format!(
            "linreg train{how}: {} → {train} training and {test} test rows; {} feature(s) → {} target(s) (backend {}, device {})",
            self.spec.table.data.display(),
            features.len(),
            targets.len(),
            self.placement.backend,
            self.placement.device
        ));
        console.line(&format!("   features: {}", features.join(", ")));
        console.line(&format!("   targets:  {}", targets.join(", ")));
    }

    /// The closing lines, then the files: plots, model, summary, report. Nothing is written
    /// until the fit succeeded: a failed run keeps the last good model.
    fn finish<B: FusedAutodiffBackend>(
        &self,
        fit: &Fit<B>,
        figures: Option<&Prepared>,
        device: &B::Device,
        console: &mut Console,
    ) -> Result<()> {
        messages::fit_lines(fit, self.spec, console);
        let out = &self.outputs.out;
        artifacts::prepare_out_dir(out)?;
        let mut plots = match figures {
            Some(data) => plots::train(out, data, &fit.trained, device)?,
            None => plots::loss_curves(out, &fit.trained.history)?,
        };
        if let Some(p) = &fit.penalty {
            plots.extend(plots::penalty(out, p, &fit.features, &fit.targets)?);
            plots.sort();
        }
        let model = linreg_store::save_model(&fit.trained.model, &fit.model_info(self.spec), out)?;
        let where_ = (self.placement.backend, self.placement.device.as_str());
        let summary = fit.summary(self.spec, where_, &model, plots.clone());
        let summary_path = linreg_store::save_summary(&summary, out)?;
        let report = match (figures, self.outputs.report) {
            (Some(data), true) => Some(html::train(
                self.spec,
                out,
                data,
                &fit.trained.model,
                device,
                &summary,
                &summary_path,
            )?),
            _ => None,
        };
        if self.outputs.json {
            println!("{}", serde_json::to_string_pretty(&summary)?);
        }
        console.line("   Files written:");
        for path in [
            &model.record,
            &model.meta,
            &model.safetensors,
            &summary_path,
        ]
        .into_iter()
        .chain(&plots)
        .chain(&report)
        {
            console.line(&format!("   {}", path.display()));
        }
        Ok(())
    }
}
