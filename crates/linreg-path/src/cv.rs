//! K-fold cross-validation from per-fold moments, with cv.glmnet's rules for the chosen α.

use linreg_solve::{Moments, View};
use rayon::prelude::*;

use crate::{path, Alphas, Path, PathError, PathOptions};

/// A path, its cross-validated error per α and the α that cv.glmnet would choose.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CrossValidation {
    /// The path fitted on all folds merged; its α grid comes from all rows.
    pub path: Path,
    /// Per α: the folds' held-out mean squared errors (averaged over targets), averaged with
    /// the folds' weight sums as weights.
    pub mean: Vec<f64>,
    /// Per α: `sqrt(weighted mean of (error − mean)² / (K − 1))`, cv.glmnet's `cvsd`.
    pub standard_error: Vec<f64>,
    /// The α of least mean error (the largest such α on ties).
    pub index_min: usize,
    /// The largest α whose mean error is within one standard error of the least.
    pub index_1se: usize,
    /// `path.alphas[index_min]`.
    pub alpha_min: f64,
    /// `path.alphas[index_1se]`.
    pub alpha_1se: f64,
    /// `K`.
    pub folds: usize,
    /// Rows in each fold.
    pub fold_rows: Vec<u64>,
}

/// The fold of row `row` among `folds`, balanced: the rows are taken in blocks of `folds`
/// consecutive rows, and each block is dealt one row to every fold in a seeded random order
/// (a Fisher–Yates shuffle of `0..folds` drawn from SplitMix64 of `seed` and the block, see
/// [`fold_block`]), so
/// the folds' sizes differ by at most one — as glmnet's `sample(rep(1:K, length = n))` — and
/// the assignment is a pure function of its arguments: every route that reads the rows (in
/// memory, streamed) assigns the same folds. `folds` 0 or 1 gives 0.
///
/// ```
/// use linreg_path::fold_of;
///
/// let f: Vec<usize> = (0..10).map(|i| fold_of(42, i, 5)).collect();
/// // Each block of five rows holds every fold once.
/// for block in f.chunks(5) {
///     let mut b = block.to_vec();
///     b.sort();
///     assert_eq!(b, [0, 1, 2, 3, 4]);
/// }
/// assert_eq!(f, (0..10).map(|i| fold_of(42, i, 5)).collect::<Vec<_>>());
/// ```
pub fn fold_of(seed: u64, row: u64, folds: usize) -> usize {
    if folds <= 1 {
        return 0;
    }
    let k = folds as u64;
    let mut perm = Vec::with_capacity(folds);
    fold_block(seed, row / k, folds, &mut perm);
    perm[(row % k) as usize]
}

/// The folds of the rows of block `block` (rows `block·folds ..` `(block + 1)·folds`), into
/// `perm`: a pass that reads the rows in order deals a block at a time, as [`fold_of`] does
/// row by row. `folds` ≥ 2.
pub fn fold_block(seed: u64, block: u64, folds: usize, perm: &mut Vec<usize>) {
    let mut state = seed ^ block.wrapping_mul(0xD1B5_4A32_D192_ED03);
    perm.clear();
    perm.extend(0..folds);
    for i in 0..folds {
        // Lemire's multiply-shift: a draw in 0..folds − i without a division.
        let draw = (u128::from(split_mix(&mut state)) * (folds - i) as u128) >> 64;
        let j = i + draw as usize;
        perm.swap(i, j);
    }
}

/// The folds of rows `0..rows` ([`fold_of`] of each), dealt a block at a time.
pub fn fold_ids(seed: u64, rows: usize, folds: usize) -> Vec<usize> {
    if folds <= 1 {
        return vec![0; rows];
    }
    let mut perm = Vec::with_capacity(folds);
    let mut ids = Vec::with_capacity(rows);
    for block in 0..rows.div_ceil(folds) {
        fold_block(seed, block as u64, folds, &mut perm);
        ids.extend(perm.iter().take(rows - block * folds));
    }
    ids
}

