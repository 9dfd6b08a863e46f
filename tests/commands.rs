//! `train`, `evaluate`, `predict` and `generate`, end to end, checked against independent
//! references: the generator's true coefficients, NumPy's least squares on a public dataset,
//! and single-target fits for a multi-target model.

mod common;

use common::{
    assert_each_rel, assert_rel, evaluate_json, f, fixture, generate, json, listing, model_json,
    run_ok, stdout_json, summary, temp_dir, write_file, Train, DIABETES_OLS_BIAS,
    DIABETES_OLS_WEIGHT,
};

#[test]
fn generate_train_evaluate_predict() {
    let dir = temp_dir("commands");
    let stdout = generate(&dir, 1000, 4, &["--noise", "0.01", "--seed", "3"], "d.csv");
    assert!(stdout.contains("d.coefficients.json"), "{stdout}");
    let truth = json(&dir.join("d.coefficients.json"));
    let header = std::fs::read_to_string(dir.join("d.csv")).expect("csv");
    assert!(header.starts_with("x1,x2,x3,x4,y\n"));
    assert_eq!(header.lines().count(), 1001);

    let (stdout, _) = Train::new("d.csv", "y")
        .args(&["--lr", "0.1", "--epochs", "400", "--log-every", "100"])
        .args(&["--out", "m"])
        .run(&dir);
    assert!(
        stdout.contains("800 training and 200 test rows"),
        "{stdout}"
    );
    assert!(stdout.contains("Epoch 300: Train Loss = "), "{stdout}");
    assert!(
        stdout.contains("R²") && stdout.contains("train") && stdout.contains("test"),
        "{stdout}"
    );
    let s = summary(&dir, "m");
    assert_eq!(s["features"], serde_json::json!(["x1", "x2", "x3", "x4"]));
    assert_eq!(s["targets"], serde_json::json!(["y"]));
    assert_eq!(s["standardized"], true);
    // The generator's coefficients come back, in the columns' own units.
    for j in 0..4 {
        let (got, want) = (
            f(&s["original_units"]["weight"][0][j]),
            f(&truth["weight"][0][j]),
        );
        assert!((got - want).abs() < 2e-3, "x{}: {got} vs {want}", j + 1);
    }
    assert!((f(&s["original_units"]["bias"][0]) - f(&truth["bias"][0])).abs() < 2e-3);
    // On standardized features `final` differs from `original_units`.
    assert_ne!(s["final"], s["original_units"]);
    for set in ["train", "test"] {
        let m = &s["metrics"][set];
        assert!(f(&m["r2"]) > 0.9999, "{set}: {m}");
        assert!((f(&m["rmse"]) - f(&m["mse"]).sqrt()).abs() < 1e-12);
        assert_eq!(m["per_target"]["y"]["mae"], m["mae"]);
        assert!(
            (f(&m["mse"]) - 1e-4).abs() < 3e-5,
            "noise 0.01 → MSE ≈ 1e-4: {m}"
        );
    }
    let h = &s["history"][3];
    assert_eq!(h["epoch"], 300);
    assert!(f(&h["test"]["r2"]) > 0.999);
    let meta = model_json(&dir, "m");
    assert_eq!(
        meta["standardization"]["mean"]
            .as_array()
            .expect("mean")
            .len(),
        4
    );
    assert_eq!(meta["targets"], serde_json::json!(["y"]));
    assert!(listing(&dir.join("m")).contains(&"predictions.png".to_string()));

    // evaluate: the saved statistics are applied, so the scores match training's.
    let e = evaluate_json(&dir, "m", "d.csv", &[]);
    assert_eq!(e["rows"], 1000);
    assert!(f(&e["metrics"]["r2"]) > 0.9999);
    let both = (f(&s["metrics"]["train"]["mse"]) * 800.0 + f(&s["metrics"]["test"]["mse"]) * 200.0)
        / 1000.0;
    assert!(
        (f(&e["metrics"]["mse"]) - both).abs() < 1e-6 * both.max(1.0),
        "{} vs {both}",
        e["metrics"]["mse"]
    );
    let (human, _) = run_ok(&dir, &["evaluate", "--model", "m", "--data", "d.csv"]);
    assert!(
        human.contains("mse loss: ") && human.contains("data"),
        "{human}"
    );

    // predict: one `y_pred` column appended to the original rows, to stdout or a file.
    let predict = ["predict", "--model", "m", "--data", "d.csv"];
    let (stdout, _) = run_ok(&dir, &predict);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("x1,x2,x3,x4,y,y_pred"));
    let mut worst = 0.0_f64;
    for line in lines {
        let cells: Vec<f64> = line
            .split(',')
            .map(|c| c.parse().expect("number"))
            .collect();
        assert_eq!(cells.len(), 6);
        worst = worst.max((cells[4] - cells[5]).abs());
    }
    assert!(
        worst < 0.06,
        "noise 0.01: every prediction within 6σ, worst {worst}"
    );
    let mut to_file = predict.to_vec();
    to_file.extend(["--output", "p.csv"]);
    run_ok(&dir, &to_file);
    assert_eq!(
        std::fs::read_to_string(dir.join("p.csv")).expect("p.csv"),
        stdout
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// The mean squared error of [`DIABETES_OLS_WEIGHT`] and [`DIABETES_OLS_BIAS`] on the whole
/// table, from the same reference.
const DIABETES_OLS_MSE: f64 = 2_859.696_347_586_75;

#[test]
fn diabetes_matches_numpy_least_squares() {
    let dir = temp_dir("diabetes");
    // All 442 rows train (the test table is the same file), as the reference fits all rows.
    // Standardized MSE has eigenvalues 0.0086–4.0 here: lr 0.2 is stable and 20 000 epochs
    // shrink the slowest direction by e^-68, far below f32 rounding.
    let s = Train::all_rows(&fixture("diabetes.csv"), "progression")
        .args(&["--lr", "0.2", "--epochs", "20000", "--log-every", "5000"])
        .args(&["--out", "m", "--quiet"])
        .summary(&dir);
    // Tolerance: 1e-4 relative on each coefficient in the original units. Training runs in f32
    // (about 6e-8 relative per operation) and s1–s4 are strongly correlated (s1, s2: 0.90), so
    // the loss is flat along some of their combinations and f32 rounding moves those
    // coefficients by up to ~4e-5 (s3).
    let o = &s["original_units"];
    assert_each_rel("weight", &o["weight"][0], &DIABETES_OLS_WEIGHT, 1e-4);
    assert_rel("bias", f(&o["bias"][0]), DIABETES_OLS_BIAS, 1e-4);
    // The loss reached is the optimum's to 1e-6 relative.
    let mse = f(&s["metrics"]["train"]["mse"]);
    assert_rel("mse", mse, DIABETES_OLS_MSE, 1e-6);
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn three_targets_in_one_model_match_three_single_fits() {
    let dir = temp_dir("multi");
    let data = fixture("linnerud.csv");
    let train = |targets: &str, out: &str| {
        Train::all_rows(&data, targets)
            .args(&["--features", "chins,situps,jumps", "--lr", "0.2"])
            .args(&[
                "--epochs",
                "5000",
                "--log-every",
                "5000",
                "--out",
                out,
                "--quiet",
            ])
            .summary(&dir)
    };
    let all = train("weight,waist,pulse", "all");
    assert_eq!(
        all["features"],
        serde_json::json!(["chins", "situps", "jumps"])
    );
    assert_eq!(
        all["original_units"]["weight"]
            .as_array()
            .expect("rows")
            .len(),
        3
    );
    for (t, name) in ["weight", "waist", "pulse"].iter().enumerate() {
        let one = train(name, name);
        for j in 0..3 {
            let (a, b) = (
                f(&all["original_units"]["weight"][t][j]),
                f(&one["original_units"]["weight"][0][j]),
            );
            assert!(
                (a - b).abs() < 1e-4 * b.abs().max(0.01),
                "{name} ← feature {j}: {a} vs {b}"
            );
        }
        let (a, b) = (
            f(&all["original_units"]["bias"][t]),
            f(&one["original_units"]["bias"][0]),
        );
        assert!((a - b).abs() < 1e-4 * b.abs(), "{name} bias: {a} vs {b}");
        let per = &all["metrics"]["train"]["per_target"][name];
        assert!(
            (f(&per["mse"]) - f(&one["metrics"]["train"]["mse"])).abs() < 1e-4 * f(&per["mse"])
        );
    }
    // And the multi-target fit is least squares: the weight target's coefficients from NumPy.
    let numpy_weight = [
        -0.4750263586637715,
        -0.21771646975131675,
        0.09308837062185546,
    ];
    assert_each_rel(
        "weight ←",
        &all["original_units"]["weight"][0],
        &numpy_weight,
        1e-3,
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn training_options_take_effect() {
    let dir = temp_dir("options3");
    generate(&dir, 300, 3, &["--targets", "2", "--seed", "1"], "d.csv");
    // Mini-batches, Adam, cosine schedule, semicolons, shuffled split, JSON output.
    let csv = std::fs::read_to_string(dir.join("d.csv"))
        .expect("csv")
        .replace(',', ";");
    write_file(&dir, "semi.csv", &csv);
    let (stdout, _) = Train::new("semi.csv", "y1,y2")
        .args(&["--optimizer", "adam", "--lr", "0.05", "--batch-size", "32"])
        .args(&["--lr-schedule", "cosine", "--epochs", "60", "--shuffle"])
        .args(&["--seed", "4", "--json", "--out", "m"])
        .run(&dir);
    let s = stdout_json(&stdout);
    assert_eq!(s["optimizer"], "adam");
    assert_eq!(s["schedule"], "cosine");
    assert_eq!(s["batch_size"], 32);
    assert_eq!(s["rows"]["train"], 240);
    assert_eq!(s["history"][1]["epoch"], 50);
    assert!(
        f(&s["history"][1]["lr"]) < 0.05 * 0.2,
        "cosine has decayed by epoch 50"
    );
    assert!(
        f(&s["metrics"]["test"]["r2"]) > 0.99,
        "{}",
        s["metrics"]["test"]
    );
    assert_eq!(
        s["metrics"]["test"]["per_target"]
            .as_object()
            .expect("map")
            .len(),
        2
    );

    // Early stopping on a test table the model cannot fit: stops after `patience` epochs.
    let rows: Vec<String> = std::fs::read_to_string(dir.join("d.csv"))
        .expect("csv")
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                format!("{},0,0", l.rsplitn(3, ',').nth(2).expect("x"))
            }
        })
        .collect();
    write_file(&dir, "zero.csv", &rows.join("\n"));
    let (stdout, _) = Train::new("d.csv", "y1,y2")
        .test("zero.csv")
        .args(&["--epochs", "500", "--patience", "5", "--json", "--out", "p"])
        .run(&dir);
    let s = stdout_json(&stdout);
    let best = s["best_epoch"].as_u64().expect("best epoch");
    assert_eq!(s["epochs_run"].as_u64(), Some(best + 6));
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// The same `train` on both backends gives the same model (wgpu through lavapipe here).
#[cfg(all(feature = "ndarray", feature = "wgpu"))]
#[test]
fn train_on_wgpu_matches_ndarray() {
    let dir = temp_dir("wgpu-train");
    generate(&dir, 200, 3, &["--seed", "2"], "d.csv");
    let fit = |backend: &str| {
        let train = Train::new("d.csv", "y")
            .args(&["--epochs", "100", "--lr", "0.05", "--backend", backend])
            .args(&["--out", backend, "--quiet"]);
        common::run_ok_as_given(&dir, &train.argv());
        summary(&dir, backend)
    };
    let (cpu, gpu) = (fit("ndarray"), fit("wgpu"));
    assert_eq!(gpu["backend"], "wgpu");
    for j in 0..3 {
        let (a, b) = (
            f(&cpu["final"]["weight"][0][j]),
            f(&gpu["final"]["weight"][0][j]),
        );
        assert!(
            (a - b).abs() < 1e-4 * a.abs().max(1.0),
            "w{j}: ndarray {a}, wgpu {b}"
        );
    }
    let (a, b) = (
        f(&cpu["metrics"]["test"]["mse"]),
        f(&gpu["metrics"]["test"]["mse"]),
    );
    assert!((a - b).abs() < 1e-4 * a, "test mse: ndarray {a}, wgpu {b}");
    std::fs::remove_dir_all(dir).expect("cleanup");
}
