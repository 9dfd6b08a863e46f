//! Elastic net, lasso and ridge by coordinate descent: regularization paths from
//! [`Moments`] (or from rows, for wide tables) and K-fold cross-validation from per-fold
//! moments.
//!
//! # The objective
//!
//! For each target `t` separately (as scikit-learn's `ElasticNet` does with a 2-D `y`), with
//! row weights `w` (1 without) and `W = Σ w`:
//!
//! ```text
//! (1/(2W)) Σ_i w_i (y_i − x_i·β − β₀)²  +  α·( R‖β‖₁ + (1 − R)/2·‖β‖² )
//! ```
//!
//! with `R` the `l1_ratio` (1: lasso, 0: ridge) and the intercept `β₀` not penalized (0 with
//! `intercept: false`, and then the products are taken about 0, not about the means). This is
//! scikit-learn's `ElasticNet(alpha=α, l1_ratio=R)` with `sample_weight`, and glmnet's
//! gaussian family with `standardize=FALSE, lambda=α, alpha=R` — exactly so for the lasso;
//! for `R < 1` glmnet scales `y` to unit variance internally, which multiplies its ridge term
//! by `sd(y)`, so the two agree when `y` has unit (weighted population) sd.
//!
//! With `standardize: true` (glmnet's `standardize=TRUE`) the penalty acts on `s_j·β_j`, `s_j`
//! feature `j`'s weighted population sd `sqrt(C_jj/W)` — about the mean even without
//! intercept, as glmnet's `standard` does (it scales by the centred sd and leaves `x`
//! uncentred); coefficients are always returned in the original units, and the intercept is
//! `ȳ − x̄·β`. A constant feature (`s_j ≤ 1e-7·|x̄_j|`) takes no part and gets exactly 0, except
//! without intercept and unstandardized, where only an all-zero feature does.
//!
//! # Solvers
//!
//! - [`path`]: covariance ("Gram") coordinate descent on the moments, glmnet's active-set
//!   scheme, warm-started along the α values. Costs `O(p²)` memory.
//! - [`path_rows`]: the same points from rows, for tables with far more features than rows
//!   (sequential strong rules and a KKT check, one residual per target, no `p × p` matrix).
//! - [`cross_validate`]: K-fold cross-validation from one [`Moments`] per fold, with
//!   cv.glmnet's `lambda.min` and `lambda.1se` rules; [`fold_of`] assigns rows to folds.
//!
//! Both solvers stop at an α when no feature outside the support violates its optimality
//! condition, the duality gap (scikit-learn's) is at most `tol·yᵀy/W`, and either the last
//! sweeps moved the fit by at most `tol²·yᵀy/W` in mean square or the point was just
//! *polished*: solved exactly on its support with its signs fixed, from a Cholesky factor of
//! the support's Gram matrix that is updated as features enter and leave (features whose sign
//! would flip leave, as in the homotopy method; an elastic net's changing ridge weight is
//! handled by conjugate gradients preconditioned with the factor). Coordinate descent finds
//! the support; the polish, tried when it costs less than the sweeps done so far, spares them
//! the many sweeps that strongly correlated features (small α, more features than rows) need,
//! and makes the coefficients accurate to rounding rather than to the gap's square root.
//!
//! ```
//! use linreg_path::{path, Alphas, PathOptions};
//! use linreg_solve::{Moments, View};
//!
//! // y = 3·x₀ − 2·x₁ + 1 (x₂ does not matter), 40 rows.
//! let n = 40;
//! let x: Vec<f64> = (0..3 * n).map(|i| ((i * 7919 % 101) as f64 / 10.0).sin()).collect();
//! let y: Vec<f64> = (0..n).map(|i| 3.0 * x[3 * i] - 2.0 * x[3 * i + 1] + 1.0).collect();
//! let m = Moments::from_rows(View::new(n, 3, &x)?, View::new(n, 1, &y)?, None)?;
//!
//! let lasso = path(&m, &PathOptions::default())?;
//! assert_eq!(lasso.points[0].nonzero, 0); // α_max: every coefficient is 0
//! // The generated grid ends, as glmnet's does, once the fit explains 99.9 % of the deviance.
//! let last = lasso.points.last().unwrap();
//! assert!(lasso.points.len() < 100 && last.deviance_ratio[0] > 0.999);
//!
//! // Given α values are all fitted; at α_max/10⁴, nearly least squares.
//! let alphas = Alphas::Given(vec![lasso.alpha_max * 1e-4, lasso.alpha_max / 2.0]);
//! let two = path(&m, &PathOptions { alphas, ..PathOptions::default() })?;
//! let last = &two.points[1];
//! assert!((last.weight[0][0] - 3.0).abs() < 0.01 && last.weight[0][2].abs() < 0.01);
//!
//! // One α, elastic net.
//! let options = PathOptions { l1_ratio: 0.5, alphas: Alphas::Given(vec![0.1]), ..PathOptions::default() };
//! let net = path(&m, &options)?;
//! assert!(net.points[0].deviance_ratio[0] > 0.9 && net.points[0].gap <= 1e-7);
//! # Ok::<(), linreg_path::PathError>(())
//! ```

