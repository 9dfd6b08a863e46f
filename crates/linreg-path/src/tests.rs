//! Unit tests of the public functions on generated tables (the comparisons with scikit-learn,
//! NumPy and glmnet are in `tests/fixtures.rs`).

use linreg_solve::{Moments, View};

use crate::*;

fn lcg(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 11) as f64 / (1u64 << 53) as f64
}

/// A table with neighbouring columns correlated, uneven scales and offsets, a sparse truth
/// and noise: `(x, y, w)`, row-major.
fn table(n: usize, p: usize, k: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut s = seed;
    let mut x = vec![0.0; n * p];
    for i in 0..n {
        let mut prev = 0.0;
        for j in 0..p {
            let z = lcg(&mut s) - 0.5 + 0.6 * prev;
            prev = z;
            x[i * p + j] = z * (1.0 + (j % 4) as f64 * 3.0) + (j % 3) as f64 * 10.0;
        }
    }
    let mut y = vec![0.0; n * k];
    for i in 0..n {
        for t in 0..k {
            let fit: f64 = (0..p)
                .filter(|j| (j + t) % 3 == 0)
                .map(|j| x[i * p + j] * (1.0 + t as f64) / (1.0 + (j % 4) as f64 * 3.0))
                .sum();
            y[i * k + t] = fit + 2.0 + 0.3 * (lcg(&mut s) - 0.5);
        }
    }
    let w = (0..n).map(|_| 0.5 + lcg(&mut s)).collect();
    (x, y, w)
}

fn moments(x: &[f64], y: &[f64], w: Option<&[f64]>, (n, p, k): (usize, usize, usize)) -> Moments {
    Moments::from_rows(View::new(n, p, x).unwrap(), View::new(n, k, y).unwrap(), w).unwrap()
}

fn opts(l1_ratio: f64, standardize: bool, intercept: bool, tol: f64) -> PathOptions {
    PathOptions {
        l1_ratio,
        alphas: Alphas::Grid {
            count: 30,
            min_ratio: 1e-2,
        },
        standardize,
        intercept,
        tol,
        ..PathOptions::default()
    }
}

/// Largest coefficient difference over the largest coefficient, over all points.
fn difference(a: &Path, b: &Path) -> f64 {
    let mut worst = 0.0_f64;
    assert_eq!(a.alphas.len(), b.alphas.len());
    for (pa, pb) in a.points.iter().zip(&b.points) {
        assert!((pa.alpha - pb.alpha).abs() <= 1e-12 * pa.alpha);
        for (wa, wb) in pa.weight.iter().zip(&pb.weight) {
            let top = wb.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            for (u, v) in wa.iter().zip(wb) {
                if top > 0.0 {
                    worst = worst.max((u - v).abs() / top);
                } else {
                    assert_eq!((*u, *v), (0.0, 0.0));
                }
            }
        }
        for (ba, bb) in pa.bias.iter().zip(&pb.bias) {
            worst = worst.max((ba - bb).abs() / bb.abs().max(1.0));
        }
    }
    worst
}

#[test]
fn the_row_solver_gives_the_gram_path() {
    for (n, p, k) in [(40, 6, 2), (25, 60, 1)] {
        let (x, y, w) = table(n, p, k, 3 + p as u64);
        for weighted in [false, true] {
            let wt = weighted.then_some(&w[..]);
            let m = moments(&x, &y, wt, (n, p, k));
            for (r, standardize, intercept) in [
                (1.0, true, true),
                (1.0, false, false),
                (0.5, true, false),
                (0.5, false, true),
                (0.0, true, true),
            ] {
                let o = opts(r, standardize, intercept, 1e-12);
                let gram = path(&m, &o).unwrap();
                let (xv, yv) = (View::new(n, p, &x).unwrap(), View::new(n, k, &y).unwrap());
                let rows = path_rows(xv, yv, wt, &o).unwrap();
                let d = difference(&rows, &gram);
                assert!(
                    d <= 1e-9,
                    "{n}×{p} w={weighted} R={r} std={standardize}: {d:e}"
                );
                assert!((rows.alpha_max - gram.alpha_max).abs() <= 1e-12 * gram.alpha_max);
                for (a, b) in rows.points.iter().zip(&gram.points) {
                    assert_eq!(a.nonzero, b.nonzero);
                    for (u, v) in a.deviance_ratio.iter().zip(&b.deviance_ratio) {
                        assert!((u - v).abs() < 1e-10);
                    }
                }
            }
        }
    }
}

