//! The inference table against statsmodels and SciPy (`tools/statsmodels_reference.py` wrote
//! `tests/fixtures/strd/statsmodels.json`): p-values and confidence intervals to every digit
//! statsmodels prints (8 decimals) and more, on every NIST StRD table; OLS, WLS and HC0–HC3
//! against statsmodels' own fits on well-conditioned tables.

use std::path::PathBuf;

use linreg_solve::inference::robust_covariance;
use linreg_solve::{CovarianceKind, Inference, LeastSquares, View};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/strd")
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join(name)).expect("fixture"))
        .expect("json")
}

fn read(name: &str) -> (Vec<f64>, Vec<f64>, usize) {
    let text = std::fs::read_to_string(dir().join(format!("{name}.csv"))).expect("data");
    let (mut y, mut x, mut cols) = (Vec::new(), Vec::new(), 0);
    for line in text.lines().skip(1) {
        let cells: Vec<f64> = line
            .split(',')
            .map(|c| c.parse().expect("number"))
            .collect();
        y.push(cells[0]);
        cols = cells.len() - 1;
        x.extend_from_slice(&cells[1..]);
    }
    (y, x, cols)
}

fn table(name: &str, weights: Option<&[f64]>, robust: Option<CovarianceKind>) -> Inference {
    let spec = &json("certified.json")["datasets"][name];
    let (y, x, cols) = read(name);
    let n = y.len();
    let degree = spec["degree"].as_u64().map(|d| d as usize);
    let ls = LeastSquares {
        intercept: spec["intercept"].as_bool().unwrap(),
        polynomial: degree,
        weights,
        ..Default::default()
    };
    let (xv, yv) = (
        View::new(n, cols, &x).unwrap(),
        View::new(n, 1, &y).unwrap(),
    );
    let sol = ls.fit(xv, yv).unwrap();
    let p = degree.unwrap_or(cols);
    let names: Vec<String> = (1..=p).map(|j| format!("x{j}")).collect();
    let cov = robust.map(|kind| {
        assert!(
            degree.unwrap_or(1) == 1,
            "robust errors are tested on plain designs"
        );
        robust_covariance(xv, yv, weights, &sol, kind)
            .unwrap()
            .remove(0)
    });
    Inference::new(&sol, 0, &names, "y", cov.as_ref()).unwrap()
}

/// Agreement to 9 significant digits, or to 12 decimals for values near zero (statsmodels
/// prints 8 decimals at most).
fn close(got: f64, want: f64, what: &str) {
    close_to(got, want, 1e-9, what);
}

