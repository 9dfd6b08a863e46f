//! Exact solutions for linear models, with the statistics a statistician expects.
//!
//! Given features `x` (`rows × inputs`) and targets `y` (`rows × outputs`) as row-major `f32`
//! or `f64` buffers ([`View`]) — the matrices `linreg-data` produces — this crate finds the
//! coefficients that minimize, for each output:
//!
//! - [`LeastSquares`]: the (weighted) mean squared error, plus `l2·‖β‖²` for ridge, with or
//!   without intercept, optionally on a polynomial basis of one column. Small or
//!   ill-conditioned problems are solved by Householder QR in double-double arithmetic (about
//!   32 digits: the NIST StRD suite, Filip included, comes out to 13–15 digits); large
//!   well-conditioned ones from one pass of [`Moments`] and a Cholesky factorization. A
//!   [`Solution`] carries the coefficients, the design's [`Conditioning`] and the sums the
//!   [`Inference`] table needs; [`least_squares`] is the short form.
//! - [`Moments`]: count, weight sum, means and centred cross products of `[x, y]`, pushed a
//!   block of rows at a time and merged pairwise — what a streaming reader or a query
//!   engine's aggregate accumulates; OLS, ridge and the classical inference table follow from
//!   it alone ([`Moments::least_squares`]).
//! - [`inference`]: estimates, standard errors, t, p-values, confidence intervals, R², F,
//!   log-likelihood, AIC, BIC, as R's `summary(lm)` and statsmodels print them, with
//!   HC0–HC3 robust standard errors.
//! - [`least_absolute_deviations`] and [`huber`]: IRLS (LAD ends on the exact LP vertex).
//!
//! Constant or collinear columns give the minimum-norm solution (in standardized units) and a
//! [`RankDeficiency`] that names them; a design is only called singular when its data, as
//! f64, no longer determine the coefficients. No explicit inverse of the data is ever formed.
//! No Burn, no CLI.
//!
//! ```
//! use linreg_solve::{least_squares, Inference, LeastSquares, View};
//!
//! // y = 2·x + 1, exactly.
//! let x = [0.0_f32, 1.0, 2.0, 3.0];
//! let y = [1.0_f32, 3.0, 5.0, 7.0];
//! let fit = least_squares(View::new(4, 1, &x)?, View::new(4, 1, &y)?, 0.0)?;
//! assert!((fit.weight[0][0] - 2.0).abs() < 1e-12 && (fit.bias[0] - 1.0).abs() < 1e-12);
//!
//! // With noise, the inference table.
//! let y = [1.1_f64, 2.9, 5.2, 6.8];
//! let x = [0.0_f64, 1.0, 2.0, 3.0];
//! let s = LeastSquares::default().fit(View::new(4, 1, &x)?, View::new(4, 1, &y)?)?;
//! let table = Inference::new(&s, 0, &["x".into()], "y", None).unwrap();
//! assert_eq!(table.coefficients[1].name, "x");
//! assert!(table.coefficients[1].p_value < 0.01 && table.r2 > 0.99);
//! # Ok::<(), linreg_solve::SolveError>(())
//! ```

mod dd;
pub mod inference;
mod moments;
mod normal;
mod qr;
mod robust;

use faer::prelude::*;
use faer::Mat;

pub use inference::{CovarianceKind, Inference, Robust};
pub use moments::Moments;
pub use robust::{huber, least_absolute_deviations, Irls};

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

/// A number the solvers read: `f32` or `f64` (sealed). Everything is computed in f64 or
/// wider whatever the input.
pub trait Element: Copy + Send + Sync + 'static + sealed::Sealed {
    /// The value as f64 (exact).
    fn to_f64(self) -> f64;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl Element for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Element for f64 {
    fn to_f64(self) -> f64 {
        self
    }
}

/// A row-major matrix of `f32` (the default) or `f64`, borrowed from its owner.
#[derive(Debug, Clone, Copy)]
pub struct View<'a, T: Element = f32> {
    rows: usize,
    cols: usize,
    values: &'a [T],
}