/// The KKT conditions from the moments, in standardized units: `|q_j| ≤ αR` where `β_j = 0`,
/// `q_j = αR·sign(β_j) + α(1−R)·β_j` elsewhere, `q = c − Gβ`.
fn kkt_violation(m: &Moments, pt: &Point, r: f64) -> f64 {
    let (p, w) = (m.features(), m.weight_sum());
    let sd: Vec<f64> = (0..p).map(|j| (m.comoment(j, j) / w).sqrt()).collect();
    let (l1, l2) = (pt.alpha * r, pt.alpha * (1.0 - r));
    let mut worst = 0.0_f64;
    for (t, beta) in pt.weight.iter().enumerate() {
        let scaled: Vec<f64> = beta.iter().zip(&sd).map(|(b, s)| b * s).collect();
        for j in 0..p {
            let gb: f64 = (0..p).map(|i| m.comoment(j, i) * beta[i]).sum::<f64>() / w;
            let q = (m.comoment(j, p + t) / w - gb) / sd[j];
            let v = if scaled[j] == 0.0 {
                (q.abs() - l1).max(0.0)
            } else {
                (q - l1 * scaled[j].signum() - l2 * scaled[j]).abs()
            };
            worst = worst.max(v);
        }
    }
    worst
}

#[test]
fn converged_points_have_a_small_gap_and_satisfy_kkt() {
    let (n, p, k) = (50, 8, 2);
    let (x, y, w) = table(n, p, k, 17);
    let m = moments(&x, &y, Some(&w), (n, p, k));
    for r in [1.0, 0.7, 0.0] {
        let o = PathOptions {
            l1_ratio: r,
            ..PathOptions::default()
        };
        let path = path(&m, &o).unwrap();
        // glmnet's rule may end the generated grid early, never before five points.
        assert!((5..=100).contains(&path.points.len()));
        assert!(path.alphas.windows(2).all(|a| a[0] > a[1]));
        let sd_y = (m.comoment(p, p) / m.weight_sum()).sqrt();
        for pt in &path.points {
            assert!(
                pt.gap >= 0.0 && pt.gap <= o.tol,
                "R={r} α={}: {}",
                pt.alpha,
                pt.gap
            );
            // A gap of tol·yᵀy/W bounds the gradient's error by about √tol·sd(y).
            let v = kkt_violation(&m, pt, r);
            assert!(v <= 1e-4 * sd_y, "R={r} α={}: KKT {v:e}", pt.alpha);
            let nz = pt.weight.iter().flatten().filter(|b| **b != 0.0).count();
            assert_eq!(nz, pt.nonzero);
        }
        // Deviance ratio grows as α shrinks.
        let dev: Vec<f64> = path.points.iter().map(|p| p.deviance_ratio[0]).collect();
        assert!(dev.windows(2).all(|d| d[1] >= d[0] - 1e-9));
    }
}

#[test]
fn alpha_max_is_where_the_first_coefficient_enters() {
    let (n, p) = (30, 5);
    let (x, y, _) = table(n, p, 1, 5);
    let m = moments(&x, &y, None, (n, p, 1));
    for r in [1.0, 0.3] {
        let base = opts(r, true, true, 1e-10);
        let amax = alpha_max(&m, &base).unwrap();
        let o = PathOptions {
            alphas: Alphas::Given(vec![amax * (1.0 - 1e-6), amax]),
            ..base
        };
        let path = path(&m, &o).unwrap();
        assert_eq!(path.alphas[0], amax);
        assert_eq!(path.points[0].nonzero, 0);
        assert_eq!(path.points[0].deviance_ratio[0], 0.0);
        assert_eq!(path.points[1].nonzero, 1);
        // The intercept alone is the mean.
        let mean_y = m.mean()[p];
        assert!((path.points[0].bias[0] - mean_y).abs() < 1e-12 * mean_y.abs());
    }
    // Ridge: α_max is where R = 0.001 would zero everything; nothing is zero there.
    let ridge = path(&m, &opts(0.0, true, true, 1e-10)).unwrap();
    assert_eq!(ridge.points[0].nonzero, p);
    let lasso_max = alpha_max(&m, &opts(1.0, true, true, 1e-10)).unwrap();
    assert!((ridge.alpha_max - 1000.0 * lasso_max).abs() < 1e-9 * ridge.alpha_max);
}

