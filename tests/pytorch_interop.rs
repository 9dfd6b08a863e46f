//! PyTorch files in: `--init-from` and `evaluate`/`predict --model FILE.pth|.safetensors`,
//! checked against what PyTorch itself computed from the same files
//! (`tools/pytorch_tutorial_from_pth.py`, `tools/pytorch_fixtures.py`).

mod common;

use std::path::Path;

use common::{
    backends, epoch_lines, evaluate_json, f, fixture, listing, run_ok, run_ok_as_given,
    run_refused, stdout_json, summary, temp_dir, write_file, Train,
};
use serde_json::Value;

/// PyTorch's run of the tutorial from `lr_model_seed42.pth` (the tutorial's saved model).
fn from_pth_reference() -> Value {
    serde_json::from_str(include_str!("fixtures/pytorch_from_pth_trace.json")).expect("JSON")
}

/// The port's acceptance tolerance, as from the built-in start (`tests/tutorial_run.rs`): the
/// parameters start bit for bit equal, and the mean of the 40 L1 terms is summed in another
/// order than PyTorch's, so losses agree to a few 1e-8.
const TOL: f64 = 1e-6;

#[test]
fn the_tutorial_from_pytorchs_saved_model_reproduces_pytorch() {
    let r = from_pth_reference();
    let trace = r["trace"].as_array().expect("trace");
    let pth = fixture("lr_model_seed42.pth");
    for backend in backends() {
        let tol = TOL;
        let dir = temp_dir(&format!("init-from-{backend}"));
        let (stdout, _) = run_ok_as_given(
            &dir,
            &[
                "--backend",
                backend,
                "--init-from",
                &pth,
                "--log-every",
                "1",
                "--out",
                "o",
            ],
        );
        assert!(stdout.contains("loaded from"), "{stdout}");
        let lines = epoch_lines(&stdout);
        assert_eq!(lines.len(), 500, "{backend}");
        for ((epoch, train, _), want) in lines.iter().zip(trace) {
            let want = f(&want["train_loss"]);
            assert!(
                (train - want).abs() <= tol,
                "{backend} epoch {epoch}: train loss {train}, PyTorch {want}"
            );
        }
        for want in r["logged"].as_array().expect("logged") {
            let epoch = want["epoch"].as_u64().expect("epoch");
            let (_, _, test) = lines[epoch as usize];
            let want = f(&want["test_loss"]);
            assert!(
                (test - want).abs() <= tol,
                "{backend} epoch {epoch}: test loss {test}, PyTorch {want}"
            );
        }
        let summary = summary(&dir, "o");
        // The file's f32 values, exactly, as PyTorch's `.item()` reports them.
        assert_eq!(f(&summary["initial"]["weight"][0][0]), f(&r["init_w"]));
        assert_eq!(f(&summary["initial"]["bias"][0]), f(&r["init_b"]));
        assert!((f(&summary["final"]["weight"][0][0]) - f(&r["final_w"])).abs() <= tol);
        assert!((f(&summary["final"]["bias"][0]) - f(&r["final_b"])).abs() <= tol);
        assert!(summary["init"]
            .as_str()
            .is_some_and(|s| s.contains("lr_model_seed42.pth")));
        std::fs::remove_dir_all(dir).expect("cleanup");
    }
}

/// The tutorial's test rows, bit for bit (from PyTorch's own `torch.arange`), as a CSV.
fn tutorial_test_rows(dir: &Path) -> String {
    let r = common::reference();
    let bits = |key: &str| -> Vec<f32> {
        r[key]
            .as_array()
            .expect("bits")
            .iter()
            .map(|b| f32::from_bits(b.as_u64().expect("u32") as u32))
            .collect()
    };
    let (x, y) = (bits("X_f32_bits"), bits("y_f32_bits"));
    let mut csv = String::from("x,y\n");
    for (x, y) in x[40..].iter().zip(&y[40..]) {
        // Rust prints the shortest text that reads back as the same f32.
        csv.push_str(&format!("{x},{y}\n"));
    }
    write_file(dir, "test_rows.csv", &csv)
}

