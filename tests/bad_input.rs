//! Bad input: one clear message naming the problem and the fix, a non-zero exit, and nothing
//! written (or nothing good overwritten).

mod common;

use common::{linreg, linreg_env, listing, temp_dir, text};

/// Runs `linreg ARGS --out out` in a fresh directory and checks that it fails with a message
/// containing `needle` and leaves the directory empty.
fn refused(name: &str, args: &[&str], needle: &str) {
    refused_env(name, args, &[], needle);
}

fn refused_env(name: &str, args: &[&str], env: &[(&str, &str)], needle: &str) {
    let dir = temp_dir(name);
    let mut all = args.to_vec();
    all.extend(["--out", "out"]);
    let out = linreg_env(&dir, &all, env);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{name}: should fail\n{stdout}");
    assert!(
        stderr.contains(needle),
        "{name}: stderr lacks {needle:?}:\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "{name}: a panic, not a message:\n{stderr}"
    );
    // Mesa's Vulkan driver may add harmless XDG_RUNTIME_DIR lines; everything else is ours.
    // clap's usage errors add a tip and the usage line; ours are one line.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .collect();
    if !needle.starts_with("unexpected") && !needle.starts_with("invalid value") {
        assert_eq!(
            ours.len(),
            1,
            "{name}: one clear message, not a trace:\n{stderr}"
        );
    }
    assert!(ours[0].starts_with("error: "), "{name}: {stderr}");
    assert!(
        listing(&dir).is_empty(),
        "{name}: wrote {:?}",
        listing(&dir)
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn invalid_hyperparameters_are_refused_before_any_work() {
    refused(
        "lr",
        &["--lr", "-1"],
        "--lr = -1 is invalid: expected a positive finite number",
    );
    refused(
        "epochs",
        &["--epochs", "0"],
        "--epochs = 0 is invalid: expected at least 1",
    );
    refused(
        "log-every",
        &["--log-every", "0"],
        "--log-every = 0 is invalid",
    );
    refused(
        "fraction",
        &["--train-fraction", "1.5"],
        "train fraction = 1.5 is invalid: a number strictly between 0 and 1",
    );
    refused(
        "tiny-split",
        &["--train-fraction", "0.01"],
        "leaves 0 training and 50 test rows",
    );
    refused("step", &["--step", "0"], "step = 0 is invalid");
    refused(
        "init",
        &["--init-weight", "NaN"],
        "--init-weight must be a finite number",
    );
    refused(
        "weight",
        &["--weight", "inf"],
        "weight = inf is invalid: a finite number",
    );
}

#[test]
fn unknown_options_are_refused_with_usage() {
    refused(
        "unknown",
        &["--learning-rate", "0.1"],
        "unexpected argument '--learning-rate'",
    );
    refused(
        "not-a-number",
        &["--lr", "fast"],
        "invalid value 'fast' for '--lr <LR>'",
    );
}

#[test]
fn out_that_is_a_file_is_refused_and_kept() {
    let dir = temp_dir("out-file");
    std::fs::write(dir.join("out"), b"precious").expect("write");
    let out = linreg(&dir, &["--epochs", "1", "--out", "out"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--out out is a file, not a directory"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(dir.join("out")).expect("read"), b"precious");
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[test]
fn diverging_run_keeps_the_good_model() {
    let dir = temp_dir("diverge");
    let good = linreg(&dir, &["--epochs", "5", "--out", "out"]);
    assert!(good.status.success(), "{}", text(&good).1);
    let before: Vec<Vec<u8>> = ["model.mpk", "model.json", "summary.json"]
        .iter()
        .map(|f| std::fs::read(dir.join("out").join(f)).expect("file"))
        .collect();

    // Each step moves w by lr·mean(x) ≈ 4e37: w overflows to infinity within a few epochs.
    let bad = linreg(&dir, &["--lr", "1e38", "--epochs", "10", "--out", "out"]);
    let (_, stderr) = text(&bad);
    assert!(!bad.status.success());
    assert!(stderr.contains("training diverged"), "{stderr}");
    assert!(
        stderr.contains("try a smaller learning rate than 1e38"),
        "{stderr}"
    );
    let after: Vec<Vec<u8>> = ["model.mpk", "model.json", "summary.json"]
        .iter()
        .map(|f| std::fs::read(dir.join("out").join(f)).expect("file"))
        .collect();
    assert_eq!(
        before, after,
        "the good model and its summary are untouched"
    );
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[cfg(not(feature = "wgpu"))]
#[test]
fn backend_missing_from_the_build_is_named() {
    refused(
        "no-wgpu",
        &["--backend", "wgpu"],
        "built without the wgpu backend; rebuild it with `--features wgpu`",
    );
}

#[cfg(not(feature = "ndarray"))]
#[test]
fn backend_missing_from_the_build_is_named() {
    refused(
        "no-ndarray",
        &["--backend", "ndarray"],
        "built without the ndarray backend",
    );
}

#[cfg(feature = "wgpu")]
#[test]
fn no_gpu_adapter_is_one_sentence_with_the_fix() {
    // Point the Vulkan loader at no driver: wgpu then finds no adapter.
    refused_env(
        "no-adapter",
        &["--backend", "wgpu"],
        &[
            ("VK_ICD_FILENAMES", "/nonexistent"),
            ("VK_DRIVER_FILES", "/nonexistent"),
        ],
        "no GPU adapter found for the wgpu backend; install a Vulkan driver",
    );
}