#[test]
fn constant_columns_get_exactly_zero() {
    let (n, p) = (40, 4);
    let (x, y, w) = table(n, p, 1, 9);
    // Columns 4 and 5: a constant, and 1e9 plus noise far below its 1e-7 relative spread.
    let mut s = 1;
    let wide: Vec<f64> = (0..n)
        .flat_map(|i| {
            let mut row = x[i * p..(i + 1) * p].to_vec();
            row.extend([5.0, 1e9 + lcg(&mut s)]);
            row
        })
        .collect();
    for intercept in [true, false] {
        let o = opts(0.5, true, intercept, 1e-12);
        let with = path(&moments(&wide, &y, Some(&w), (n, p + 2, 1)), &o).unwrap();
        let rows = path_rows(
            View::new(n, p + 2, &wide).unwrap(),
            View::new(n, 1, &y).unwrap(),
            Some(&w),
            &o,
        )
        .unwrap();
        let without = path(&moments(&x, &y, Some(&w), (n, p, 1)), &o).unwrap();
        for (a, b) in with.points.iter().zip(&without.points) {
            assert_eq!(&a.weight[0][p..], &[0.0, 0.0]);
            assert_eq!(a.weight[0][..p], b.weight[0][..]);
        }
        assert!(difference(&rows, &with) < 1e-9);
    }
    // Unstandardized without intercept, a constant column is a feature like any other: here
    // it stands in for the intercept.
    let x: Vec<f64> = (0..n).flat_map(|i| [5.0, lcg(&mut s) + i as f64]).collect();
    let y: Vec<f64> = (0..n).map(|_| 3.0 + 0.01 * lcg(&mut s)).collect();
    let o = PathOptions {
        alphas: Alphas::Given(vec![1e-4]),
        ..opts(1.0, false, false, 1e-12)
    };
    let fit = path(&moments(&x, &y, None, (n, 2, 1)), &o).unwrap();
    assert!(
        (fit.points[0].weight[0][0] - 0.6).abs() < 0.01,
        "{:?}",
        fit.points[0]
    );
}

#[test]
fn targets_are_fitted_independently() {
    let (n, p, k) = (30, 5, 2);
    let (x, y, w) = table(n, p, k, 21);
    let o = PathOptions {
        l1_ratio: 0.8,
        alphas: Alphas::Given(vec![0.5, 0.05, 0.005]),
        ..PathOptions::default()
    };
    let both = path(&moments(&x, &y, Some(&w), (n, p, k)), &o).unwrap();
    for t in 0..k {
        let yt: Vec<f64> = (0..n).map(|i| y[i * k + t]).collect();
        let one = path(&moments(&x, &yt, Some(&w), (n, p, 1)), &o).unwrap();
        for (a, b) in both.points.iter().zip(&one.points) {
            assert_eq!(a.weight[t], b.weight[0]);
            assert_eq!(a.bias[t], b.bias[0]);
        }
    }
    let pt = &both.points[2];
    assert_eq!(
        pt.nonzero,
        pt.weight.iter().flatten().filter(|b| **b != 0.0).count()
    );
}

