//! Bad tables and bad options for `train`, `evaluate`, `predict` and `generate`: one message
//! that names the file, line and column where there is one, a non-zero exit, and nothing written.

mod common;

use common::{
    assert_says, linreg_cpu as linreg, run_ok, snapshot, temp_dir, text, write_file, Train,
};

/// Writes `files` into a fresh directory, runs `linreg ARGS`, and checks the failure: the
/// message contains each needle, and the directory holds only the files it started with
/// (byte for byte).
fn refused(name: &str, files: &[(&str, &str)], args: &[&str], needles: &[&str]) {
    let dir = temp_dir(name);
    for (file, text) in files {
        write_file(&dir, file, text);
    }
    let before = snapshot(&dir);
    let out = linreg(&dir, args);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{name}: should fail\n{stdout}");
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .collect();
    assert_eq!(ours.len(), 1, "{name}: one line:\n{stderr}");
    assert!(ours[0].starts_with("error: "), "{name}: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{name}: stderr lacks {needle:?}:\n{stderr}"
        );
    }
    assert_eq!(snapshot(&dir), before, "{name}: the directory changed");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

const GOOD: &str = "a,b,label,y\n1,2,x,3\n2,1,x,4\n3,5,x,8\n4,4,x,9\n5,0,x,6\n";

/// `train --data DATA --target y --out out --epochs 5`.
fn train(data: &str) -> Train {
    Train::new(data, "y").args(&["--out", "out", "--epochs", "5"])
}

#[test]
fn every_bad_table_is_named_with_its_line_and_column() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("empty", "", &["t.csv is empty", "header row"]),
        (
            "header-only",
            "a,b,y\n",
            &["t.csv has a header row but no data rows"],
        ),
        (
            "ragged",
            "a,b,y\n1,2,3\n4,5\n",
            &["t.csv line 3: 2 fields, but the header has 3"],
        ),
        (
            "text",
            "a,b,y\n1,2,3\n4,five,6\n",
            &["t.csv line 3, column 'b': 'five' is not a number"],
        ),
        (
            "blank-cell",
            "a,b,y\n1,2,3\n4,,6\n",
            &["t.csv line 3, column 'b': empty cell"],
        ),
        (
            "nan",
            "a,b,y\n1,2,3\n4,NaN,6\n",
            &["t.csv line 3, column 'b': NaN is not allowed", "finite"],
        ),
        (
            "inf",
            "a,b,y\n1,2,inf\n4,5,6\n",
            &["t.csv line 2, column 'y': inf is not allowed"],
        ),
        (
            "duplicate-header",
            "a,a,y\n1,2,3\n",
            &["column 'a' appears twice in the header of t.csv"],
        ),
        (
            "constant",
            "a,b,y\n1,7,3\n2,7,4\n3,7,5\n4,7,6\n5,7,7\n",
            &[
                "feature 'b' is constant (7 in every training row)",
                "--no-standardize",
            ],
        ),
        (
            "one-row",
            "a,b,y\n1,2,3\n",
            &["cannot split", "leaves 0 training and 1 test rows"],
        ),
    ];
    for (name, csv, needles) in cases {
        refused(name, &[("t.csv", csv)], &train("t.csv").argv(), needles);
    }
}

