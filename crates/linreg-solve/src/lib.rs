//! Exact solutions for linear models, to check gradient descent against.
//!
//! Given features `x` (`rows × inputs`) and targets `y` (`rows × outputs`) as row-major `f32`
//! buffers — the matrices `linreg-data` produces — this crate finds the coefficients that
//! minimize, for each output:
//!
//! - [`least_squares`]: the mean squared error, plus `l2·‖w‖²` for ridge (the bias is never
//!   penalized). Normal equations of the centred, scaled problem, solved by a Cholesky
//!   factorization; [`least_squares_qr`] solves the same problem by Householder QR, as the
//!   accuracy reference. Constant or collinear columns give the minimum-norm solution (in
//!   standardized units) and a [`RankDeficiency`] that names them.
//! - [`least_absolute_deviations`]: the mean absolute error, by iteratively reweighted least
//!   squares followed by an exact solve on the basis it found (the LP vertex).
//! - [`huber`]: the mean Huber loss, by iteratively reweighted least squares.
//!
//! Everything is accumulated in `f64`; no explicit inverse is ever formed. No Burn, no CLI.
//!
//! ```
//! use linreg_solve::{least_squares, View};
//!
//! // y = 2·x + 1, exactly.
//! let x = [0.0_f32, 1.0, 2.0, 3.0];
//! let y = [1.0_f32, 3.0, 5.0, 7.0];
//! let fit = least_squares(View::new(4, 1, &x)?, View::new(4, 1, &y)?, 0.0)?;
//! assert!((fit.weight[0][0] - 2.0).abs() < 1e-12 && (fit.bias[0] - 1.0).abs() < 1e-12);
//! # Ok::<(), linreg_solve::SolveError>(())
//! ```

mod gram;
mod robust;

use faer::prelude::*;
use faer::{Mat, Side};

pub use robust::{huber, least_absolute_deviations, Irls};

use gram::{Moments, Weights};

/// Why no solution was found.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SolveError {
    /// A buffer does not hold `rows × cols` values, or `x` and `y` disagree on rows.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Fewer rows than the problem needs.
    #[error("{rows} rows cannot determine {needed} coefficients per output; add rows")]
    TooFewRows {
        /// Rows given.
        rows: usize,
        /// At least this many are needed.
        needed: usize,
    },
    /// A value is NaN or infinite.
    #[error("the data contain NaN or infinite values")]
    NonFinite,
    /// A parameter is out of range.
    #[error("{0}")]
    InvalidParameter(String),
    /// The factorization failed (numerically singular beyond repair).
    #[error("the linear system could not be solved: {0}")]
    Numerical(String),
}

/// A row-major `f32` matrix borrowed from its owner.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    rows: usize,
    cols: usize,
    values: &'a [f32],
}

impl<'a> View<'a> {
    /// Borrows `values` as a `rows × cols` row-major matrix.
    pub fn new(rows: usize, cols: usize, values: &'a [f32]) -> Result<Self, SolveError> {
        if rows.checked_mul(cols) != Some(values.len()) {
            return Err(SolveError::Shape(format!(
                "a {rows}×{cols} matrix needs {} values, got {}",
                rows.saturating_mul(cols),
                values.len()
            )));
        }
        Ok(Self { rows, cols, values })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    fn row(&self, i: usize) -> &'a [f32] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }
}

/// Columns that make the problem singular.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RankDeficiency {
    /// Columns with the same value in every row (their coefficient is set to 0).
    pub constant: Vec<usize>,
    /// Groups of columns that are (nearly) linear combinations of each other; the minimum-norm
    /// solution spreads the effect over them.
    pub collinear: Vec<Vec<usize>>,
}

/// Coefficients that minimize the loss, in PyTorch's `[out][in]` orientation.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// `weight[o][i]`: coefficient of input `i` in output `o`.
    pub weight: Vec<Vec<f64>>,
    /// One intercept per output.
    pub bias: Vec<f64>,
    /// Iterations used (1 for the direct least-squares solves; the largest count over outputs
    /// for the iterative ones).
    pub iterations: usize,
    /// Set when the columns do not determine a unique solution.
    pub rank_deficiency: Option<RankDeficiency>,
}