#[test]
fn alpha_zero_is_least_squares() {
    let (n, p) = (40, 5);
    let (x, y, w) = table(n, p, 1, 33);
    let m = moments(&x, &y, Some(&w), (n, p, 1));
    for intercept in [true, false] {
        let o = PathOptions {
            alphas: Alphas::Given(vec![0.0]),
            intercept,
            tol: 1e-12,
            ..PathOptions::default()
        };
        let got = path(&m, &o).unwrap();
        let ls = m.least_squares(intercept, 0.0).unwrap().fit;
        let pt = &got.points[0];
        let top = ls.weight[0].iter().fold(0.0_f64, |a, b| a.max(b.abs()));
        for (a, b) in pt.weight[0].iter().zip(&ls.weight[0]) {
            assert!((a - b).abs() <= 1e-8 * top, "{a} {b}");
        }
        assert!((pt.bias[0] - ls.bias[0]).abs() <= 1e-7 * ls.bias[0].abs().max(1.0));
    }
}

#[test]
fn residual_sums_of_squares_come_from_the_moments() {
    let (n, p, k) = (30, 4, 2);
    let (x, y, w) = table(n, p, k, 41);
    let m = moments(&x, &y, Some(&w), (n, p, k));
    let weight = vec![vec![0.5, -1.0, 0.0, 2.0], vec![0.0, 0.0, 0.3, 0.0]];
    let bias = vec![1.5, -0.5];
    let got = residual_sum_of_squares(&m, &weight, &bias);
    for t in 0..k {
        let want: f64 = (0..n)
            .map(|i| {
                let fit: f64 = (0..p).map(|j| x[i * p + j] * weight[t][j]).sum();
                w[i] * (y[i * k + t] - fit - bias[t]).powi(2)
            })
            .sum();
        assert!((got[t] - want).abs() <= 1e-10 * want, "{} {want}", got[t]);
    }
    // Wrong shapes give NaN, not a panic.
    let bad = residual_sum_of_squares(&m, &weight[..1], &bias);
    assert!(bad[0].is_finite() && bad[1].is_nan());
    assert!(residual_sum_of_squares(&m, &vec![vec![1.0]; 2], &bias)
        .iter()
        .all(|v| v.is_nan()));
}

/// Three folds of a small table, their moments, and the table's split.
fn three_folds() -> (Vec<Moments>, (usize, usize)) {
    let (n, p) = (36, 3);
    let (x, y, w) = table(n, p, 1, 55);
    let mut folds = vec![Moments::new(p, 1); 3];
    for i in 0..n {
        let f = i % 3;
        folds[f]
            .push(
                View::new(1, p, &x[i * p..(i + 1) * p]).unwrap(),
                View::new(1, 1, &y[i..i + 1]).unwrap(),
                Some(&w[i..i + 1]),
            )
            .unwrap();
    }
    (folds, (n, p))
}

#[test]
fn cross_validation_by_hand() {
    let (folds, _) = three_folds();
    let alphas = vec![1.0, 0.3, 0.1, 0.03, 0.01, 0.001];
    let o = PathOptions {
        alphas: Alphas::Given(alphas.clone()),
        tol: 1e-12,
        ..PathOptions::default()
    };
    let cv = cross_validate(&folds, &o).unwrap();
    // Per fold: fit on the other two, score on this one.
    let mut err = vec![vec![0.0; alphas.len()]; 3];
    for f in 0..3 {
        let mut train = Moments::new(3, 1);
        for (g, m) in folds.iter().enumerate() {
            if g != f {
                train.merge(m).unwrap();
            }
        }
        let fit = path(&train, &o).unwrap();
        for (a, pt) in fit.points.iter().enumerate() {
            err[f][a] =
                residual_sum_of_squares(&folds[f], &pt.weight, &pt.bias)[0] / folds[f].weight_sum();
        }
    }
    let wf: Vec<f64> = folds.iter().map(|m| m.weight_sum()).collect();
    let wt: f64 = wf.iter().sum();
    for (a, (&got_mean, &got_se)) in cv.mean.iter().zip(&cv.standard_error).enumerate() {
        let fold = |f: usize| (wf[f], err[f][a]);
        let mean = (0..3).map(fold).map(|(w, e)| w * e).sum::<f64>() / wt;
        let var = (0..3)
            .map(fold)
            .map(|(w, e)| w * (e - mean).powi(2))
            .sum::<f64>()
            / wt;
        let se = (var / 2.0).sqrt();
        assert!((got_mean - mean).abs() <= 1e-12 * mean, "{a}");
        assert!((got_se - se).abs() <= 1e-9 * se.max(1e-12), "{a}");
    }
    let min = (0..alphas.len())
        .min_by(|&a, &b| cv.mean[a].total_cmp(&cv.mean[b]))
        .unwrap();
    assert_eq!(cv.index_min, min);
    let bound = cv.mean[min] + cv.standard_error[min];
    let one = (0..alphas.len()).find(|&a| cv.mean[a] <= bound).unwrap();
    assert_eq!(cv.index_1se, one);
    assert!(cv.index_1se <= cv.index_min);
    assert_eq!((cv.alpha_min, cv.alpha_1se), (alphas[min], alphas[one]));
    assert_eq!(cv.folds, 3);
    assert_eq!(cv.fold_rows, vec![12, 12, 12]);
    // The path is the fit on every row.
    let mut total = folds[0].clone();
    total.merge(&folds[1]).unwrap();
    total.merge(&folds[2]).unwrap();
    assert!(difference(&cv.path, &path(&total, &o).unwrap()) < 1e-12);
}