#[test]
fn bad_column_choices_are_refused() {
    let files = [("t.csv", GOOD)];
    refused(
        "missing-file",
        &[],
        &train("nope.csv").argv(),
        &["cannot read nope.csv"],
    );
    // `train --data t.csv --target TARGET OPTIONS --out out`, and what the message must say.
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "unknown-target",
            "z",
            &[],
            &["t.csv has no column 'z'; its columns are: a, b, label, y"],
        ),
        (
            "unknown-feature",
            "y",
            &["--features", "a,c"],
            &["t.csv has no column 'c'"],
        ),
        (
            "duplicate-feature",
            "y",
            &["--features", "a,b,a"],
            &["column 'a' is named twice in --features"],
        ),
        (
            "target-as-feature",
            "y",
            &["--features", "a,y"],
            &["column 'y' is both a target and a feature"],
        ),
        (
            "text-feature",
            "y",
            &["--features", "a,label"],
            &["t.csv line 2, column 'label': 'x' is not a number"],
        ),
        (
            "bad-delimiter",
            "y",
            &["--delimiter", "||"],
            &["--delimiter \"||\" is invalid"],
        ),
        (
            "bad-hyperparameter",
            "y",
            &["--momentum", "0.9", "--optimizer", "adam"],
            &[
                "--momentum = 0.9 is invalid",
                "use --optimizer sgd for momentum",
            ],
        ),
    ];
    for (name, target, options, needles) in cases {
        let args = Train::new("t.csv", target)
            .args(options)
            .args(&["--out", "out"]);
        refused(name, &files, &args.argv(), needles);
    }
    refused(
        "test-file-columns",
        &[("t.csv", GOOD), ("test.csv", "a,y\n1,2\n")],
        &Train::new("t.csv", "y")
            .test("test.csv")
            .args(&["--out", "out"])
            .argv(),
        &["test.csv has no column 'b'"],
    );
}

#[test]
fn divergence_keeps_the_model_already_in_out() {
    let dir = temp_dir("diverge3");
    write_file(&dir, "t.csv", GOOD);
    train("t.csv").run(&dir);
    let before = snapshot(&dir.join("out"));
    let stderr = Train::new("t.csv", "y")
        .args(&["--out", "out", "--lr", "1e30", "--epochs", "20"])
        .fails(&dir);
    assert_says(
        &stderr,
        &["training diverged", "try a smaller learning rate than 1e30"],
    );
    assert_eq!(
        snapshot(&dir.join("out")),
        before,
        "the good model is untouched"
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn evaluate_and_predict_refuse_what_they_cannot_use() {
    let dir = temp_dir("apply-errors");
    write_file(&dir, "t.csv", GOOD);
    train("t.csv").run(&dir);
    let model = dir.join("out").display().to_string();
    refused(
        "no-model",
        &[("t.csv", GOOD)],
        &["evaluate", "--model", "nowhere", "--data", "t.csv"],
        &["no model in nowhere", "train one first"],
    );
    refused(
        "no-target-column",
        &[("t.csv", "a,b\n1,2\n")],
        &["evaluate", "--model", &model, "--data", "t.csv"],
        &["t.csv has no column 'y'"],
    );
    let predict = [
        "predict", "--model", &model, "--data", "t.csv", "--output", "p.csv",
    ];
    refused(
        "predict-missing-feature",
        &[("t.csv", "a,y\n1,2\n")],
        &predict,
        &["t.csv has no column 'b'"],
    );
    refused(
        "predict-bad-cell",
        &[("t.csv", "a,b\n1,2\n3,oops\n")],
        &predict,
        &["t.csv line 3, column 'b': 'oops' is not a number"],
    );
    // predict needs no target column.
    write_file(&dir, "x.csv", "a,b\n1,2\n");
    let (stdout, _) = run_ok(&dir, &["predict", "--model", &model, "--data", "x.csv"]);
    assert!(stdout.starts_with("a,b,y_pred\n1,2,"), "{stdout}");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn generate_refuses_impossible_tables() {
    // `generate OPTIONS --output d.csv`, and what the message must say.
    let cases: [(&str, &[&str], &str); 2] = [
        (
            "rows",
            &["--rows", "1", "--features", "2"],
            "rows = 1 is invalid: at least 2",
        ),
        (
            "noise",
            &["--rows", "10", "--features", "2", "--noise", "-1"],
            "noise = -1 is invalid",
        ),
    ];
    for (name, options, needle) in cases {
        let mut args = vec!["generate"];
        args.extend_from_slice(options);
        args.extend(["--output", "d.csv"]);
        refused(name, &[], &args, &[needle]);
    }
}
