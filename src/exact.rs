//! Exact solutions beside gradient descent: `--solver exact`, and the gap report after a
//! gradient-descent run.

use std::time::Instant;

use anyhow::Result;
use burn::prelude::Backend;
use linreg_data::{Dataset, Split};
use linreg_model::LinearParams;
use linreg_model::LrModel;
use linreg_solve::{huber, least_absolute_deviations, least_squares, Fit, Irls, View};
use linreg_store::{ExactReport, Pair};
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
    /// The coefficients.
    pub fit: Fit,
    /// Which method, in words.
    pub method: &'static str,
    /// Wall time of the solve.
    pub seconds: f64,
}

fn view(m: &linreg_data::Matrix) -> Result<View<'_>> {
    Ok(View::new(m.rows(), m.cols(), m.values())?)
}

/// Minimizes `loss` (plus `l2·‖w‖²` for MSE) on the training rows exactly. Warnings about
/// constant or collinear columns are printed to stderr, naming them.
pub fn solve(split: &Split, loss: LossKind, l2: f64, features: &[String]) -> Result<Exact> {
    let (x, y) = (view(&split.train.x)?, view(&split.train.y)?);
    let start = Instant::now();
    let (fit, method) = match loss {
        LossKind::Mse => (
            least_squares(x, y, l2)?,
            if l2 > 0.0 {
                "ridge (Cholesky)"
            } else {
                "least squares (Cholesky)"
            },
        ),
        LossKind::L1 => (
            least_absolute_deviations(x, y, Irls::default())?,
            "least absolute deviations (IRLS, then the exact LP vertex)",
        ),
        LossKind::Huber { delta } => (huber(x, y, delta, Irls::default())?, "Huber (IRLS)"),
    };
    let seconds = start.elapsed().as_secs_f64();
    if let Some(rd) = &fit.rank_deficiency {
        let names = |cols: &[usize]| {
            cols.iter()
                .map(|&j| format!("'{}'", features[j]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !rd.constant.is_empty() {
            eprintln!(
                "warning: column(s) {} are constant in the training rows; their exact coefficient is set to 0",
                names(&rd.constant)
            );
        }
        for group in &rd.collinear {
            eprintln!(
                "warning: columns {} are collinear; the exact solution is the minimum-norm one (in standardized \
                 units); drop one of them for unique coefficients",
                names(group)
            );
        }
    }
    Ok(Exact {
        fit,
        method,
        seconds,
    })
}

/// The exact coefficients as model parameters (f32).
pub fn params(fit: &Fit) -> LinearParams {
    LinearParams {
        weight: fit
            .weight
            .iter()
            .map(|r| r.iter().map(|&v| v as f32).collect())
            .collect(),
        bias: fit.bias.iter().map(|&v| v as f32).collect(),
    }
}

/// Compares gradient descent's model `gd` with the exact solution on both sets. Losses are
/// evaluated as everywhere else in linreg: the model's f32 forward pass on `device`.
pub fn report<B: Backend>(
    split: &Split,
    loss: LossKind,
    gd: &LrModel<B>,
    exact: &Exact,
    device: &B::Device,
) -> Result<ExactReport> {
    let optimum = gd.clone().with_params(&params(&exact.fit))?;
    let on = |m: &LrModel<B>, d: &Dataset| evaluate(m, d, loss, device);
    let (train_loss, test_loss) = (on(&optimum, &split.train), on(&optimum, &split.test));
    let (gd_train, gd_test) = (on(gd, &split.train), on(gd, &split.test));
    let rel = |gd: f64, opt: f64| (opt > 0.0).then(|| (gd - opt) / opt);
    let gd = gd.params();
    let param_distance = gd
        .weight
        .iter()
        .flatten()
        .chain(&gd.bias)
        .zip(exact.fit.weight.iter().flatten().chain(&exact.fit.bias))
        .map(|(&a, b)| (f64::from(a) - b).powi(2))
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
    let compared =
        solve(split, loss, 0.0, features).and_then(|exact| report(split, loss, gd, &exact, device));
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
    split: &Split,
    loss: LossKind,
    device: &B::Device,
) -> Result<linreg_train::Trained<B>> {
    use linreg_train::{evaluate, predict, Metrics};
    let model = linreg_model::LrModelConfig::new()
        .with_d_input(split.train.x.cols())
        .with_d_output(split.train.y.cols())
        .init::<B::InnerBackend>(device)
        .with_params(&params(&exact.fit))?;
    let score =
        |data: &Dataset| Metrics::compute(predict(&model, &data.x, device).values(), &data.y);
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
