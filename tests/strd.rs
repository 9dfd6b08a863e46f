//! The NIST StRD linear-regression suite through the command line, one command per table as
//! a statistician would type it: `linreg train --data T.csv --test T.csv --target y --solver
//! exact [--polynomial D] [--no-intercept]`. `summary.json`'s `inference` block and
//! `model.json`'s exact coefficients are checked against the certified values
//! (`tests/fixtures/strd/certified.json`, NIST's figures, re-derived exactly by
//! `tools/strd_certify.py`): coefficients to 13 digits or better, standard errors, residual
//! SD and R² to 12 — well past the 9–11 and 8.

mod common;

use common::{evaluate_json, f, fixture, json, model_json, run_ok, temp_dir, write_file, Train};
use serde_json::Value;

fn lre(est: f64, cert: f64) -> f64 {
    if est == cert {
        return 15.0;
    }
    let err = if cert == 0.0 {
        est.abs()
    } else {
        ((est - cert) / cert).abs()
    };
    (-err.log10()).clamp(0.0, 15.0)
}

#[test]
fn every_strd_table_in_one_command_each() {
    let dir = temp_dir("strd");
    let spec = json(std::path::Path::new(&fixture("strd/certified.json")));
    for (name, s) in spec["datasets"].as_object().expect("datasets") {
        let data = fixture(&format!("strd/{name}.csv"));
        let degree = s["degree"].as_u64().map(|d| d.to_string());
        let mut train =
            Train::all_rows(&data, "y").args(&["--solver", "exact", "--quiet", "--out", name]);
        if let Some(d) = &degree {
            if d != "1" {
                train = train.args(&["--polynomial", d]);
            }
        }
        if s["intercept"] == Value::Bool(false) {
            train = train.args(&["--no-intercept"]);
        }
        let summary = train.summary(&dir);
        let inf = &summary["inference"];
        let coefs = inf["coefficients"].as_array().expect("coefficients");
        let cert = s["coefficients"].as_array().unwrap();
        assert_eq!(coefs.len(), cert.len(), "{name}");
        let intercept = s["intercept"].as_bool().unwrap();
        if intercept {
            assert_eq!(coefs[0]["name"], "intercept");
        }
        for (a, c) in coefs.iter().enumerate() {
            let want = f(&cert[a]);
            // Certified standard errors of 0 (perfect fits) come out exactly 0.
            let se_want = f(&s["std_errors"][a]);
            let (got, se) = (f(&c["estimate"]), f(&c["std_error"]));
            assert!(lre(got, want) >= 13.0, "{name} β{a}: {got} vs {want}");
            assert!(lre(se, se_want) >= 12.0, "{name} se{a}: {se} vs {se_want}");
        }
        assert!(
            lre(f(&inf["residual_std_error"]), f(&s["residual_sd"])) >= 12.0,
            "{name} rsd"
        );
        assert!(lre(f(&inf["r2"]), f(&s["r2"])) >= 12.0, "{name} R²");
        // model.json and original_units keep the f64 coefficients with every digit.
        let meta = model_json(&dir, name);
        let o = usize::from(intercept);
        for (j, w) in meta["exact"]["weight"][0]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            assert_eq!(f(w), f(&coefs[j + o]["estimate"]), "{name}");
            assert_eq!(f(&summary["original_units"]["weight"][0][j]), f(w));
        }
        if intercept {
            assert_eq!(f(&meta["exact"]["bias"][0]), f(&coefs[0]["estimate"]));
        }
    }
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn filip_warns_of_near_collinearity_with_the_condition_number_and_columns() {
    let dir = temp_dir("strd-filip");
    let data = fixture("strd/filip.csv");
    let (stdout, stderr) = Train::new(&data, "y")
        .args(&["--solver", "exact", "--polynomial", "10"])
        .args(&["--train-fraction", "0.99", "--out", "filip"])
        .run(&dir);
    assert!(
        stderr.contains("nearly collinear")
            && stderr.contains("e9 with unit-length")
            && stderr.contains("'x^5'"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("minimum-norm"),
        "Filip is solved, not reduced: {stderr}"
    );
    assert!(
        stdout.contains("Inference for 'y'") && stdout.contains("x^10"),
        "{stdout}"
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn weights_and_robust_errors_reach_the_table_and_bad_combinations_are_refused() {
    let dir = temp_dir("strd-wls");
    // Longley with a weight column 1..16, as statsmodels' WLS reference uses.
    let text = std::fs::read_to_string(fixture("strd/longley.csv")).unwrap();
    let mut csv = String::new();
    for (i, line) in text.lines().enumerate() {
        csv.push_str(line);
        csv.push_str(&if i == 0 {
            ",w\n".to_string()
        } else {
            format!(",{i}\n")
        });
    }
    write_file(&dir, "lw.csv", &csv);
    let s = Train::all_rows("lw.csv", "y")
        .args(&["--weights", "w", "--solver", "exact", "--robust", "hc2"])
        .args(&["--quiet", "--out", "m"])
        .summary(&dir);
    let refs = json(std::path::Path::new(&fixture("strd/statsmodels.json")));
    let r = &refs["statsmodels"]["longley_weighted"]["HC2"];
    assert_eq!(s["inference"]["covariance_type"], "HC2");
    assert_eq!(
        s["features"].as_array().unwrap().len(),
        6,
        "the weight column is no feature"
    );
    for (a, c) in s["inference"]["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let (got, want) = (f(&c["std_error"]), f(&r["std_error"][a]));
        assert!(((got - want) / want).abs() < 1e-6, "se{a}: {got} vs {want}");
    }
    assert!((f(&s["inference"]["f_statistic"]) / f(&r["f_statistic"]) - 1.0).abs() < 1e-8);
    for bad in [
        vec!["--weights", "w"], // gradient descent
        vec!["--solver", "exact", "--robust", "hc1", "--l2", "1"],
        vec!["--solver", "exact", "--weights", "y"],
        vec!["--solver", "exact", "--polynomial", "3"], // six features
    ] {
        let err = Train::new("lw.csv", "y")
            .args(&["--out", "bad"])
            .args(&bad)
            .fails(&dir);
        assert!(
            err.starts_with("error: ") && err.lines().count() == 1,
            "{err}"
        );
    }
    assert!(!dir.join("bad").exists());
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn a_polynomial_model_is_applied_by_evaluate_and_predict() {
    let dir = temp_dir("strd-poly");
    let data = fixture("strd/wampler1.csv");
    Train::all_rows(&data, "y")
        .args(&["--solver", "exact", "--polynomial", "5"])
        .args(&["--no-standardize", "--quiet", "--out", "w1"])
        .run(&dir);
    let ev = evaluate_json(&dir, "w1", &data, &[]);
    // y up to 3.4e6 in f32: the model reproduces it to f32 rounding.
    assert!(f(&ev["metrics"]["r2"]) > 0.999_999, "{ev}");
    let (stdout, _) = run_ok(&dir, &["predict", "--model", "w1", "--data", &data]);
    assert!(stdout.lines().next().unwrap().ends_with("y_pred"));
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn several_targets_give_a_list_of_tables_each_naming_its_target() {
    let dir = temp_dir("strd-multi");
    let data = fixture("strd/longley.csv");
    let s = Train::all_rows(&data, "y,x6")
        .args(&["--solver", "exact", "--quiet", "--out", "m"])
        .summary(&dir);
    let tables = s["inference"].as_array().expect("a list for two targets");
    assert_eq!(tables.len(), 2);
    assert_eq!(
        (tables[0]["target"].as_str(), tables[1]["target"].as_str()),
        (Some("y"), Some("x6"))
    );
    for t in tables {
        assert_eq!(
            t["coefficients"].as_array().unwrap().len(),
            6,
            "intercept + x1..x5"
        );
        assert_eq!(t["df_resid"], 10.0);
        assert!(f(&t["r2"]) > 0.9);
    }
    std::fs::remove_dir_all(dir).expect("cleanup");
}
