//! Parquet input and out-of-core training end to end: the same coefficients in memory and
//! streamed, mini-batches streamed from disk, streamed `evaluate`/`predict`, and the messages
//! for what cannot be read.

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use common::{f, generate, run_ok, run_refused, stdout_json, summary, temp_dir, Train};
use serde_json::Value;

/// Writes the same synthetic table as CSV and as Parquet (small row groups, so the parallel
/// scan and the row-group shuffle have several units).
fn tables(dir: &Path, rows: usize, features: usize) {
    let options = ["--noise", "0.5", "--seed", "7", "--row-group-rows", "1000"];
    for out in ["t.csv", "t.parquet"] {
        generate(dir, rows, features, &options, out);
    }
}

/// [`tables`] of 5,000 rows and 4 features, and a directory `parts/` holding a copy of
/// `t.parquet` under each name (`NAME.parquet`): for the query engines.
#[cfg(feature = "datafusion")]
fn tables_and_parts(dir: &Path, names: &[&str]) {
    tables(dir, 5000, 4);
    std::fs::create_dir(dir.join("parts")).unwrap();
    for name in names {
        std::fs::copy(
            dir.join("t.parquet"),
            dir.join(format!("parts/{name}.parquet")),
        )
        .unwrap();
    }
}

/// The coefficients on the original columns, weights then bias, from a run's summary.
fn coefficients(summary: &Value) -> Vec<f64> {
    let o = &summary["original_units"];
    o["weight"][0]
        .as_array()
        .expect("weights")
        .iter()
        .chain(o["bias"].as_array().expect("bias"))
        .map(f)
        .collect()
}

fn assert_rel(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let rel = (g - w).abs() / w.abs().max(1e-300);
        assert!(
            rel <= tol,
            "{what}[{i}]: {g} vs {w} (relative {rel:e} > {tol:e})"
        );
    }
}

fn train(dir: &Path, out: &str, extra: &[&str]) -> Value {
    let mut args = vec!["train", "--target", "y", "--out", out, "--no-report"];
    args.extend(extra);
    run_ok(dir, &args);
    summary(dir, out)
}

/// [`train`] with `--data DATA --solver exact EXTRA`.
fn exact(dir: &Path, out: &str, data: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--data", data, "--solver", "exact"];
    args.extend_from_slice(extra);
    train(dir, out, &args)
}

