//! Parquet input and out-of-core training end to end: the same coefficients in memory and
//! streamed, mini-batches streamed from disk, streamed `evaluate`/`predict`, and the messages
//! for what cannot be read.

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use common::{f, json, linreg_cpu, run_ok, temp_dir, text};
use serde_json::Value;

/// Writes the same synthetic table as CSV and as Parquet (small row groups, so the parallel
/// scan and the row-group shuffle have several units).
fn tables(dir: &Path, rows: usize, features: usize) {
    let (r, p) = (rows.to_string(), features.to_string());
    for out in ["t.csv", "t.parquet"] {
        run_ok(
            dir,
            &[
                "generate",
                "--rows",
                &r,
                "--features",
                &p,
                "--noise",
                "0.5",
                "--seed",
                "7",
                "--row-group-rows",
                "1000",
                "--output",
                out,
            ],
        );
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
    json(&dir.join(out).join("summary.json"))
}

#[test]
fn exact_least_squares_is_the_same_in_memory_and_streamed() {
    let dir = temp_dir("ooc-exact");
    tables(&dir, 5000, 4);
    // The CSV holds each f32 value's shortest decimal, which f64 parsing does not round back
    // to the f32: compare each format with itself (the two agree to about 1e-9).
    let memory = train(
        &dir,
        "mem",
        &[
            "--data",
            "t.parquet",
            "--solver",
            "exact",
            "--engine",
            "memory",
        ],
    );
    let streamed = train(
        &dir,
        "st",
        &[
            "--data",
            "t.parquet",
            "--solver",
            "exact",
            "--engine",
            "stream",
        ],
    );
    let csv_memory = train(
        &dir,
        "cm",
        &["--data", "t.csv", "--solver", "exact", "--engine", "memory"],
    );
    let csv_streamed = train(
        &dir,
        "cst",
        &["--data", "t.csv", "--solver", "exact", "--engine", "stream"],
    );
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
    let ridge_mem = train(
        &dir,
        "rm",
        &[
            "--data",
            "t.parquet",
            "--solver",
            "exact",
            "--l2",
            "3",
            "--engine",
            "memory",
        ],
    );
    let ridge = train(
        &dir,
        "rs",
        &[
            "--data",
            "t.parquet",
            "--solver",
            "exact",
            "--l2",
            "3",
            "--engine",
            "stream",
        ],
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
    let in_dir = train(
        &dir,
        "d",
        &[
            "--data",
            "parts",
            "--solver",
            "exact",
            "--test",
            "t.parquet",
        ],
    );
    let globbed = train(
        &dir,
        "g",
        &[
            "--data",
            "parts/*.parquet",
            "--solver",
            "exact",
            "--test",
            "t.parquet",
        ],
    );
    let all_mem = train(
        &dir,
        "am",
        &[
            "--data",
            "t.parquet",
            "--solver",
            "exact",
            "--test",
            "t.csv",
            "--engine",
            "memory",
        ],
    );
    assert_rel(
        "directory",
        &coefficients(&in_dir),
        &coefficients(&all_mem),
        1e-12,
    );
    assert_rel(
        "glob",
        &coefficients(&globbed),
        &coefficients(&all_mem),
        1e-12,
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn gradient_descent_streams_and_reaches_the_optimum() {
    let dir = temp_dir("ooc-gd");
    tables(&dir, 4000, 3);
    let exact = coefficients(&train(
        &dir,
        "ex",
        &["--data", "t.parquet", "--solver", "exact"],
    ));
    // Full batch from the moments: no pass over the rows per epoch.
    let full = train(
        &dir,
        "fb",
        &[
            "--data",
            "t.parquet",
            "--engine",
            "stream",
            "--epochs",
            "300",
            "--lr",
            "0.1",
        ],
    );
    assert_rel(
        "full batch from moments",
        &coefficients(&full),
        &exact,
        1e-3,
    );
    let full_mem = train(
        &dir,
        "fbm",
        &[
            "--data",
            "t.parquet",
            "--engine",
            "memory",
            "--epochs",
            "300",
            "--lr",
            "0.1",
        ],
    );
    assert_rel(
        "full batch, memory vs moments",
        &coefficients(&full),
        &coefficients(&full_mem),
        1e-4,
    );
    // Mini-batches streamed from disk with the seeded shuffle: reproducible, near the optimum.
    let args = [
        "--data",
        "t.parquet",
        "--engine",
        "stream",
        "--batch-size",
        "64",
        "--epochs",
        "8",
        "--lr",
        "0.01",
    ];
    let a = train(&dir, "mb1", &args);
    let b = train(&dir, "mb2", &args);
    assert_eq!(coefficients(&a), coefficients(&b), "same seed, same run");
    assert_rel("mini-batch", &coefficients(&a), &exact, 2e-2);
    let gap = f(&a["exact"]["gap"]["train"]);
    assert!(gap.abs() < 0.05, "train loss gap to the optimum {gap}");
    // Huber, streamed.
    let h = train(
        &dir,
        "hub",
        &[
            "--data",
            "t.parquet",
            "--engine",
            "stream",
            "--batch-size",
            "128",
            "--epochs",
            "10",
            "--lr",
            "0.1",
            "--loss",
            "huber",
        ],
    );
    assert_eq!(h["loss"], "huber");
    assert!(f(&h["metrics"]["test"]["r2"]) > 0.9);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn evaluate_and_predict_stream_large_tables() {
    let dir = temp_dir("ooc-apply");
    // 70,000 rows × 16 columns: more cells than the smallest --memory-limit (16MiB) holds.
    tables(&dir, 70_000, 15);
    run_ok(
        &dir,
        &[
            "train",
            "--data",
            "t.csv",
            "--target",
            "y",
            "--solver",
            "exact",
            "--out",
            "m",
            "--no-report",
        ],
    );
    let eval = |data: &str, limit: &str| -> Value {
        let (stdout, _) = run_ok(
            &dir,
            &[
                "evaluate",
                "--model",
                "m",
                "--data",
                data,
                "--memory-limit",
                limit,
                "--json",
                "--no-report",
            ],
        );
        serde_json::from_str(&stdout).expect("JSON")
    };
    let memory = eval("t.csv", "4GiB");
    let streamed = eval("t.parquet", "16MiB");
    assert_eq!(streamed["rows"], 70_000);
    for m in ["mse", "mae", "r2"] {
        let (a, b) = (f(&memory["metrics"][m]), f(&streamed["metrics"][m]));
        assert!(
            (a - b).abs() <= 1e-5 * a.abs().max(1e-3),
            "{m}: {a} in memory, {b} streamed"
        );
    }
    let (plain, _) = run_ok(
        &dir,
        &[
            "evaluate",
            "--model",
            "m",
            "--data",
            "t.parquet",
            "--memory-limit",
            "16MiB",
            "--no-report",
        ],
    );
    assert!(plain.contains("streamed"), "{plain}");

    // Predictions to Parquet, read back as a table; and to CSV, the same numbers.
    run_ok(
        &dir,
        &[
            "predict",
            "--model",
            "m",
            "--data",
            "t.parquet",
            "--output",
            "p.parquet",
        ],
    );
    run_ok(
        &dir,
        &[
            "predict",
            "--model",
            "m",
            "--data",
            "t.parquet",
            "--output",
            "p.csv",
        ],
    );
    let from_csv = std::fs::read_to_string(dir.join("p.csv")).unwrap();
    let header = from_csv.lines().next().unwrap();
    assert!(
        header.ends_with(",y_pred") && header.starts_with("x1,"),
        "{header}"
    );
    assert_eq!(from_csv.lines().count(), 70_001);
    run_ok(
        &dir,
        &[
            "train",
            "--data",
            "p.parquet",
            "--target",
            "y_pred",
            "--solver",
            "exact",
            "--engine",
            "stream",
            "--out",
            "back",
            "--no-report",
        ],
    );
    // The predictions are an exact linear function of the features: refitting them gives the
    // model's coefficients back.
    let model = json(&dir.join("m/summary.json"));
    let back = json(&dir.join("back/summary.json"));
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
        let out = linreg_cpu(
            &dir,
            &[
                "train",
                "--data",
                "n.parquet",
                "--target",
                "y",
                "--solver",
                "exact",
                "--engine",
                engine,
                "--out",
                "o",
            ],
        );
        let (_, stderr) = text(&out);
        assert!(!out.status.success());
        assert!(
            stderr.contains("n.parquet, row group 1, column 'x2': row 1234 is null"),
            "{engine}: {stderr}"
        );
        assert!(!dir.join("o").exists(), "nothing written");
    }
    let refused = |args: &[&str], needle: &str| {
        let out = linreg_cpu(&dir, args);
        let (_, stderr) = text(&out);
        assert!(
            !out.status.success() && stderr.contains(needle),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    refused(
        &["train", "--data", "none/*.parquet", "--target", "y"],
        "none/*.parquet",
    );
    // `train --data n.parquet` with these options, and what the message must say.
    let mut cases: Vec<(&[&str], &str)> = vec![
        (
            &["--target", "y", "--where", "x1 > 0"],
            "--where filters rows in a query engine",
        ),
        (&["--target", "y", "--memory-limit", "1MiB"], "too small"),
        (
            &["--target", "nope", "--engine", "stream"],
            "has no column 'nope'",
        ),
        (
            &[
                "--target",
                "y",
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
            &[
                "--target",
                "y",
                "--engine",
                "stream",
                "--cluster",
                "df://localhost:50050",
            ],
            "--cluster names a Ballista scheduler: add --engine ballista",
        ),
    ];
    // An engine left out of this build names the feature that brings it.
    if !cfg!(feature = "ballista") {
        cases.push((
            &["--target", "y", "--engine", "ballista", "--solver", "exact"],
            "--features ballista",
        ));
    }
    if !cfg!(feature = "datafusion") {
        cases.push((
            &[
                "--target",
                "y",
                "--engine",
                "datafusion",
                "--solver",
                "exact",
            ],
            "--features datafusion",
        ));
    }
    for (extra, needle) in cases {
        let mut args = vec!["train", "--data", "n.parquet"];
        args.extend(extra);
        refused(&args, needle);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// DataFusion's aggregate gives the coefficients of the in-memory fit; `--where` filters.
#[cfg(feature = "datafusion")]
#[test]
fn datafusion_gives_the_in_memory_coefficients() {
    let dir = temp_dir("ooc-df");
    tables_and_parts(&dir, &["a"]);
    let memory = train(
        &dir,
        "mem",
        &[
            "--data",
            "t.parquet",
            "--test",
            "t.parquet",
            "--solver",
            "exact",
            "--engine",
            "memory",
        ],
    );
    let csv_memory = train(
        &dir,
        "cm",
        &[
            "--data",
            "t.csv",
            "--test",
            "t.parquet",
            "--solver",
            "exact",
            "--engine",
            "memory",
        ],
    );
    for (out, data) in [("df", "t.parquet"), ("dfd", "parts"), ("dfc", "t.csv")] {
        let df = train(
            &dir,
            out,
            &[
                "--data",
                data,
                "--test",
                "t.parquet",
                "--solver",
                "exact",
                "--engine",
                "datafusion",
            ],
        );
        let want = if data == "t.csv" {
            &csv_memory
        } else {
            &memory
        };
        assert_rel(data, &coefficients(&df), &coefficients(want), 1e-12);
        assert_eq!(df["rows"]["train"], 5000);
    }
    let filtered = train(
        &dir,
        "dfw",
        &[
            "--data",
            "t.parquet",
            "--test",
            "t.parquet",
            "--solver",
            "exact",
            "--engine",
            "datafusion",
            "--where",
            "x1 > 0",
        ],
    );
    let n = filtered["rows"]["train"].as_u64().unwrap();
    assert!(n > 100 && n < 5000, "{n} rows with x1 > 0");
    let truth = json(&dir.join("t.coefficients.json"));
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
        let mut args = vec![
            "--data",
            data,
            "--test",
            "t.parquet",
            "--solver",
            "exact",
            "--engine",
            engine,
        ];
        args.extend(extra);
        train(&dir, out, &args)
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
        let df = json(&dir.join(format!("datafusion-{data}/summary.json")));
        assert_rel("std error", &[se(&ballista)], &[se(&df)], 1e-10);
    }
    let filter = ["--where", "x1 > 0 AND x2 < 0.5"];
    let b = exact("bw", "t.parquet", "ballista", &filter);
    let d = exact("dw", "t.parquet", "datafusion", &filter);
    assert_eq!(b["rows"]["train"], d["rows"]["train"]);
    assert!(b["rows"]["train"].as_u64().unwrap() < 5000);
    assert_rel("filtered", &coefficients(&b), &coefficients(&d), 1e-12);

    // Nothing listens on port 1: an error naming the cluster, and no model written.
    let out = linreg_cpu(
        &dir,
        &[
            "train",
            "--data",
            "t.parquet",
            "--target",
            "y",
            "--solver",
            "exact",
            "--engine",
            "ballista",
            "--cluster",
            "df://127.0.0.1:1",
            "--out",
            "down",
        ],
    );
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("the Ballista cluster at df://127.0.0.1:1 could not compute the moments"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!dir.join("down").join("model.json").exists());
    std::fs::remove_dir_all(dir).unwrap();
}
