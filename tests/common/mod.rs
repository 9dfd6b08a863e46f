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
    succeeded(&linreg_cpu(dir, args), args)
}

/// Runs `linreg ARGS` as given (no backend added: for runs that name their own `--backend`)
/// and returns its stdout and stderr, failing the test if it fails.
pub fn run_ok_as_given(dir: &Path, args: &[&str]) -> (String, String) {
    succeeded(&linreg(dir, args), args)
}

/// Stdout and stderr of the run of `linreg ARGS`, failing the test if it failed.
fn succeeded(out: &Output, args: &[&str]) -> (String, String) {
    let (stdout, stderr) = text(out);
    assert!(out.status.success(), "linreg {args:?} failed:\n{stderr}");
    (stdout, stderr)
}

/// Runs `linreg ARGS` on the CPU backend (see [`linreg_cpu`]), checks that it fails, and
/// returns its stderr.
pub fn run_err(dir: &Path, args: &[&str]) -> String {
    let out = linreg_cpu(dir, args);
    let (stdout, stderr) = text(&out);
    assert!(
        !out.status.success(),
        "linreg {args:?} should fail:\n{stdout}{stderr}"
    );
    stderr
}

/// [`run_err`], and the failure is a message, not a panic.
pub fn run_refused(dir: &Path, args: &[&str]) -> String {
    let stderr = run_err(dir, args);
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Checks that `stderr` contains every one of `needles`.
pub fn assert_says(stderr: &str, needles: &[&str]) {
    for needle in needles {
        assert!(stderr.contains(needle), "lacks {needle:?}:\n{stderr}");
    }
}

/// A `linreg train` command line: `train --data DATA [--test TEST] --target TARGET`, then
/// the other arguments in the order given; run on the CPU backend (see [`linreg_cpu`]).
#[derive(Clone, Debug)]
pub struct Train {
    args: Vec<String>,
}

impl Train {
    /// `train --data DATA --target TARGET`.
    pub fn new(data: &str, target: &str) -> Self {
        let args = ["train", "--data", data, "--target", target];
        Self {
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// `train --data DATA --test DATA --target TARGET`: every row of DATA trains, and DATA is
    /// the test table too.
    pub fn all_rows(data: &str, target: &str) -> Self {
        Self::new(data, target).test(data)
    }

    /// Adds `--test TEST` after `--data DATA`.
    pub fn test(mut self, test: &str) -> Self {
        self.args
            .splice(3..3, ["--test".to_string(), test.to_string()]);
        self
    }

    /// Appends `extra` to the command line.
    pub fn args(mut self, extra: &[&str]) -> Self {
        self.args.extend(extra.iter().map(|a| a.to_string()));
        self
    }

    /// The command line's arguments.
    pub fn argv(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }

    /// The value of the last `--out`.
    pub fn out(&self) -> &str {
        let at = self
            .args
            .iter()
            .rposition(|a| a == "--out")
            .unwrap_or_else(|| panic!("no --out in {:?}", self.args));
        &self.args[at + 1]
    }

    /// Runs it (see [`run_ok`]): stdout and stderr, failing the test if it fails.
    pub fn run(&self, dir: &Path) -> (String, String) {
        run_ok(dir, &self.argv())
    }

    /// Runs it and returns the `summary.json` it wrote in its `--out`.
    pub fn summary(&self, dir: &Path) -> Value {
        self.run(dir);
        summary(dir, self.out())
    }

    /// Runs it expecting failure (see [`run_err`]) and returns stderr.
    pub fn fails(&self, dir: &Path) -> String {
        run_err(dir, &self.argv())
    }
}

/// `OUT/summary.json` in `dir`, parsed.
pub fn summary(dir: &Path, out: &str) -> Value {
    json(&dir.join(out).join("summary.json"))
}

/// `OUT/model.json` in `dir`, parsed.
pub fn model_json(dir: &Path, out: &str) -> Value {
    json(&dir.join(out).join("model.json"))
}

/// Runs `linreg generate --rows ROWS --features FEATURES EXTRA --output OUTPUT` (see
/// [`run_ok`]) and returns its stdout.
pub fn generate(dir: &Path, rows: usize, features: usize, extra: &[&str], output: &str) -> String {
    let (r, p) = (rows.to_string(), features.to_string());
    let mut args = vec!["generate", "--rows", &r, "--features", &p];
    args.extend_from_slice(extra);
    args.extend(["--output", output]);
    run_ok(dir, &args).0
}

/// Runs `linreg evaluate --model MODEL --data DATA EXTRA --json` (see [`run_ok`]) and returns
/// what it printed, parsed.
pub fn evaluate_json(dir: &Path, model: &str, data: &str, extra: &[&str]) -> Value {
    let mut args = vec!["evaluate", "--model", model, "--data", data];
    args.extend_from_slice(extra);
    args.push("--json");
    stdout_json(&run_ok(dir, &args).0)
}

/// Stdout of a `--json` run, parsed: the JSON alone.
pub fn stdout_json(stdout: &str) -> Value {
    serde_json::from_str(stdout).expect("--json prints JSON only")
}

/// Writes `text` to `dir/name` and returns the file's path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// The entries of `dir` (sorted) with their bytes; an entry that cannot be read (a directory)
/// has none.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    listing(dir)
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap_or_default();
            (n, bytes)
        })
        .collect()
}

/// The numbers in a line like `Epoch 50: Train Loss = 0.058…, Test Loss = 0.068…`.
pub fn epoch_line(line: &str) -> Option<(u64, f64, f64)> {
    let rest = line.strip_prefix("Epoch ")?;
    let (epoch, rest) = rest.split_once(": Train Loss = ")?;
    let (train, test) = rest.split_once(", Test Loss = ")?;
    Some((epoch.parse().ok()?, train.parse().ok()?, test.parse().ok()?))
}

/// The `Epoch N: Train Loss = a, Test Loss = b` lines of the output.
pub fn epoch_lines(stdout: &str) -> Vec<(u64, f64, f64)> {
    stdout.lines().filter_map(epoch_line).collect()
}

/// `|got − want| / |want| < tol` for each `row[j]` (a JSON number) and `want[j]`, with a
/// message naming `what` and `j`.
pub fn assert_each_rel(what: &str, row: &Value, want: &[f64], tol: f64) {
    for (j, want) in want.iter().enumerate() {
        assert_rel(&format!("{what}[{j}]"), f(&row[j]), *want, tol);
    }
}

/// `|got − want| / |want| < tol`, with a message naming what was compared.
pub fn assert_rel(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        ((got - want) / want).abs() < tol,
        "{what}: {got} vs {want} (relative tolerance {tol:e})"
    );
}

/// Ordinary least squares on scikit-learn's diabetes table (`tests/fixtures/diabetes.csv`: 442
/// patients, 10 features, target `progression`), computed by
/// `python3 tools/ols_reference.py tests/fixtures/diabetes.csv progression` (NumPy 2.4.6
/// `lstsq` in f64 on the table in f64, as `--solver exact --loss mse` reads it): the weights.
pub const DIABETES_OLS_WEIGHT: [f64; 10] = [
    -0.036361224223630265,
    -22.85964809049842,
    5.602962091923681,
    1.1168079933181856,
    -1.0899963340632295,
    0.7464504555142166,
    0.3720047150891398,
    6.533831935990305,
    68.48312496478817,
    0.28011698932150486,
];

/// The bias of [`DIABETES_OLS_WEIGHT`]'s fit.
pub const DIABETES_OLS_BIAS: f64 = -334.567_138_518_786_46;
