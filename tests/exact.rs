//! `--solver exact` and the gap report, end to end, against NumPy's least squares and SciPy's
//! linear program on the diabetes table, and the tutorial's perfect line.

mod common;

use std::path::Path;

use common::{
    assert_each_rel, assert_rel, evaluate_json, f, fixture, run_ok, summary, temp_dir, write_file,
    Train, DIABETES_OLS_BIAS, DIABETES_OLS_WEIGHT,
};
use serde_json::Value;

/// `python3 tools/ols_reference.py --f32 --lad tests/fixtures/diabetes.csv progression`
/// (SciPy 1.17.1 `linprog`, HiGHS: "Optimal").
const LAD_WEIGHT: [f64; 10] = [
    0.03419188073559816,
    -31.112637350450424,
    5.021181019057987,
    1.4015794128969834,
    -1.1787338137755616,
    0.6488791690514188,
    0.5416172442597602,
    9.515704796614084,
    69.48085419010575,
    0.21045379620843646,
];
const LAD_BIAS: f64 = -328.566_750_793_464_8;
const LAD_MAE: f64 = 43.041_501_196_959_85;

fn exact_fit(dir: &Path, loss: &str) -> Value {
    Train::all_rows(&fixture("diabetes.csv"), "progression")
        .args(&["--solver", "exact", "--loss", loss])
        .args(&["--no-standardize", "--out", loss, "--quiet"])
        .summary(dir)
}

