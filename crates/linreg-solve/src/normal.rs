//! Least squares from [`Moments`] alone: the normal equations, scaled to unit diagonal and
//! solved by Cholesky; an eigendecomposition gives the conditioning and, when the matrix is
//! singular, the minimum-norm solution and the columns to blame.

use faer::prelude::*;
use faer::{Mat, Side};

use crate::{Conditioning, Fit, FitStats, Method, Moments, RankDeficiency, Solution, SolveError};

/// Relative size below which an eigenvalue of the scaled normal matrix counts as zero (the
/// design's condition number would be above 10⁵; normal equations in f64 cannot resolve more,
/// and the accurate QR path takes such problems when it has the rows).
pub(crate) const RANK_TOLERANCE: f64 = 1e-10;

/// The normal equations a `Moments` gives for the chosen model.
pub(crate) struct Normal {
    /// `XᵀWX` over the features (centred with an intercept), `p × p`.
    pub g: Mat<f64>,
    /// `XᵀWy`, `p × k`.
    pub gy: Mat<f64>,
    /// `yᵀWy` per target (centred with an intercept).
    pub yy: Vec<f64>,
}

impl Moments {
    pub(crate) fn normal(&self, intercept: bool) -> Normal {
        let (p, k) = (self.features(), self.targets());
        let m = self.mean();
        let w = self.weight_sum();
        // Without intercept the uncentred products are C + W·z̄z̄ᵀ.
        let extra = |i: usize, j: usize| if intercept { 0.0 } else { w * m[i] * m[j] };
        Normal {
            g: Mat::from_fn(p, p, |i, j| self.comoment(i, j) + extra(i, j)),
            gy: Mat::from_fn(p, k, |i, t| self.comoment(i, p + t) + extra(i, p + t)),
            yy: (0..k)
                .map(|t| self.comoment(p + t, p + t) + extra(p + t, p + t))
                .collect(),
        }
    }

    /// Ordinary (`l2 = 0`) or ridge least squares from these statistics alone: minimizes
    /// `Σ w·(x·β + b − y)² / W + l2·‖β‖²` per target, with an intercept `b` (never
    /// penalized) or without (`b = 0`).
    ///
    /// The normal equations are scaled to unit diagonal and solved by Cholesky. Their
    /// accuracy is limited by the square of the design's condition number: on an
    /// ill-conditioned table prefer [`crate::LeastSquares`], which solves by QR in
    /// double-double when it has the rows. Singular problems (constant columns with an
    /// intercept, collinear columns) get the minimum-norm solution in scaled units and a
    /// [`RankDeficiency`]; then, and for ridge, [`Solution::stats`] is `None`.
    pub fn least_squares(&self, intercept: bool, l2: f64) -> Result<Solution, SolveError> {
        crate::check_l2(l2)?;
        let (p, k) = (self.features(), self.targets());
        if p + k == 0 || k == 0 {
            return Err(SolveError::Shape(
                "need at least one target (and a feature or an intercept)".into(),
            ));
        }
        let params = p + usize::from(intercept);
        if self.rows() < params.max(1) as u64 {
            return Err(SolveError::TooFewRows {
                rows: self.rows() as usize,
                needed: params.max(1),
            });
        }
        let w_total = self.weight_sum();
        let mean = self.mean();
        let ne = self.normal(intercept);
        let scale: Vec<f64> = (0..p)
            .map(|j| {
                let v = ne.g[(j, j)] / w_total;
                if v > 0.0 {
                    v.sqrt()
                } else {
                    0.0
                }
            })
            .collect();
        // With an intercept, a column whose spread is rounding noise next to its values is
        // constant; without one, only an all-zero column carries nothing.
        let constant: Vec<usize> = (0..p)
            .filter(|&j| scale[j] == 0.0 || (intercept && scale[j] <= 1e-7 * mean[j].abs()))
            .collect();
        let live: Vec<usize> = (0..p).filter(|j| !constant.contains(j)).collect();
        let q = live.len();
        let mut r = Mat::<f64>::from_fn(q, q, |a, b| {
            let (i, j) = (live[a], live[b]);
            ne.g[(i, j)] / (w_total * scale[i] * scale[j])
        });
        if l2 > 0.0 {
            for (a, &j) in live.iter().enumerate() {
                r[(a, a)] += l2 / (scale[j] * scale[j]);
            }
        }
        let c = Mat::<f64>::from_fn(q, k, |a, t| {
            ne.gy[(live[a], t)] / (w_total * scale[live[a]])
        });

        let mut collinear = Vec::new();
        let mut singular = false;
        let mut factor = None;
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
                let llt = r
                    .llt(Side::Lower)
                    .map_err(|e| SolveError::Numerical(format!("{e:?}")))?;
                let v = llt.solve(&c);
                factor = Some(llt);
                v
            } else {
                singular = true;
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
        let bias: Vec<f64> = if intercept {
            weight
                .iter()
                .enumerate()
                .map(|(t, w)| mean[p + t] - w.iter().zip(mean).map(|(w, m)| w * m).sum::<f64>())
                .collect()
        } else {
            vec![0.0; k]
        };
        let rank_deficiency =
            (!constant.is_empty() || !collinear.is_empty()).then(|| RankDeficiency {
                constant: constant.clone(),
                collinear,
            });
        let conditioning = self.conditioning(intercept);
        let stats = match factor {
            Some(llt) if l2 == 0.0 && constant.is_empty() && !singular => {
                // G⁻¹ = D⁻¹ R⁻¹ D⁻¹ / W, from the Cholesky factor.
                let rinv = llt.solve(Mat::<f64>::identity(q, q));
                let ginv = |a: usize, b: usize| rinv[(a, b)] / (w_total * scale[a] * scale[b]);
                let n_par = p + usize::from(intercept);
                let mut cov = vec![0.0; n_par * n_par];
                let o = usize::from(intercept);
                for a in 0..p {
                    for b in 0..p {
                        cov[(a + o) * n_par + b + o] = ginv(a, b);
                    }
                }
                if intercept {
                    // Var(b) = 1/W + x̄ᵀG⁻¹x̄, Cov(b, β) = −G⁻¹x̄.
                    let gm: Vec<f64> = (0..p)
                        .map(|a| (0..p).map(|b| ginv(a, b) * mean[b]).sum())
                        .collect();
                    cov[0] = 1.0 / w_total + gm.iter().zip(mean).map(|(g, m)| g * m).sum::<f64>();
                    for a in 0..p {
                        cov[a + 1] = -gm[a];
                        cov[(a + 1) * n_par] = -gm[a];
                    }
                }
                let rss: Vec<f64> = (0..k)
                    .map(|t| {
                        let fitted: f64 = (0..p).map(|j| weight[t][j] * ne.gy[(j, t)]).sum();
                        (ne.yy[t] - fitted).max(0.0)
                    })
                    .collect();
                Some(FitStats {
                    rows: self.rows(),
                    weight_sum: w_total,
                    log_weight_sum: self.log_weight_sum(),
                    intercept,
                    cov_unscaled: cov,
                    rss,
                    tss: ne.yy.clone(),
                })
            }
            _ => None,
        };
        Ok(Solution {
            fit: Fit {
                weight,
                bias,
                iterations: 1,
                rank_deficiency,
            },
            method: Method::Moments,
            stats,
            conditioning,
        })
    }

