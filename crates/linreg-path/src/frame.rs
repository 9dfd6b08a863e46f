//! The units both solvers work in: which features take part, their scales, the means that
//! give the intercept back, and the conversion of a solution to a [`Point`].

use crate::descent::Penalty;
use crate::{Alphas, PathError, PathOptions, Point};

/// Relative spread below which a feature is constant (glmnet's test, relative to the mean so
/// that a column of 1e9 ± rounding counts as constant too).
const CONSTANT: f64 = 1e-7;

/// The smallest `R` used for `α_max`: with `R = 0` every α keeps every coefficient nonzero,
/// and glmnet's grid starts where the lasso part of a `R = 0.001` net would.
const MIN_L1_RATIO: f64 = 1e-3;

/// Which features take part and in what units.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// Feature columns in the table.
    pub features: usize,
    /// The features that take part (the others are constant, or all zero without intercept).
    pub index: Vec<usize>,
    /// Their scales: the population sd when standardizing, else 1.
    pub scale: Vec<f64>,
    /// Weighted means of every feature.
    pub x_mean: Vec<f64>,
    /// Weighted means of the targets.
    pub y_mean: Vec<f64>,
    /// `yᵀy/W` per target, centred with intercept: the gap's scale and the null deviance.
    pub yy: Vec<f64>,
    pub intercept: bool,
    /// A bound on the rank of the features' Gram matrix: rows, less one with intercept.
    pub rank: usize,
}

/// One target's solution at one α, in the frame's units.
#[derive(Debug, Clone)]
pub(crate) struct Solved {
    /// Coefficients of the features that take part, scaled.
    pub beta: Vec<f64>,
    /// `rᵀr/W`.
    pub rss: f64,
    pub sweeps: usize,
    /// Duality gap over `yᵀy/W`.
    pub gap: f64,
}

impl Frame {
    /// `var[j]`: feature `j`'s weighted mean square about its mean (`C_jj/W`).
    ///
    /// A feature takes part unless it is constant (`sd ≤ 1e-7·|mean|`) — with intercept it
    /// is then the intercept's column, and standardized it has no scale — or, without
    /// intercept and unstandardized, unless it is all zeros. Standardized, the scale is the sd
    /// about the mean with or without intercept, as glmnet's `standard` does.
    pub fn new(
        (x_mean, var): (Vec<f64>, &[f64]),
        (y_mean, yy): (Vec<f64>, Vec<f64>),
        rows: u64,
        options: &PathOptions,
    ) -> Self {
        let mut index = Vec::new();
        let mut scale = Vec::new();
        for (j, (&m, &v)) in x_mean.iter().zip(var).enumerate() {
            let sd = v.max(0.0).sqrt();
            let constant = sd <= CONSTANT * m.abs() || sd == 0.0;
            let out = if options.intercept || options.standardize {
                constant
            } else {
                constant && m == 0.0
            };
            if !out {
                index.push(j);
                scale.push(if options.standardize { sd } else { 1.0 });
            }
        }
        Self {
            features: x_mean.len(),
            index,
            scale,
            x_mean,
            y_mean,
            yy,
            intercept: options.intercept,
            rank: usize::try_from(rows)
                .unwrap_or(usize::MAX)
                .saturating_sub(usize::from(options.intercept)),
        }
    }

    /// The point of `alpha` from each target's solution.
    pub fn point(&self, alpha: f64, solved: &[&Solved]) -> Point {
        let mut weight = Vec::with_capacity(solved.len());
        let mut bias = Vec::with_capacity(solved.len());
        let mut deviance_ratio = Vec::with_capacity(solved.len());
        for (t, s) in solved.iter().enumerate() {
            let mut w = vec![0.0; self.features];
            for ((&j, &b), &sc) in self.index.iter().zip(&s.beta).zip(&self.scale) {
                w[j] = b / sc;
            }
            bias.push(if self.intercept {
                self.y_mean[t] - w.iter().zip(&self.x_mean).map(|(w, m)| w * m).sum::<f64>()
            } else {
                0.0
            });
            let yy = self.yy[t];
            deviance_ratio.push(if yy > 0.0 { 1.0 - s.rss / yy } else { 0.0 });
            weight.push(w);
        }
        Point {
            alpha,
            nonzero: weight.iter().flatten().filter(|w| **w != 0.0).count(),
            weight,
            bias,
            deviance_ratio,
            sweeps: solved.iter().map(|s| s.sweeps).sum(),
            gap: solved.iter().map(|s| s.gap).fold(0.0, f64::max),
        }
    }
}

/// `α_max` from the gradient at `β = 0` (`c̃`, per target, in the frame's units).
pub(crate) fn alpha_max_of<'a>(xy: impl IntoIterator<Item = &'a [f64]>, l1_ratio: f64) -> f64 {
    let top = xy
        .into_iter()
        .flat_map(|c| c.iter())
        .fold(0.0_f64, |a, c| a.max(c.abs()));
    top / l1_ratio.max(MIN_L1_RATIO)
}