fn close_to(got: f64, want: f64, rel: f64, what: &str) {
    let err = (got - want).abs();
    assert!(
        err <= rel * want.abs() || err <= 1e-12 || got == want,
        "{what}: {got:e} vs {want:e}"
    );
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

#[test]
fn p_values_and_intervals_match_statsmodels_formulas_on_every_strd_table() {
    let refs = json("statsmodels.json");
    for (name, r) in refs["certified"].as_object().unwrap() {
        let t = table(name, None, None);
        for (a, c) in t.coefficients.iter().enumerate() {
            if c.std_error > 0.0 {
                close(c.p_value, f(&r["p_value"][a]), &format!("{name} p[{a}]"));
            }
            // A perfect fit's interval is the estimate itself; elsewhere 9 digits.
            close(c.ci_low, f(&r["ci_low"][a]), &format!("{name} ci_low[{a}]"));
            close(
                c.ci_high,
                f(&r["ci_high"][a]),
                &format!("{name} ci_high[{a}]"),
            );
        }
        close(t.adj_r2, f(&r["adj_r2"]), &format!("{name} adj R²"));
        assert_eq!(
            (t.df_model, t.df_resid),
            (f(&r["df_model"]), f(&r["df_resid"]))
        );
        match r["f_statistic"].as_f64() {
            Some(fs) => close(t.f_statistic, fs, &format!("{name} F")),
            // A perfect fit: infinite in exact arithmetic; from data rounded to f64 the
            // residuals are 1e-16 of the values, so F is merely astronomical.
            None => assert!(t.f_statistic > 1e30, "{name}: perfect fit"),
        }
        close(t.f_p_value, f(&r["f_p_value"]), &format!("{name} F p"));
        if let Some(llf) = r["log_likelihood"].as_f64() {
            close(t.log_likelihood, llf, &format!("{name} llf"));
            close(t.aic, f(&r["aic"]), &format!("{name} AIC"));
            close(t.bic, f(&r["bic"]), &format!("{name} BIC"));
        }
    }
}

#[test]
fn ols_wls_and_robust_errors_match_statsmodels_fits() {
    let refs = json("statsmodels.json");
    let weights: Vec<f64> = (1..=16).map(f64::from).collect();
    for (case, name, w) in [
        ("norris", "norris", None),
        ("longley", "longley", None),
        ("longley_weighted", "longley", Some(weights.as_slice())),
    ] {
        for (key, kind) in [
            ("nonrobust", None),
            ("HC0", Some(CovarianceKind::Hc0)),
            ("HC1", Some(CovarianceKind::Hc1)),
            ("HC2", Some(CovarianceKind::Hc2)),
            ("HC3", Some(CovarianceKind::Hc3)),
        ] {
            let r = &refs["statsmodels"][case][key];
            let t = table(name, w, kind);
            let what = |s: &str| format!("{case} {key} {s}");
            // statsmodels inverts RᵀR for the covariance, squaring Longley's condition number:
            // its own standard errors are right to about 8 digits (890420.3932 against the
            // certified 890420.3836), and p-values amplify that, so its fits are compared to
            // 6 digits. The strict comparison is the test above, on certified inputs.
            let close = |a: f64, b: f64, w: &str| close_to(a, b, 1e-6, w);
            for (a, c) in t.coefficients.iter().enumerate() {
                close(c.estimate, f(&r["estimate"][a]), &what("estimate"));
                close(c.std_error, f(&r["std_error"][a]), &what("std error"));
                close(c.t, f(&r["t"][a]), &what("t"));
                close(c.p_value, f(&r["p_value"][a]), &what("p"));
                // An interval's end can be a small difference of large numbers
                // (b ± 2.1·se): compare on the scale of its terms.
                let scale = c.estimate.abs() + 3.0 * c.std_error;
                for (got, want) in [(c.ci_low, &r["ci_low"][a]), (c.ci_high, &r["ci_high"][a])] {
                    assert!(
                        (got - f(want)).abs() <= 1e-6 * scale,
                        "{}",
                        what("interval")
                    );
                }
            }
            // The robust F is a Wald test: V⁻¹ of a robust covariance that statsmodels builds
            // from its 8-digit (XᵀX)⁻¹ and Longley's slopes make V nearly singular, so its F
            // keeps about five digits.
            let f_tol = if kind.is_some() && name == "longley" {
                1e-4
            } else {
                1e-7
            };
            close_to(t.f_statistic, f(&r["f_statistic"]), f_tol, &what("F"));
            close_to(t.f_p_value, f(&r["f_p_value"]), f_tol, &what("F p"));
            for (got, k) in [
                (t.r2, "r2"),
                (t.adj_r2, "adj_r2"),
                (t.residual_std_error, "residual_std_error"),
                (t.log_likelihood, "log_likelihood"),
                (t.aic, "aic"),
                (t.bic, "bic"),
            ] {
                close(got, f(&r[k]), &what(k));
            }
            // statsmodels' condition number comes from the eigenvalues of XᵀX (so only
            // its first half of the digits mean anything at 5e9); ours from R's singular values.
            let cn = f(&r["condition_number"]);
            assert!(
                (t.condition_number / cn - 1.0).abs() < 1e-6,
                "{}",
                what("condition")
            );
            assert_eq!(t.covariance_type.name(), key);
        }
    }
}
