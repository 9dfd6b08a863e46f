//! Least absolute deviations and Huber regression by iteratively reweighted least squares.

use faer::prelude::*;
use faer::Mat;

use crate::{check, mean_loss, Fit, Moments, SolveError, View};

/// When to stop reweighting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Irls {
    /// Stop when an iteration lowers the mean loss by less than this fraction of it.
    pub tolerance: f64,
    /// Give up after this many reweighted solves (the last fit is returned).
    pub max_iterations: usize,
}

impl Default for Irls {
    fn default() -> Self {
        Self {
            tolerance: 1e-12,
            max_iterations: 1000,
        }
    }
}

/// Least absolute deviations: minimizes `mean(|x·w + b − y|)` per output.
///
/// IRLS with weights `1/max(|r|, ε)` from the least-squares start, then a polish: the LAD
/// optimum is a vertex of a linear program where `inputs + 1` residuals are exactly zero, so
/// the rows IRLS drove closest to zero are solved exactly and the vertex is kept when its loss
/// is no worse.
pub fn least_absolute_deviations(x: View<'_>, y: View<'_>, opts: Irls) -> Result<Fit, SolveError> {
    irls(x, y, opts, Robust::Absolute)
}

/// Huber regression: minimizes the mean of PyTorch's `HuberLoss` (`r²/2` for `|r| ≤ delta`,
/// `delta·(|r| − delta/2)` beyond) per output. IRLS with weights `min(1, delta/|r|)`.
pub fn huber(x: View<'_>, y: View<'_>, delta: f64, opts: Irls) -> Result<Fit, SolveError> {
    if !(delta.is_finite() && delta > 0.0) {
        return Err(SolveError::InvalidParameter(format!(
            "huber delta = {delta} is invalid: expected a positive finite number"
        )));
    }
    irls(x, y, opts, Robust::Huber(delta))
}

#[derive(Clone, Copy)]
enum Robust {
    Absolute,
    Huber(f64),
}

impl Robust {
    fn loss(self, r: f64) -> f64 {
        match self {
            Self::Absolute => r.abs(),
            Self::Huber(d) if r.abs() <= d => 0.5 * r * r,
            Self::Huber(d) => d * (r.abs() - 0.5 * d),
        }
    }

    fn weight(self, r: f64, floor: f64) -> f64 {
        match self {
            Self::Absolute => 1.0 / r.abs().max(floor),
            Self::Huber(d) => {
                if r.abs() <= d {
                    1.0
                } else {
                    d / r.abs()
                }
            }
        }
    }
}

fn irls(x: View<'_>, y: View<'_>, opts: Irls, kind: Robust) -> Result<Fit, SolveError> {
    check(x, y)?;
    if !(opts.tolerance.is_finite() && opts.tolerance >= 0.0) || opts.max_iterations == 0 {
        return Err(SolveError::InvalidParameter(
            "IRLS needs a tolerance ≥ 0 and at least one iteration".into(),
        ));
    }
    let (n, k) = (x.rows(), y.cols());
    let mut fit = Fit {
        weight: Vec::with_capacity(k),
        bias: Vec::with_capacity(k),
        iterations: 0,
        rank_deficiency: None,
    };
    for t in 0..k {
        let column: Vec<f32> = (0..n).map(|i| y.values[i * k + t]).collect();
        let yt = View::new(n, 1, &column)?;
        let mut current = Moments::from_rows(x, yt, None)?
            .least_squares(true, 0.0)?
            .fit;
        fit.rank_deficiency = fit.rank_deficiency.or(current.rank_deficiency.take());
        let mut objective = mean_loss(x, yt, &current, |r| kind.loss(r));
        // Residuals below this count as zero: far below the data's spread, above f64 noise.
        let floor = 1e-9 * objective.max(f64::MIN_POSITIVE);
        let mut iterations = 0;
        for _ in 0..opts.max_iterations {
            iterations += 1;
            let weights: Vec<f64> = residuals(x, yt, &current)
                .into_iter()
                .map(|r| kind.weight(r, floor))
                .collect();
            let next = Moments::from_rows(x, yt, Some(&weights))?
                .least_squares(true, 0.0)?
                .fit;
            let next_objective = mean_loss(x, yt, &next, |r| kind.loss(r));
            let improved = next_objective <= objective;
            let done = (objective - next_objective).abs()
                <= opts.tolerance * objective.max(f64::MIN_POSITIVE);
            if improved {
                current = next;
                objective = next_objective;
            }
            if done || !improved {
                break;
            }
        }
        if let Robust::Absolute = kind {
            if let Some(vertex) = polish_vertex(x, yt, &current) {
                if mean_loss(x, yt, &vertex, f64::abs) <= objective {
                    current = vertex;
                }
            }
        }
        fit.iterations = fit.iterations.max(iterations);
        fit.weight.push(current.weight.swap_remove(0));
        fit.bias.push(current.bias[0]);
    }
    Ok(fit)
}

fn residuals(x: View<'_>, y: View<'_>, fit: &Fit) -> Vec<f64> {
    (0..x.rows())
        .map(|i| {
            let pred: f64 = fit.weight[0]
                .iter()
                .zip(x.row(i))
                .map(|(w, &v)| w * f64::from(v))
                .sum::<f64>()
                + fit.bias[0];
            pred - f64::from(y.row(i)[0])
        })
        .collect()
}

/// Solves exactly through the `inputs + 1` rows with the smallest residuals.
fn polish_vertex(x: View<'_>, y: View<'_>, fit: &Fit) -> Option<Fit> {
    let p = x.cols();
    if x.rows() < p + 1 {
        return None;
    }
    let r = residuals(x, y, fit);
    let mut order: Vec<usize> = (0..x.rows()).collect();
    order.sort_by(|&a, &b| r[a].abs().total_cmp(&r[b].abs()));
    let basis = &order[..p + 1];
    let a = Mat::<f64>::from_fn(p + 1, p + 1, |i, j| {
        if j < p {
            f64::from(x.row(basis[i])[j])
        } else {
            1.0
        }
    });
    let b = Mat::<f64>::from_fn(p + 1, 1, |i, _| f64::from(y.row(basis[i])[0]));
    let theta = a.partial_piv_lu().solve(&b);
    let weight: Vec<f64> = (0..p).map(|j| theta[(j, 0)]).collect();
    let bias = theta[(p, 0)];
    (weight.iter().all(|w| w.is_finite()) && bias.is_finite()).then(|| Fit {
        weight: vec![weight],
        bias: vec![bias],
        iterations: fit.iterations,
        rank_deficiency: None,
    })
}
