//! Unit tests against hand-computed and independently computed solutions.

use super::*;
use proptest::prelude::*;

fn view(rows: usize, cols: usize, v: &[f32]) -> View<'_> {
    View::new(rows, cols, v).unwrap()
}

/// A small deterministic generator for test data (no dependency on the data crate).
fn lcg(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 11) as f64 / (1u64 << 53) as f64
}

#[test]
fn perfect_line_is_recovered() {
    let x: Vec<f32> = (0..50).map(|i| i as f32 * 0.02).collect();
    let y: Vec<f32> = x.iter().map(|&v| 0.8 * v + 0.2).collect();
    for fit in [
        least_squares(view(50, 1, &x), view(50, 1, &y), 0.0).unwrap(),
        least_squares_qr(view(50, 1, &x), view(50, 1, &y), 0.0).unwrap(),
        least_absolute_deviations(view(50, 1, &x), view(50, 1, &y), Irls::default()).unwrap(),
        huber(view(50, 1, &x), view(50, 1, &y), 1.0, Irls::default()).unwrap(),
    ] {
        assert!((fit.weight[0][0] - 0.8).abs() < 1e-6, "{fit:?}");
        assert!((fit.bias[0] - 0.2).abs() < 1e-6, "{fit:?}");
    }
}

#[test]
fn one_feature_matches_the_textbook_formula() {
    // w = cov(x, y) / var(x), b = ȳ − w·x̄, computed here directly in f64.
    let mut s = 7;
    let x: Vec<f32> = (0..200).map(|_| (lcg(&mut s) * 10.0) as f32).collect();
    let y: Vec<f32> = x
        .iter()
        .map(|&v| (3.0 * f64::from(v) - 1.0 + lcg(&mut s) - 0.5) as f32)
        .collect();
    let n = 200.0;
    let mx = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let my = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let cov: f64 = x
        .iter()
        .zip(&y)
        .map(|(&a, &b)| (f64::from(a) - mx) * (f64::from(b) - my))
        .sum::<f64>()
        / n;
    let var: f64 = x.iter().map(|&a| (f64::from(a) - mx).powi(2)).sum::<f64>() / n;
    let fit = least_squares(view(200, 1, &x), view(200, 1, &y), 0.0).unwrap();
    assert!((fit.weight[0][0] - cov / var).abs() < 1e-12);
    assert!((fit.bias[0] - (my - cov / var * mx)).abs() < 1e-11);
    // Ridge: w = cov / (var + λ) for the mean-squared objective.
    let fit = least_squares(view(200, 1, &x), view(200, 1, &y), 0.5).unwrap();
    assert!((fit.weight[0][0] - cov / (var + 0.5)).abs() < 1e-12);
    let qr = least_squares_qr(view(200, 1, &x), view(200, 1, &y), 0.5).unwrap();
    assert!((qr.weight[0][0] - cov / (var + 0.5)).abs() < 1e-12);
}

#[test]
fn overdetermined_system_matches_qr_and_has_zero_gradient() {
    let (n, p) = (500, 4);
    let mut s = 3;
    let x: Vec<f32> = (0..n * p)
        .map(|_| (lcg(&mut s) * 4.0 - 2.0) as f32)
        .collect();
    let truth = [1.5, -2.0, 0.25, 3.0];
    let y: Vec<f32> = (0..n)
        .flat_map(|i| {
            let clean: f64 = (0..p)
                .map(|j| truth[j] * f64::from(x[i * p + j]))
                .sum::<f64>()
                + 0.7;
            let (a, b) = (clean + lcg(&mut s) - 0.5, -clean);
            [a as f32, b as f32]
        })
        .collect();
    let (xv, yv) = (view(n, p, &x), view(n, 2, &y));
    let chol = least_squares(xv, yv, 0.0).unwrap();
    let qr = least_squares_qr(xv, yv, 0.0).unwrap();
    for t in 0..2 {
        for j in 0..p {
            assert!((chol.weight[t][j] - qr.weight[t][j]).abs() < 1e-10);
        }
        assert!((chol.bias[t] - qr.bias[t]).abs() < 1e-10);
    }
    // The second target is exactly −(clean line): recovered to rounding.
    for (w, t) in chol.weight[1].iter().zip(truth) {
        assert!((w + t).abs() < 1e-5);
    }
    // Normal equations: Xᵀr = 0 and Σr = 0 at the optimum.
    for t in 0..2 {
        let mut grad = vec![0.0; p + 1];
        for i in 0..n {
            let row = &x[i * p..(i + 1) * p];
            let r = chol.weight[t]
                .iter()
                .zip(row)
                .map(|(w, &v)| w * f64::from(v))
                .sum::<f64>()
                + chol.bias[t]
                - f64::from(y[i * 2 + t]);
            for j in 0..p {
                grad[j] += r * f64::from(row[j]) / n as f64;
            }
            grad[p] += r / n as f64;
        }
        assert!(grad.iter().all(|g| g.abs() < 1e-10), "{grad:?}");
    }
}