/// The `<name>_pred` columns of a CSV `predict` wrote.
fn predictions(path: &Path, name: &str) -> Vec<f32> {
    let text = std::fs::read_to_string(path).expect("predictions");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no {name} in {header:?}"));
    lines
        .map(|l| {
            l.split(',')
                .nth(col)
                .expect("cell")
                .parse()
                .expect("number")
        })
        .collect()
}

/// `CMD --model MODEL --features FEATURES --target TARGET --data DATA EXTRA`: a PyTorch file
/// names no columns, so the command line does.
fn with_columns<'a>(
    cmd: &'a str,
    model: &'a str,
    (features, target): (&'a str, &'a str),
    data: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        cmd,
        "--model",
        model,
        "--features",
        features,
        "--target",
        target,
    ];
    args.extend(["--data", data]);
    args.extend_from_slice(extra);
    args
}

#[test]
fn predictions_from_a_pth_equal_pytorchs_loaded_model() {
    let r = from_pth_reference();
    let dir = temp_dir("predict-pth");
    let data = tutorial_test_rows(&dir);
    let pth = fixture("lr_model_seed42.pth");
    let columns = ("x", "y");
    let (_, stderr) = run_ok(
        &dir,
        &with_columns("predict", &pth, columns, &data, &["--output", "p.csv"]),
    );
    assert!(stderr.contains("y_pred"), "{stderr}");
    let got = predictions(&dir.join("p.csv"), "y_pred");
    let want: Vec<f32> = r["test_predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .map(|v| f(v) as f32)
        .collect();
    assert_eq!(got, want, "bit for bit, as PyTorch's loaded_model predicts");
    // evaluate: the mean absolute error of those predictions is PyTorch's test loss.
    let (stdout, _) = run_ok(
        &dir,
        &with_columns("evaluate", &pth, columns, &data, &["--json"]),
    );
    let e = stdout_json(&stdout);
    assert_eq!(e["rows"], 10);
    assert!((f(&e["metrics"]["mae"]) - f(&r["final_test_loss"])).abs() < 1e-7);
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// A table whose targets are exactly the fixtures' 3→2 layer applied to its features.
fn three_by_two_table(dir: &Path) -> String {
    let w = [[0.5, -1.25, 2.0], [0.125, 3.0, -0.75]];
    let b = [0.25, -0.5];
    let mut csv = String::from("x1,x2,x3,p,q\n");
    for i in 0..40 {
        let x = [
            i as f64 * 0.25,
            (i % 7) as f64 - 3.0,
            ((i * i) % 11) as f64 * 0.5,
        ];
        let y = |o: usize| b[o] + (0..3).map(|j| w[o][j] * x[j]).sum::<f64>();
        csv.push_str(&format!("{},{},{},{},{}\n", x[0], x[1], x[2], y(0), y(1)));
    }
    write_file(dir, "t.csv", &csv)
}

#[test]
fn a_non_square_pth_and_safetensors_evaluate_and_predict_the_same() {
    let dir = temp_dir("nonsquare");
    let data = three_by_two_table(&dir);
    let mut all = Vec::new();
    for file in ["pytorch/linear_3x2.pth", "pytorch/linear_3x2.safetensors"] {
        let model = fixture(file);
        let columns = ("x1,x2,x3", "p,q");
        let (stdout, _) = run_ok(
            &dir,
            &with_columns("evaluate", &model, columns, &data, &["--json"]),
        );
        let e = stdout_json(&stdout);
        // The table is the layer itself: a transposed weight could not fit it.
        assert!(f(&e["metrics"]["mse"]) < 1e-10, "{file}: {e}");
        assert_eq!(f(&e["metrics"]["r2"]), 1.0, "{file}: {e}");
        let (stdout, _) = run_ok(&dir, &with_columns("predict", &model, columns, &data, &[]));
        assert!(
            stdout.starts_with("x1,x2,x3,p,q,p_pred,q_pred\n"),
            "{stdout}"
        );
        all.push(stdout);
    }
    assert_eq!(all[0], all[1], "the two formats hold the same numbers");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn train_starts_from_a_pth() {
    let dir = temp_dir("train-init-from");
    let data = three_by_two_table(&dir);
    let model = fixture("pytorch/linear_3x2.pth");
    let s = Train::new(&data, "p,q")
        .args(&[
            "--features",
            "x1,x2,x3",
            "--no-standardize",
            "--init-from",
            &model,
        ])
        .args(&["--epochs", "1", "--lr", "1e-6", "--out", "o", "--quiet"])
        .summary(&dir);
    assert_eq!(
        s["initial"],
        serde_json::json!({"weight": [[0.5, -1.25, 2.0], [0.125, 3.0, -0.75]], "bias": [0.25, -0.5]})
    );
    assert!(s["init"]
        .as_str()
        .is_some_and(|i| i.contains("linear_3x2.pth")));
    // One step of 1e-6 from the exact solution barely moves it.
    assert!(f(&s["metrics"]["train"]["r2"]) > 0.999_999);
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// Runs linreg expecting failure in one line, not a panic; returns stderr.
fn fails(dir: &Path, args: &[&str]) -> String {
    let stderr = run_refused(dir, args);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    stderr
}

#[test]
fn files_that_do_not_fit_are_refused_in_one_sentence_before_any_output() {
    let dir = temp_dir("pth-errors");
    let data = three_by_two_table(&dir);
    let wide = fixture("pytorch/linear_3x2.pth");
    let err = fails(&dir, &["--init-from", &wide, "--out", "o"]);
    assert!(
        err.contains("holds a 3→2 layer (with bias), but this model needs a 1→1 layer"),
        "{err}"
    );
    assert!(listing(&dir).iter().all(|n| n != "o"), "nothing written");
    let train = Train::new(&data, "p").args(&["--features", "x1,x2", "--init-from", &wide]);
    let err = fails(&dir, &train.args(&["--out", "o"]).argv());
    assert!(
        err.contains("needs a 2→1 layer (with bias) for the 2 feature(s) and 1 target(s)"),
        "{err}"
    );
    let whole = fixture("pytorch/whole_model.pth");
    let err = fails(&dir, &["--init-from", &whole]);
    assert!(
        err.contains("is not a state_dict") && err.contains("torch.save(model.state_dict()"),
        "{err}"
    );
    let err = fails(&dir, &["--init-from", &fixture("pytorch/checkpoint.pth")]);
    assert!(err.contains("training checkpoint"), "{err}");
    let err = fails(&dir, &["--init-from", "missing.pth"]);
    assert!(err.contains("could not read missing.pth"), "{err}");
    // evaluate/predict: the file names no columns, so the command line must.
    let err = fails(&dir, &["evaluate", "--model", &wide, "--data", &data]);
    assert!(
        err.contains("no column names") && err.contains("--features COL,… (3)"),
        "{err}"
    );
    let err = fails(
        &dir,
        &with_columns("predict", &wide, ("x1,x2", "p,q"), &data, &[]),
    );
    assert!(
        err.contains("--features names 2 column(s) but") && err.contains("has 3 inputs"),
        "{err}"
    );
    let trained = dir.join("m");
    std::fs::create_dir_all(&trained).expect("dir");
    let err = fails(
        &dir,
        &with_columns("evaluate", "m", ("x1", "p"), &data, &[]),
    );
    assert!(err.contains("names its own, so leave them out"), "{err}");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// `model.safetensors` read with the `safetensors` crate (the format PyTorch's
/// `safetensors.torch.load_file` reads), not burn-store: PyTorch's keys, layout and type.
fn read_safetensors(path: &Path) -> (Vec<usize>, Vec<f32>, Vec<f32>) {
    let bytes = std::fs::read(path).expect("model.safetensors");
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("a safetensors file");
    let mut names = st.names();
    names.sort();
    assert_eq!(names, ["linear.bias", "linear.weight"]);
    let values = |name: &str| -> (Vec<usize>, Vec<f32>) {
        let t = st.tensor(name).expect("tensor");
        assert_eq!(t.dtype(), safetensors::Dtype::F32, "{name}");
        let v = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        (t.shape().to_vec(), v)
    };
    let (shape, weight) = values("linear.weight");
    let (bias_shape, bias) = values("linear.bias");
    assert_eq!(bias_shape, [shape[0]], "bias [out]");
    (shape, weight, bias)
}

/// The f32 values `summary.json` reports (each written as the f64 of the f32).
fn summary_params(summary: &Value, key: &str) -> (Vec<f32>, Vec<f32>) {
    let to_f32 = |v: &Value| {
        let x = f(v);
        assert_eq!(f64::from(x as f32), x, "an f32 value");
        x as f32
    };
    let weight = summary[key]["weight"]
        .as_array()
        .expect("weight")
        .iter()
        .flat_map(|row| row.as_array().expect("row").iter().map(to_f32))
        .collect();
    let bias = summary[key]["bias"]
        .as_array()
        .expect("bias")
        .iter()
        .map(to_f32)
        .collect();
    (weight, bias)
}

#[test]
fn every_run_writes_model_safetensors_in_pytorchs_layout() {
    let dir = temp_dir("safetensors-out");
    // The tutorial: one feature, so `w·x + b` is the whole computation, as PyTorch does it.
    run_ok(&dir, &["--out", "tut"]);
    let (shape, weight, bias) = read_safetensors(&dir.join("tut/model.safetensors"));
    assert_eq!(shape, [1, 1]);
    let summary = summary(&dir, "tut");
    assert_eq!(
        (weight.clone(), bias.clone()),
        summary_params(&summary, "final")
    );
    assert_eq!(
        summary["files"]["model_safetensors"],
        Value::from("tut/model.safetensors")
    );
    let data = tutorial_test_rows(&dir);
    run_ok(
        &dir,
        &[
            "predict", "--model", "tut", "--data", &data, "--output", "p.csv",
        ],
    );
    let text = std::fs::read_to_string(&data).expect("rows");
    let torch_like: Vec<f32> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().expect("x").parse::<f32>().expect("x") * weight[0] + bias[0])
        .collect();
    assert_eq!(predictions(&dir.join("p.csv"), "y_pred"), torch_like);

    // A 3 → 2 model: weight [out, in] holds summary.json's `final` row by row.
    let table = three_by_two_table(&dir);
    let train = Train::new(&table, "p,q").args(&["--features", "x1,x2,x3", "--epochs", "20"]);
    let summary = train
        .clone()
        .args(&["--out", "multi", "--quiet"])
        .summary(&dir);
    let (shape, weight, bias) = read_safetensors(&dir.join("multi/model.safetensors"));
    assert_eq!(shape, [2, 3]);
    assert_eq!((weight, bias), summary_params(&summary, "final"));
    // And it loads back into the same model: `evaluate` scores it like the directory.
    let score = |model: &str, extra: &[&str]| evaluate_json(&dir, model, &table, extra);
    let from_dir = score("multi", &[]);
    let no_std = dir.join("multi_raw");
    train
        .args(&[
            "--no-standardize",
            "--lr",
            "0.001",
            "--out",
            "multi_raw",
            "--quiet",
        ])
        .run(&dir);
    let raw_dir = score("multi_raw", &[]);
    let raw_file = score(
        &no_std.join("model.safetensors").display().to_string(),
        &["--features", "x1,x2,x3", "--target", "p,q"],
    );
    assert_eq!(raw_dir["metrics"], raw_file["metrics"]);
    assert!(from_dir["metrics"]["r2"].is_number());
    std::fs::remove_dir_all(dir).expect("cleanup");
}