mod cv;
mod descent;
mod factor;
mod frame;
mod gram;
mod rows;
#[cfg(test)]
mod tests;

pub use cv::{
    cross_validate, cross_validate_rows, fold_block, fold_ids, fold_of, moments_by_fold,
    residual_sum_of_squares, CrossValidation,
};
pub use gram::{alpha_max, path};
pub use rows::path_rows;

use frame::{Frame, Solved};
#[cfg(doc)]
use linreg_solve::Moments;
use linreg_solve::SolveError;

/// Most folds a cross-validation takes: more labels is a column chosen by mistake (an id),
/// not folds.
pub const MAX_FOLDS: usize = 1000;

/// The default duality-gap tolerance, relative to the target's mean square.
pub const DEFAULT_TOL: f64 = 1e-7;

/// Why no path was computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PathError {
    /// An option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The inputs disagree on their sizes, or have no features or no targets.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// No rows to fit.
    #[error("no rows: the table (or the moments) holds no rows; give at least one row")]
    NoRows,
    /// A value is NaN or infinite.
    #[error("the data contain NaN or infinite values; drop or impute them first")]
    NonFinite,
    /// A grid was asked for but `α_max` is 0.
    #[error(
        "α_max is 0: every target is constant, or no feature varies or correlates with one, so \
         there is no α grid; give the α values (Alphas::Given) if a fit is still wanted"
    )]
    NoSignal,
    /// The folds of a cross-validation are unusable.
    #[error("cross-validation: {0}")]
    Folds(String),
    /// Coordinate descent ran out of sweeps.
    #[error(
        "coordinate descent did not converge at α = {alpha} in {sweeps} sweeps (duality gap \
         {gap:e} of yᵀy/W); raise max_sweeps, raise tol, standardize the features, or use a \
         larger α"
    )]
    NotConverged {
        /// The α being fitted.
        alpha: f64,
        /// Sweeps spent on it.
        sweeps: usize,
        /// The duality gap reached, relative to `yᵀy/W`.
        gap: f64,
    },
    /// The moments could not be combined.
    #[error(transparent)]
    Moments(#[from] SolveError),
}

/// The α values of a path.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Alphas {
    /// `count` values from `α_max` down to `min_ratio·α_max`, evenly spaced on a log scale:
    /// `α_max·min_ratio^(i/(count − 1))`.
    Grid {
        /// Number of α values, at least 1.
        count: usize,
        /// Smallest α over `α_max`, in (0, 1).
        min_ratio: f64,
    },
    /// These α values (finite, ≥ 0), in any order; the path holds them decreasing. One α is
    /// `Given(vec![a])`. α = 0 is least squares by coordinate descent, with no duality gap
    /// to stop on (see [`Point::gap`]).
    Given(Vec<f64>),
}

/// How to fit a path.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PathOptions {
    /// `R` in `[0, 1]`: 1 is the lasso, 0 ridge.
    pub l1_ratio: f64,
    /// The α values.
    pub alphas: Alphas,
    /// Penalize the coefficients of the features scaled to unit population sd (glmnet's
    /// default); coefficients are returned in the original units either way.
    pub standardize: bool,
    /// Fit an unpenalized intercept.
    pub intercept: bool,
    /// Convergence: the duality gap at most `tol·yᵀy/W` (see the crate documentation for the
    /// rest of the rule).
    pub tol: f64,
    /// Most sweeps over the coordinates per α and target before
    /// [`PathError::NotConverged`].
    pub max_sweeps: usize,
}

impl Default for PathOptions {
    /// The lasso on a 100-point grid down to `α_max/1000`, standardized, with intercept,
    /// `tol` 1e-7, at most 100,000 sweeps.
    fn default() -> Self {
        Self {
            l1_ratio: 1.0,
            alphas: Alphas::Grid {
                count: 100,
                min_ratio: 1e-3,
            },
            standardize: true,
            intercept: true,
            tol: DEFAULT_TOL,
            max_sweeps: 100_000,
        }
    }
}

/// A regularization path: one [`Point`] per α, decreasing.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Path {
    /// The α values, decreasing (`points[i].alpha`).
    pub alphas: Vec<f64>,
    /// The fits.
    pub points: Vec<Point>,
    /// `R`.
    pub l1_ratio: f64,
    /// The smallest α with every coefficient 0 (see [`alpha_max`]).
    pub alpha_max: f64,
}