#[test]
fn exact_least_squares_is_the_same_in_memory_and_streamed() {
    let dir = temp_dir("ooc-exact");
    tables(&dir, 5000, 4);
    // The CSV holds each f32 value's shortest decimal, which f64 parsing does not round back
    // to the f32: compare each format with itself (the two agree to about 1e-9).
    let memory = exact(&dir, "mem", "t.parquet", &["--engine", "memory"]);
    let streamed = exact(&dir, "st", "t.parquet", &["--engine", "stream"]);
    let csv_memory = exact(&dir, "cm", "t.csv", &["--engine", "memory"]);
    let csv_streamed = exact(&dir, "cst", "t.csv", &["--engine", "stream"]);
    let want = coefficients(&memory);
    assert_rel("parquet streamed", &coefficients(&streamed), &want, 1e-12);
    assert_rel(
        "csv streamed",
        &coefficients(&csv_streamed),
        &coefficients(&csv_memory),
        1e-12,
    );
    assert_rel("csv vs parquet", &coefficients(&csv_memory), &want, 1e-7);
    // The same split: 4000 training and 1000 test rows, and the same test scores.
    assert_eq!(streamed["rows"], memory["rows"]);
    let r2 = |s: &Value| f(&s["metrics"]["test"]["r2"]);
    assert!(
        (r2(&streamed) - r2(&memory)).abs() < 1e-9,
        "{} vs {}",
        r2(&streamed),
        r2(&memory)
    );
    // The inference table from the streamed moments: the same standard errors.
    let se = |s: &Value| f(&s["inference"]["coefficients"][0]["std_error"]);
    assert!((se(&streamed) / se(&memory) - 1.0).abs() < 1e-9);

    // Ridge on standardized features, and a directory and a glob of Parquet files.
    let ridge_mem = exact(
        &dir,
        "rm",
        "t.parquet",
        &["--l2", "3", "--engine", "memory"],
    );
    let ridge = exact(
        &dir,
        "rs",
        "t.parquet",
        &["--l2", "3", "--engine", "stream"],
    );
    // In memory, ridge on standardized features is solved on the f32 standardized rows.
    assert_rel(
        "ridge",
        &coefficients(&ridge),
        &coefficients(&ridge_mem),
        1e-6,
    );
    std::fs::create_dir(dir.join("parts")).unwrap();
    std::fs::copy(dir.join("t.parquet"), dir.join("parts/a.parquet")).unwrap();
    let in_dir = exact(&dir, "d", "parts", &["--test", "t.parquet"]);
    let globbed = exact(&dir, "g", "parts/*.parquet", &["--test", "t.parquet"]);
    let all_mem = exact(
        &dir,
        "am",
        "t.parquet",
        &["--test", "t.csv", "--engine", "memory"],
    );
    let want = coefficients(&all_mem);
    assert_rel("directory", &coefficients(&in_dir), &want, 1e-12);
    assert_rel("glob", &coefficients(&globbed), &want, 1e-12);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn gradient_descent_streams_and_reaches_the_optimum() {
    let dir = temp_dir("ooc-gd");
    tables(&dir, 4000, 3);
    let exact = coefficients(&exact(&dir, "ex", "t.parquet", &[]));
    /// `--data t.parquet --engine ENGINE EXTRA`.
    fn on<'a>(engine: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["--data", "t.parquet", "--engine", engine];
        args.extend_from_slice(extra);
        args
    }
    let gd = |out: &str, args: &[&str]| train(&dir, out, args);
    // Full batch from the moments: no pass over the rows per epoch.
    let full_batch = ["--epochs", "300", "--lr", "0.1"];
    let full = gd("fb", &on("stream", &full_batch));
    assert_rel(
        "full batch from moments",
        &coefficients(&full),
        &exact,
        1e-3,
    );
    let full_mem = gd("fbm", &on("memory", &full_batch));
    assert_rel(
        "full batch, memory vs moments",
        &coefficients(&full),
        &coefficients(&full_mem),
        1e-4,
    );
    // Mini-batches streamed from disk with the seeded shuffle: reproducible, near the optimum.
    let args = on(
        "stream",
        &["--batch-size", "64", "--epochs", "8", "--lr", "0.01"],
    );
    let a = gd("mb1", &args);
    let b = gd("mb2", &args);
    assert_eq!(coefficients(&a), coefficients(&b), "same seed, same run");
    assert_rel("mini-batch", &coefficients(&a), &exact, 2e-2);
    let gap = f(&a["exact"]["gap"]["train"]);
    assert!(gap.abs() < 0.05, "train loss gap to the optimum {gap}");
    // Huber, streamed.
    let huber = [
        "--batch-size",
        "128",
        "--epochs",
        "10",
        "--lr",
        "0.1",
        "--loss",
        "huber",
    ];
    let h = gd("hub", &on("stream", &huber));
    assert_eq!(h["loss"], "huber");
    assert!(f(&h["metrics"]["test"]["r2"]) > 0.9);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn evaluate_and_predict_stream_large_tables() {
    let dir = temp_dir("ooc-apply");
    // 70,000 rows × 16 columns: more cells than the smallest --memory-limit (16MiB) holds.
    tables(&dir, 70_000, 15);
    let model = Train::new("t.csv", "y")
        .args(&["--solver", "exact", "--out", "m", "--no-report"])
        .summary(&dir);
    // `evaluate --model m --data DATA --memory-limit LIMIT --no-report EXTRA`: stdout.
    let eval = |data: &str, limit: &str, extra: &[&str]| -> String {
        let mut args = vec!["evaluate", "--model", "m", "--data", data];
        args.extend(["--memory-limit", limit, "--no-report"]);
        args.extend_from_slice(extra);
        run_ok(&dir, &args).0
    };
    let memory = stdout_json(&eval("t.csv", "4GiB", &["--json"]));
    let streamed = stdout_json(&eval("t.parquet", "16MiB", &["--json"]));
    assert_eq!(streamed["rows"], 70_000);
    for m in ["mse", "mae", "r2"] {
        let (a, b) = (f(&memory["metrics"][m]), f(&streamed["metrics"][m]));
        assert!(
            (a - b).abs() <= 1e-5 * a.abs().max(1e-3),
            "{m}: {a} in memory, {b} streamed"
        );
    }
    let plain = eval("t.parquet", "16MiB", &[]);
    assert!(plain.contains("streamed"), "{plain}");

    // Predictions to Parquet, read back as a table; and to CSV, the same numbers.
    for output in ["p.parquet", "p.csv"] {
        let mut predict = vec!["predict", "--model", "m", "--data", "t.parquet"];
        predict.extend(["--output", output]);
        run_ok(&dir, &predict);
    }
    let from_csv = std::fs::read_to_string(dir.join("p.csv")).unwrap();
    let header = from_csv.lines().next().unwrap();
    assert!(
        header.ends_with(",y_pred") && header.starts_with("x1,"),
        "{header}"
    );
    assert_eq!(from_csv.lines().count(), 70_001);
    let back = Train::new("p.parquet", "y_pred")
        .args(&["--solver", "exact", "--engine", "stream"])
        .args(&["--out", "back", "--no-report"])
        .summary(&dir);
    // The predictions are an exact linear function of the features: refitting them gives the
    // model's coefficients back.
    assert_eq!(back["rows"]["train"], 56_000);
    assert_rel(
        "refit of the predictions",
        &coefficients(&back),
        &coefficients(&model),
        1e-4,
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A Parquet file with a null in column `x2`, row 1,234 (row group 1 of 1,000-row groups).
fn with_null(path: &Path) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("x1", DataType::Float32, false),
        Field::new("x2", DataType::Float32, true),
        Field::new("y", DataType::Float32, false),
    ]));
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(1000))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props)).unwrap();
    let n = 2000;
    let x1: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let x2: Vec<Option<f32>> = (0..n)
        .map(|i| (i != 1234).then_some(i as f32 * 0.5))
        .collect();
    let y: Vec<f32> = (0..n).map(|i| 2.0 * i as f32 + 1.0).collect();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Float32Array::from(x1)),
        Arc::new(Float32Array::from(x2)),
        Arc::new(Float32Array::from(y)),
    ];
    w.write(&RecordBatch::try_new(schema, cols).unwrap())
        .unwrap();
    w.close().unwrap();
}