#[test]
fn lad_ignores_outliers_that_move_least_squares() {
    let n = 101;
    let x: Vec<f32> = (0..n).map(|i| i as f32 / 10.0).collect();
    let mut y: Vec<f32> = x.iter().map(|&v| 2.0 * v + 1.0).collect();
    for i in (0..n).step_by(10) {
        y[i] += 50.0; // 11 gross outliers, all upwards
    }
    let ols = least_squares(view(n, 1, &x), view(n, 1, &y), 0.0).unwrap();
    let lad = least_absolute_deviations(view(n, 1, &x), view(n, 1, &y), Irls::default()).unwrap();
    assert!((ols.bias[0] - 1.0).abs() > 4.0, "OLS is pulled up: {ols:?}");
    assert!(
        (lad.weight[0][0] - 2.0).abs() < 1e-6 && (lad.bias[0] - 1.0).abs() < 1e-5,
        "{lad:?}"
    );
    assert!(lad.iterations >= 1);
    // Huber with a small delta sits near LAD, with a huge one it is least squares.
    let h = huber(view(n, 1, &x), view(n, 1, &y), 0.1, Irls::default()).unwrap();
    assert!(
        (h.weight[0][0] - 2.0).abs() < 0.01 && (h.bias[0] - 1.0).abs() < 0.1,
        "{h:?}"
    );
    let h = huber(view(n, 1, &x), view(n, 1, &y), 1e6, Irls::default()).unwrap();
    assert!((h.bias[0] - ols.bias[0]).abs() < 1e-9);
}

#[test]
fn rank_deficiency_is_named_and_solved_with_minimum_norm() {
    // Column 1 duplicates column 0; column 2 is constant.
    let n = 30;
    let x: Vec<f32> = (0..n).flat_map(|i| [i as f32, i as f32, 5.0]).collect();
    let y: Vec<f32> = (0..n).map(|i| 4.0 * i as f32 + 1.0).collect();
    let fit = least_squares(view(n, 3, &x), view(n, 1, &y), 0.0).unwrap();
    let rd = fit.rank_deficiency.clone().unwrap();
    assert_eq!(rd.constant, vec![2]);
    assert_eq!(rd.collinear, vec![vec![0, 1]]);
    // Minimum norm splits the slope evenly; predictions are exact.
    assert!(
        (fit.weight[0][0] - 2.0).abs() < 1e-9 && (fit.weight[0][1] - 2.0).abs() < 1e-9,
        "{fit:?}"
    );
    assert_eq!(fit.weight[0][2], 0.0);
    assert!((fit.bias[0] - 1.0).abs() < 1e-9);
    // Ridge makes the problem regular: no warning about collinearity.
    let ridge = least_squares(view(n, 3, &x), view(n, 1, &y), 0.1).unwrap();
    assert!(ridge.rank_deficiency.unwrap().collinear.is_empty());
}

#[test]
fn bad_input_is_an_error() {
    assert!(View::new(2, 2, &[1.0; 3]).is_err());
    let x = [1.0_f32, 2.0];
    assert!(matches!(
        least_squares(view(2, 1, &x), view(1, 1, &[1.0]), 0.0),
        Err(SolveError::Shape(_))
    ));
    assert!(matches!(
        least_squares(view(1, 1, &[1.0]), view(1, 1, &[1.0]), 0.0),
        Err(SolveError::TooFewRows { .. })
    ));
    assert!(matches!(
        least_squares(view(2, 1, &[1.0, f32::NAN]), view(2, 1, &x), 0.0),
        Err(SolveError::NonFinite)
    ));
    assert!(least_squares(view(2, 1, &x), view(2, 1, &x), -1.0).is_err());
    assert!(least_squares_qr(view(2, 1, &x), view(2, 1, &x), f64::NAN).is_err());
    assert!(huber(view(2, 1, &x), view(2, 1, &x), 0.0, Irls::default()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// On random well-conditioned problems the solution zeroes the gradient of the mean squared
    /// error (relative to the gradient at zero), and QR agrees with Cholesky.
    #[test]
    fn least_squares_gradient_is_zero(seed in any::<u64>(), n in 20usize..200, p in 1usize..6) {
        let mut s = seed;
        let x: Vec<f32> = (0..n * p).map(|_| (lcg(&mut s) * 2.0 - 1.0) as f32).collect();
        let y: Vec<f32> = (0..n).map(|_| (lcg(&mut s) * 10.0 - 5.0) as f32).collect();
        let fit = least_squares(view(n, p, &x), view(n, 1, &y), 0.0).unwrap();
        let qr = least_squares_qr(view(n, p, &x), view(n, 1, &y), 0.0).unwrap();
        let mut grad = vec![0.0; p + 1];
        let mut scale = 0.0_f64;
        for i in 0..n {
            let row = &x[i * p..(i + 1) * p];
            let r = fit.weight[0].iter().zip(row).map(|(w, &v)| w * f64::from(v)).sum::<f64>() + fit.bias[0] - f64::from(y[i]);
            for j in 0..p { grad[j] += r * f64::from(row[j]); }
            grad[p] += r;
            scale += f64::from(y[i]).abs();
        }
        for g in &grad { prop_assert!(g.abs() <= 1e-9 * scale.max(1.0), "{grad:?}"); }
        for j in 0..p { prop_assert!((fit.weight[0][j] - qr.weight[0][j]).abs() < 1e-8); }
    }
}