fn check(x: View<'_>, y: View<'_>) -> Result<(), SolveError> {
    if x.rows != y.rows {
        return Err(SolveError::Shape(format!(
            "features have {} rows, targets {}",
            x.rows, y.rows
        )));
    }
    if x.cols == 0 || y.cols == 0 {
        return Err(SolveError::Shape(
            "need at least one feature and one target".into(),
        ));
    }
    if x.rows < 2 {
        return Err(SolveError::TooFewRows {
            rows: x.rows,
            needed: 2,
        });
    }
    if x.values.iter().chain(y.values).any(|v| !v.is_finite()) {
        return Err(SolveError::NonFinite);
    }
    Ok(())
}

fn check_l2(l2: f64) -> Result<(), SolveError> {
    if l2.is_finite() && l2 >= 0.0 {
        Ok(())
    } else {
        Err(SolveError::InvalidParameter(format!(
            "l2 = {l2} is invalid: expected a finite number ≥ 0"
        )))
    }
}

/// Relative size below which an eigenvalue of the correlation matrix counts as zero. The data
/// are f32 (relative precision 6e-8), so two columns equal up to rounding give eigenvalues near
/// 1e-15; genuinely independent columns stay far above this.
const RANK_TOLERANCE: f64 = 1e-10;

/// Ordinary least squares (`l2 = 0`) or ridge regression (`l2 > 0`), per output:
/// minimizes `mean((x·w + b − y)²) + l2·‖w‖²`.
///
/// One pass over the rows builds the centred moment matrices in f64; the features are then
/// scaled to unit variance and the normal equations `(R + l2·D⁻²) v = c` are solved by
/// Cholesky. When the columns are rank deficient (and `l2 = 0`), the minimum-norm solution in
/// standardized units comes from the eigendecomposition instead, and
/// [`Fit::rank_deficiency`] names the columns.
pub fn least_squares(x: View<'_>, y: View<'_>, l2: f64) -> Result<Fit, SolveError> {
    check(x, y)?;
    check_l2(l2)?;
    let m = Moments::compute(x, y, &Weights::Uniform);
    m.solve(l2)
}

/// The same problem as [`least_squares`], solved by Householder QR of the centred, scaled
/// feature matrix (augmented with `√(n·l2)` rows for ridge). Slower and heavier — it copies the
/// features to f64 — but it never squares the condition number: the accuracy reference.
pub fn least_squares_qr(x: View<'_>, y: View<'_>, l2: f64) -> Result<Fit, SolveError> {
    check(x, y)?;
    check_l2(l2)?;
    let m = Moments::compute(x, y, &Weights::Uniform);
    let (n, p, k) = (x.rows, x.cols, y.cols);
    let scale: Vec<f64> = m.scale();
    let live: Vec<usize> = (0..p).filter(|&j| scale[j] > 0.0).collect();
    let ridge_rows = if l2 > 0.0 { live.len() } else { 0 };
    let a = Mat::<f64>::from_fn(n + ridge_rows, live.len(), |i, c| {
        let j = live[c];
        if i < n {
            (f64::from(x.row(i)[j]) - m.mean_x[j]) / scale[j]
        } else if i - n == c {
            // ‖A v − b‖² / n + l2‖w‖² with w = v / scale: the extra rows carry √(n·l2)/scale.
            (n as f64 * l2).sqrt() / scale[j]
        } else {
            0.0
        }
    });
    let b = Mat::<f64>::from_fn(n + ridge_rows, k, |i, t| {
        if i < n {
            f64::from(y.row(i)[t]) - m.mean_y[t]
        } else {
            0.0
        }
    });
    let v = a.qr().solve_lstsq(&b);
    let mut weight = vec![vec![0.0; p]; k];
    for (c, &j) in live.iter().enumerate() {
        for (t, row) in weight.iter_mut().enumerate() {
            row[j] = v[(c, t)] / scale[j];
        }
    }
    let bias = m.intercepts(&weight);
    Ok(Fit {
        weight,
        bias,
        iterations: 1,
        rank_deficiency: None,
    })
}

