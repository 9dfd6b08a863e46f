//! Regression metrics on the host, in f64: MAE, MSE, RMSE and R², per target and averaged.

use linreg_data::Matrix;
use serde::{Deserialize, Serialize};

/// The four scores of one target (or their average over targets).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Mean absolute error.
    pub mae: f64,
    /// Mean squared error.
    pub mse: f64,
    /// Root of the mean squared error.
    pub rmse: f64,
    /// Coefficient of determination, `1 − SS_res / SS_tot` (scikit-learn's `r2_score`: 1 for a
    /// perfect fit of a constant target, 0 for an imperfect one).
    pub r2: f64,
}

/// Scores per target and their average.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Each score averaged over the targets (the mean of `per_target`).
    pub mean: Scores,
    /// One entry per target, in column order.
    pub per_target: Vec<Scores>,
}

impl Metrics {
    /// The scores of an empty set of `k` targets: every value NaN (no test rows).
    pub fn nan(k: usize) -> Self {
        let nan = Scores {
            mae: f64::NAN,
            mse: f64::NAN,
            rmse: f64::NAN,
            r2: f64::NAN,
        };
        Self {
            mean: nan,
            per_target: vec![nan; k],
        }
    }

    /// Scores `predictions` (row-major, like `targets`) against `targets`.
    ///
    /// # Panics
    /// If the two have different lengths: a programming error, not a data error.
    pub fn compute<T: linreg_data::Real>(predictions: &[f32], targets: &Matrix<T>) -> Self {
        assert_eq!(
            predictions.len(),
            targets.values().len(),
            "one prediction per target cell"
        );
        let (n, m) = (targets.rows(), targets.cols());
        let mut abs = vec![0.0_f64; m];
        let mut sq = vec![0.0_f64; m];
        for (row_p, row_y) in predictions
            .chunks_exact(m)
            .zip(targets.values().chunks_exact(m))
        {
            for j in 0..m {
                let (p, y) = (f64::from(row_p[j]), row_y[j].to_f64());
                abs[j] += (p - y).abs();
                sq[j] += (p - y).powi(2);
            }
        }
        let tot = sum_of_squares(targets);
        Self::from_sums(&abs, &sq, n, &tot)
    }

    /// Scores from the per-target sums a fused evaluation returns: `Σ|r|`, `Σr²` over `rows`
    /// rows, and the targets' `Σ(y − ȳ)²` ([`sum_of_squares`]).
    ///
    /// # Panics
    /// If the three slices have different lengths.
    pub fn from_sums(abs: &[f64], sq: &[f64], rows: usize, tot: &[f64]) -> Self {
        assert!(
            abs.len() == sq.len() && sq.len() == tot.len(),
            "one sum per target"
        );
        let n = rows.max(1) as f64;
        let per_target: Vec<Scores> = (0..abs.len())
            .map(|j| {
                let mse = sq[j] / n;
                let r2 = if tot[j] > 0.0 {
                    1.0 - sq[j] / tot[j]
                } else if sq[j] == 0.0 {
                    1.0
                } else {
                    0.0
                };
                Scores {
                    mae: abs[j] / n,
                    mse,
                    rmse: mse.sqrt(),
                    r2,
                }
            })
            .collect();
        let m = per_target.len();
        let avg = |f: fn(&Scores) -> f64| per_target.iter().map(f).sum::<f64>() / m.max(1) as f64;
        let mean = Scores {
            mae: avg(|s| s.mae),
            mse: avg(|s| s.mse),
            rmse: avg(|s| s.rmse),
            r2: avg(|s| s.r2),
        };
        Self { mean, per_target }
    }
}

/// `Σ(y − ȳ)²` of each target column (two passes in f64): the denominator of R².
pub fn sum_of_squares<T: linreg_data::Real>(targets: &Matrix<T>) -> Vec<f64> {
    let (n, m) = (targets.rows(), targets.cols());
    let mut mean = vec![0.0_f64; m];
    for row in targets.values().chunks_exact(m.max(1)) {
        for (s, v) in mean.iter_mut().zip(row) {
            *s += v.to_f64();
        }
    }
    mean.iter_mut().for_each(|s| *s /= n.max(1) as f64);
    let mut tot = vec![0.0_f64; m];
    for row in targets.values().chunks_exact(m.max(1)) {
        for j in 0..m {
            tot[j] += (row[j].to_f64() - mean[j]).powi(2);
        }
    }
    tot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_scores() {
        // Target 1: y = [1, 2, 3], p = [1, 2, 5]: errors 0, 0, 2 → MAE 2/3, MSE 4/3,
        // SS_tot = 2, R² = 1 − 4/2 = −1. Target 2: perfect → 0, 0, 0, 1.
        let y = Matrix::new(3, 2, vec![1., 10., 2., 20., 3., 30.]).unwrap();
        let p = [1., 10., 2., 20., 5., 30.];
        let m = Metrics::compute(&p, &y);
        let t1 = m.per_target[0];
        assert!((t1.mae - 2.0 / 3.0).abs() < 1e-12);
        assert!((t1.mse - 4.0 / 3.0).abs() < 1e-12);
        assert!((t1.rmse - (4.0_f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((t1.r2 + 1.0).abs() < 1e-12);
        assert_eq!(
            m.per_target[1],
            Scores {
                mae: 0.0,
                mse: 0.0,
                rmse: 0.0,
                r2: 1.0
            }
        );
        assert!((m.mean.r2 - 0.0).abs() < 1e-12);
        assert!((m.mean.mae - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn constant_target_follows_scikit_learn() {
        let y = Matrix::new(2, 1, vec![4., 4.]).unwrap();
        assert_eq!(Metrics::compute(&[4., 4.], &y).mean.r2, 1.0);
        assert_eq!(Metrics::compute(&[4., 5.], &y).mean.r2, 0.0);
    }
}