impl<'a, T: Element> View<'a, T> {
    /// Borrows `values` as a `rows × cols` row-major matrix.
    pub fn new(rows: usize, cols: usize, values: &'a [T]) -> Result<Self, SolveError> {
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

    /// Row `i`.
    ///
    /// # Panics
    /// If `i >= self.rows()`, like slice indexing.
    pub fn row(&self, i: usize) -> &'a [T] {
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
    /// One intercept per output (0 for a model fitted without intercept).
    pub bias: Vec<f64>,
    /// Iterations used (1 for the direct least-squares solves; the largest count over outputs
    /// for the iterative ones).
    pub iterations: usize,
    /// Set when the columns do not determine a unique solution.
    pub rank_deficiency: Option<RankDeficiency>,
}

/// How a least-squares problem is solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// QR in double-double for tables up to about 3 million row·column² (a tenth of a
    /// second), and for any table whose normal equations would lose digits; the moments
    /// otherwise.
    #[default]
    Auto,
    /// One pass into [`Moments`], then Cholesky on the scaled normal equations: the fast
    /// path, accurate to about `κ²·10⁻¹⁶` relative (κ: the centred design's condition number).
    Moments,
    /// Householder QR in double-double arithmetic: accurate to the last f64 digit up to
    /// κ ≈ 10¹⁴, at about 20 times the cost of an f64 QR.
    Qr,
}

impl Method {
    /// The method in words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Auto => "automatic",
            Self::Moments => "normal equations from one-pass moments (Cholesky)",
            Self::Qr => "Householder QR in double-double arithmetic",
        }
    }
}

/// How well the data determine the coefficients.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Conditioning {
    /// 2-norm condition number of the design matrix as given (with its column of ones when
    /// there is an intercept), as statsmodels reports it.
    pub raw: f64,
    /// The same with every column scaled to unit length (Belsley's condition number): about
    /// how many digits (`log10`) rounding in the data can cost the coefficients.
    pub scaled: f64,
    /// Feature columns taking part (weight above 0.1) in the design's weakest direction.
    pub weakest: Vec<usize>,
    /// Whether the intercept takes part in it too.
    pub weakest_intercept: bool,
}

impl Conditioning {
    pub(crate) fn new(raw: f64, scaled: f64, weakest: &[f64], intercept: bool) -> Self {
        let o = usize::from(intercept);
        Self {
            raw,
            scaled,
            weakest: (o..weakest.len())
                .filter(|&a| weakest[a].abs() > 0.1)
                .map(|a| a - o)
                .collect(),
            weakest_intercept: intercept && weakest.first().is_some_and(|v| v.abs() > 0.1),
        }
    }

    /// Whether the columns are nearly collinear: the scaled condition number is above 10⁴,
    /// so rounding in the data alone can move the coefficients' fourth digit... and beyond.
    pub fn is_ill_conditioned(&self) -> bool {
        self.scaled > ILL_CONDITIONED
    }
}

/// Above this scaled condition number a fit is reported as nearly collinear.
pub const ILL_CONDITIONED: f64 = 1e4;

/// What the inference table needs from a least-squares fit without penalty.
#[derive(Debug, Clone, PartialEq)]
pub struct FitStats {
    /// Number of rows (observations).
    pub rows: u64,
    /// Σ w (the row count without weights).
    pub weight_sum: f64,
    /// Σ ln w (0 without weights).
    pub log_weight_sum: f64,
    /// Whether the model has an intercept (then it is parameter 0).
    pub intercept: bool,
    /// `(XᵀWX)⁻¹` of the design (intercept first), row-major, `params × params`.
    pub cov_unscaled: Vec<f64>,
    /// Residual sum of squares per target, `Σ w·r²`.
    pub rss: Vec<f64>,
    /// Total sum of squares per target: about the weighted mean with an intercept, about 0
    /// without (as R and statsmodels define R² then).
    pub tss: Vec<f64>,
}