#[test]
fn cross_validation_does_not_depend_on_threads() {
    let (folds, _) = three_folds();
    let o = PathOptions {
        l1_ratio: 0.5,
        ..PathOptions::default()
    };
    let many = cross_validate(&folds, &o).unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| cross_validate(&folds, &o))
        .unwrap();
    assert_eq!(many, one);
    // The grid comes from all rows (ended where glmnet's rule ends it).
    let len = many.path.alphas.len();
    assert!((5..=100).contains(&len), "{len}");
    assert_eq!(many.mean.len(), len);
    assert_eq!(many.standard_error.len(), len);
}

#[test]
fn cross_validation_from_rows_equals_the_moments_one() {
    let (n, p) = (36, 3);
    let (x, y, w) = table(n, p, 1, 55);
    let (folds, _) = three_folds();
    let labels: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let o = PathOptions {
        alphas: Alphas::Grid {
            count: 12,
            min_ratio: 1e-2,
        },
        tol: 1e-13,
        ..PathOptions::default()
    };
    let by_moments = cross_validate(&folds, &o).unwrap();
    let (xv, yv) = (View::new(n, p, &x).unwrap(), View::new(n, 1, &y).unwrap());
    let by_rows = cross_validate_rows(xv, yv, Some(&w), &labels, &o).unwrap();
    assert_eq!(
        (by_rows.index_min, by_rows.index_1se),
        (by_moments.index_min, by_moments.index_1se)
    );
    assert_eq!(by_rows.fold_rows, by_moments.fold_rows);
    for (a, b) in by_rows.mean.iter().zip(&by_moments.mean) {
        assert!((a - b).abs() <= 1e-9 * b, "{a} vs {b}");
    }
    for (a, b) in by_rows
        .standard_error
        .iter()
        .zip(&by_moments.standard_error)
    {
        assert!((a - b).abs() <= 1e-7 * b.max(1e-12), "{a} vs {b}");
    }
    let short = cross_validate_rows(xv, yv, None, &labels[1..], &o).unwrap_err();
    assert!(
        short.to_string().contains("35 fold labels for 36 rows"),
        "{short}"
    );
}

#[test]
fn a_generated_grid_ends_where_the_fit_saturates_and_a_given_one_never() {
    // An exact linear relation: the deviance ratio passes 0.999 early on the path.
    let (n, p) = (40, 3);
    let x: Vec<f64> = (0..n * p).map(|i| ((i * 7 % 13) as f64).sin()).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| x[3 * i] - 2.0 * x[3 * i + 1] + 0.5 * x[3 * i + 2])
        .collect();
    let m = moments(&x, &y, None, (n, p, 1));
    let grid = path(&m, &PathOptions::default()).unwrap();
    let len = grid.points.len();
    assert!((5..100).contains(&len), "{len}");
    let last = grid.points.last().unwrap().deviance_ratio[0];
    let before = grid.points[len - 2].deviance_ratio[0];
    assert!(
        last > 0.999 || (last - before) / last < 1e-5,
        "{before} → {last}"
    );
    assert!(before <= 0.999, "it stops at the first saturated point");
    let given = PathOptions {
        alphas: Alphas::Given(
            (0..100)
                .map(|i| grid.alpha_max * 10f64.powf(-3.0 * i as f64 / 99.0))
                .collect(),
        ),
        ..PathOptions::default()
    };
    assert_eq!(path(&m, &given).unwrap().points.len(), 100);
    let (xv, yv) = (View::new(n, p, &x).unwrap(), View::new(n, 1, &y).unwrap());
    assert_eq!(
        path_rows(xv, yv, None, &PathOptions::default())
            .unwrap()
            .points
            .len(),
        len
    );
}

