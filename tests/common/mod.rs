//! Helpers shared by the end-to-end tests: the PyTorch reference and running the binary.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// What PyTorch printed and saved for the tutorial with `torch.manual_seed(42)`
/// (copied from the project's shared reference into `tests/fixtures/`).
pub fn reference() -> Value {
    let text = include_str!("../fixtures/pytorch_seed42_trace.json");
    serde_json::from_str(text).expect("fixture is valid JSON")
}

/// The backends this build can run, by their `--backend` names.
pub fn backends() -> Vec<&'static str> {
    let mut b = Vec::new();
    if cfg!(feature = "ndarray") {
        b.push("ndarray");
    }
    if cfg!(feature = "wgpu") {
        b.push("wgpu");
    }
    b
}

/// A fresh, empty directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linreg-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs the `linreg` binary with `args`, in `cwd`.
pub fn linreg(cwd: &Path, args: &[&str]) -> Output {
    linreg_env(cwd, args, &[])
}

/// Runs `linreg ARGS` on the CPU backend when this build has it: tests of the commands'
/// logic need no GPU, and lavapipe would only make them slow. Backend parity is tested apart.
pub fn linreg_cpu(cwd: &Path, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    if cfg!(feature = "ndarray") {
        all.extend(["--backend", "ndarray"]);
    }
    linreg_env(cwd, &all, &[])
}

/// Runs the `linreg` binary with `args` and extra environment variables, in `cwd`.
pub fn linreg_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linreg"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .output()
        .expect("the linreg binary runs")
}

/// Stdout and stderr as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Names of the entries of `dir`, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `|a − b| ≤ tol`, with a message naming what was compared.
pub fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, PyTorch {want} (|Δ| = {:e} > {tol:e})",
        (got - want).abs()
    );
}

/// A JSON file, parsed.
pub fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("file exists")).expect("valid JSON")
}

/// A JSON number.
pub fn f(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

/// The path of a file in `tests/fixtures/`.
pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// Runs `linreg ARGS` on the CPU backend (see [`linreg_cpu`]) and returns its stdout and
/// stderr, failing the test if it fails.
pub fn run_ok(dir: &Path, args: &[&str]) -> (String, String) {
    let out = linreg_cpu(dir, args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "linreg {args:?} failed:\n{stderr}");
    (stdout, stderr)
}
