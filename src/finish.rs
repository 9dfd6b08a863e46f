//! The end of a `linreg train` run, in memory (`train.rs`) or out of core (`outofcore.rs`):
//! the closing console lines, then the model files and `summary.json`, built one way whichever
//! way the rows were read.

use std::path::PathBuf;

use anyhow::Result;
use linreg_data::Standardizer;
use linreg_solve::{Conditioning, Inference};
use linreg_store::{
    ExactReport, Files, InferenceJson, MetricsJson, MetricsPair, ModelInfo, ParamsJson,
    PolynomialJson, Rows, SavedModel, Summary,
};
use linreg_train::{FusedAutodiffBackend, TrainConfig, Trained};

use crate::backend::Placement;
use crate::cli::{SolverArg, TrainArgs};
use crate::report::{metrics_table, Console};

/// An exact least-squares fit's statistics, as a run reports them.
pub struct FitStatistics<'a> {
    /// The coefficients on the original columns, f64: weights per target, then biases.
    pub original: &'a (Vec<Vec<f64>>, Vec<f64>),
    /// One inference table per target (none for ridge and singular designs).
    pub tables: &'a [Inference],
    /// The design's condition numbers.
    pub conditioning: &'a Conditioning,
}

/// What a finished run shows and saves.
pub struct Finished<'a, B: FusedAutodiffBackend> {
    /// The model and its scores.
    pub trained: &'a Trained<B>,
    /// Feature columns.
    pub features: &'a [String],
    /// Target columns.
    pub targets: &'a [String],
    /// The training rows' standardization, if any.
    pub standardizer: Option<&'a Standardizer>,
    /// The polynomial basis, if any.
    pub polynomial: Option<PolynomialJson>,
    /// Training and test row counts.
    pub rows: Rows,
    /// Where the initial parameters came from, in words.
    pub init: String,
    /// The initial parameters.
    pub initial: ParamsJson,
    /// The gap to the exact optimum (gradient descent) or the exact fit's own scores.
    pub exact_report: Option<ExactReport>,
    /// With `--solver exact --loss mse`: the statistics.
    pub statistics: Option<FitStatistics<'a>>,
}

/// The files a run wrote, and its summary.
pub struct Saved {
    /// `summary.json`'s contents.
    pub summary: Summary,
    /// `summary.json`.
    pub summary_path: PathBuf,
    /// The model files.
    pub model: SavedModel,
    /// The plots (already written).
    pub plots: Vec<PathBuf>,
}

impl<B: FusedAutodiffBackend> Finished<'_, B> {
    /// The console lines after training: the metrics table, the gap to the exact optimum, the
    /// inference tables, and (on stderr) a warning about ill-conditioned columns.
    pub fn print(&self, args: &TrainArgs, console: &mut Console) {
        let trained = self.trained;
        console.line(&metrics_table(
            &[
                ("train", &trained.train_metrics),
                ("test", &trained.test_metrics),
            ],
            self.targets,
        ));
        if trained.train_metrics.mean.mae.is_nan() {
            console.line("   (MAE needs the rows themselves: `linreg evaluate` streams them; the other scores come from the moments)");
        }
        if let (SolverArg::Gd, Some(report)) = (args.solver, &self.exact_report) {
            for line in crate::exact::report_lines(report) {
                console.line(&line);
            }
        }
        if let Some(st) = &self.statistics {
            for table in st.tables {
                for line in crate::exact::inference_lines(table) {
                    console.line(&line);
                }
            }
            if let Some(w) = crate::exact::conditioning_warning(st.conditioning, self.features) {
                eprintln!("{w}");
            }
        }
    }

    /// Writes `model.mpk`, `model.json`, `model.safetensors` and `summary.json` into `--out`
    /// (prepared, with the `plots` in it, by the caller).
    pub fn save(
        self,
        args: &TrainArgs,
        config: &TrainConfig,
        placement: &Placement,
        plots: Vec<PathBuf>,
    ) -> Result<Saved> {
        let trained = self.trained;
        // The exact f64 coefficients when solved exactly; else the model's, converted.
        let exact_original = self.statistics.as_ref().map(|st| ParamsJson {
            weight: st.original.0.clone(),
            bias: if args.no_intercept {
                Vec::new()
            } else {
                st.original.1.clone()
            },
        });
        let info = ModelInfo {
            features: self.features.to_vec(),
            targets: self.targets.to_vec(),
            loss: config.loss.name().into(),
            standardizer: self.standardizer.cloned(),
            polynomial: self.polynomial,
            exact: exact_original.clone(),
        };
        let model = linreg_store::save_model(&trained.model, &info, &args.out)?;
        let final_params = ParamsJson::from(trained.model.params_as::<f64>());
        let summary = Summary {
            backend: placement.backend.into(),
            device: placement.device.clone(),
            seed: Some(args.seed),
            init: self.init,
            features: self.features.to_vec(),
            targets: self.targets.to_vec(),
            rows: self.rows,
            standardized: self.standardizer.is_some(),
            epochs: config.epochs,
            epochs_run: trained.epochs_run,
            best_epoch: trained.best_epoch,
            lr: config.lr,
            loss: config.loss.name().into(),
            optimizer: config.optimizer.name().into(),
            schedule: config.schedule.name().into(),
            batch_size: config.batch_size,
            solver: args.solver.name().into(),
            initial: self.initial,
            original_units: exact_original
                .unwrap_or_else(|| final_params.in_original_units(self.standardizer)),
            final_params,
            history: trained.history.clone(),
            train_loss: trained.train_loss,
            test_loss: trained.test_loss,
            metrics: MetricsPair {
                train: MetricsJson::new(&trained.train_metrics, self.targets),
                test: MetricsJson::new(&trained.test_metrics, self.targets),
            },
            exact: self.exact_report,
            inference: self
                .statistics
                .and_then(|st| InferenceJson::from_tables(st.tables.to_vec())),
            seconds: trained.seconds,
            files: Files {
                model: model.record.clone(),
                model_meta: model.meta.clone(),
                model_safetensors: model.safetensors.clone(),
                plots: plots.clone(),
            },
        };
        let summary_path = linreg_store::save_summary(&summary, &args.out)?;
        Ok(Saved {
            summary,
            summary_path,
            model,
            plots,
        })
    }
}

impl Saved {
    /// `--json`'s summary on stdout, and the list of files written (with `report`, the HTML
    /// report, when there is one).
    pub fn print(
        &self,
        args: &TrainArgs,
        report: Option<&PathBuf>,
        console: &mut Console,
    ) -> Result<()> {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&self.summary)?);
        }
        console.line("   Files written:");
        let m = &self.model;
        for path in [&m.record, &m.meta, &m.safetensors, &self.summary_path]
            .into_iter()
            .chain(&self.plots)
            .chain(report)
        {
            console.line(&format!("   {}", path.display()));
        }
        Ok(())
    }
}