/// Whether every coefficient is 0 at `alpha` by definition of `amax` (not for `R` below
/// 0.001, where `α_max` is only where the grid starts). Decided here rather than by a sweep,
/// where `α = α_max` would let a coefficient of 1e-17 in by rounding.
pub(crate) fn all_zero(alpha: f64, amax: f64, l1_ratio: f64) -> bool {
    l1_ratio >= MIN_L1_RATIO && alpha >= amax
}

/// The solution `β = 0`.
pub(crate) fn zero(p: usize, yy: f64) -> Solved {
    Solved {
        beta: vec![0.0; p],
        rss: yy,
        sweeps: 0,
        gap: 0.0,
    }
}

/// The α values of a path, decreasing.
/// glmnet's end of a generated path: after the first five points, stop once the fit
/// explains more than 99.9 % of the deviance, or the last α added less than 1e-5 of it
/// (relative): the points beyond fit the noise, and take the most sweeps.
pub(crate) fn saturated(out: &[Solved], yy: f64) -> bool {
    const MIN_POINTS: usize = 5;
    let ratio = |s: &Solved| if yy > 0.0 { 1.0 - s.rss / yy } else { 0.0 };
    match out {
        [.., before, last] if out.len() >= MIN_POINTS => {
            let (d, d0) = (ratio(last), ratio(before));
            d > 0.999 || (d > 0.0 && (d - d0) / d < 1e-5)
        }
        _ => false,
    }
}

/// One target along `alphas`: the all-zero point above `α_max`, `step(α, penalty)` below it,
/// warm-started by the caller's state; with `stop`, only until the fit is saturated.
pub(crate) fn walk(
    (alphas, amax): (&[f64], f64),
    (p, yy): (usize, f64),
    stop: bool,
    l1_ratio: f64,
    mut step: impl FnMut(f64, &Penalty) -> Result<Solved, PathError>,
) -> Result<Vec<Solved>, PathError> {
    let mut out = Vec::with_capacity(alphas.len());
    for &alpha in alphas {
        if all_zero(alpha, amax, l1_ratio) {
            out.push(zero(p, yy));
            continue;
        }
        out.push(step(alpha, &Penalty::new(alpha, l1_ratio))?);
        if stop && saturated(&out, yy) {
            break;
        }
    }
    Ok(out)
}

/// Each target's path along `alphas`, by `fit(t, alphas, stop)`; with `stop` (a generated
/// grid) each may end early ([`saturated`]), and the path ends where the last target does:
/// targets that ended sooner are fitted again up to there. Returns the α kept.
pub(crate) fn fit_targets(
    targets: usize,
    mut alphas: Vec<f64>,
    stop: bool,
    fit: impl Fn(usize, &[f64], bool) -> Result<Vec<Solved>, PathError>,
) -> Result<(Vec<f64>, Vec<Vec<Solved>>), PathError> {
    let mut solved = (0..targets)
        .map(|t| fit(t, &alphas, stop))
        .collect::<Result<Vec<_>, _>>()?;
    let len = solved.iter().map(Vec::len).max().unwrap_or(alphas.len());
    alphas.truncate(len);
    for (t, s) in solved.iter_mut().enumerate() {
        if s.len() < len {
            *s = fit(t, &alphas, false)?;
        }
    }
    Ok((alphas, solved))
}

pub(crate) fn alpha_list(alphas: &Alphas, alpha_max: f64) -> Result<Vec<f64>, PathError> {
    match alphas {
        Alphas::Given(a) => {
            // Decreasing, each α once (−0 is 0): a path's points have distinct α.
            let mut a: Vec<f64> = a.iter().map(|v| v + 0.0).collect();
            a.sort_by(|x, y| y.total_cmp(x));
            a.dedup();
            Ok(a)
        }
        Alphas::Grid { count, min_ratio } => {
            if alpha_max <= 0.0 {
                return Err(PathError::NoSignal);
            }
            let last = (*count as f64 - 1.0).max(1.0);
            Ok((0..*count)
                .map(|i| alpha_max * min_ratio.powf(i as f64 / last))
                .collect())
        }
    }
}

/// The duality gap relative to `yᵀy/W` (as is, when the target is constant).
pub(crate) fn relative(gap: f64, yy: f64) -> f64 {
    if yy > 0.0 {
        gap / yy
    } else {
        gap
    }
}

/// The error for a solve that ran out of sweeps.
pub(crate) fn not_converged(alpha: f64, sweeps: usize, gap: f64, yy: f64) -> PathError {
    PathError::NotConverged {
        alpha,
        sweeps,
        gap: relative(gap, yy),
    }
}
