//! Penalized least squares end to end: the lasso, the elastic net and ridge at one α, along
//! a path, and with α chosen by cross-validation, against scikit-learn and glmnet
//! (`tools/enet_reference.py` wrote `tests/fixtures/enet_reference.json`); the same folds in
//! memory and streamed; `predict --alpha`; and the options that do not go together.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn reference() -> Value {
    serde_json::from_str(include_str!("fixtures/enet_reference.json")).expect("valid JSON")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(f)
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

/// `got` equals `want` to `tol` relative to the largest |coefficient| of `want` (or 1 when
/// all are 0), and is exactly 0 where `want` is.
fn assert_coefficients(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0.0_f64, |m, v| m.max(v.abs())).max(1e-300);
    let scale = if scale == 1e-300 { 1.0 } else { scale };
    for (j, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}[{j}]: {g} vs {w} (tolerance {tol:e} × {scale})"
        );
        if *w == 0.0 {
            assert_eq!(*g, 0.0, "{what}[{j}]: the reference's zero is exact");
        }
    }
}

/// The diabetes table with a fold column `1 + row mod 10`, as the reference's CV used.
fn with_folds(dir: &Path) -> String {
    let text = std::fs::read_to_string(fixture("diabetes.csv")).expect("fixture");
    let mut lines = text.lines();
    let mut out = format!("{},fold\n", lines.next().expect("header"));
    for (i, line) in lines.enumerate() {
        out.push_str(&format!("{line},{}\n", 1 + i % 10));
    }
    write_file(dir, "folds.csv", &out)
}

