//! The no-argument run, end to end, on every backend this build has: PyTorch's numbers line for
//! line, and the files it promises.

mod common;

use common::{
    assert_close, backends, epoch_lines, f, json, listing, reference, run_ok_as_given, summary,
    temp_dir,
};
use serde_json::Value;

/// The acceptance tolerance of the port: every logged loss and final parameter within 1e-6.
const TOL: f64 = 1e-6;

#[test]
fn tutorial_run_matches_pytorch_and_writes_every_file() {
    let r = reference();
    for backend in backends() {
        let dir = temp_dir(&format!("tutorial-{backend}"));
        let (stdout, _) = run_ok_as_given(&dir, &["--backend", backend]);

        // The printed log, line for line.
        let lines = epoch_lines(&stdout);
        let logged = r["logged"].as_array().expect("logged");
        assert_eq!(lines.len(), logged.len(), "{backend}: {stdout}");
        for ((epoch, train, test), want) in lines.iter().zip(logged) {
            assert_eq!(*epoch, want["epoch"].as_u64().expect("epoch"));
            assert_close(
                &format!("{backend} epoch {epoch} train"),
                *train,
                f(&want["train_loss"]),
                TOL,
            );
            assert_close(
                &format!("{backend} epoch {epoch} test"),
                *test,
                f(&want["test_loss"]),
                TOL,
            );
        }
        assert!(
            stdout.contains("('linear.weight', tensor([[0.7645385]]))"),
            "{stdout}"
        );
        assert!(
            stdout.contains("torch.manual_seed(42)"),
            "the output says where the start came from"
        );
        assert!(
            stdout.contains("test predictions equal the trained model's"),
            "{stdout}"
        );

        // summary.json
        let art = dir.join("artifacts");
        let summary = json(&art.join("summary.json"));
        assert_eq!(summary["backend"], backend);
        assert_eq!(summary["epochs"], 500);
        assert_eq!(summary["lr"], 0.01);
        assert_eq!(summary["seed"], Value::Null);
        // (what, summary.json's value, PyTorch's, tolerance)
        for (what, got, want, tol) in [
            (
                "initial w",
                &summary["initial"]["weight"][0][0],
                "init_w",
                0.0,
            ),
            ("initial b", &summary["initial"]["bias"][0], "init_b", 0.0),
            ("final w", &summary["final"]["weight"][0][0], "final_w", TOL),
            ("final b", &summary["final"]["bias"][0], "final_b", TOL),
            (
                "final train loss",
                &summary["train_loss"],
                "final_train_loss",
                TOL,
            ),
            (
                "final test loss",
                &summary["test_loss"],
                "final_test_loss",
                TOL,
            ),
        ] {
            assert_close(what, f(got), f(&r[want]), tol);
        }
        let history = summary["history"].as_array().expect("history");
        assert_eq!(history.len(), 10);
        for (h, want) in history.iter().zip(logged) {
            assert_eq!(h["epoch"], want["epoch"]);
            assert_close(
                "history train",
                f(&h["train_loss"]),
                f(&want["train_loss"]),
                TOL,
            );
            assert_close(
                "history test",
                f(&h["test_loss"]),
                f(&want["test_loss"]),
                TOL,
            );
        }
        assert!(f(&summary["seconds"]) > 0.0);

        // Every promised file, and nothing half-written beside them.
        assert_eq!(
            listing(&art),
            [
                "data.png",
                "data.svg",
                "loss.png",
                "loss.svg",
                "model.json",
                "model.mpk",
                "model.safetensors",
                "predictions.png",
                "predictions.svg",
                "report.html",
                "summary.json"
            ]
        );
        for plot in summary["files"]["plots"].as_array().expect("plots") {
            let path = dir.join(plot.as_str().expect("path"));
            let bytes = std::fs::read(&path).expect("plot exists");
            if path.extension().is_some_and(|e| e == "png") {
                assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
            } else {
                let svg = String::from_utf8(bytes).expect("utf-8");
                assert!(svg.contains("<svg"), "{}", path.display());
            }
        }
        let preds = std::fs::read_to_string(art.join("predictions.svg")).expect("svg");
        for (name, color) in [
            ("Training Data", "#1C4F96"),
            ("Testing Data", "#F58160"),
            ("Predictions", "#8F3974"),
        ] {
            assert!(
                preds.contains(name) && preds.contains(color),
                "predictions.svg lacks {name} in {color}"
            );
        }
        let loss = std::fs::read_to_string(art.join("loss.svg")).expect("svg");
        assert!(
            loss.contains("Training Loss")
                && loss.contains("Testing Loss")
                && loss.contains("Epochs")
        );
        let meta = json(&art.join("model.json"));
        assert_eq!(meta["config"]["d_input"], 1);
        assert_eq!(meta["config"]["d_output"], 1);
        assert_eq!(meta["format"], "linreg-model");
        std::fs::remove_dir_all(dir).expect("cleanup");
    }
}

