//! A fit with the table in memory: gradient descent (with checkpoints and resume) or the
//! exact solver, on the rows [`prepare`](crate::prepare) read.

use linreg_data::rng::SplitMix64;
use linreg_model::{LinearParams, LrModel, LrModelConfig};
use linreg_store::checkpoint::{self, CheckpointMeta, RunIdentity, RunRecord};
use linreg_store::{ParamsJson, PenaltyJson, Rows, StoreError};
use linreg_train::{
    train_checkpointed, Checkpointer, FusedAutodiffBackend, LossKind, TrainState, Trained,
};

use crate::exact::{self, least_squares_statistical, Exact, Statistical};
use crate::penalized;
use crate::{Fit, FitError, FitSpec, Init, Observer, Prepared, Result, Solver};

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

/// How [`initial_params`] drew the start, as `summary.json`'s `init` says it.
pub fn init_description(seed: u64) -> String {
    format!(
        "U(-1/sqrt(inputs), 1/sqrt(inputs)) from linreg's generator with seed {seed}, the same on every backend"
    )
}

/// The seeded starting model of `spec` for `features → targets`.
pub(crate) fn seeded_model<B: FusedAutodiffBackend>(
    spec: &FitSpec,
    features: usize,
    targets: usize,
    device: &B::Device,
) -> Result<LrModel<B>> {
    let mut start = initial_params(features, targets, spec.seed);
    if !spec.basis.intercept {
        start.bias.clear();
    }
    Ok(model_config(spec, features, targets)
        .init::<B>(device)
        .with_params(&start)?)
}

fn model_config(spec: &FitSpec, features: usize, targets: usize) -> LrModelConfig {
    LrModelConfig::new()
        .with_d_input(features)
        .with_d_output(targets)
        .with_bias(spec.basis.intercept)
}

/// Where gradient descent starts: the model, the run it belongs to (for checkpoints), and
/// the checkpoint it resumes, if any.
pub struct GdStart<B: FusedAutodiffBackend> {
    /// The starting model.
    pub model: LrModel<B>,
    /// The run's identity and start, as checkpoints record them.
    pub run: RunRecord,
    /// The checkpoint resumed: its state, description and directory.
    pub resumed: Option<(TrainState<B>, CheckpointMeta, std::path::PathBuf)>,
}

/// The starting model of `spec` on `data` (seeded, or loaded from `Init::From`), and the
/// checkpoint `spec` resumes, checked against this run.
pub fn start_gd<B: FusedAutodiffBackend>(
    spec: &FitSpec,
    data: &Prepared,
    device: &B::Device,
) -> Result<GdStart<B>> {
    let (p, k) = (data.features.len(), data.targets.len());
    let (model, init) = match &spec.init {
        Init::From(path) => {
            let config = model_config(spec, p, k);
            let model = linreg_store::load_weights::<B>(path, Some(&config), device)
                .map_err(|e| shape_error(e, spec, p, k))?;
            (model, format!("loaded from {}", path.display()))
        }
        Init::Seeded => (
            seeded_model::<B>(spec, p, k, device)?,
            init_description(spec.seed),
        ),
    };
    let identity = RunIdentity::new(
        spec.train_config(),
        model.config(),
        &data.features,
        &data.targets,
        data.standardizer.as_ref(),
        &data.split,
    );
    let mut run = RunRecord {
        identity,
        initial: ParamsJson::from(model.params_as::<f64>()),
        init,
    };
    let resumed = match (&spec.checkpoints.resume, spec.solver) {
        (Some(path), Solver::Gd { .. }) => Some(resume::<B>(path, &run.identity, device)?),
        _ => None,
    };
    // A resumed run reports the start of the run it continues.
    if let Some((_, meta, _)) = &resumed {
        run.initial = meta.run.initial.clone();
        run.init = meta.run.init.clone();
    }
    Ok(GdStart {
        model,
        run,
        resumed,
    })
}

/// A `.pth`/`.safetensors` start whose shape does not fit the table, said with the table.
fn shape_error(e: StoreError, spec: &FitSpec, p: usize, k: usize) -> FitError {
    match e {
        StoreError::ShapeDoesNotFit { .. } => FitError::Input(format!(
            "{e} for the {p} feature(s) and {k} target(s) of {}",
            spec.table.data.display()
        )),
        other => other.into(),
    }
}

