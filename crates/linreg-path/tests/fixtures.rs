//! The paths against scikit-learn, NumPy (ridge in closed form) and glmnet, on the tables and
//! α values of `fixtures/enet.json` (written by `tools/enet_fixtures.py`).

use std::collections::HashMap;

use linreg_path::{alpha_max, path, path_rows, Alphas, Path, PathOptions};
use linreg_solve::{Moments, View};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixtures {
    datasets: HashMap<String, Dataset>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Dataset {
    x: Vec<Vec<f64>>,
    y: Vec<Vec<f64>>,
    weights: Vec<f64>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    source: String,
    dataset: String,
    weighted: bool,
    l1_ratio: f64,
    standardize: bool,
    intercept: bool,
    targets: usize,
    alpha_max: f64,
    alphas: Vec<f64>,
    /// `[α][target][feature]`.
    coef: Vec<Vec<Vec<f64>>>,
    bias: Vec<Vec<f64>>,
    deviance_ratio: Vec<Vec<f64>>,
}

/// A case's table, flattened, with its feature sds (to compare coefficients in standardized
/// units, where features of scale 100 and 0.1 weigh the same).
struct Table {
    n: usize,
    p: usize,
    x: Vec<f64>,
    y: Vec<f64>,
    w: Option<Vec<f64>>,
    sd: Vec<f64>,
    x_mean: Vec<f64>,
    /// Per target, the weighted population sd.
    y_sd: Vec<f64>,
}

fn table(d: &Dataset, case: &Case) -> Table {
    let (n, p, k) = (d.x.len(), d.x[0].len(), case.targets);
    let x: Vec<f64> = d.x.iter().flatten().copied().collect();
    let y: Vec<f64> = d.y.iter().flat_map(|r| r[..k].iter().copied()).collect();
    let w = case.weighted.then(|| d.weights.clone());
    let wt = |i: usize| w.as_ref().map_or(1.0, |w| w[i]);
    let total: f64 = (0..n).map(wt).sum();
    let x_mean: Vec<f64> = (0..p)
        .map(|j| (0..n).map(|i| wt(i) * d.x[i][j]).sum::<f64>() / total)
        .collect();
    let sd = (0..p)
        .map(|j| {
            let v: f64 = (0..n)
                .map(|i| wt(i) * (d.x[i][j] - x_mean[j]).powi(2))
                .sum();
            (v / total).sqrt()
        })
        .collect();
    let y_sd = (0..k)
        .map(|t| {
            let m: f64 = (0..n).map(|i| wt(i) * d.y[i][t]).sum::<f64>() / total;
            let v: f64 = (0..n).map(|i| wt(i) * (d.y[i][t] - m).powi(2)).sum();
            (v / total).sqrt()
        })
        .collect();
    Table {
        n,
        p,
        x,
        y,
        w,
        sd,
        x_mean,
        y_sd,
    }
}

/// Worst errors of a path against a case.
#[derive(Default, Debug)]
struct Errors {
    /// Coefficients times the feature sd, over the largest such reference.
    standardized: f64,
    /// Coefficients over the largest reference coefficient.
    raw: f64,
    bias: f64,
    deviance: f64,
}

fn compare(case: &Case, t: &Table, got: &Path, what: &str) -> Errors {
    let mut e = Errors::default();
    assert_eq!(got.points.len(), case.alphas.len(), "{}", case.name);
    for (a, pt) in got.points.iter().enumerate() {
        let ctx = format!("{} ({what}), α = {}", case.name, case.alphas[a]);
        assert!(
            (pt.alpha - case.alphas[a]).abs() <= 1e-12 * case.alphas[a],
            "{ctx}: α {}",
            pt.alpha
        );
        for tg in 0..case.targets {
            let (want, have) = (&case.coef[a][tg], &pt.weight[tg]);
            for j in 0..t.p {
                // At α_max itself rounding decides whether a coefficient of 1e-17 enters,
                // in the reference as here: a support difference must be that small.
                let tiny = (have[j] - want[j]).abs() * t.sd[j] <= 1e-12 * t.y_sd[tg];
                assert!(
                    (want[j] == 0.0) == (have[j] == 0.0) || tiny,
                    "{ctx}: support of feature {j}: {} vs {}",
                    have[j],
                    want[j]
                );
            }
            let top = |v: &[f64], s: &[f64]| {
                v.iter()
                    .zip(s)
                    .fold(0.0_f64, |m, (b, s)| m.max((b * s).abs()))
            };
            let ones = vec![1.0; t.p];
            let (top_s, top_r) = (top(want, &t.sd), top(want, &ones));
            if top_s <= 1e-12 * t.y_sd[tg] {
                // All zero: the support check above said how close.
                continue;
            }
            for j in 0..t.p {
                let d = (have[j] - want[j]).abs();
                e.standardized = e.standardized.max(d * t.sd[j] / top_s);
                e.raw = e.raw.max(d / top_r);
            }
            let spread: f64 = want.iter().zip(&t.x_mean).map(|(b, m)| (b * m).abs()).sum();
            let scale = case.bias[a][tg].abs().max(1.0) + spread;
            e.bias = e.bias.max((pt.bias[tg] - case.bias[a][tg]).abs() / scale);
            e.deviance = e
                .deviance
                .max((pt.deviance_ratio[tg] - case.deviance_ratio[a][tg]).abs());
        }
    }
    e
}

fn options(case: &Case, alphas: Alphas) -> PathOptions {
    PathOptions {
        l1_ratio: case.l1_ratio,
        alphas,
        standardize: case.standardize,
        intercept: case.intercept,
        tol: 1e-12,
        ..PathOptions::default()
    }
}

fn fixtures() -> Fixtures {
    serde_json::from_str(include_str!("fixtures/enet.json")).expect("fixtures/enet.json")
}

#[test]
fn paths_match_scikit_learn_numpy_and_glmnet() {
    let f = fixtures();
    let mut worst: HashMap<&str, Errors> = HashMap::new();
    for case in &f.cases {
        let t = table(&f.datasets[&case.dataset], case);
        let m = Moments::from_rows(
            View::new(t.n, t.p, &t.x).unwrap(),
            View::new(t.n, case.targets, &t.y).unwrap(),
            t.w.as_deref(),
        )
        .unwrap();
        let o = options(case, Alphas::Given(case.alphas.clone()));
        let amax = alpha_max(&m, &o).unwrap();
        assert!(
            (amax - case.alpha_max).abs() <= 1e-10 * case.alpha_max,
            "{}: alpha_max {amax} vs {}",
            case.name,
            case.alpha_max
        );
        let gram = path(&m, &o).unwrap();
        let rows = path_rows(
            View::new(t.n, t.p, &t.x).unwrap(),
            View::new(t.n, case.targets, &t.y).unwrap(),
            t.w.as_deref(),
            &o,
        )
        .unwrap();
        assert!((rows.alpha_max - case.alpha_max).abs() <= 1e-10 * case.alpha_max);
        for (got, what) in [(&gram, "gram"), (&rows, "rows")] {
            let e = compare(case, &t, got, what);
            let w = worst.entry(case.source.as_str()).or_default();
            w.standardized = w.standardized.max(e.standardized);
            w.raw = w.raw.max(e.raw);
            w.bias = w.bias.max(e.bias);
            w.deviance = w.deviance.max(e.deviance);
            // glmnet stops on coefficient changes, not a gap: against scikit-learn its own error
            // reaches 3e-8 here (small α, no intercept).
            let bound = if case.source == "glmnet" { 1e-7 } else { 1e-8 };
            assert!(
                e.standardized <= bound && e.raw <= bound && e.bias <= bound,
                "{} ({what}): {e:?}",
                case.name
            );
            assert!(e.deviance <= 1e-9, "{} ({what}): {e:?}", case.name);
        }
    }
    // Shown with --nocapture.
    for (source, e) in &worst {
        eprintln!("{source}: worst {e:?}");
    }
}

#[test]
fn a_grid_reproduces_the_reference_alphas() {
    let f = fixtures();
    for case in f.cases.iter().filter(|c| c.alphas.len() >= 10) {
        let t = table(&f.datasets[&case.dataset], case);
        let m = Moments::from_rows(
            View::new(t.n, t.p, &t.x).unwrap(),
            View::new(t.n, case.targets, &t.y).unwrap(),
            t.w.as_deref(),
        )
        .unwrap();
        let ratio = case.alphas[case.alphas.len() - 1] / case.alphas[0];
        let grid = Alphas::Grid {
            count: case.alphas.len(),
            min_ratio: (ratio * 1e6).round() / 1e6,
        };
        let got = path(&m, &options(case, grid)).unwrap();
        assert!((got.alpha_max - case.alpha_max).abs() <= 1e-10 * case.alpha_max);
        for (a, b) in got.alphas.iter().zip(&case.alphas) {
            assert!((a - b).abs() <= 1e-10 * b, "{}: α {a} vs {b}", case.name);
        }
        let e = compare(case, &t, &got, "grid");
        assert!(e.standardized <= 1e-7, "{}: {e:?}", case.name);
    }
}

#[test]
fn the_default_tolerance_is_accurate_too() {
    let f = fixtures();
    let mut worst = 0.0_f64;
    for case in f.cases.iter().filter(|c| c.source != "glmnet") {
        let t = table(&f.datasets[&case.dataset], case);
        let (xv, yv) = (
            View::new(t.n, t.p, &t.x).unwrap(),
            View::new(t.n, case.targets, &t.y).unwrap(),
        );
        let o = PathOptions {
            tol: PathOptions::default().tol,
            ..options(case, Alphas::Given(case.alphas.clone()))
        };
        let m = Moments::from_rows(xv, yv, t.w.as_deref()).unwrap();
        for (got, what) in [
            (path(&m, &o).unwrap(), "gram"),
            (path_rows(xv, yv, t.w.as_deref(), &o).unwrap(), "rows"),
        ] {
            let e = compare(case, &t, &got, what);
            assert!(e.standardized <= 1e-6, "{} ({what}): {e:?}", case.name);
            worst = worst.max(e.standardized);
        }
    }
    eprintln!("default tol: worst standardized error {worst:e}");
}