/// The fit at one α.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Point {
    /// The α.
    pub alpha: f64,
    /// Coefficients, `[target][feature]`, in the original units; exact zeros where the
    /// penalty keeps a feature out.
    pub weight: Vec<Vec<f64>>,
    /// Intercept per target (`ȳ − x̄·β`), 0 without intercept.
    pub bias: Vec<f64>,
    /// Nonzero coefficients over all targets.
    pub nonzero: usize,
    /// Per target, `1 − RSS/TSS` on the training rows (TSS about the mean with intercept,
    /// about 0 without); 0 for a constant target.
    pub deviance_ratio: Vec<f64>,
    /// Sweeps over the coordinates spent on this α, summed over targets.
    pub sweeps: usize,
    /// The largest duality gap over targets, relative to `yᵀy/W` (at most `tol`). With
    /// α = 0 there is no dual bound, and this is `Σ_j g_j²/(2·G_jj)` over `yᵀy/W` instead,
    /// `g` the gradient: what one coordinate step each could still gain.
    pub gap: f64,
}

impl Path {
    /// The point whose α equals `alpha` to 1e-12 relative, if any.
    pub fn at(&self, alpha: f64) -> Option<&Point> {
        self.points
            .iter()
            .find(|p| (p.alpha - alpha).abs() <= 1e-12 * p.alpha.abs().max(alpha.abs()))
    }

    /// The point whose α is nearest to `alpha` on a log scale (the first on ties).
    ///
    /// # Panics
    /// If the path has no points (a path from this crate always has one).
    pub fn nearest(&self, alpha: f64) -> &Point {
        let log = |a: f64| a.max(f64::MIN_POSITIVE).ln();
        let distance = |p: &Point| (log(p.alpha) - log(alpha)).abs();
        let best = (0..self.points.len()).fold(0, |best, i| {
            if distance(&self.points[i]) < distance(&self.points[best]) {
                i
            } else {
                best
            }
        });
        &self.points[best]
    }
}

/// Checks `options`, naming the problem and the fix.
pub(crate) fn check_options(o: &PathOptions) -> Result<(), PathError> {
    let bad = |m: String| Err(PathError::InvalidOption(m));
    if !(0.0..=1.0).contains(&o.l1_ratio) {
        return bad(format!(
            "l1_ratio {} is outside [0, 1]: use 1 for the lasso, 0 for ridge, in between for \
             the elastic net",
            o.l1_ratio
        ));
    }
    if !(o.tol.is_finite() && o.tol > 0.0) {
        return bad(format!(
            "tol {} is invalid: expected a positive number such as 1e-7",
            o.tol
        ));
    }
    if o.max_sweeps == 0 {
        return bad("max_sweeps 0 is invalid: expected at least 1 (100000 is usual)".into());
    }
    match &o.alphas {
        Alphas::Given(a) if a.is_empty() => bad("no α given: give at least one α".into()),
        Alphas::Given(a) => match a.iter().find(|a| !(a.is_finite() && **a >= 0.0)) {
            Some(x) => bad(format!("α = {x} is invalid: expected finite numbers ≥ 0")),
            None => Ok(()),
        },
        Alphas::Grid { count: 0, .. } => {
            bad("an α grid of 0 points is invalid: expected at least 1 (100 is usual)".into())
        }
        Alphas::Grid { min_ratio, .. } if !(*min_ratio > 0.0 && *min_ratio < 1.0) => bad(format!(
            "α grid min_ratio {min_ratio} is invalid: expected a number in (0, 1) such as 1e-3"
        )),
        Alphas::Grid { .. } => Ok(()),
    }
}

/// Checks that there are features and targets.
pub(crate) fn check_sizes(features: usize, targets: usize) -> Result<(), PathError> {
    if features == 0 {
        return Err(PathError::Shape(
            "no feature columns: a penalized fit needs at least one feature".into(),
        ));
    }
    if targets == 0 {
        return Err(PathError::Shape(
            "no target columns: give at least one target".into(),
        ));
    }
    Ok(())
}

/// The path from each target's solutions (`solved[target][α]`).
pub(crate) fn assemble(
    frame: &Frame,
    alphas: Vec<f64>,
    solved: &[Vec<Solved>],
    l1_ratio: f64,
    alpha_max: f64,
) -> Path {
    let points = alphas
        .iter()
        .enumerate()
        .map(|(a, &alpha)| {
            let at: Vec<&Solved> = solved.iter().map(|s| &s[a]).collect();
            frame.point(alpha, &at)
        })
        .collect();
    Path {
        alphas,
        points,
        l1_ratio,
        alpha_max,
    }
}