#[test]
fn one_alpha_equals_scikit_learn_for_lasso_elastic_net_and_ridge() {
    let dir = temp_dir("penalty-single");
    for (i, case) in reference()["single"].as_array().unwrap().iter().enumerate() {
        let (features, targets) = (strings(&case["features"]), strings(&case["targets"]));
        let out = format!("out{i}");
        let (features, targets) = (features.join(","), targets.join(","));
        let mut args = vec!["--features", &features, "--tol", "1e-12", "--out", &out];
        args.extend(
            case["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap()),
        );
        let s = Train::new(&fixture(case["table"].as_str().unwrap()), &targets)
            .args(&args)
            .summary(&dir);
        let name = case["name"].as_str().unwrap();
        let path = &s["penalty"]["path"];
        for (t, want) in case["weight"].as_array().unwrap().iter().enumerate() {
            let got = floats(&path["weight"][0][t]);
            assert_coefficients(name, &got, &floats(want), 1e-7);
            // The saved model's coefficients on the original columns are these.
            assert_coefficients(name, &floats(&s["original_units"]["weight"][t]), &got, 1e-6);
            let bias = (f(&path["bias"][0][t]), f(&case["bias"][t]));
            assert!(
                (bias.0 - bias.1).abs() <= 1e-7 * bias.1.abs().max(1.0),
                "{name}: {bias:?}"
            );
        }
        assert!(s.get("inference").is_none(), "{name}: no inference table");
    }
}

#[test]
fn a_path_equals_scikit_learns_enet_path() {
    let dir = temp_dir("penalty-path");
    let r = &reference()["path"];
    let (stdout, _) = Train::new(&fixture("diabetes.csv"), "progression")
        .args(&[
            "--path",
            "--n-alphas",
            "20",
            "--tol",
            "1e-12",
            "--out",
            "out",
        ])
        .run(&dir);
    assert_says(&stdout, &["Lasso path: 20 α", "No inference table"]);
    let s = summary(&dir, "out");
    let path = &s["penalty"]["path"];
    assert_rel("α_max", f(&path["alpha_max"]), f(&r["alpha_max"]), 1e-12);
    let alphas = floats(&path["alphas"]);
    assert_coefficients("α grid", &alphas, &floats(&r["alphas"]), 1e-12);
    let largest = r["weight"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(floats)
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    for (a, want) in r["weight"].as_array().unwrap().iter().enumerate() {
        let got = floats(&path["weight"][a][0]);
        for (g, w) in got.iter().zip(floats(want)) {
            assert!((g - w).abs() <= 1e-7 * largest, "α #{a}: {g} vs {w}");
            assert_eq!(*g == 0.0, w == 0.0, "α #{a}: the same support");
        }
        assert_eq!(path["nonzero"][a], r["nonzero"][a], "α #{a}: non-zeros");
    }
    // The model saved is the last point; its figures are drawn.
    assert_eq!(f(&path["alpha"]), alphas[19]);
    for file in ["path.png", "path.svg", "report.html"] {
        assert!(dir.join("out").join(file).is_file(), "{file}");
    }
    let html = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
    assert!(html.contains("fig-path"), "the report draws the path");
}

#[test]
fn cross_validation_equals_cv_glmnet_on_every_route() {
    let dir = temp_dir("penalty-cv");
    let data = with_folds(&dir);
    let r = &reference()["cv"][0];
    let alphas: Vec<String> = floats(&r["alphas"])
        .iter()
        .map(|a| format!("{a:e}"))
        .collect();
    let alphas = alphas.join(",");
    let diabetes = fixture("diabetes.csv");
    for engine in ["memory", "stream"] {
        let out = format!("out-{engine}");
        let s = Train::new(&data, "progression")
            .test(&diabetes)
            .args(&["--features", "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6"])
            .args(&["--cv-column", "fold", "--alphas", &alphas, "--tol", "1e-12"])
            .args(&["--engine", engine, "--out", &out])
            .summary(&dir);
        let cv = &s["penalty"]["cv"];
        assert_rel("α_min", f(&cv["alpha_min"]), f(&r["alpha_min"]), 1e-12);
        assert_rel("α_1se", f(&cv["alpha_1se"]), f(&r["alpha_1se"]), 1e-12);
        let (mean, se) = (floats(&cv["mean"]), floats(&cv["standard_error"]));
        assert_coefficients("mean", &mean, &floats(&r["mean"]), 1e-9);
        assert_coefficients("standard error", &se, &floats(&r["standard_error"]), 1e-8);
        // glmnet's own figures, whose fits stop a little earlier.
        assert_coefficients("glmnet's mean", &mean, &floats(&r["glmnet_mean"]), 1e-6);
        let glmnet_se = floats(&r["glmnet_standard_error"]);
        assert_coefficients("glmnet's standard error", &se, &glmnet_se, 1e-5);
        assert_eq!(cv["folds"], 10);
        assert_eq!(
            f(&s["penalty"]["path"]["alpha"]),
            f(&cv["alpha_min"]),
            "min is the default"
        );
    }
    let figures = ["cv.png", "cv.svg", "path.png"];
    assert!(figures
        .iter()
        .all(|f| dir.join("out-memory").join(f).is_file()));
}

#[test]
fn seeded_folds_are_the_same_rows_in_memory_and_streamed() {
    let dir = temp_dir("penalty-seeded");
    let data = fixture("diabetes.csv");
    let run = |engine: &str, rule: &str| {
        let out = format!("out-{engine}-{rule}");
        Train::new(&data, "progression")
            .args(&[
                "--cv",
                "5",
                "--seed",
                "7",
                "--n-alphas",
                "30",
                "--cv-rule",
                rule,
            ])
            .args(&["--engine", engine, "--out", &out])
            .summary(&dir)["penalty"]
            .clone()
    };
    let (memory, stream) = (run("memory", "1se"), run("stream", "1se"));
    assert_eq!(memory["cv"]["fold_rows"], stream["cv"]["fold_rows"]);
    let rows: u64 = memory["cv"]["fold_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_u64().unwrap())
        .sum();
    assert_eq!(rows, 353, "every training row is in one fold");
    let (a, b) = (floats(&memory["cv"]["mean"]), floats(&stream["cv"]["mean"]));
    assert_coefficients("CV means", &a, &b, 1e-12);
    assert_eq!(memory["cv"]["rule"], "1se");
    assert_eq!(memory["path"]["alpha"], memory["cv"]["alpha_1se"]);
    // The α chosen by the one-standard-error rule is at least α_min.
    assert!(f(&memory["cv"]["alpha_1se"]) >= f(&memory["cv"]["alpha_min"]));
}

#[test]
fn predict_at_alpha_applies_any_point_of_the_path() {
    let dir = temp_dir("penalty-predict");
    let data = fixture("diabetes.csv");
    Train::new(&data, "progression")
        .args(&["--path", "--n-alphas", "10", "--out", "out"])
        .run(&dir);
    let path = summary(&dir, "out")["penalty"]["path"].clone();
    let alphas = floats(&path["alphas"]);
    let first_row = [59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0];
    let by_hand = |a: usize| -> f64 {
        let w = floats(&path["weight"][a][0]);
        f(&path["bias"][a][0]) + w.iter().zip(first_row).map(|(w, x)| w * x).sum::<f64>()
    };
    let predicted = |alpha: f64| -> f64 {
        let a = alpha.to_string();
        let out = dir.join("p.csv").display().to_string();
        run_ok(
            &dir,
            &[
                "predict", "--model", "out", "--data", &data, "--alpha", &a, "--output", &out,
            ],
        );
        let text = std::fs::read_to_string(&out).unwrap();
        let row = text.lines().nth(1).unwrap();
        row.rsplit(',').next().unwrap().parse().unwrap()
    };
    assert_rel("at a point", predicted(alphas[4]), by_hand(4), 1e-5);
    // Between two points: linear in α, as glmnet's predict(s = α).
    let mid = 0.5 * (alphas[4] + alphas[5]);
    assert_rel(
        "between points",
        predicted(mid),
        0.5 * (by_hand(4) + by_hand(5)),
        1e-5,
    );
    // Above α_max: every coefficient is 0, the prediction is the intercept.
    assert_rel("above α_max", predicted(2.0 * alphas[0]), by_hand(0), 1e-6);
    let e = run_refused(
        &dir,
        &[
            "predict", "--model", "out", "--data", &data, "--alpha", "1e-9",
        ],
    );
    assert_says(&e, &["outside the saved path", "--alphas"]);
}

/// NumPy's least squares on the diabetes table's first 353 rows (linreg's training rows), as
/// `tools/ols_reference.py`'s method computes it: the weights.
const DIABETES_OLS_WEIGHT_TRAIN: [f64; 10] = [
    -0.029327840634405744,
    -23.720678706278203,
    5.538396377028674,
    1.0110798634387947,
    -0.6543562272575751,
    0.3336558225175551,
    -0.12377338732593784,
    5.431494304631667,
    58.25822138917671,
    0.35762697114646924,
];

#[test]
fn repeated_and_zero_alphas_are_one_path_and_ridge_ends_at_its_grid() {
    let dir = temp_dir("penalty-alphas");
    let data = fixture("diabetes.csv");
    // α listed twice (and −0 beside 0) is one point; α = 0 is least squares, left off the
    // figures' log axis.
    let s = Train::new(&data, "progression")
        .args(&[
            "--penalty",
            "l1",
            "--l1-ratio",
            "1",
            "--alphas",
            "1,1,0.1,0,-0",
            "--out",
            "out",
        ])
        .summary(&dir);
    let alphas = floats(&s["penalty"]["path"]["alphas"]);
    assert_eq!(alphas, [1.0, 0.1, 0.0]);
    for file in ["path.png", "path.svg", "report.html", "model.json"] {
        assert!(dir.join("out").join(file).is_file(), "{file}");
    }
    // At α = 0 the lasso is least squares.
    let ols = floats(&s["penalty"]["path"]["weight"][2][0]);
    assert_coefficients("α = 0", &ols, &DIABETES_OLS_WEIGHT_TRAIN, 1e-6);
    let p = [
        "predict", "--model", "out", "--data", &data, "--alpha", "0.5", "--output", "p.csv",
    ];
    run_ok(&dir, &p);
    // Ridge's α_max only starts its grid: above it is out of range, not the all-zero model.
    let s = Train::new(&data, "progression")
        .args(&[
            "--penalty",
            "l2",
            "--path",
            "--n-alphas",
            "5",
            "--out",
            "ridge",
        ])
        .summary(&dir);
    let above = (10.0 * f(&s["penalty"]["path"]["alpha_max"])).to_string();
    let e = run_refused(
        &dir,
        &[
            "predict", "--model", "ridge", "--data", &data, "--alpha", &above,
        ],
    );
    assert_says(&e, &["outside the saved path"]);
}

#[test]
fn options_that_do_not_go_together_are_refused_before_reading() {
    let dir = temp_dir("penalty-refused");
    let data = fixture("diabetes.csv");
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--penalty", "l1"],
            &["--penalty needs a strength", "--alpha A", "--cv K"],
        ),
        (
            &["--penalty", "l1", "--alpha", "1", "--solver", "gd"],
            &["coordinate descent", "--weight-decay"],
        ),
        (
            &["--alpha", "1", "--cv", "5"],
            &["--alpha fits one α", "--alphas"],
        ),
        (
            &["--penalty", "elasticnet", "--l1-ratio", "2", "--alpha", "1"],
            &["--l1-ratio 2 is invalid", "[0, 1]"],
        ),
        (
            &["--penalty", "l1", "--l1-ratio", "0.5", "--alpha", "1"],
            &["--penalty elasticnet --l1-ratio 0.5"],
        ),
        (&["--cv", "1"], &["--cv 1 is invalid", "2 to 1000"]),
        (
            &["--penalty", "l1", "--alpha", "-1"],
            &["α = -1 is invalid"],
        ),
        (
            &["--penalty", "l1", "--alpha", "1", "--l2", "1"],
            &["--l2 is the closed-form ridge"],
        ),
        (
            &["--penalty", "l1", "--alpha", "1", "--robust", "hc1"],
            &["--robust", "penalized fit has"],
        ),
        (&["--cv-rule", "1se"], &["--cv-rule", "add --penalty"]),
        (
            &["--path", "--alpha-min-ratio", "2"],
            &["--alpha-min-ratio 2 is invalid"],
        ),
        (
            &["--cv", "5", "--cv-column", "age"],
            &["cannot be used with"],
        ),
        (
            &["--penalty", "l1", "--alpha", "1", "--loss", "l1"],
            &["--loss mse"],
        ),
        (&["--cv", "5000"], &["--cv 5000 is invalid", "2 to 1000"]),
        (
            &["--alphas", "1,2", "--n-alphas", "5"],
            &["--n-alphas and --alpha-min-ratio", "one or the other"],
        ),
    ];
    for (args, says) in cases {
        let e = Train::new(&data, "progression")
            .args(args)
            .args(&["--out", "out"])
            .fails(&dir);
        assert!(!e.contains("panicked"), "{args:?}: {e}");
        assert_says(&e, says);
    }
    assert!(!dir.join("out").exists(), "nothing written");
    // A fold column with one label, and a column that is also a feature.
    let one = write_file(
        &dir,
        "one.csv",
        "x,y,f\n1,2,0\n2,3,0\n3,5,0\n4,4,0\n5,6,0\n",
    );
    let e = Train::all_rows(&one, "y")
        .args(&["--features", "x", "--cv-column", "f", "--out", "o"])
        .fails(&dir);
    assert_says(
        &e,
        &["--cv-column f holds 1 distinct value(s)", "between 2"],
    );
    let e = Train::new(&data, "progression")
        .args(&["--cv-column", "age", "--features", "age,bmi", "--out", "o"])
        .fails(&dir);
    assert_says(&e, &["--cv-column age is also a target, a feature"]);
}

#[test]
fn a_table_wider_than_its_rows_is_fitted_from_the_rows_and_meets_the_lasso_conditions() {
    // 40 rows, 1,200 features (past the Gram solver's width): y depends on x1..x3.
    let dir = temp_dir("penalty-wide");
    let (n, p) = (40, 1200);
    let value =
        |i: usize, j: usize| (((i * 7919 + j * 104_729) % 1009) as f64 / 1009.0 - 0.5) * 2.0;
    let mut csv: Vec<String> = vec![(1..=p)
        .map(|j| format!("x{j}"))
        .chain(["y".into()])
        .collect::<Vec<_>>()
        .join(",")];
    let mut rows = Vec::new();
    for i in 0..n {
        let x: Vec<f64> = (0..p).map(|j| value(i, j)).collect();
        let y = 3.0 * x[0] - 2.0 * x[1] + x[2] + 0.1 * value(i, p);
        csv.push(
            x.iter()
                .chain([&y])
                .map(|v| format!("{v}"))
                .collect::<Vec<_>>()
                .join(","),
        );
        rows.push((x, y));
    }
    let data = write_file(&dir, "wide.csv", &(csv.join("\n") + "\n"));
    let alpha = 0.05;
    let (stdout, _) = Train::all_rows(&data, "y")
        .args(&[
            "--penalty",
            "l1",
            "--alpha",
            "0.05",
            "--no-standardize",
            "--tol",
            "1e-13",
        ])
        .args(&["--out", "out"])
        .run(&dir);
    assert_says(&stdout, &["Lasso at α = 0.05"]);
    let path = summary(&dir, "out")["penalty"]["path"].clone();
    let (w, b) = (floats(&path["weight"][0][0]), f(&path["bias"][0][0]));
    let nonzero = w.iter().filter(|v| **v != 0.0).count();
    assert!(
        (3..=n).contains(&nonzero),
        "{nonzero} non-zero coefficients"
    );
    // The lasso's optimality conditions on the centred columns: x_jᵀr/n = α·sign(β_j) where
    // β_j ≠ 0, |x_jᵀr/n| ≤ α elsewhere.
    let r: Vec<f64> = rows
        .iter()
        .map(|(x, y)| y - b - x.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>())
        .collect();
    assert!(
        r.iter().sum::<f64>().abs() < 1e-9,
        "the intercept centres the residuals"
    );
    for j in 0..p {
        let g: f64 = rows.iter().zip(&r).map(|((x, _), r)| x[j] * r).sum::<f64>() / n as f64;
        match w[j] {
            0.0 => assert!(g.abs() <= alpha * (1.0 + 1e-6), "x{}: |{g}| > α", j + 1),
            c => assert!(
                (g - alpha * c.signum()).abs() < 1e-6 * alpha,
                "x{}: {g}",
                j + 1
            ),
        }
    }
    // Cross-validation from the rows too.
    let s = Train::all_rows(&data, "y")
        .args(&["--cv", "4", "--n-alphas", "15", "--out", "cv"])
        .summary(&dir);
    assert_eq!(
        s["penalty"]["cv"]["fold_rows"],
        serde_json::json!([10, 10, 10, 10])
    );
}
