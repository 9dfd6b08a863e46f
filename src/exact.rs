//! Exact solutions beside gradient descent: `--solver exact`, and the gap report after a
//! gradient-descent run.

use std::time::Instant;

use anyhow::{Context, Result};
use burn::prelude::Backend;
use burn::tensor::Element;
use linreg_data::{Dataset, Real, Split};
use linreg_model::LinearParams;
use linreg_model::LrModel;
use linreg_solve::inference::robust_covariance;
use linreg_solve::{
    huber, least_absolute_deviations, Conditioning, CovarianceKind, Fit, Inference, Irls,
    LeastSquares, Method, View,
};
use linreg_store::{ExactReport, Pair};

use crate::cli::{RobustArg, TrainArgs};
use crate::train::Prepared;
use linreg_train::{evaluate, LossKind};

/// Problems up to this many cells (`rows × (features + 1)`) are solved exactly after every
/// gradient-descent run: a least-squares solve of this size takes a few milliseconds, an IRLS
/// solve some tens. Larger ones only with `--compare-exact`.
pub const AUTO_CELLS: usize = 1_000_000;

/// Whether the comparison runs without being asked.
pub fn small_enough(split: &Split) -> bool {
    split.train.len().saturating_mul(split.train.x.cols() + 1) <= AUTO_CELLS
}

/// An exact solution and what it took.
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