#[test]
fn exact_least_squares_matches_numpy_to_1e_10() {
    let dir = temp_dir("exact-ols");
    let s = exact_fit(&dir, "mse");
    assert_eq!(s["solver"], "exact");
    assert_eq!(s["epochs_run"], 0);
    let e = &s["exact"];
    assert!(e["method"]
        .as_str()
        .expect("method")
        .contains("least squares"));
    assert_each_rel("weight", &e["weight"][0], &DIABETES_OLS_WEIGHT, 1e-10);
    // The saved model holds the same coefficients in f32.
    assert_each_rel(
        "saved weight",
        &s["final"]["weight"][0],
        &DIABETES_OLS_WEIGHT,
        1e-6,
    );
    assert_rel("bias", f(&e["bias"][0]), DIABETES_OLS_BIAS, 1e-10);
    // The inference table comes with it.
    assert_eq!(s["inference"]["coefficients"][0]["name"], "intercept");
    assert_eq!(s["inference"]["df_resid"], 431.0);
    assert_eq!(e["iterations"], 1);
    // `evaluate` treats the exact model like a trained one.
    let ev = evaluate_json(&dir, "mse", &fixture("diabetes.csv"), &[]);
    assert!((f(&ev["metrics"]["mse"]) - 2859.696).abs() < 0.01, "{ev}");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn exact_lad_matches_the_linear_program_to_1e_4() {
    let dir = temp_dir("exact-lad");
    let s = exact_fit(&dir, "l1");
    let e = &s["exact"];
    assert_each_rel("weight", &e["weight"][0], &LAD_WEIGHT, 1e-4);
    assert_rel("bias", f(&e["bias"][0]), LAD_BIAS, 1e-4);
    assert!((f(&e["train_loss"]) - LAD_MAE).abs() < 1e-4 * LAD_MAE);
    assert!(
        e["iterations"].as_u64().expect("iterations") > 1,
        "IRLS iterates: {e}"
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn gradient_descent_reports_its_gap_to_the_optimum() {
    let dir = temp_dir("gap");
    let data = fixture("diabetes.csv");
    let (stdout, _) = Train::new(&data, "progression")
        .args(&["--epochs", "200", "--lr", "0.1", "--out", "m"])
        .run(&dir);
    assert!(
        stdout.contains("Exact optimum (least squares (Householder QR in double-double"),
        "{stdout}"
    );
    assert!(stdout.contains("Gradient descent: train loss"), "{stdout}");
    let s = summary(&dir, "m");
    let e = &s["exact"];
    let gap = f(&e["gap"]["train"]);
    assert!(
        gap > 0.0 && gap < 0.05,
        "200 epochs get close, not all the way: {gap}"
    );
    assert!((f(&e["gd_train_loss"]) - f(&s["train_loss"])).abs() < 1e-3 * f(&s["train_loss"]));
    assert!(f(&e["param_distance"]) > 0.0);
    assert!(f(&e["seconds"]) >= 0.0);
    // Longer training closes the gap.
    let longer = Train::new(&data, "progression")
        .args(&["--epochs", "3000", "--lr", "0.2", "--out", "n", "--quiet"])
        .summary(&dir);
    assert!(
        f(&longer["exact"]["gap"]["train"]) < gap / 10.0,
        "{}",
        longer["exact"]
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn tutorial_reports_the_perfect_line() {
    let dir = temp_dir("tutorial-exact");
    let (stdout, _) = run_ok(&dir, &["--out", "gd"]);
    assert!(
        stdout.contains("Exact optimum (least absolute deviations"),
        "{stdout}"
    );
    let s = summary(&dir, "gd");
    let e = &s["exact"];
    // The optimum is a perfect fit: w = 0.8, b = 0.2, loss 0.
    assert!(
        (f(&e["weight"][0][0]) - 0.8).abs() < 1e-6 && (f(&e["bias"][0]) - 0.2).abs() < 1e-6,
        "{e}"
    );
    assert_eq!(f(&e["train_loss"]), 0.0);
    assert_eq!(
        e["gap"]["train"],
        Value::Null,
        "relative gap to 0 is undefined"
    );
    assert!((f(&e["gap_abs"]["train"]) - 0.008_990_185).abs() < 1e-6);
    // Hand computation: √((0.798669695854187 − 0.8)² + (0.209509015083313 − 0.2)²).
    let d = ((0.798_669_695_854_187_f64 - 0.8).powi(2) + (0.209_509_015_083_313_f64 - 0.2).powi(2))
        .sqrt();
    assert!(
        (f(&e["param_distance"]) - d).abs() < 1e-6,
        "{} vs {d}",
        e["param_distance"]
    );

    let (stdout, _) = run_ok(&dir, &["--solver", "exact", "--out", "exact"]);
    assert!(
        stdout.contains("('linear.weight', tensor([[0.8]])), ('linear.bias', tensor([0.2]))"),
        "{stdout}"
    );
    assert!(stdout.contains("Final loss: train 0, test 0"), "{stdout}");
    let s = summary(&dir, "exact");
    assert_eq!(s["solver"], "exact");
    assert_eq!(s["history"].as_array().expect("history").len(), 0);
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn rank_deficient_tables_warn_with_column_names() {
    let dir = temp_dir("rank");
    let mut csv = String::from("a,a2,c,y\n");
    for i in 0..20 {
        csv.push_str(&format!("{i},{i},3,{}\n", 2 * i + 1));
    }
    write_file(&dir, "t.csv", &csv);
    let (_, stderr) = Train::all_rows("t.csv", "y")
        .args(&["--no-standardize", "--solver", "exact", "--out", "m"])
        .run(&dir);
    assert!(stderr.contains("column(s) 'c' are constant"), "{stderr}");
    assert!(
        stderr.contains("columns 'a', 'a2' are collinear") && stderr.contains("minimum-norm"),
        "{stderr}"
    );
    let s = summary(&dir, "m");
    assert!(
        (f(&s["exact"]["weight"][0][0]) - 1.0).abs() < 1e-9
            && (f(&s["exact"]["weight"][0][1]) - 1.0).abs() < 1e-9
    );
    assert!(f(&s["metrics"]["train"]["mse"]) < 1e-8);
    // Ridge is only for the exact least-squares solver.
    let stderr = Train::new("t.csv", "y")
        .args(&["--l2", "0.1", "--out", "r"])
        .fails(&dir);
    assert!(
        stderr.contains("--l2 applies to --solver exact with --loss mse"),
        "{stderr}"
    );
    assert!(!dir.join("r").exists());
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn ridge_shrinks_toward_zero() {
    let dir = temp_dir("ridge");
    let data = fixture("diabetes.csv");
    let fit = |l2: &str, out: &str| {
        let s = Train::new(&data, "progression")
            .args(&["--solver", "exact", "--l2", l2, "--out", out, "--quiet"])
            .summary(&dir);
        s["exact"]["weight"][0]
            .as_array()
            .expect("w")
            .iter()
            .map(|v| f(v).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let (none, some, lots) = (fit("0", "a"), fit("1", "b"), fit("100", "c"));
    assert!(none > some && some > lots, "{none} > {some} > {lots}");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn a_comparison_that_cannot_be_made_is_a_warning_not_a_failure() {
    let dir = temp_dir("no-compare");
    // One training row: gradient descent runs, the exact solver needs at least two.
    let (_, stderr) = run_ok(
        &dir,
        &["--train-fraction", "0.02", "--epochs", "3", "--out", "o"],
    );
    assert!(
        stderr.contains("warning: no exact comparison") && stderr.contains("1 rows"),
        "{stderr}"
    );
    let s = summary(&dir, "o");
    assert!(s.get("exact").is_none(), "{s}");
    std::fs::remove_dir_all(dir).expect("cleanup");
}