    /// The design's condition numbers, from the normal matrix of `[1, x]` (or `x`): as
    /// statsmodels computes it (raw columns), and with the columns scaled to unit length
    /// (Belsley), with the columns of its weakest direction.
    pub(crate) fn conditioning(&self, intercept: bool) -> Conditioning {
        let p = self.features();
        let m = self.mean();
        let w = self.weight_sum();
        let o = usize::from(intercept);
        let q = p + o;
        // Uncentred XᵀWX of the design, intercept column first.
        let raw = Mat::<f64>::from_fn(q, q, |a, b| {
            let col = |i: usize| if intercept { i.checked_sub(1) } else { Some(i) };
            match (col(a), col(b)) {
                (None, None) => w,
                (None, Some(j)) | (Some(j), None) => w * m[j],
                (Some(i), Some(j)) => self.comoment(i, j) + w * m[i] * m[j],
            }
        });
        condition_from_gram(&raw, intercept)
    }
}

/// Condition numbers from a Gram matrix `AᵀA` (intercept column first when `intercept`).
pub(crate) fn condition_from_gram(raw: &Mat<f64>, intercept: bool) -> Conditioning {
    let q = raw.nrows();
    let ratio = |mat: &Mat<f64>| -> Option<(f64, Vec<f64>)> {
        let eig = mat.self_adjoint_eigen(Side::Lower).ok()?;
        let s: Vec<f64> = (0..mat.nrows()).map(|i| eig.S()[i]).collect();
        let (imin, _) = s.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1))?;
        let max = s.iter().copied().fold(0.0_f64, f64::max);
        let kappa = if s[imin] > 0.0 {
            (max / s[imin]).sqrt()
        } else {
            f64::INFINITY
        };
        Some((
            kappa,
            (0..mat.nrows()).map(|a| eig.U()[(a, imin)]).collect(),
        ))
    };
    if q == 0 {
        return Conditioning::default();
    }
    let raw_kappa = ratio(raw).map_or(f64::INFINITY, |r| r.0);
    let d: Vec<f64> = (0..q)
        .map(|i| raw[(i, i)].max(f64::MIN_POSITIVE).sqrt())
        .collect();
    let scaled = Mat::<f64>::from_fn(q, q, |a, b| raw[(a, b)] / (d[a] * d[b]));
    let (kappa, v) = ratio(&scaled).unwrap_or((f64::INFINITY, vec![0.0; q]));
    Conditioning::new(raw_kappa, kappa, &v, intercept)
}

impl Moments {
    /// Condition number of the design the normal equations see (centred with an intercept),
    /// columns scaled to unit length: the square root of the scaled normal matrix's
    /// eigenvalue ratio. Their solution loses about `2·log10` of it in digits.
    pub(crate) fn centred_kappa(&self, intercept: bool) -> f64 {
        let ne = self.normal(intercept);
        let p = ne.g.nrows();
        let d: Vec<f64> = (0..p).map(|j| ne.g[(j, j)].sqrt()).collect();
        if d.contains(&0.0) {
            return f64::INFINITY;
        }
        let r = Mat::<f64>::from_fn(p, p, |i, j| ne.g[(i, j)] / (d[i] * d[j]));
        match r.self_adjoint_eigenvalues(Side::Lower) {
            Ok(s) if !s.is_empty() => {
                let max = s.iter().copied().fold(0.0_f64, f64::max);
                let min = s.iter().copied().fold(f64::INFINITY, f64::min);
                if min > 0.0 {
                    (max / min).sqrt()
                } else {
                    f64::INFINITY
                }
            }
            _ => f64::INFINITY,
        }
    }
}