impl FitStats {
    /// Number of coefficients, intercept included.
    pub fn params(&self) -> usize {
        (self.cov_unscaled.len() as f64).sqrt().round() as usize
    }
}

/// A least-squares solution and what is known about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// The coefficients.
    pub fit: Fit,
    /// The method that produced them.
    pub method: Method,
    /// Sums and the unscaled covariance for inference; `None` for ridge and for singular
    /// problems.
    pub stats: Option<FitStats>,
    /// Condition numbers of the design.
    pub conditioning: Conditioning,
}

/// Least squares, configured: intercept or not, ridge penalty, row weights, method.
///
/// Minimizes `Σ w·(x·β + b − y)² / Σ w + l2·‖β‖²` for each target (the intercept `b` is never
/// penalized; `b = 0` without intercept).
///
/// ```
/// use linreg_solve::{LeastSquares, View};
///
/// // y = 3·x through the origin.
/// let (x, y) = ([1.0_f64, 2.0, 4.0], [3.0_f64, 6.0, 12.0]);
/// let s = LeastSquares { intercept: false, ..Default::default() }
///     .fit(View::new(3, 1, &x)?, View::new(3, 1, &y)?)?;
/// assert_eq!((s.fit.weight[0][0], s.fit.bias[0]), (3.0, 0.0));
/// assert!(s.stats.unwrap().rss[0] < 1e-30); // exact fit: zero to 32 digits
/// # Ok::<(), linreg_solve::SolveError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeastSquares<'w> {
    /// Fit an intercept (default: yes).
    pub intercept: bool,
    /// Ridge penalty λ ≥ 0 (default 0).
    pub l2: f64,
    /// Positive row weights (weighted least squares), one per row.
    pub weights: Option<&'w [f64]>,
    /// How to solve (default: [`Method::Auto`]).
    pub method: Method,
    /// Polynomial regression on one column: `x` has one column and the design is
    /// `[x, x², …, x^degree]`. The QR path keeps every power in double-double; rounding them
    /// to f64 first (as [`polynomial_features`] does) perturbs the design by half an ulp per
    /// cell, which an ill-conditioned basis amplifies (about six of Filip's digits).
    pub polynomial: Option<usize>,
}

impl Default for LeastSquares<'_> {
    fn default() -> Self {
        Self {
            intercept: true,
            l2: 0.0,
            weights: None,
            method: Method::Auto,
            polynomial: None,
        }
    }
}

/// Above this much work (rows × columns × columns) [`Method::Auto`] takes the moments when the
/// problem is well conditioned: a double-double QR of that size takes about a tenth of a
/// second, and a gradient-descent run's gap report solves tables up to a million cells.
const QR_WORK: usize = 3_000_000;

/// Centred condition number above which [`Method::Auto`] does not trust the normal equations
/// (they would lose more than about six digits of sixteen).
const MOMENTS_KAPPA: f64 = 1e3;