#[test]
fn what_cannot_be_read_is_named() {
    let dir = temp_dir("ooc-bad");
    with_null(&dir.join("n.parquet"));
    for engine in ["stream", "memory"] {
        let stderr = Train::new("n.parquet", "y")
            .args(&["--solver", "exact", "--engine", engine, "--out", "o"])
            .fails(&dir);
        assert!(
            stderr.contains("n.parquet, row group 1, column 'x2': row 1234 is null"),
            "{engine}: {stderr}"
        );
        assert!(!dir.join("o").exists(), "nothing written");
    }
    let refused = |args: &[&str], needle: &str| {
        let stderr = run_refused(&dir, args);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    };
    refused(
        &["train", "--data", "none/*.parquet", "--target", "y"],
        "none/*.parquet",
    );
    // `train --data n.parquet --target TARGET` with these options, and what the message must say.
    let mut cases: Vec<(&str, &[&str], &str)> = vec![
        (
            "y",
            &["--where", "x1 > 0"],
            "--where filters rows in a query engine",
        ),
        ("y", &["--memory-limit", "1MiB"], "too small"),
        ("nope", &["--engine", "stream"], "has no column 'nope'"),
        (
            "y",
            &[
                "--engine",
                "stream",
                "--polynomial",
                "2",
                "--features",
                "x1",
            ],
            "--polynomial expands the rows in memory",
        ),
        (
            "y",
            &["--engine", "stream", "--cluster", "df://localhost:50050"],
            "--cluster names a Ballista scheduler: add --engine ballista",
        ),
    ];
    // An engine left out of this build names the feature that brings it.
    if !cfg!(feature = "ballista") {
        cases.push((
            "y",
            &["--engine", "ballista", "--solver", "exact"],
            "--features ballista",
        ));
    }
    if !cfg!(feature = "datafusion") {
        cases.push((
            "y",
            &["--engine", "datafusion", "--solver", "exact"],
            "--features datafusion",
        ));
    }
    for (target, options, needle) in cases {
        refused(
            &Train::new("n.parquet", target).args(options).argv(),
            needle,
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// [`train`] with `--data DATA --test t.parquet --solver exact --engine ENGINE EXTRA`.
#[cfg(feature = "datafusion")]
fn on_engine(dir: &Path, out: &str, data: &str, engine: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--data", data, "--test", "t.parquet", "--solver", "exact"];
    args.extend(["--engine", engine]);
    args.extend_from_slice(extra);
    train(dir, out, &args)
}

/// DataFusion's aggregate gives the coefficients of the in-memory fit; `--where` filters.
#[cfg(feature = "datafusion")]
#[test]
fn datafusion_gives_the_in_memory_coefficients() {
    let dir = temp_dir("ooc-df");
    tables_and_parts(&dir, &["a"]);
    let memory = on_engine(&dir, "mem", "t.parquet", "memory", &[]);
    let csv_memory = on_engine(&dir, "cm", "t.csv", "memory", &[]);
    for (out, data) in [("df", "t.parquet"), ("dfd", "parts"), ("dfc", "t.csv")] {
        let df = on_engine(&dir, out, data, "datafusion", &[]);
        let want = if data == "t.csv" {
            &csv_memory
        } else {
            &memory
        };
        assert_rel(data, &coefficients(&df), &coefficients(want), 1e-12);
        assert_eq!(df["rows"]["train"], 5000);
    }
    let filtered = on_engine(
        &dir,
        "dfw",
        "t.parquet",
        "datafusion",
        &["--where", "x1 > 0"],
    );
    let n = filtered["rows"]["train"].as_u64().unwrap();
    assert!(n > 100 && n < 5000, "{n} rows with x1 > 0");
    let truth = common::json(&dir.join("t.coefficients.json"));
    for j in 0..4 {
        let (got, want) = (
            f(&filtered["original_units"]["weight"][0][j]),
            f(&truth["weight"][0][j]),
        );
        assert!((got - want).abs() < 0.05, "x{}: {got} vs {want}", j + 1);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Ballista's standalone mode (a scheduler and an executor in this process) gives the
/// coefficients of the in-memory, streamed and DataFusion runs, on one file and on a directory
/// of files; `--where` runs on its executor; an unreachable cluster is a clear error.
#[cfg(feature = "ballista")]
#[test]
fn ballista_gives_the_coefficients_of_every_other_engine() {
    let dir = temp_dir("ooc-ballista");
    tables_and_parts(&dir, &["a", "b"]);
    let exact = |out: &str, data: &str, engine: &str, extra: &[&str]| {
        on_engine(&dir, out, data, engine, extra)
    };
    for data in ["t.parquet", "parts"] {
        let ballista = exact(&format!("b-{data}"), data, "ballista", &[]);
        let rows = if data == "parts" { 10_000 } else { 5000 };
        assert_eq!(ballista["rows"]["train"], rows);
        let got = coefficients(&ballista);
        for engine in ["memory", "stream", "datafusion"] {
            let other = exact(&format!("{engine}-{data}"), data, engine, &[]);
            assert_rel(
                &format!("{data}: ballista vs {engine}"),
                &got,
                &coefficients(&other),
                1e-12,
            );
        }
        // The inference table comes from the same moments.
        let se = |s: &Value| f(&s["inference"]["coefficients"][0]["std_error"]);
        let df = summary(&dir, &format!("datafusion-{data}"));
        assert_rel("std error", &[se(&ballista)], &[se(&df)], 1e-10);
    }
    let filter = ["--where", "x1 > 0 AND x2 < 0.5"];
    let b = exact("bw", "t.parquet", "ballista", &filter);
    let d = exact("dw", "t.parquet", "datafusion", &filter);
    assert_eq!(b["rows"]["train"], d["rows"]["train"]);
    assert!(b["rows"]["train"].as_u64().unwrap() < 5000);
    assert_rel("filtered", &coefficients(&b), &coefficients(&d), 1e-12);

    // Nothing listens on port 1: an error naming the cluster, and no model written.
    let down = Train::new("t.parquet", "y")
        .args(&["--solver", "exact", "--engine", "ballista"])
        .args(&["--cluster", "df://127.0.0.1:1", "--out", "down"]);
    let stderr = run_refused(&dir, &down.argv());
    assert!(
        stderr.contains("the Ballista cluster at df://127.0.0.1:1 could not compute the moments"),
        "{stderr}"
    );
    assert!(!dir.join("down").join("model.json").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// The lasso path with 5-fold cross-validation by a fold column gives the same folds, means
/// and coefficients on DataFusion (and Ballista, when built) as in memory and streamed; seeded
/// folds, which need the rows' order, are refused on a query engine with the way out named.
#[cfg(feature = "datafusion")]
#[test]
fn cross_validation_by_a_fold_column_is_the_same_on_every_engine() {
    let dir = temp_dir("ooc-cv");
    tables(&dir, 3000, 4);
    let text = std::fs::read_to_string(dir.join("t.csv")).unwrap();
    let mut lines = text.lines();
    let mut csv = format!("{},fold\n", lines.next().unwrap());
    for (i, line) in lines.enumerate() {
        csv.push_str(&format!("{line},{}\n", i % 5));
    }
    std::fs::write(dir.join("f.csv"), csv).unwrap();
    let cv = |engine: &str| -> Value {
        let extra = [
            "--features",
            "x1,x2,x3,x4",
            "--cv-column",
            "fold",
            "--n-alphas",
            "20",
        ];
        let mut args = vec!["--data", "f.csv", "--test", "t.csv", "--engine", engine];
        args.extend(extra);
        train(&dir, &format!("cv-{engine}"), &args)["penalty"].clone()
    };
    let memory = cv("memory");
    let mut engines = vec!["stream", "datafusion"];
    if cfg!(feature = "ballista") {
        engines.push("ballista");
    }
    let floats = |v: &Value| -> Vec<f64> { v.as_array().unwrap().iter().map(f).collect() };
    for engine in engines {
        let other = cv(engine);
        assert_eq!(
            other["cv"]["fold_rows"], memory["cv"]["fold_rows"],
            "{engine}"
        );
        let (a, b) = (floats(&other["cv"]["mean"]), floats(&memory["cv"]["mean"]));
        assert_rel(&format!("{engine}: CV means"), &a, &b, 1e-10);
        let last = |p: &Value| floats(&p["path"]["weight"].as_array().unwrap().last().unwrap()[0]);
        assert_eq!(
            other["path"]["alphas"], memory["path"]["alphas"],
            "{engine}: one grid"
        );
        assert_rel(
            &format!("{engine}: coefficients"),
            &last(&other),
            &last(&memory),
            1e-10,
        );
        assert_eq!(
            other["cv"]["alpha_min"], memory["cv"]["alpha_min"],
            "{engine}"
        );
    }
    let refused = Train::new("f.csv", "y").args(&[
        "--cv",
        "5",
        "--engine",
        "datafusion",
        "--test",
        "t.csv",
        "--out",
        "no",
    ]);
    let stderr = run_refused(&dir, &refused.argv());
    assert!(stderr.contains("--cv-column COL"), "{stderr}");
    // A column of 3,000 distinct values is no fold column, refused before it is grouped by.
    let ids = Train::new("f.csv", "y")
        .args(&[
            "--features",
            "x1,x3,x4",
            "--cv-column",
            "x2",
            "--engine",
            "datafusion",
        ])
        .args(&["--test", "t.csv", "--out", "no"]);
    let stderr = run_refused(&dir, &ids.argv());
    assert!(
        stderr.contains("more than 1000 distinct values"),
        "{stderr}"
    );
    assert!(!dir.join("no").exists());
    std::fs::remove_dir_all(dir).unwrap();
}
