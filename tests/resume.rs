//! Checkpoints and resume, end to end: a run resumed at any checkpoint ends bit for bit as the
//! uninterrupted run (ndarray), and a real SIGINT/SIGTERM saves a checkpoint, exits non-zero
//! with the command that resumes, and leaves `--out` as it was.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{generate, listing, run_refused, snapshot, temp_dir, Train};
use linreg_data::rng::SplitMix64;
use serde_json::Value;

/// summary.json without what legitimately differs between two runs: timings and paths.
fn comparable(mut s: Value) -> Value {
    let o = s.as_object_mut().expect("object");
    o.remove("seconds");
    o.remove("files");
    if let Some(exact) = o.get_mut("exact").and_then(Value::as_object_mut) {
        exact.remove("seconds");
    }
    s
}

fn table(dir: &Path) -> String {
    let options = ["--targets", "2", "--noise", "0.5", "--seed", "21"];
    generate(dir, 300, 3, &options, "t.csv");
    "t.csv".into()
}

/// Trains uninterrupted with a checkpoint after every epoch, then resumes from 5 of them,
/// chosen at random, each into its own directory: every resumed run must end identically.
fn five_random_resumes(name: &str, options: &[&str]) {
    let dir = temp_dir(name);
    let data = table(&dir);
    let epochs = 24;
    let e = epochs.to_string();
    let base = Train::new(&data, "y1,y2")
        .args(&["--epochs", &e, "--log-every", "5", "--quiet"])
        .args(options);
    let run = |extra: &[&str]| base.clone().args(extra).summary(&dir);
    let full = run(&[
        "--out",
        "full",
        "--checkpoint-every",
        "1",
        "--keep-checkpoints",
        "100",
    ]);
    let checkpoints = listing(&dir.join("full/checkpoints"));
    assert_eq!(checkpoints.len(), epochs, "{checkpoints:?}");
    let full_st = std::fs::read(dir.join("full/model.safetensors")).expect("safetensors");
    let full_mpk = std::fs::read(dir.join("full/model.mpk")).expect("mpk");

    let mut rng = SplitMix64::new(0x5eed ^ name.len() as u64);
    let mut picked: Vec<usize> = Vec::new();
    while picked.len() < 5 {
        let at = 1 + rng.below(epochs - 1); // a checkpoint after epoch 1 ..= epochs − 1
        if !picked.contains(&at) {
            picked.push(at);
        }
    }
    for at in picked {
        let ckpt = format!("full/checkpoints/epoch-{at:09}");
        let out = format!("resumed-{at}");
        let resumed = run(&["--out", &out, "--resume", &ckpt]);
        assert_eq!(
            comparable(resumed),
            comparable(full.clone()),
            "{name}: resumed after epoch {at}"
        );
        // The same parameters, bit for bit, in both formats (record ids included).
        assert_eq!(
            std::fs::read(dir.join(&out).join("model.safetensors")).expect("st"),
            full_st,
            "{name}: resumed after epoch {at}"
        );
        assert_eq!(
            std::fs::read(dir.join(&out).join("model.mpk")).expect("mpk"),
            full_mpk,
            "{name}: resumed after epoch {at}"
        );
    }
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn sgd_with_momentum_resumes_bit_identically_at_five_random_checkpoints() {
    five_random_resumes(
        "resume-sgd",
        &["--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.02"],
    );
}

#[test]
fn adam_with_mini_batches_and_a_step_schedule_resumes_bit_identically() {
    five_random_resumes(
        "resume-adam",
        &[
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--batch-size",
            "32",
            "--lr-schedule",
            "step",
            "--lr-step-size",
            "5",
            "--lr-gamma",
            "0.5",
            "--seed",
            "4",
            "--patience",
            "8",
        ],
    );
}

#[test]
fn an_f64_run_resumes_bit_identically_in_f64() {
    // The records hold f64 parameters and Adam moments: an f32 record would round them.
    five_random_resumes(
        "resume-f64",
        &["--precision", "f64", "--optimizer", "adam", "--lr", "0.05"],
    );
}

#[test]
fn only_the_newest_checkpoints_are_kept() {
    let dir = temp_dir("resume-keep");
    let data = table(&dir);
    let train = Train::new(&data, "y1").args(&["--features", "x1,x2", "--epochs", "10"]);
    train
        .clone()
        .args(&["--checkpoint-every", "3", "--out", "o", "--quiet"])
        .run(&dir);
    assert_eq!(
        listing(&dir.join("o/checkpoints")),
        ["epoch-000000006", "epoch-000000009"]
    );
    // --resume also takes the --out of a run: its newest checkpoint.
    let (stdout, _) = train.args(&["--out", "o2", "--resume", "o"]).run(&dir);
    assert!(
        stdout.contains("resuming from o/checkpoints/epoch-000000009 after epoch 9 of 10"),
        "{stdout}"
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn a_checkpoint_of_another_run_is_refused() {
    let dir = temp_dir("resume-other");
    let data = table(&dir);
    let train = Train::new(&data, "y1").args(&["--epochs", "4", "--out", "o", "--quiet"]);
    train.clone().args(&["--checkpoint-every", "2"]).run(&dir);
    let fails = |extra: &[&str]| run_refused(&dir, &train.clone().args(extra).argv());
    let err = fails(&["--resume", "o", "--lr", "0.5"]);
    assert!(
        err.contains("belongs to another run") && err.contains("lr 0.01 (the run has 0.5)"),
        "{err}"
    );
    let err = fails(&["--resume", "o", "--features", "x1"]);
    assert!(err.contains("belongs to another run"), "{err}");
    let err = fails(&["--resume", "nowhere"]);
    assert!(err.contains("no checkpoint in nowhere"), "{err}");
    let err = fails(&["--checkpoint-every", "0"]);
    assert!(err.contains("--checkpoint-every = 0 is invalid"), "{err}");
    let err = fails(&["--resume", "o", "--solver", "exact"]);
    assert!(err.contains("apply to gradient descent"), "{err}");
    // A damaged checkpoint is refused in one sentence.
    let ckpt = dir.join("o/checkpoints/epoch-000000004");
    std::fs::write(ckpt.join("optimizer.mpk"), b"\x81\xa4item\xc0").expect("write");
    let err = fails(&["--resume", "o"]);
    assert!(
        err.contains("is not a usable linreg checkpoint") && err.contains("optimizer.mpk"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

/// Sends `signal` to a training run once it has started, and checks what it leaves.
fn interrupt(name: &str, signal: &str, want_code: i32) {
    let dir = temp_dir(name);
    let data = table(&dir);
    let train = |epochs: &str| {
        Train::new(&data, "y1,y2").args(&[
            "--epochs",
            epochs,
            "--log-every",
            "500",
            "--optimizer",
            "sgd",
            "--momentum",
            "0.5",
        ])
    };
    let args = train("2500");
    // An earlier run's files in --out, which the interrupted run must not touch.
    train("3").args(&["--out", "out", "--quiet"]).run(&dir);
    let before = snapshot(&dir.join("out"));

    let backend: &[&str] = if cfg!(feature = "ndarray") {
        &["--backend", "ndarray"]
    } else {
        &[]
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_linreg"))
        .args(args.argv())
        .args(["--out", "out"])
        .args(backend)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("linreg starts");
    // The binary says when training (and its signal handler) has started.
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    while !line.contains("Ctrl-C stops after the current epoch") {
        line.clear();
        assert!(
            stdout.read_line(&mut line).expect("read") > 0,
            "training never started"
        );
    }
    let pid = child.id().to_string();
    // The shell's own `kill` (no procps needed), as a user's `kill -INT PID` would.
    let status = Command::new("sh")
        .args(["-c", &format!("kill {signal} {pid}")])
        .status()
        .expect("sh runs");
    assert!(status.success());
    let out = child.wait_with_output().expect("exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(want_code), "{stderr}");
    assert!(stderr.contains("interrupted ("), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Nothing that was in --out changed; a checkpoint was added.
    for (file, bytes) in &before {
        assert_eq!(
            &std::fs::read(dir.join("out").join(file)).expect("still there"),
            bytes,
            "{file} was changed"
        );
    }
    let checkpoints = listing(&dir.join("out/checkpoints"));
    assert_eq!(checkpoints.len(), 1, "{checkpoints:?}");
    let ckpt = format!("out/checkpoints/{}", checkpoints[0]);
    assert!(stderr.contains(&format!("--resume {ckpt}")), "{stderr}");

    // Resumed with the command it printed (here: the same arguments plus --resume), the run
    // ends exactly as an uninterrupted one.
    let resumed = args
        .clone()
        .args(&["--out", "out", "--quiet", "--resume", &ckpt])
        .summary(&dir);
    let straight = args.args(&["--out", "straight", "--quiet"]).summary(&dir);
    assert_eq!(comparable(resumed), comparable(straight));
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[cfg(unix)]
#[test]
fn sigint_saves_a_checkpoint_and_the_resumed_run_ends_as_the_uninterrupted_one() {
    interrupt("resume-sigint", "-INT", 130);
}

#[cfg(unix)]
#[test]
fn sigterm_saves_a_checkpoint_too() {
    interrupt("resume-sigterm", "-TERM", 143);
}