impl LeastSquares<'_> {
    /// Solves for every target of `y`.
    pub fn fit<T: Element>(&self, x: View<'_, T>, y: View<'_, T>) -> Result<Solution, SolveError> {
        check_shapes(x, y)?;
        check_l2(self.l2)?;
        match self.polynomial {
            None => self.solve(x, y, x),
            Some(degree) => {
                if x.cols() != 1 || degree == 0 {
                    return Err(SolveError::InvalidParameter(format!(
                        "polynomial regression takes one feature column and a degree ≥ 1; got {} \
                         column(s) and degree {degree}",
                        x.cols()
                    )));
                }
                let column: Vec<f64> = x.values.iter().map(|v| v.to_f64()).collect();
                let targets: Vec<f64> = y.values.iter().map(|v| v.to_f64()).collect();
                let expanded = polynomial_features(&column, degree);
                self.solve(
                    View::new(x.rows(), degree, &expanded)?,
                    View::new(y.rows(), y.cols(), &targets)?,
                    View::new(x.rows(), 1, &column)?,
                )
            }
        }
    }

    /// Solves with the expanded `design`; `x` is the table's own feature columns (one
    /// column for a polynomial, which the QR path expands in double-double).
    fn solve<T: Element>(
        &self,
        design: View<'_, T>,
        y: View<'_, T>,
        x: View<'_, T>,
    ) -> Result<Solution, SolveError> {
        let params = design.cols() + usize::from(self.intercept);
        if x.rows() < params.max(2) {
            return Err(SolveError::TooFewRows {
                rows: x.rows(),
                needed: params.max(2),
            });
        }
        if let Some(w) = self.weights {
            moments::check_weights(w, x.rows())?;
        }
        let finite = || {
            if x.values.iter().any(|v| !v.to_f64().is_finite())
                || y.values.iter().any(|v| !v.to_f64().is_finite())
            {
                Err(SolveError::NonFinite)
            } else {
                Ok(())
            }
        };
        // The moments check their own sums; the QR path checks the cells first.
        if self.method == Method::Qr || work_of(x.rows(), params, y.cols()) <= QR_WORK {
            finite()?;
        }
        let qr_problem = qr::QrProblem {
            x,
            y,
            weights: self.weights,
            intercept: self.intercept,
            l2: self.l2,
            degree: self.polynomial,
        };
        let work = work_of(x.rows(), params, y.cols());
        let by_moments =
            || Moments::from_rows(design, y, self.weights)?.least_squares(self.intercept, self.l2);
        match self.method {
            Method::Moments => by_moments(),
            Method::Qr => qr::solve(&qr_problem).map_or_else(by_moments, Ok),
            Method::Auto if work <= QR_WORK => qr::solve(&qr_problem).map_or_else(by_moments, Ok),
            Method::Auto => {
                let m = Moments::from_rows(design, y, self.weights)?;
                let fast = m.least_squares(self.intercept, self.l2)?;
                // What the normal equations call singular (κ ≳ 10⁵) may still be determined
                // by the rows: only the QR path decides that (κ > 10¹⁴).
                if fast.fit.rank_deficiency.is_some()
                    || m.centred_kappa(self.intercept) > MOMENTS_KAPPA
                {
                    finite()?;
                    Ok(qr::solve(&qr_problem).unwrap_or(fast))
                } else {
                    Ok(fast)
                }
            }
        }
    }
}

fn work_of(rows: usize, params: usize, targets: usize) -> usize {
    rows.saturating_mul((params + targets) * params)
}

/// Polynomial features of one column: `[x, x², …, x^degree]` per row, each power rounded
/// once to f64 from a double-double product (so `x¹⁰` is as accurate as a value read from a
/// file). For fitting `y = b + β₁x + … + β_d·x^d`.
///
/// ```
/// let rows = linreg_solve::polynomial_features(&[2.0, -3.0], 3);
/// assert_eq!(rows, vec![2.0, 4.0, 8.0, -3.0, 9.0, -27.0]);
/// ```
pub fn polynomial_features(x: &[f64], degree: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len() * degree);
    for &v in x {
        let mut power = dd::Dd::ONE;
        for _ in 0..degree {
            power = power * dd::Dd::from_f64(v);
            out.push(power.to_f64());
        }
    }
    out
}

fn check_shapes<T: Element>(x: View<'_, T>, y: View<'_, T>) -> Result<(), SolveError> {
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
    Ok(())
}

fn check<T: Element>(x: View<'_, T>, y: View<'_, T>) -> Result<(), SolveError> {
    check_shapes(x, y)?;
    if x.rows < 2 {
        return Err(SolveError::TooFewRows {
            rows: x.rows,
            needed: 2,
        });
    }
    if x.values.iter().any(|v| !v.to_f64().is_finite())
        || y.values.iter().any(|v| !v.to_f64().is_finite())
    {
        return Err(SolveError::NonFinite);
    }
    Ok(())
}