/// Minimizes `loss` (plus `l2·‖w‖²` for MSE) on the training rows exactly. Warnings about
/// constant or collinear columns are printed to stderr, naming them.
pub fn solve(
    split: &Split,
    loss: LossKind,
    l2: f64,
    features: &[String],
    intercept: bool,
) -> Result<Exact> {
    let (x, y) = (view(&split.train.x)?, view(&split.train.y)?);
    if !intercept && loss != LossKind::Mse {
        anyhow::bail!(
            "the exact {} solver fits an intercept; --no-intercept is for least squares (--loss mse)",
            loss.name()
        );
    }
    let start = Instant::now();
    let (fit, method) = match loss {
        LossKind::Mse => {
            let s = LeastSquares {
                intercept,
                l2,
                ..Default::default()
            }
            .fit(x, y)?;
            let method = match (s.method, l2 > 0.0) {
                (Method::Qr, false) => "least squares (Householder QR in double-double arithmetic)",
                (Method::Qr, true) => "ridge (Householder QR in double-double arithmetic)",
                (_, false) => "least squares (one-pass moments, Cholesky)",
                (_, true) => "ridge (one-pass moments, Cholesky)",
            };
            (s.fit, method)
        }
        LossKind::L1 => (
            least_absolute_deviations(x, y, Irls::default())?,
            "least absolute deviations (IRLS, then the exact LP vertex)",
        ),
        LossKind::Huber { delta } => (huber(x, y, delta, Irls::default())?, "Huber (IRLS)"),
    };
    let seconds = start.elapsed().as_secs_f64();
    warn_rank(&fit, features, false);
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
    let rel = |gd: f64, opt: f64| (opt > 0.0).then(|| (gd - opt) / opt);
    let gd = gd.params_as::<f64>();
    let param_distance = gd
        .weight
        .iter()
        .flatten()
        .chain(&gd.bias)
        .zip(exact.fit.weight.iter().flatten().chain(&exact.fit.bias))
        .map(|(&a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    Ok(ExactReport {
        method: exact.method.into(),
        weight: exact.fit.weight.clone(),
        bias: exact.fit.bias.clone(),
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
    })
}

/// The report's lines for a person.
pub fn report_lines(report: &ExactReport) -> Vec<String> {
    let gap = |rel: Option<f64>, abs: f64| match rel {
        Some(r) => format!("{:+.3e} relative", r),
        None => format!("{abs:+.3e} (the optimum is 0)"),
    };
    vec![
            format!(
                "   Exact optimum ({}, {} iteration(s), {:.1} ms): train loss {:.6e}, test loss {:.6e}",
                report.method,
                report.iterations,
                report.seconds * 1e3,
                report.train_loss,
                report.test_loss
            ),
            format!(
                "   Gradient descent: train loss {:.6e} (gap {}), test loss {:.6e} (gap {}); parameter distance {:.3e}",
                report.gd_train_loss,
                gap(report.gap.train, report.gap_abs.train),
                report.gd_test_loss,
                gap(report.gap.test, report.gap_abs.test),
                report.param_distance
            ),
        ]
}

/// Solves when small enough (or `forced`) and compares; `None` when skipped. The comparison
/// is a report, not the product: when it cannot be made (too few rows, a numerical failure)
/// a warning says why and the trained model is still saved.
pub fn compare_if<B: Backend>(
    forced: bool,
    split: &Split,
    loss: LossKind,
    gd: &LrModel<B>,
    features: &[String],
    device: &B::Device,
) -> Option<ExactReport> {
    if !forced && !small_enough(split) {
        return None;
    }
    let intercept = gd.linear.bias.is_some();
    let compared = solve(split, loss, 0.0, features, intercept)
        .and_then(|exact| report(split, loss, gd, &exact, device));
    match compared {
        Ok(report) => Some(report),
        Err(e) => {
            eprintln!("warning: no exact comparison: {e:#}");
            None
        }
    }
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

/// Exact least squares on the f64 rows, with its statistics.
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

/// `--solver exact --loss mse`: (weighted) least squares on the training rows as read, in
/// f64, by [`LeastSquares`] (double-double QR for small or ill-conditioned tables), then the
/// inference table. The coefficients are converted to the model's (standardized) units only
/// for the record.
pub fn least_squares_statistical(data: &Prepared, args: &TrainArgs) -> Result<Statistical> {
    let raw = data
        .raw
        .as_ref()
        .context("internal: exact least squares needs the f64 rows")?;
    let (x, y) = (
        View::new(raw.x.rows(), raw.x.cols(), raw.x.values())?,
        View::new(raw.y.rows(), raw.y.cols(), raw.y.values())?,
    );
    let start = Instant::now();
    let ls = LeastSquares {
        intercept: !args.no_intercept,
        l2: args.l2,
        weights: raw.weights.as_deref(),
        method: Method::Auto,
        polynomial: data.polynomial.as_ref().map(|p| p.degree),
    };
    let solution = ls.fit(x, y)?;
    let seconds = start.elapsed().as_secs_f64();
    let features = &data.features;
    warn_rank(&solution.fit, features, true);
    let kind = args.robust.map(|r| match r {
        RobustArg::Hc0 => CovarianceKind::Hc0,
        RobustArg::Hc1 => CovarianceKind::Hc1,
        RobustArg::Hc2 => CovarianceKind::Hc2,
        RobustArg::Hc3 => CovarianceKind::Hc3,
    });
    let robust = match kind {
        Some(kind) if solution.stats.is_some() => {
            // The sandwich needs the design rows themselves (powers included).
            let expanded;
            let design = match &data.polynomial {
                Some(p) => {
                    let col: Vec<f64> = raw.x.values().to_vec();
                    expanded = linreg_solve::polynomial_features(&col, p.degree);
                    View::new(raw.x.rows(), p.degree, &expanded)?
                }
                None => x,
            };
            Some(robust_covariance(
                design,
                y,
                raw.weights.as_deref(),
                &solution,
                kind,
            )?)
        }
        _ => None,
    };
    let tables: Vec<Inference> = data
        .targets
        .iter()
        .enumerate()
        .filter_map(|(t, name)| {
            Inference::new(&solution, t, features, name, robust.as_ref().map(|r| &r[t]))
        })
        .collect();
    let original = (solution.fit.weight.clone(), solution.fit.bias.clone());
    // The model sees standardized features: w' = w·scale, b' = b + Σ w·mean.
    let mut fit = solution.fit.clone();
    if let Some(s) = &data.standardizer {
        for (row, b) in fit.weight.iter_mut().zip(fit.bias.iter_mut()) {
            for ((w, m), sc) in row.iter_mut().zip(&s.mean).zip(&s.scale) {
                *b += *w * m;
                *w *= sc;
            }
        }
    }
    let method = match (solution.method, args.l2 > 0.0) {
        (Method::Qr, false) => "least squares (Householder QR in double-double arithmetic)",
        (Method::Qr, true) => "ridge (Householder QR in double-double arithmetic)",
        (_, false) => "least squares (one-pass moments, Cholesky)",
        (_, true) => "ridge (one-pass moments, Cholesky)",
    };
    Ok(Statistical {
        exact: Exact {
            fit,
            method,
            seconds,
            bias: !args.no_intercept,
        },
        original,
        tables,
        conditioning: solution.conditioning,
    })
}

/// Warns (stderr) of constant and collinear columns, named, when the solver found the design
/// rank-deficient; `inference`: whether an inference table would have been given otherwise.
pub fn warn_rank(fit: &Fit, features: &[String], inference: bool) {
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
        eprintln!(
            "warning: column(s) {} are constant in the training rows; their exact coefficient is set to 0{no_table}",
            names(&rd.constant)
        );
    }
    for group in &rd.collinear {
        eprintln!(
            "warning: columns {} are collinear to working precision (the data, as f64, do not determine \
             their coefficients); the exact solution is the minimum-norm one (in standardized units){no_table}; \
             drop one of them for unique coefficients",
            names(group)
        );
    }
}

/// The near-collinearity warning: the condition number and the columns of the weakest
/// direction.
pub fn conditioning_warning(c: &Conditioning, features: &[String]) -> Option<String> {
    if !c.is_ill_conditioned() {
        return None;
    }
    let mut cols: Vec<String> = c
        .weakest
        .iter()
        .map(|&j| format!("'{}'", features[j]))
        .collect();
    if c.weakest_intercept {
        cols.insert(0, "the intercept".into());
    }
    Some(format!(
        "warning: the columns are nearly collinear: condition number {:.3e} with unit-length columns \
         ({:.3e} as given), so rounding in the data alone can move the coefficients' {}th significant \
         digit; the columns most involved: {}. The fit is still solved to full precision \
         (double-double QR); standardizing or centring the columns, or orthogonal polynomials, \
         make the coefficients less sensitive",
        c.scaled,
        c.raw,
        (16.0 - c.scaled.log10()).floor().max(1.0),
        cols.join(", ")
    ))
}

/// Numbers as a statistician reads them: 10 significant digits, plain between 1e-4 and 1e10.
fn num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-4..1e10).contains(&a) {
        let decimals = (9 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.9e}")
    }
}