#[test]
fn fold_of_is_deterministic_and_balanced() {
    let (rows, k) = (100_003_u64, 10);
    let mut count = vec![0_usize; k];
    for r in 0..rows {
        let f = fold_of(2024, r, k);
        assert_eq!(f, fold_of(2024, r, k));
        count[f] += 1;
    }
    // Every block of ten rows deals one to each fold: sizes differ by at most one.
    let (lo, hi) = (count.iter().min().unwrap(), count.iter().max().unwrap());
    assert!(hi - lo <= 1 && *lo == 10_000, "{count:?}");
    let moved = (0..1000)
        .filter(|&r| fold_of(1, r, k) != fold_of(2, r, k))
        .count();
    assert!(moved > 800, "{moved}");
    // Not a fixed pattern: the blocks are dealt in different orders.
    let first = |b: u64| fold_of(3, b * 10, k);
    assert!(
        (0..100)
            .map(first)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            == k
    );
    assert_eq!((fold_of(5, 7, 0), fold_of(5, 7, 1)), (0, 0));
    // Dealt a block at a time: the same folds as row by row.
    let ids = fold_ids(2024, 1003, k);
    assert_eq!(
        ids,
        (0..1003).map(|r| fold_of(2024, r, k)).collect::<Vec<_>>()
    );
}

#[test]
fn path_at_and_nearest() {
    let (folds, _) = three_folds();
    let o = PathOptions {
        alphas: Alphas::Given(vec![0.01, 1.0, 0.1]),
        ..PathOptions::default()
    };
    let path = path(&folds[0], &o).unwrap();
    assert_eq!(path.alphas, vec![1.0, 0.1, 0.01]);
    assert_eq!(path.at(0.1).unwrap().alpha, 0.1);
    assert_eq!(path.at(0.1 * (1.0 + 1e-13)).unwrap().alpha, 0.1);
    assert!(path.at(0.2).is_none());
    assert_eq!(path.nearest(0.2).alpha, 0.1);
    assert_eq!(path.nearest(0.5).alpha, 1.0);
    assert_eq!(path.nearest(0.0).alpha, 0.01);
    assert_eq!(path.nearest(1e9).alpha, 1.0);
}

#[test]
fn a_constant_target_has_no_grid_but_fits_given_alphas() {
    let (n, p) = (10, 2);
    let (x, _, _) = table(n, p, 1, 2);
    let y = vec![3.0; n];
    let m = moments(&x, &y, None, (n, p, 1));
    assert_eq!(alpha_max(&m, &PathOptions::default()).unwrap(), 0.0);
    assert_eq!(path(&m, &PathOptions::default()), Err(PathError::NoSignal));
    let o = PathOptions {
        alphas: Alphas::Given(vec![0.1]),
        ..PathOptions::default()
    };
    let pt = &path(&m, &o).unwrap().points[0];
    assert_eq!((pt.weight[0].clone(), pt.bias[0]), (vec![0.0, 0.0], 3.0));
    assert_eq!(pt.deviance_ratio[0], 0.0);
}