pub(crate) fn check_l2(l2: f64) -> Result<(), SolveError> {
    if l2.is_finite() && l2 >= 0.0 {
        Ok(())
    } else {
        Err(SolveError::InvalidParameter(format!(
            "l2 = {l2} is invalid: expected a finite number ≥ 0"
        )))
    }
}

/// Ordinary least squares (`l2 = 0`) or ridge regression (`l2 > 0`) with an intercept, per
/// output: minimizes `mean((x·w + b − y)²) + l2·‖w‖²`. [`LeastSquares`] with its defaults:
/// double-double QR for small tables and ill-conditioned ones, the one-pass moments and
/// Cholesky for large well-conditioned ones. Constant or collinear columns give the
/// minimum-norm solution (in standardized units) and [`Fit::rank_deficiency`] names them.
pub fn least_squares<T: Element>(
    x: View<'_, T>,
    y: View<'_, T>,
    l2: f64,
) -> Result<Fit, SolveError> {
    check(x, y)?;
    check_l2(l2)?;
    Ok(LeastSquares {
        l2,
        ..Default::default()
    }
    .fit(x, y)?
    .fit)
}

/// The same problem as [`least_squares`], solved by faer's Householder QR in f64 of the
/// centred, scaled feature matrix (augmented with `√(n·l2)` rows for ridge): an independent
/// reference for tests and benchmarks.
pub fn least_squares_qr<T: Element>(
    x: View<'_, T>,
    y: View<'_, T>,
    l2: f64,
) -> Result<Fit, SolveError> {
    check(x, y)?;
    check_l2(l2)?;
    let m = Moments::from_rows(x, y, None)?;
    let (n, p, k) = (x.rows, x.cols, y.cols);
    let mean = m.mean();
    let scale: Vec<f64> = (0..p)
        .map(|j| (m.comoment(j, j) / m.weight_sum()).max(0.0).sqrt())
        .collect();
    let live: Vec<usize> = (0..p).filter(|&j| scale[j] > 0.0).collect();
    let ridge_rows = if l2 > 0.0 { live.len() } else { 0 };
    let a = Mat::<f64>::from_fn(n + ridge_rows, live.len(), |i, c| {
        let j = live[c];
        if i < n {
            (x.row(i)[j].to_f64() - mean[j]) / scale[j]
        } else if i - n == c {
            // ‖A v − b‖² / n + l2‖w‖² with w = v / scale: the extra rows carry √(n·l2)/scale.
            (n as f64 * l2).sqrt() / scale[j]
        } else {
            0.0
        }
    });
    let b = Mat::<f64>::from_fn(n + ridge_rows, k, |i, t| {
        if i < n {
            y.row(i)[t].to_f64() - mean[p + t]
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
    let bias = (0..k)
        .map(|t| mean[p + t] - (0..p).map(|j| weight[t][j] * mean[j]).sum::<f64>())
        .collect();
    Ok(Fit {
        weight,
        bias,
        iterations: 1,
        rank_deficiency: None,
    })
}

/// Mean of `loss(x·w + b − y)` over rows and outputs, in f64.
pub fn mean_loss<T: Element>(
    x: View<'_, T>,
    y: View<'_, T>,
    fit: &Fit,
    loss: impl Fn(f64) -> f64,
) -> f64 {
    let mut total = 0.0;
    for i in 0..x.rows {
        let row = x.row(i);
        for (t, (w, b)) in fit.weight.iter().zip(&fit.bias).enumerate() {
            let pred: f64 = w.iter().zip(row).map(|(w, &x)| w * x.to_f64()).sum::<f64>() + b;
            total += loss(pred - y.row(i)[t].to_f64());
        }
    }
    total / (x.rows * y.cols).max(1) as f64
}

#[cfg(test)]
mod tests;