#[test]
fn every_epoch_train_loss_matches_pytorch() {
    let r = reference();
    let trace = r["trace"].as_array().expect("trace");
    for backend in backends() {
        let dir = temp_dir(&format!("every-epoch-{backend}"));
        let (stdout, _) = run_ok_as_given(
            &dir,
            &["--backend", backend, "--log-every", "1", "--out", "o"],
        );
        let lines = epoch_lines(&stdout);
        assert_eq!(lines.len(), 500);
        for ((epoch, train, _), want) in lines.iter().zip(trace) {
            assert_close(
                &format!("{backend} epoch {epoch} train"),
                *train,
                f(&want["train_loss"]),
                TOL,
            );
        }
        std::fs::remove_dir_all(dir).expect("cleanup");
    }
}

#[test]
fn options_change_the_run() {
    let dir = temp_dir("options");
    let (stdout, _) = run_ok_as_given(
        &dir,
        &[
            "--epochs",
            "20",
            "--lr",
            "0.05",
            "--log-every",
            "10",
            "--weight",
            "-0.5",
            "--bias",
            "1",
            "--step",
            "0.1",
            "--train-fraction",
            "0.7",
            "--init-weight",
            "0",
            "--init-bias",
            "0",
            "--out",
            "o",
        ],
    );
    assert!(stdout.contains("7 training rows, 3 test rows"), "{stdout}");
    assert_eq!(epoch_lines(&stdout).len(), 2);
    let summary = summary(&dir, "o");
    assert_eq!(summary["epochs"], 20);
    assert_eq!(summary["initial"]["weight"][0][0], 0.0);
    // Hand computation of the first step from w = b = 0: every prediction (0) is below its
    // target (−0.5x + 1 > 0 on [0, 0.6]), so the L1 gradient is (−mean x, −1) = (−0.3, −1) and
    // the epoch-0 train loss is mean(y) = 1 − 0.5·0.3 = 0.85.
    assert_close(
        "epoch 0 train loss",
        f(&summary["history"][0]["train_loss"]),
        0.85,
        1e-6,
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn seeded_runs_are_reproducible() {
    let dir = temp_dir("seeded");
    let backend = backends()[0];
    let run = |out: &str| {
        let args = [
            "--backend",
            backend,
            "--seed",
            "7",
            "--epochs",
            "5",
            "--out",
            out,
        ];
        run_ok_as_given(&dir, &args);
        summary(&dir, out)
    };
    let (a, b) = (run("a"), run("b"));
    assert_eq!(a["initial"], b["initial"]);
    assert_eq!(a["final"], b["final"]);
    assert_eq!(a["seed"], 7);
    let w = f(&a["initial"]["weight"][0][0]);
    assert!(
        w.abs() <= 1.0 && w != 0.764_538_526_535_034_2,
        "a fresh U(−1, 1) draw"
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}