/// Loads the checkpoint `path` names and checks that it belongs to this run.
fn resume<B: FusedAutodiffBackend>(
    path: &std::path::Path,
    identity: &RunIdentity,
    device: &B::Device,
) -> Result<(TrainState<B>, CheckpointMeta, std::path::PathBuf)> {
    let dir = checkpoint::find_checkpoint(path)?;
    let (state, meta) = checkpoint::load_checkpoint::<B>(&dir, device)?;
    let differences = meta.run.identity.differences(identity);
    if !differences.is_empty() {
        return Err(FitError::Input(format!(
            "--resume {}: that checkpoint belongs to another run: it has {}; resume with the data \
             and options of the run that wrote it",
            dir.display(),
            differences.join("; ")
        )));
    }
    Ok((state, meta, dir))
}

/// Fits `spec` on the prepared rows: gradient descent from `start` (saving checkpoints
/// through `checkpoints`), or the exact solver.
pub fn fit_in_memory<B: FusedAutodiffBackend>(
    spec: &FitSpec,
    data: &Prepared,
    start: GdStart<B>,
    device: &B::Device,
    observer: &mut dyn Observer,
    checkpoints: &mut dyn Checkpointer<B>,
) -> Result<Fit<B>> {
    let GdStart {
        model,
        run,
        resumed,
        ..
    } = start;
    let mut penalty = None;
    let (trained, exact, solved, statistics) = match spec.solver {
        Solver::Gd { compare_exact } => {
            let state = resumed.map(|(state, ..)| state);
            let config = spec.train_config();
            let result = train_checkpointed(
                model,
                &data.split,
                config,
                device,
                observer,
                checkpoints,
                state,
            );
            let trained = crate::trained(observer, result)?;
            let report = exact::compare_if(
                compare_exact,
                &data.split,
                config.loss,
                &trained.model,
                &data.features,
                device,
                observer,
            );
            (trained, report, None, None)
        }
        Solver::Exact { .. } => {
            let (solved, statistics, penalized) = solve_exact(spec, data, observer)?;
            penalty = penalized;
            let loss = spec.train_config().loss;
            // Scored on the f64 rows when there are (an f64 model keeps their digits).
            let (trained, report) = match &data.wide {
                Some(wide) => scored::<B, _>(&solved, wide, loss, device)?,
                None => scored::<B, _>(&solved, &data.split, loss, device)?,
            };
            (trained, Some(report), Some(solved), statistics)
        }
    };
    Ok(Fit {
        trained,
        features: data.features.clone(),
        targets: data.targets.clone(),
        standardizer: data.standardizer.clone(),
        polynomial: data.polynomial.clone(),
        rows: Rows {
            train: data.split.train.len(),
            test: data.split.test.len(),
        },
        init: run.init,
        initial: run.initial,
        exact,
        solved,
        statistics,
        penalty,
        engine: None,
    })
}

/// The exact solution, with its statistics for least squares (and a penalized fit's path).
/// Ridge on standardized features penalizes the standardized coefficients: that problem is
/// the f32 standardized one, solved as such.
fn solve_exact(
    spec: &FitSpec,
    data: &Prepared,
    observer: &mut dyn Observer,
) -> Result<(Exact, Option<Statistical>, Option<PenaltyJson>)> {
    if let Some(net) = spec.penalty.elastic_net() {
        let p = penalized::in_memory(spec, net, data)?;
        return Ok((
            p.statistical.exact.clone(),
            Some(p.statistical),
            Some(p.summary),
        ));
    }
    let l2 = spec.penalty.l2();
    let ridge_standardized = l2 > 0.0 && data.standardizer.is_some();
    let loss = spec.train_config().loss;
    if loss == LossKind::Mse && !ridge_standardized {
        let st = least_squares_statistical(data, spec, observer)?;
        return Ok((st.exact.clone(), Some(st), None));
    }
    let intercept = spec.basis.intercept;
    let solved = exact::solve(&data.split, loss, l2, &data.features, intercept, observer)?;
    Ok((solved, None, None))
}

/// The exact solution as a trained model with its scores, and its report.
fn scored<B: FusedAutodiffBackend, T>(
    solved: &Exact,
    split: &linreg_data::Split<T>,
    loss: LossKind,
    device: &B::Device,
) -> Result<(Trained<B>, linreg_store::ExactReport)>
where
    T: linreg_data::Real + burn::tensor::Element,
{
    let t = exact::trained_from_exact::<B>(solved, split, loss, device)?;
    let r = exact::report(split, loss, &t.model, solved, device)?;
    Ok((t, r))
}