#[test]
fn running_out_of_sweeps_is_an_error() {
    let (n, p) = (40, 8);
    let (x, y, _) = table(n, p, 1, 7);
    let m = moments(&x, &y, None, (n, p, 1));
    let o = PathOptions {
        alphas: Alphas::Given(vec![1e-4]),
        max_sweeps: 2,
        ..PathOptions::default()
    };
    match path(&m, &o) {
        Err(e @ PathError::NotConverged { alpha, sweeps, gap }) => {
            assert_eq!((alpha, sweeps), (1e-4, 2));
            assert!(gap > o.tol);
            assert!(e.to_string().contains("max_sweeps"));
        }
        other => panic!("{other:?}"),
    }
    let (xv, yv) = (View::new(n, p, &x).unwrap(), View::new(n, 1, &y).unwrap());
    assert!(matches!(
        path_rows(xv, yv, None, &o),
        Err(PathError::NotConverged { .. })
    ));
}

#[test]
fn bad_options_are_errors_that_name_the_fix() {
    let (n, p) = (10, 2);
    let (x, y, _) = table(n, p, 1, 4);
    let m = moments(&x, &y, None, (n, p, 1));
    let d = PathOptions::default;
    let bad = [
        (
            PathOptions {
                l1_ratio: f64::NAN,
                ..d()
            },
            "l1_ratio",
        ),
        (
            PathOptions {
                l1_ratio: 1.5,
                ..d()
            },
            "[0, 1]",
        ),
        (
            PathOptions {
                l1_ratio: -0.1,
                ..d()
            },
            "l1_ratio",
        ),
        (PathOptions { tol: 0.0, ..d() }, "tol"),
        (
            PathOptions {
                tol: f64::NAN,
                ..d()
            },
            "tol",
        ),
        (
            PathOptions {
                max_sweeps: 0,
                ..d()
            },
            "max_sweeps",
        ),
        (
            PathOptions {
                alphas: Alphas::Given(vec![]),
                ..d()
            },
            "at least one α",
        ),
        (
            PathOptions {
                alphas: Alphas::Given(vec![0.1, -1.0]),
                ..d()
            },
            "α = -1",
        ),
        (
            PathOptions {
                alphas: Alphas::Given(vec![f64::NAN]),
                ..d()
            },
            "α = NaN",
        ),
        (
            PathOptions {
                alphas: Alphas::Given(vec![f64::INFINITY]),
                ..d()
            },
            "α = inf",
        ),
        (
            PathOptions {
                alphas: Alphas::Grid {
                    count: 0,
                    min_ratio: 0.1,
                },
                ..d()
            },
            "0 points",
        ),
        (
            PathOptions {
                alphas: Alphas::Grid {
                    count: 5,
                    min_ratio: 0.0,
                },
                ..d()
            },
            "min_ratio",
        ),
        (
            PathOptions {
                alphas: Alphas::Grid {
                    count: 5,
                    min_ratio: 1.0,
                },
                ..d()
            },
            "(0, 1)",
        ),
    ];
    let (xv, yv) = (View::new(n, p, &x).unwrap(), View::new(n, 1, &y).unwrap());
    for (o, words) in &bad {
        for e in [
            path(&m, o).unwrap_err(),
            alpha_max(&m, o).unwrap_err(),
            path_rows(xv, yv, None, o).unwrap_err(),
            cross_validate(&[m.clone(), m.clone()], o).unwrap_err(),
        ] {
            assert!(matches!(e, PathError::InvalidOption(_)), "{e:?}");
            assert!(e.to_string().contains(words), "{e} lacks {words}");
        }
    }
}

#[test]
fn bad_inputs_are_errors() {
    let (n, p) = (10, 2);
    let (x, y, w) = table(n, p, 1, 4);
    let (xv, yv) = (View::new(n, p, &x).unwrap(), View::new(n, 1, &y).unwrap());
    let o = PathOptions::default();
    // Shapes, rows, values.
    assert_eq!(path(&Moments::new(p, 1), &o), Err(PathError::NoRows));
    assert!(matches!(
        path(&Moments::new(0, 1), &o),
        Err(PathError::Shape(_))
    ));
    assert!(matches!(
        path(&Moments::new(2, 0), &o),
        Err(PathError::Shape(_))
    ));
    let short = View::new(n - 1, 1, &y[..n - 1]).unwrap();
    assert!(matches!(
        path_rows(xv, short, None, &o),
        Err(PathError::Shape(_))
    ));
    let empty = View::new(0, p, &[]).unwrap();
    let no_y = View::new(0, 1, &[]).unwrap();
    assert_eq!(path_rows(empty, no_y, None, &o), Err(PathError::NoRows));
    assert!(matches!(
        path_rows(xv, yv, Some(&w[1..]), &o),
        Err(PathError::Shape(_))
    ));
    let mut zero = w.clone();
    zero[3] = 0.0;
    let e = path_rows(xv, yv, Some(&zero), &o).unwrap_err();
    assert!(e.to_string().contains("row 4"), "{e}");
    let mut nan = x.clone();
    nan[5] = f64::NAN;
    let nv = View::new(n, p, &nan).unwrap();
    assert_eq!(path_rows(nv, yv, None, &o), Err(PathError::NonFinite));
}

