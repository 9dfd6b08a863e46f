//! What a fit returns: the model, its scores and statistics, and the records a caller
//! saves (`model.json`'s description, `summary.json`).

use std::path::PathBuf;

use burn::tensor::backend::AutodiffBackend;
use linreg_data::Standardizer;
use linreg_store::{
    ExactReport, Files, InferenceJson, MetricsJson, MetricsPair, ModelInfo, ParamsJson,
    PenaltyJson, PolynomialJson, Rows, SavedModel, Summary,
};
use linreg_train::Trained;

use crate::exact::{Exact, Statistical};
use crate::{Engine, FitSpec};

/// A fitted model and everything known about it.
pub struct Fit<B: AutodiffBackend> {
    /// The model (without autodiff), its history and its scores on both sets.
    pub trained: Trained<B>,
    /// Feature columns (the model's inputs; `x^2`, … for a polynomial).
    pub features: Vec<String>,
    /// Target columns.
    pub targets: Vec<String>,
    /// The training rows' standardization, if any.
    pub standardizer: Option<Standardizer>,
    /// The polynomial basis, if any.
    pub polynomial: Option<PolynomialJson>,
    /// Training and test row counts.
    pub rows: Rows,
    /// Where the initial parameters came from, in words.
    pub init: String,
    /// The initial parameters.
    pub initial: ParamsJson,
    /// The gap to the exact optimum (gradient descent) or the exact fit's own scores.
    pub exact: Option<ExactReport>,
    /// The exact solve, when the solver was exact.
    pub solved: Option<Exact>,
    /// Exact least squares: the coefficients on the original columns, the inference tables
    /// and the design's conditioning.
    pub statistics: Option<Statistical>,
    /// A penalized fit: the penalty, its path and cross-validation (original units).
    pub penalty: Option<PenaltyJson>,
    /// The out-of-core engine that read the rows; `None` in memory.
    pub engine: Option<Engine>,
}

impl<B: AutodiffBackend> Fit<B> {
    /// The coefficients on the original columns, f64: the exact ones when solved exactly,
    /// else the model's, converted (`[target][feature]`, then one bias per target).
    pub fn original_units(&self) -> (Vec<Vec<f64>>, Vec<f64>) {
        let p = self.original_params();
        (p.weight, p.bias)
    }

    fn exact_original(&self) -> Option<ParamsJson> {
        let intercept = self.trained.model.linear.bias.is_some();
        self.statistics.as_ref().map(|st| ParamsJson {
            weight: st.original.0.clone(),
            bias: if intercept {
                st.original.1.clone()
            } else {
                Vec::new()
            },
        })
    }

    fn original_params(&self) -> ParamsJson {
        self.exact_original().unwrap_or_else(|| {
            ParamsJson::from(self.trained.model.params_as::<f64>())
                .in_original_units(self.standardizer.as_ref())
        })
    }

    /// What `model.json` says of the model besides its parameters.
    pub fn model_info(&self, spec: &FitSpec) -> ModelInfo {
        ModelInfo {
            features: self.features.clone(),
            targets: self.targets.clone(),
            loss: spec.train_config().loss.name().into(),
            standardizer: self.standardizer.clone(),
            polynomial: self.polynomial.clone(),
            exact: self.exact_original(),
            path: self.penalty.as_ref().map(|p| p.path.clone()),
        }
    }

    /// `summary.json`: the run's settings and results. `backend` and `device` say where it
    /// ran; `model` and `plots` are the files the caller wrote.
    pub fn summary(
        &self,
        spec: &FitSpec,
        (backend, device): (&str, &str),
        model: &SavedModel,
        plots: Vec<PathBuf>,
    ) -> Summary {
        let (trained, config) = (&self.trained, spec.train_config());
        Summary {
            backend: backend.into(),
            device: device.into(),
            seed: Some(spec.seed),
            init: self.init.clone(),
            features: self.features.clone(),
            targets: self.targets.clone(),
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
            solver: spec.solver.name().into(),
            initial: self.initial.clone(),
            original_units: self.original_params(),
            final_params: ParamsJson::from(trained.model.params_as::<f64>()),
            history: trained.history.clone(),
            train_loss: trained.train_loss,
            test_loss: trained.test_loss,
            metrics: MetricsPair {
                train: MetricsJson::new(&trained.train_metrics, &self.targets),
                test: MetricsJson::new(&trained.test_metrics, &self.targets),
            },
            exact: self.exact.clone(),
            inference: self
                .statistics
                .as_ref()
                .and_then(|st| InferenceJson::from_tables(st.tables.clone())),
            penalty: self.penalty.clone(),
            seconds: trained.seconds,
            files: Files {
                model: model.record.clone(),
                model_meta: model.meta.clone(),
                model_safetensors: model.safetensors.clone(),
                plots,
            },
        }
    }
}