/// The SplitMix64 generator's next value.
fn split_mix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `Σ w·(y − x·β − b)²` per target over the rows summed in `m`, exactly from the moments:
/// `C_yy − 2βᵀC_xy + βᵀC_xxβ + W·(ȳ − x̄·β − b)²` (clamped at 0 against rounding).
///
/// `weight[t]` holds target `t`'s coefficients (one per feature) and `bias[t]` its intercept;
/// a target whose coefficients or intercept are missing or of the wrong length gets NaN.
pub fn residual_sum_of_squares(m: &Moments, weight: &[Vec<f64>], bias: &[f64]) -> Vec<f64> {
    let p = m.features();
    let mean = m.mean();
    (0..m.targets())
        .map(|t| {
            let (Some(beta), Some(&b)) = (weight.get(t), bias.get(t)) else {
                return f64::NAN;
            };
            if beta.len() != p {
                return f64::NAN;
            }
            let y = p + t;
            let mut rss = m.comoment(y, y);
            for (i, &bi) in beta.iter().enumerate().filter(|(_, b)| **b != 0.0) {
                let cx: f64 = beta
                    .iter()
                    .enumerate()
                    .map(|(j, bj)| m.comoment(i, j) * bj)
                    .sum();
                rss += bi * (cx - 2.0 * m.comoment(i, y));
            }
            let fit: f64 = beta.iter().zip(mean).map(|(b, m)| b * m).sum();
            let off = mean[y] - fit - b;
            (rss + m.weight_sum() * off * off).max(0.0)
        })
        .collect()
}

/// K-fold cross-validation from the moments of each fold's rows.
///
/// The path is fitted on all folds merged (its α grid from all rows, or the α given); then,
/// for each fold `f`, on the merge of the other folds at the same α values (merged, not
/// subtracted, so nothing cancels), and scored on fold `f`'s moments: the held-out error is
/// `Σ_t RSS_t / (W_f · targets)`. The summary follows cv.glmnet (`grouped = TRUE`): the mean
/// is weighted by the folds' weight sums, `standard_error = sqrt(weighted mean of
/// (error − mean)² / (K − 1))`, `index_min` the least mean (the largest α on ties) and
/// `index_1se` the largest α within one standard error of it. With `standardize`, each
/// training set is standardized by its own sd, as glmnet does. Folds are fitted in parallel;
/// the result does not depend on the threads.
///
/// ```
/// use linreg_path::{cross_validate, fold_of, PathOptions};
/// use linreg_solve::{Moments, View};
///
/// // y = 2·x₀ + noise; x₁ is noise.
/// let n = 60;
/// let x: Vec<f64> = (0..2 * n).map(|i| ((i * 37 % 61) as f64).sin()).collect();
/// let y: Vec<f64> = (0..n).map(|i| 2.0 * x[2 * i] + 0.1 * ((i * 13) as f64).cos()).collect();
/// let mut folds = vec![Moments::new(2, 1); 5];
/// for i in 0..n {
///     let f = fold_of(7, i as u64, 5);
///     folds[f].push(View::new(1, 2, &x[2 * i..2 * i + 2])?, View::new(1, 1, &y[i..i + 1])?, None)?;
/// }
/// let cv = cross_validate(&folds, &PathOptions::default())?;
/// assert!(cv.alpha_1se >= cv.alpha_min);
/// assert!(cv.mean[cv.index_min] < 0.1 * cv.mean[0]);
/// # Ok::<(), linreg_path::PathError>(())
/// ```
pub fn cross_validate(
    folds: &[Moments],
    options: &PathOptions,
) -> Result<CrossValidation, PathError> {
    crate::check_options(options)?;
    let total = merge_folds(folds)?;
    let full = path(&total, options)?;
    let same = PathOptions {
        alphas: Alphas::Given(full.alphas.clone()),
        ..options.clone()
    };
    let errors: Vec<Result<Vec<f64>, PathError>> = (0..folds.len())
        .into_par_iter()
        .map(|f| fold_errors(folds, f, &same))
        .collect();
    let weights: Vec<f64> = folds.iter().map(Moments::weight_sum).collect();
    let rows = folds.iter().map(Moments::rows).collect();
    conclude(full, errors, &weights, rows)
}

/// The cross-validation of `full` from each fold's held-out errors (`errors[fold][α]`), the
/// folds' weight sums and row counts: cv.glmnet's summary and choices.
fn conclude(
    full: Path,
    errors: Vec<Result<Vec<f64>, PathError>>,
    weights: &[f64],
    fold_rows: Vec<u64>,
) -> Result<CrossValidation, PathError> {
    let errors = errors.into_iter().collect::<Result<Vec<_>, _>>()?;
    let (mean, standard_error) = summarize(&errors, weights);
    let (index_min, index_1se) = choose(&mean, &standard_error);
    Ok(CrossValidation {
        alpha_min: full.alphas[index_min],
        alpha_1se: full.alphas[index_1se],
        path: full,
        mean,
        standard_error,
        index_min,
        index_1se,
        folds: weights.len(),
        fold_rows,
    })
}

