//! Regression scores without holding the rows: from moments (MSE, RMSE, R²), or from sums
//! accumulated while streaming predictions ([`EvalSums`], MAE too).

use linreg_solve::Moments;
use linreg_train::{Metrics, Scores};

/// MSE, RMSE and R² of the linear model `ŷ = weight·x + bias` (`[out][in]`, original units)
/// on the rows whose plain moments are `m`, per target and averaged — exactly, from the
/// moments alone: `Σ(ŷ − y)² = vᵀCv + n·(v·z̄ + b)²` with `v = [w, −eₜ]`. The MAE needs the
/// rows, so it is NaN here.
pub fn scores(m: &Moments, weight: &[Vec<f64>], bias: &[f64]) -> Metrics {
    let (p, k) = (m.features(), m.targets());
    let n = m.weight_sum();
    let z = m.mean();
    let per_target: Vec<Scores> = (0..k)
        .map(|t| {
            let w = &weight[t];
            let b = bias.get(t).copied().unwrap_or(0.0);
            let coef = |i: usize| {
                if i < p {
                    w[i]
                } else if i == p + t {
                    -1.0
                } else {
                    0.0
                }
            };
            let idx: Vec<usize> = (0..p).chain([p + t]).collect();
            let mut quad = 0.0;
            for &i in &idx {
                for &j in &idx {
                    quad += coef(i) * m.comoment(i, j) * coef(j);
                }
            }
            let mean_e: f64 = idx.iter().map(|&i| coef(i) * z[i]).sum::<f64>() + b;
            let sq = quad.max(0.0) + n * mean_e * mean_e;
            let tot = m.comoment(p + t, p + t);
            finish(f64::NAN, sq, tot, n)
        })
        .collect();
    average(per_target)
}

fn finish(abs: f64, sq: f64, tot: f64, n: f64) -> Scores {
    let mse = sq / n.max(1.0);
    let r2 = if tot > 0.0 {
        1.0 - sq / tot
    } else if sq == 0.0 {
        1.0
    } else {
        0.0
    };
    Scores {
        mae: abs / n.max(1.0),
        mse,
        rmse: mse.sqrt(),
        r2,
    }
}

fn average(per_target: Vec<Scores>) -> Metrics {
    let k = per_target.len().max(1) as f64;
    let mean = |f: fn(&Scores) -> f64| per_target.iter().map(f).sum::<f64>() / k;
    Metrics {
        mean: Scores {
            mae: mean(|s| s.mae),
            mse: mean(|s| s.mse),
            rmse: mean(|s| s.rmse),
            r2: mean(|s| s.r2),
        },
        per_target,
    }
}

/// Sums for MAE, MSE, RMSE and R² over streamed predictions, mergeable: per target the row
/// count, `Σ|ŷ − y|`, `Σ(ŷ − y)²`, and the targets' mean and centred sum of squares (merged
/// as Chan et al. do).
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSums {
    n: f64,
    abs: Vec<f64>,
    sq: Vec<f64>,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl EvalSums {
    /// Empty sums for `targets` targets.
    pub fn new(targets: usize) -> Self {
        Self {
            n: 0.0,
            abs: vec![0.0; targets],
            sq: vec![0.0; targets],
            mean: vec![0.0; targets],
            m2: vec![0.0; targets],
        }
    }

    /// Adds rows: `pred` row-major (`rows × targets`), `targets` one column per target.
    pub fn push(&mut self, pred: &[f64], targets: &[&[f64]]) {
        let k = targets.len();
        let rows = targets.first().map_or(0, |c| c.len());
        if rows == 0 {
            return;
        }
        let mut part = Self::new(k);
        part.n = rows as f64;
        for (t, col) in targets.iter().enumerate() {
            let mean = col.iter().sum::<f64>() / rows as f64;
            part.mean[t] = mean;
            part.m2[t] = col.iter().map(|y| (y - mean).powi(2)).sum();
            for (r, &y) in col.iter().enumerate() {
                let e = pred[r * k + t] - y;
                part.abs[t] += e.abs();
                part.sq[t] += e * e;
            }
        }
        self.merge(&part);
    }

    /// Adds other sums.
    pub fn merge(&mut self, other: &EvalSums) {
        if other.n == 0.0 {
            return;
        }
        let n = self.n + other.n;
        for t in 0..self.abs.len() {
            let delta = other.mean[t] - self.mean[t];
            self.m2[t] += other.m2[t] + delta * delta * self.n * other.n / n;
            self.mean[t] += delta * other.n / n;
            self.abs[t] += other.abs[t];
            self.sq[t] += other.sq[t];
        }
        self.n = n;
    }

    /// Rows summed.
    pub fn rows(&self) -> u64 {
        self.n as u64
    }

    /// The scores, per target and averaged.
    pub fn metrics(&self) -> Metrics {
        average(
            (0..self.abs.len())
                .map(|t| finish(self.abs[t], self.sq[t], self.m2[t], self.n))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linreg_data::Matrix;
    use linreg_solve::View;

    #[test]
    fn moments_and_streamed_sums_give_the_scores_of_the_rows() {
        let n = 300;
        let x: Vec<f64> = (0..n)
            .flat_map(|i| [i as f64 * 0.1, ((i * 13) % 7) as f64])
            .collect();
        let y: Vec<f64> = (0..n)
            .flat_map(|i| {
                [
                    2.0 * i as f64 * 0.1 + (i % 3) as f64,
                    1.0 - ((i * 5) % 4) as f64,
                ]
            })
            .collect();
        let (w, b) = (vec![vec![1.9, 0.2], vec![-0.1, 0.3]], vec![0.7, 0.1]);
        let pred: Vec<f64> = (0..n)
            .flat_map(|i| {
                let r = &x[i * 2..i * 2 + 2];
                (0..2)
                    .map(|t| w[t][0] * r[0] + w[t][1] * r[1] + b[t])
                    .collect::<Vec<_>>()
            })
            .collect();
        let want = Metrics::compute(
            &pred.iter().map(|&v| v as f32).collect::<Vec<_>>(),
            &Matrix::new(n, 2, y.clone()).unwrap(),
        );
        let m = Moments::from_rows(
            View::new(n, 2, &x).unwrap(),
            View::new(n, 2, &y).unwrap(),
            None,
        )
        .unwrap();
        let from_moments = scores(&m, &w, &b);
        let cols: Vec<Vec<f64>> = (0..2)
            .map(|t| y.iter().skip(t).step_by(2).copied().collect())
            .collect();
        let mut sums = EvalSums::new(2);
        sums.push(&pred[..200 * 2], &[&cols[0][..200], &cols[1][..200]]);
        let mut rest = EvalSums::new(2);
        rest.push(&pred[200 * 2..], &[&cols[0][200..], &cols[1][200..]]);
        sums.merge(&rest);
        let streamed = sums.metrics();
        for t in 0..2 {
            let (a, b, c) = (
                &from_moments.per_target[t],
                &streamed.per_target[t],
                &want.per_target[t],
            );
            // The reference rounds predictions to f32.
            for (u, v) in [
                (a.mse, c.mse),
                (b.mse, c.mse),
                (a.r2, c.r2),
                (b.r2, c.r2),
                (b.mae, c.mae),
            ] {
                assert!((u - v).abs() <= 1e-6 * v.abs().max(1.0), "{u} {v}");
            }
            assert!(a.mae.is_nan());
        }
    }
}
