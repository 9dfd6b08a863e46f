//! Exact solutions beside gradient descent: the exact solver, its statistics, and the gap
//! report after a gradient-descent run.

use std::time::Instant;

use burn::prelude::Backend;
use burn::tensor::Element;
use linreg_data::{Dataset, Real, Split};
use linreg_model::LinearParams;
use linreg_model::LrModel;
use linreg_solve::inference::robust_covariance;
use linreg_solve::{
    huber, least_absolute_deviations, Conditioning, Fit, Inference, Irls, LeastSquares, Method,
    View,
};
use linreg_store::{ExactReport, Pair};
use linreg_train::{evaluate, LossKind};

use crate::{Family, FitError, FitSpec, Observer, Prepared, Result, Solver};

/// Problems up to this many cells (`rows × (features + 1)`) are solved exactly after every
/// gradient-descent run: a least-squares solve of this size takes a few milliseconds, an IRLS
/// solve some tens. Larger ones only with `--compare-exact`.
pub const AUTO_CELLS: usize = 1_000_000;

/// Whether the comparison runs without being asked.
pub fn small_enough(split: &Split) -> bool {
    split.train.len().saturating_mul(split.train.x.cols() + 1) <= AUTO_CELLS
}

/// An exact solution and what it took.
#[derive(Debug, Clone)]
pub struct Exact {
    /// The coefficients, in the model's units (standardized features when the run
    /// standardized them).
    pub fit: Fit,
    /// Which method, in words.
    pub method: &'static str,
    /// Wall time of the solve.
    pub seconds: f64,
    /// Whether the model has an intercept.
    pub bias: bool,
}

fn view(m: &linreg_data::Matrix) -> Result<View<'_>> {
    Ok(View::new(m.rows(), m.cols(), m.values())?)
}

/// Minimizes `loss` (plus `l2·‖w‖²` for MSE) on the training rows exactly. Constant or
/// collinear columns are named in a warning to `observer`.
pub fn solve(
    split: &Split,
    loss: LossKind,
    l2: f64,
    features: &[String],
    intercept: bool,
    observer: &mut dyn Observer,
) -> Result<Exact> {
    let (x, y) = (view(&split.train.x)?, view(&split.train.y)?);
    if !intercept && loss != LossKind::Mse {
        return Err(FitError::Options(format!(
            "the exact {} solver fits an intercept; --no-intercept is for least squares (--loss mse)",
            loss.name()
        )));
    }
    let start = Instant::now();
    let family = Family::Regression(loss);
    let (fit, method) = match loss {
        LossKind::Mse => {
            let s = LeastSquares {
                intercept,
                l2,
                ..Default::default()
            }
            .fit(x, y)?;
            (s.fit, family.exact_method(s.method, l2 > 0.0))
        }
        LossKind::L1 => (
            least_absolute_deviations(x, y, Irls::default())?,
            family.exact_method(Method::Auto, false),
        ),
        LossKind::Huber { delta } => (
            huber(x, y, delta, Irls::default())?,
            family.exact_method(Method::Auto, false),
        ),
    };
    let seconds = start.elapsed().as_secs_f64();
    warn_rank(&fit, features, false, observer);
    Ok(Exact {
        fit,
        method,
        seconds,
        bias: intercept,
    })
}

/// The exact coefficients as model parameters, in f64 (an f32 model rounds them once; no
/// bias for a model without intercept).
pub fn params(exact: &Exact) -> LinearParams<f64> {
    let fit = &exact.fit;
    LinearParams {
        weight: fit.weight.clone(),
        bias: if exact.bias {
            fit.bias.clone()
        } else {
            Vec::new()
        },
    }
}

/// Compares gradient descent's model `gd` with the exact solution on both sets. Losses are
/// evaluated as everywhere else in linreg: the model's f32 forward pass on `device`.
pub fn report<B: Backend>(
    split: &Split<impl Real + Element>,
    loss: LossKind,
    gd: &LrModel<B>,
    exact: &Exact,
    device: &B::Device,
) -> Result<ExactReport> {
    let optimum = gd.clone().with_params(&params(exact))?;
    let on = |m: &LrModel<B>, d: &Dataset<_>| evaluate(m, d, loss, device);
    let (train_loss, test_loss) = (on(&optimum, &split.train), on(&optimum, &split.test));
    let (gd_train, gd_test) = (on(gd, &split.train), on(gd, &split.test));
    let optimum = LinearParams {
        weight: exact.fit.weight.clone(),
        bias: exact.fit.bias.clone(),
    };
    let gd_params = gd.params_as::<f64>();
    let losses = ((train_loss, test_loss), (gd_train, gd_test));
    Ok(gap_report(exact, optimum, losses, &gd_params))
}