/// K-fold cross-validation from the rows, for tables too wide for their Gram matrix:
/// `fold[i]` is row `i`'s fold. The same fits, errors and choices as [`cross_validate`]
/// (each fold's model from [`crate::path_rows`] on the other folds' rows, scored on its own).
pub fn cross_validate_rows(
    x: View<'_, f64>,
    y: View<'_, f64>,
    weights: Option<&[f64]>,
    fold: &[usize],
    options: &PathOptions,
) -> Result<CrossValidation, PathError> {
    crate::check_options(options)?;
    let k = fold.iter().copied().max().map_or(0, |m| m + 1);
    let groups: Vec<Vec<usize>> = (0..k)
        .map(|f| (0..fold.len()).filter(|&i| fold[i] == f).collect())
        .collect();
    check_groups(&groups, fold.len(), x.rows())?;
    let full = crate::path_rows(x, y, weights, options)?;
    let same = PathOptions {
        alphas: Alphas::Given(full.alphas.clone()),
        ..options.clone()
    };
    let rows = Rows { x, y, weights };
    let errors: Vec<Result<Vec<f64>, PathError>> = (0..k)
        .into_par_iter()
        .map(|f| rows.fold_errors(&groups, f, &same))
        .collect();
    let w = |g: &Vec<usize>| {
        g.iter()
            .map(|&i| weights.map_or(1.0, |w| w[i]))
            .sum::<f64>()
    };
    let fold_weights: Vec<f64> = groups.iter().map(w).collect();
    let rows = groups.iter().map(|g| g.len() as u64).collect();
    conclude(full, errors, &fold_weights, rows)
}

/// Refuses fold labels that do not cover the rows, fewer than two folds, or an empty fold.
fn check_groups(groups: &[Vec<usize>], labels: usize, rows: usize) -> Result<(), PathError> {
    if labels != rows {
        return Err(PathError::Shape(format!(
            "{labels} fold labels for {rows} rows; give one per row"
        )));
    }
    if groups.len() < 2 {
        return Err(PathError::Folds(format!(
            "{} fold(s) given; cross-validation needs at least 2 (5 or 10 are usual)",
            groups.len()
        )));
    }
    match groups.iter().position(Vec::is_empty) {
        Some(f) => Err(PathError::Folds(format!(
            "fold {} of {} has no rows; use fewer folds or assign rows to every fold",
            f + 1,
            groups.len()
        ))),
        None => Ok(()),
    }
}

/// A table's rows, for cross-validation without moments.
#[derive(Clone, Copy)]
struct Rows<'a> {
    x: View<'a, f64>,
    y: View<'a, f64>,
    weights: Option<&'a [f64]>,
}

impl Rows<'_> {
    /// Rows `keep`, gathered: features, targets, weights.
    fn gather(&self, keep: &[usize]) -> (Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
        let x = keep
            .iter()
            .flat_map(|&i| self.x.row(i).iter().copied())
            .collect();
        let y = keep
            .iter()
            .flat_map(|&i| self.y.row(i).iter().copied())
            .collect();
        let w = self.weights.map(|w| keep.iter().map(|&i| w[i]).collect());
        (x, y, w)
    }

    /// Fold `f`'s held-out error at each α, fitted on the other folds' rows.
    fn fold_errors(
        &self,
        groups: &[Vec<usize>],
        f: usize,
        options: &PathOptions,
    ) -> Result<Vec<f64>, PathError> {
        let train: Vec<usize> = (0..groups.len())
            .filter(|&g| g != f)
            .flat_map(|g| groups[g].iter().copied())
            .collect();
        let (p, k) = (self.x.cols(), self.y.cols());
        let (x, y, w) = self.gather(&train);
        let n = train.len();
        let fit = crate::path_rows(
            View::new(n, p, &x)?,
            View::new(n, k, &y)?,
            w.as_deref(),
            options,
        )?;
        let held = &groups[f];
        let weight = |i: usize| self.weights.map_or(1.0, |w| w[i]);
        let scale = held.iter().map(|&i| weight(i)).sum::<f64>() * k as f64;
        Ok(fit
            .points
            .iter()
            .map(|pt| {
                let sse: f64 = held
                    .iter()
                    .map(|&i| {
                        let (xi, yi) = (self.x.row(i), self.y.row(i));
                        let r2: f64 = (0..k)
                            .map(|t| {
                                let fit: f64 =
                                    pt.weight[t].iter().zip(xi).map(|(b, v)| b * v).sum();
                                (yi[t] - fit - pt.bias[t]).powi(2)
                            })
                            .sum();
                        weight(i) * r2
                    })
                    .sum();
                sse / scale
            })
            .collect())
    }
}