#[test]
fn bad_folds_are_errors() {
    let (n, p) = (10, 2);
    let (x, y, _) = table(n, p, 1, 4);
    let m = moments(&x, &y, None, (n, p, 1));
    let o = PathOptions::default();
    let e = cross_validate(std::slice::from_ref(&m), &o).unwrap_err();
    assert!(matches!(e, PathError::Folds(_)) && e.to_string().contains("at least 2"));
    let e = cross_validate(&[m.clone(), Moments::new(p, 1)], &o).unwrap_err();
    assert!(e.to_string().contains("fold 2 of 2 has no rows"), "{e}");
    let other = moments(&x, &y[..5], None, (5, 2 * p, 1));
    let e = cross_validate(&[m.clone(), other], &o).unwrap_err();
    assert!(e.to_string().contains("disagree on their columns"), "{e}");
}

/// Fitted values at every point, `[α][target][row]`.
fn fitted(path: &Path, x: &[f64], (n, p): (usize, usize)) -> Vec<Vec<Vec<f64>>> {
    let row = |i: usize| &x[i * p..(i + 1) * p];
    path.points
        .iter()
        .map(|pt| {
            (pt.weight.iter().zip(&pt.bias))
                .map(|(w, b)| (0..n).map(|i| row_dot(row(i), w) + b).collect())
                .collect()
        })
        .collect()
}

fn row_dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| u * v).sum()
}

#[test]
fn random_tables_agree_between_solvers() {
    // Shapes from 5 × 1 to 64 × 40, correlation up to 0.99, exact duplicates, weights, every
    // option: the two solvers must give the same fits (coefficients of duplicated columns are
    // not unique, fitted values are).
    for seed in 0..30_u64 {
        let (n, p, k) = (
            5 + (seed as usize * 13) % 60,
            1 + (seed as usize * 7) % 40,
            1,
        );
        let (mut x, y, w) = table(n, p, k, seed + 100);
        if seed % 5 == 0 && p > 2 {
            (0..n).for_each(|i| x[i * p + 1] = 2.0 * x[i * p]);
        }
        let o = PathOptions {
            l1_ratio: [1.0, 0.5, 0.0, 0.9, 0.1][seed as usize % 5],
            standardize: seed % 2 == 0,
            intercept: seed % 7 != 0,
            alphas: Alphas::Grid {
                count: 20,
                min_ratio: 1e-3,
            },
            tol: 1e-10,
            ..PathOptions::default()
        };
        let wt = (seed % 3 == 0).then_some(&w[..]);
        let (xv, yv) = (View::new(n, p, &x).unwrap(), View::new(n, k, &y).unwrap());
        let gram = path(&Moments::from_rows(xv, yv, wt).unwrap(), &o).unwrap();
        let rows = path_rows(xv, yv, wt, &o).unwrap();
        let scale = y.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let (a, b) = (fitted(&gram, &x, (n, p)), fitted(&rows, &x, (n, p)));
        for ((fa, fb), pt) in a.iter().zip(&b).zip(&gram.points) {
            assert!(pt.gap <= o.tol);
            for (u, v) in fa.iter().flatten().zip(fb.iter().flatten()) {
                assert!((u - v).abs() <= 1e-7 * scale, "seed {seed}: {u} {v}");
            }
        }
    }
}