impl Moments {
    /// Per-feature standard deviation (0 for a constant column).
    fn scale(&self) -> Vec<f64> {
        (0..self.p)
            .map(|j| {
                let v = self.xx[(j, j)] / self.total_weight;
                if v > 0.0 {
                    v.sqrt()
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// `b = ȳ − w·x̄` for each output.
    fn intercepts(&self, weight: &[Vec<f64>]) -> Vec<f64> {
        weight
            .iter()
            .zip(&self.mean_y)
            .map(|(w, my)| {
                my - w
                    .iter()
                    .zip(&self.mean_x)
                    .map(|(w, mx)| w * mx)
                    .sum::<f64>()
            })
            .collect()
    }

    /// Solves the (weighted) normal equations from these moments.
    fn solve(&self, l2: f64) -> Result<Fit, SolveError> {
        let (p, k) = (self.p, self.k);
        let scale = self.scale();
        // A column whose spread is rounding noise next to its values is constant.
        let constant: Vec<usize> = (0..p)
            .filter(|&j| scale[j] <= 1e-7 * self.mean_x[j].abs() || scale[j] == 0.0)
            .collect();
        let live: Vec<usize> = (0..p).filter(|j| !constant.contains(j)).collect();
        let q = live.len();
        let w_total = self.total_weight;
        // Correlation-scaled system: R = D⁻¹ XᵀX D⁻¹ / W, c = D⁻¹ Xᵀy / W.
        let mut r = Mat::<f64>::from_fn(q, q, |a, b| {
            let (i, j) = (live[a], live[b]);
            self.xx[(i, j)] / (w_total * scale[i] * scale[j])
        });
        if l2 > 0.0 {
            for (a, &j) in live.iter().enumerate() {
                r[(a, a)] += l2 / (scale[j] * scale[j]);
            }
        }
        let c = Mat::<f64>::from_fn(q, k, |a, t| {
            self.xy[(live[a], t)] / (w_total * scale[live[a]])
        });

        let mut collinear = Vec::new();
        let v = if q == 0 {
            Mat::<f64>::zeros(0, k)
        } else {
            let eig = r
                .self_adjoint_eigen(Side::Lower)
                .map_err(|e| SolveError::Numerical(format!("{e:?}")))?;
            let values: Vec<f64> = (0..q).map(|i| eig.S()[i]).collect();
            let largest = values.iter().copied().fold(0.0_f64, f64::max);
            let null: Vec<usize> = (0..q)
                .filter(|&i| values[i] <= RANK_TOLERANCE * largest)
                .collect();
            if null.is_empty() {
                r.llt(Side::Lower)
                    .map_err(|e| SolveError::Numerical(format!("{e:?}")))?
                    .solve(&c)
            } else {
                // Name the columns each null direction mixes.
                for &i in &null {
                    let group: Vec<usize> = (0..q)
                        .filter(|&a| eig.U()[(a, i)].abs() > 0.1)
                        .map(|a| live[a])
                        .collect();
                    if !group.is_empty() && !collinear.contains(&group) {
                        collinear.push(group);
                    }
                }
                // Minimum norm: v = U Λ⁺ Uᵀ c over the nonzero eigenvalues.
                let u = eig.U();
                let mut v = Mat::<f64>::zeros(q, k);
                for i in (0..q).filter(|i| !null.contains(i)) {
                    for t in 0..k {
                        let proj: f64 =
                            (0..q).map(|a| u[(a, i)] * c[(a, t)]).sum::<f64>() / values[i];
                        for a in 0..q {
                            v[(a, t)] += u[(a, i)] * proj;
                        }
                    }
                }
                v
            }
        };
        let mut weight = vec![vec![0.0; p]; k];
        for (a, &j) in live.iter().enumerate() {
            for (t, row) in weight.iter_mut().enumerate() {
                row[j] = v[(a, t)] / scale[j];
            }
        }
        if weight.iter().flatten().any(|w| !w.is_finite()) {
            return Err(SolveError::Numerical("the solution is not finite".into()));
        }
        let bias = self.intercepts(&weight);
        let rank_deficiency =
            (!constant.is_empty() || !collinear.is_empty()).then_some(RankDeficiency {
                constant,
                collinear,
            });
        Ok(Fit {
            weight,
            bias,
            iterations: 1,
            rank_deficiency,
        })
    }
}

/// Mean of `loss(x·w + b − y)` over rows and outputs, in f64.
pub fn mean_loss(x: View<'_>, y: View<'_>, fit: &Fit, loss: impl Fn(f64) -> f64) -> f64 {
    let mut total = 0.0;
    for i in 0..x.rows {
        let row = x.row(i);
        for (t, (w, b)) in fit.weight.iter().zip(&fit.bias).enumerate() {
            let pred: f64 = w
                .iter()
                .zip(row)
                .map(|(w, &x)| w * f64::from(x))
                .sum::<f64>()
                + b;
            total += loss(pred - f64::from(y.row(i)[t]));
        }
    }
    total / (x.rows * y.cols).max(1) as f64
}

#[cfg(test)]
mod tests;