/// The gap report: the exact optimum's losses beside gradient descent's (`gd`'s), their
/// absolute and relative gaps, and the distance between the two parameter sets.
pub(crate) fn gap_report(
    exact: &Exact,
    optimum: LinearParams<f64>,
    ((train_loss, test_loss), (gd_train, gd_test)): ((f64, f64), (f64, f64)),
    gd: &LinearParams<f64>,
) -> ExactReport {
    let rel = |gd: f64, opt: f64| (opt > 0.0).then(|| (gd - opt) / opt);
    let param_distance = gd
        .weight
        .iter()
        .flatten()
        .chain(&gd.bias)
        .zip(optimum.weight.iter().flatten().chain(&optimum.bias))
        .map(|(&a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    ExactReport {
        method: exact.method.into(),
        weight: optimum.weight,
        bias: optimum.bias,
        train_loss,
        test_loss,
        gd_train_loss: gd_train,
        gd_test_loss: gd_test,
        gap: Pair {
            train: rel(gd_train, train_loss),
            test: rel(gd_test, test_loss),
        },
        gap_abs: Pair {
            train: gd_train - train_loss,
            test: gd_test - test_loss,
        },
        param_distance,
        iterations: exact.fit.iterations,
        seconds: exact.seconds,
    }
}

/// Solves when small enough (or `forced`) and compares; `None` when skipped. The comparison
/// is a report, not the product: when it cannot be made (too few rows, a numerical failure)
/// a warning says why and the trained model is still kept.
pub fn compare_if<B: Backend>(
    forced: bool,
    split: &Split,
    loss: LossKind,
    gd: &LrModel<B>,
    features: &[String],
    device: &B::Device,
    observer: &mut dyn Observer,
) -> Option<ExactReport> {
    if !forced && !small_enough(split) {
        return None;
    }
    let intercept = gd.linear.bias.is_some();
    let compared = solve(split, loss, 0.0, features, intercept, observer)
        .and_then(|exact| report(split, loss, gd, &exact, device));
    match compared {
        Ok(report) => Some(report),
        Err(e) => {
            observer.warn(&format!("warning: no exact comparison: {}", chain(&e)));
            None
        }
    }
}

/// An error and its causes on one line, as `{:#}` prints an `anyhow` chain.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The exact solution as a trained model, scored like a gradient-descent result.
pub fn trained_from_exact<B: burn::tensor::backend::AutodiffBackend>(
    exact: &Exact,
    split: &Split<impl Real + Element>,
    loss: LossKind,
    device: &B::Device,
) -> Result<linreg_train::Trained<B>> {
    use linreg_train::{evaluate, predict, Metrics};
    let model = linreg_model::LrModelConfig::new()
        .with_d_input(split.train.x.cols())
        .with_d_output(split.train.y.cols())
        .with_bias(exact.bias)
        .init::<B::InnerBackend>(device)
        .with_params(&params(exact))?;
    let score =
        |data: &Dataset<_>| Metrics::compute(predict(&model, &data.x, device).values(), &data.y);
    Ok(linreg_train::Trained {
        train_loss: evaluate(&model, &split.train, loss, device),
        test_loss: evaluate(&model, &split.test, loss, device),
        train_metrics: score(&split.train),
        test_metrics: score(&split.test),
        history: Vec::new(),
        epochs_run: 0,
        best_epoch: None,
        seconds: exact.seconds,
        model,
    })
}

/// An exact least-squares fit with its statistics, in memory or from moments.
pub struct Statistical {
    /// The solution in the model's units, for the model record.
    pub exact: Exact,
    /// The coefficients on the original columns, f64 (what `original_units` and `model.json`'s
    /// `exact` hold).
    pub original: (Vec<Vec<f64>>, Vec<f64>),
    /// One table per target; empty for ridge and singular designs.
    pub tables: Vec<Inference>,
    /// The design's condition numbers.
    pub conditioning: Conditioning,
}

/// Coefficients on the original columns (`original`) as the model sees them: on standardized
/// features when there is a standardizer.
pub fn standardized_params(
    original: &(Vec<Vec<f64>>, Vec<f64>),
    standardizer: Option<&linreg_data::Standardizer>,
) -> (Vec<Vec<f64>>, Vec<f64>) {
    match standardizer {
        Some(s) => s.to_model_units(&original.0, &original.1),
        None => original.clone(),
    }
}

/// Exact (weighted) least squares on the training rows as read, in f64, by [`LeastSquares`]
/// (double-double QR for small or ill-conditioned tables), then the inference table. The
/// coefficients are converted to the model's (standardized) units only for the record.
pub fn least_squares_statistical(
    data: &Prepared,
    spec: &FitSpec,
    observer: &mut dyn Observer,
) -> Result<Statistical> {
    let raw = data.raw.as_ref().ok_or_else(|| {
        FitError::Input("internal: exact least squares needs the f64 rows".into())
    })?;
    let (x, y) = (
        View::new(raw.x.rows(), raw.x.cols(), raw.x.values())?,
        View::new(raw.y.rows(), raw.y.cols(), raw.y.values())?,
    );
    let (intercept, l2) = (spec.basis.intercept, spec.penalty.l2());
    let start = Instant::now();
    let ls = LeastSquares {
        intercept,
        l2,
        weights: raw.weights.as_deref(),
        method: Method::Auto,
        polynomial: data.polynomial.as_ref().map(|p| p.degree),
    };
    let solution = ls.fit(x, y)?;
    let seconds = start.elapsed().as_secs_f64();
    warn_rank(&solution.fit, &data.features, true, observer);
    let robust = match spec.solver {
        Solver::Exact { robust: Some(kind) } if solution.stats.is_some() => {
            // The sandwich needs the design rows themselves (powers included).
            let powers = data.polynomial.as_ref().map(|p| {
                (
                    p.degree,
                    linreg_solve::polynomial_features(raw.x.values(), p.degree),
                )
            });
            let design = match &powers {
                Some((degree, values)) => View::new(raw.x.rows(), *degree, values)?,
                None => x,
            };
            let w = raw.weights.as_deref();
            Some(robust_covariance(design, y, w, &solution, kind)?)
        }
        _ => None,
    };
    let tables: Vec<Inference> = data
        .targets
        .iter()
        .enumerate()
        .filter_map(|(t, name)| {
            let r = robust.as_ref().map(|r| &r[t]);
            Inference::new(&solution, t, &data.features, name, r)
        })
        .collect();
    let original = (solution.fit.weight.clone(), solution.fit.bias.clone());
    let (weight, bias) = standardized_params(&original, data.standardizer.as_ref());
    let fit = Fit {
        weight,
        bias,
        ..solution.fit.clone()
    };
    Ok(Statistical {
        exact: Exact {
            fit,
            method: spec.family.exact_method(solution.method, l2 > 0.0),
            seconds,
            bias: intercept,
        },
        original,
        tables,
        conditioning: solution.conditioning,
    })
}

/// Warns of constant and collinear columns, named, when the solver found the design
/// rank-deficient; `inference`: whether an inference table would have been given otherwise.
pub(crate) fn warn_rank(
    fit: &Fit,
    features: &[String],
    inference: bool,
    observer: &mut dyn Observer,
) {
    let Some(rd) = &fit.rank_deficiency else {
        return;
    };
    let names = |cols: &[usize]| {
        cols.iter()
            .map(|&j| format!("'{}'", features[j]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let no_table = if inference {
        " and no inference table is given"
    } else {
        ""
    };
    if !rd.constant.is_empty() {
        observer.warn(&format!(
            "warning: column(s) {} are constant in the training rows; their exact coefficient is set to 0{no_table}",
            names(&rd.constant)
        ));
    }
    for group in &rd.collinear {
        observer.warn(&format!(
            "warning: columns {} are collinear to working precision (the data, as f64, do not determine \
             their coefficients); the exact solution is the minimum-norm one (in standardized units){no_table}; \
             drop one of them for unique coefficients",
            names(group)
        ));
    }
}