/// The table as lines for a person (like R's `summary(lm)`).
pub fn inference_lines(t: &Inference) -> Vec<String> {
    let width = t
        .coefficients
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(9)
        .max(9);
    let mut out = vec![format!(
        "   Inference for '{}' ({} rows; standard errors: {}):",
        t.target,
        t.rows,
        t.covariance_type.name()
    )];
    out.push(format!(
        "   {:width$} {:>18} {:>18} {:>12} {:>12} {:>18} {:>18}",
        "", "estimate", "std error", "t", "P>|t|", "[0.025", "0.975]"
    ));
    for c in &t.coefficients {
        out.push(format!(
            "   {:width$} {:>18} {:>18} {:>12.4} {:>12} {:>18} {:>18}",
            c.name,
            num(c.estimate),
            num(c.std_error),
            c.t,
            if c.p_value < 1e-8 {
                format!("{:.2e}", c.p_value)
            } else {
                format!("{:.8}", c.p_value)
            },
            num(c.ci_low),
            num(c.ci_high)
        ));
    }
    out.push(format!(
        "   Residual standard error {} on {} degrees of freedom",
        num(t.residual_std_error),
        t.df_resid
    ));
    out.push(format!(
        "   R² {}, adjusted R² {}; F({}, {}) = {}, p = {:.3e}",
        num(t.r2),
        num(t.adj_r2),
        t.df_model,
        t.df_resid,
        num(t.f_statistic),
        t.f_p_value
    ));
    out.push(format!(
        "   Log-likelihood {}, AIC {}, BIC {}; condition number {:.3e}",
        num(t.log_likelihood),
        num(t.aic),
        num(t.bic),
        t.condition_number
    ));
    out
}