/// The moments of each fold's rows (`fold[i]` is row `i`'s fold, `0..K`): what
/// [`cross_validate`] takes, from rows in memory. A fold without rows gets empty moments
/// (which `cross_validate` refuses, naming the fold).
pub fn moments_by_fold(
    x: View<'_, f64>,
    y: View<'_, f64>,
    weights: Option<&[f64]>,
    fold: &[usize],
) -> Result<Vec<Moments>, PathError> {
    if fold.len() != x.rows() {
        return Err(PathError::Shape(format!(
            "{} fold labels for {} rows; give one per row",
            fold.len(),
            x.rows()
        )));
    }
    let k = fold.iter().copied().max().map_or(0, |m| m + 1);
    let mut parts = vec![(Vec::new(), Vec::new(), Vec::new()); k];
    for (i, &f) in fold.iter().enumerate() {
        let (px, py, pw) = &mut parts[f];
        px.extend_from_slice(x.row(i));
        py.extend_from_slice(y.row(i));
        pw.push(weights.map_or(1.0, |w| w[i]));
    }
    let (p, t) = (x.cols(), y.cols());
    parts
        .iter()
        .map(|(px, py, pw)| {
            let n = pw.len();
            let w = weights.map(|_| pw.as_slice());
            Ok(Moments::from_rows(
                View::new(n, p, px)?,
                View::new(n, t, py)?,
                w,
            )?)
        })
        .collect()
}

/// Checks the folds and merges them.
fn merge_folds(folds: &[Moments]) -> Result<Moments, PathError> {
    if folds.len() < 2 {
        return Err(PathError::Folds(format!(
            "{} fold(s) given; cross-validation needs at least 2 (5 or 10 are usual)",
            folds.len()
        )));
    }
    if let Some(f) = folds.iter().position(|m| m.rows() == 0) {
        return Err(PathError::Folds(format!(
            "fold {} of {} has no rows; use fewer folds or assign rows to every fold",
            f + 1,
            folds.len()
        )));
    }
    let mut total = folds[0].clone();
    for m in &folds[1..] {
        total
            .merge(m)
            .map_err(|e| PathError::Folds(format!("the folds disagree on their columns ({e})")))?;
    }
    Ok(total)
}

/// Fold `f`'s held-out error at each α of `options`, fitted on the other folds.
fn fold_errors(folds: &[Moments], f: usize, options: &PathOptions) -> Result<Vec<f64>, PathError> {
    let mut train = Moments::new(folds[f].features(), folds[f].targets());
    for (_, m) in folds.iter().enumerate().filter(|(i, _)| *i != f) {
        train.merge(m)?;
    }
    let fit = path(&train, options)?;
    let held = &folds[f];
    let scale = held.weight_sum() * held.targets() as f64;
    Ok(fit
        .points
        .iter()
        .map(|pt| {
            residual_sum_of_squares(held, &pt.weight, &pt.bias)
                .iter()
                .sum::<f64>()
                / scale
        })
        .collect())
}

/// cv.glmnet's weighted mean and standard error per α (`errors[fold][α]`).
fn summarize(errors: &[Vec<f64>], weights: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let k = errors.len() as f64;
    let total: f64 = weights.iter().sum();
    let alphas = errors.first().map_or(0, Vec::len);
    let mean: Vec<f64> = (0..alphas)
        .map(|a| {
            errors
                .iter()
                .zip(weights)
                .map(|(e, w)| w * e[a])
                .sum::<f64>()
                / total
        })
        .collect();
    let se = (0..alphas)
        .map(|a| {
            let var = errors
                .iter()
                .zip(weights)
                .map(|(e, w)| w * (e[a] - mean[a]).powi(2))
                .sum::<f64>()
                / total;
            (var / (k - 1.0)).sqrt()
        })
        .collect();
    (mean, se)
}

/// `(index_min, index_1se)`: the first least mean; the first (largest α) within one standard
/// error of it.
fn choose(mean: &[f64], se: &[f64]) -> (usize, usize) {
    let min = (0..mean.len()).fold(0, |best, i| if mean[i] < mean[best] { i } else { best });
    let bound = mean.get(min).map_or(0.0, |m| m + se[min]);
    let one = mean.iter().position(|m| *m <= bound).unwrap_or(min);
    (min, one)
}
