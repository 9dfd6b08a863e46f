//! `--precision f64`: the Burn model itself in f64 (`NdArray<f64>`), saved with every digit
//! and applied by `evaluate` and `predict` in f64. Filip's degree-10 polynomial shows why: its
//! standardized coefficients reach 4·10⁴ and cancel to 0.8, which an f32 model cannot hold.

mod common;

use common::{evaluate_json, f, fixture, model_json, run_ok, temp_dir, Train};

/// NIST's certified R² for Filip.
const FILIP_R2: f64 = 0.996_727_416_185_620;

fn evaluate_r2(dir: &std::path::Path, model: &str, data: &str) -> f64 {
    f(&evaluate_json(dir, model, data, &[])["metrics"]["r2"])
}

#[test]
fn an_f64_model_keeps_the_exact_fit_through_save_evaluate_and_predict() {
    let dir = temp_dir("precision");
    let data = fixture("strd/filip.csv");
    let train = |out: &str, precision: &str| {
        Train::all_rows(&data, "y")
            .args(&["--solver", "exact", "--polynomial", "10"])
            .args(&["--precision", precision, "--quiet", "--out", out])
            .summary(&dir)
    };
    let s = train("wide", "f64");
    train("narrow", "f32");
    let meta = model_json(&dir, "wide");
    assert_eq!(meta["precision"], "f64");
    assert_eq!(model_json(&dir, "narrow")["precision"], "f32");
    // The f64 model's own metrics and the saved model's, re-read by `evaluate`. (The metrics
    // read predictions back as f32, 3e-8 on values near 0.8: R² to 7 digits.)
    let r2 = f(&s["metrics"]["train"]["r2"]);
    assert!((r2 - FILIP_R2).abs() < 1e-7, "{r2}");
    let r2 = evaluate_r2(&dir, "wide", &data);
    assert!((r2 - FILIP_R2).abs() < 1e-7, "{r2}");
    // The inference table has it to every digit.
    assert!((f(&s["inference"]["r2"]) - FILIP_R2).abs() < 1e-13);
    // The same coefficients rounded to f32 lose the fit entirely.
    assert!(evaluate_r2(&dir, "narrow", &data) < 0.5);
    // `final` holds f64 parameters, not f32 ones widened.
    let bias = f(&s["final"]["bias"][0]);
    assert_ne!(bias, f64::from(bias as f32));
    let (stdout, _) = run_ok(&dir, &["predict", "--model", "wide", "--data", &data]);
    let first: f64 = stdout
        .lines()
        .nth(1)
        .unwrap()
        .rsplit(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((first - 0.811_556_706).abs() < 1e-6, "{first}");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// `train --data diabetes.csv --target progression --precision f64 EXTRA --out m`.
fn diabetes_f64(extra: &[&str]) -> Train {
    Train::new(&fixture("diabetes.csv"), "progression")
        .args(&["--precision", "f64"])
        .args(extra)
        .args(&["--out", "m"])
}

#[test]
fn gradient_descent_trains_an_f64_model_too() {
    let dir = temp_dir("precision-gd");
    let s = diabetes_f64(&["--epochs", "200", "--lr", "0.1", "--quiet"]).summary(&dir);
    assert_eq!(model_json(&dir, "m")["precision"], "f64");
    assert!(f(&s["metrics"]["test"]["r2"]) > 0.3, "{}", s["metrics"]);
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_refuses_f64_in_one_sentence() {
    let dir = temp_dir("precision-wgpu");
    let out = common::linreg(&dir, &diabetes_f64(&["--backend", "wgpu"]).argv());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("f64 model runs on the ndarray backend"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}
