//! Bit-level parity with PyTorch on the tutorial, from many starting points.
//!
//! `tests/fixtures/pytorch_tutorial_starts.json` holds what the tutorial's PyTorch loop
//! printed and reached from 69 starting points (`torch.manual_seed(s)` draws, random and
//! chosen `(w, b)`); `tests/fixtures/pytorch_sums.json` holds PyTorch's float32 sums of 1,232
//! generated arrays. Both are written by `tools/pytorch_reference.py`. On the CPU backend every
//! logged loss, every 25th epoch's parameters and the final parameters and losses must equal
//! PyTorch's to the last bit, through the library and through the binary.
//!
//! (On the GPU backends the same runs agree only to f32 rounding: shader compilers may fuse
//! `x·w + b` and reduce in tree order, so `tests/trace_parity.rs` checks wgpu with a
//! tolerance.)

#![cfg(feature = "ndarray")]

mod common;

use std::thread;

use burn::backend::{Autodiff, NdArray};
use burn::module::AutodiffModule;
use burn::tensor::ElementConversion;
use common::{epoch_lines, linreg_cpu, temp_dir, text};
use linreg_data::rng::SplitMix64;
use linreg_data::{LineSpec, Split};
use linreg_model::{LinearParams, LrModelConfig};
use linreg_train::{train, LogEntry, TrainConfig, Trainer};
use serde_json::Value;

type B = Autodiff<NdArray>;

fn starts() -> Vec<Value> {
    let doc: Value =
        serde_json::from_str(include_str!("fixtures/pytorch_tutorial_starts.json")).expect("JSON");
    assert_eq!(doc["epochs"], 500);
    doc["starts"].as_array().expect("starts").clone()
}

/// A float stored as Python's repr of a float32: parses back to exactly that float32.
fn f32_of(v: &Value) -> f32 {
    let s = v.as_str().expect("a repr string");
    let x: f64 = s.parse().expect("a number");
    assert_eq!(f64::from(x as f32), x, "{s} is not a float32 value");
    x as f32
}

fn same(what: &str, got: f32, want: f32) {
    assert!(
        got.to_bits() == want.to_bits(),
        "{what}: linreg {got:e}, PyTorch {want:e}"
    );
}

fn name(start: &Value) -> String {
    format!(
        "{} (w = {}, b = {})",
        start["source"].as_str().unwrap_or("?"),
        start["w"],
        start["b"]
    )
}

/// PyTorch's float sum (ATen's cascade sum) reproduced by `linreg_fused::cascade`.
#[test]
fn cascade_sum_equals_pytorchs_sum() {
    let doc: Value =
        serde_json::from_str(include_str!("fixtures/pytorch_sums.json")).expect("JSON");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() > 1000);
    for case in cases {
        let n = case[0].as_u64().expect("len") as usize;
        let seed = case[1].as_u64().expect("seed");
        let kind = case[2].as_str().expect("kind");
        let want = case[3].as_u64().expect("bits") as u32;
        let values = values(n, seed, kind);
        let got = linreg_fused::cascade::sum(&values);
        assert_eq!(
            got.to_bits(),
            want,
            "{kind} sum of {n} values (seed {seed}): {got:e}"
        );
    }
}

/// The arrays of `sum_values` in `tools/pytorch_reference.py`: exact float32 operations on
/// SplitMix64 draws.
fn values(n: usize, seed: u64, kind: &str) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let inv = 1.0f32 / n as f32;
    (0..n)
        .map(|_| {
            let z = rng.next_u64();
            let u = ((z >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 4.0;
            match kind {
                "uniform" => u,
                "sign" => ((z % 3) as i64 - 1) as f32 * inv,
                "abs" => u.abs() * 0.1f32,
                "wide" => u * 2f32.powi(((z >> 32) % 20) as i32 - 10),
                other => panic!("unknown kind {other}"),
            }
        })
        .collect()
}

fn model_at(start: &Value) -> linreg_model::LrModel<B> {
    LrModelConfig::new()
        .init::<B>(&Default::default())
        .with_params(&LinearParams {
            weight: vec![vec![f32_of(&start["w"])]],
            bias: vec![f32_of(&start["b"])],
        })
        .expect("params")
}

#[test]
fn library_follows_pytorch_from_every_start() {
    let split = Split::ordered(LineSpec::default().generate().expect("data"), 0.8).expect("split");
    let device = Default::default();
    let config = TrainConfig::new();
    let starts = starts();
    assert!(starts.len() >= 60);
    for start in &starts {
        let who = name(start);
        // Every 25th epoch's parameters, step by step.
        let mut model = model_at(start);
        let mut trainer = Trainer::new(&model, &split, &config, &device).expect("trainer");
        let params = start["params"].as_array().expect("params");
        for epoch in 0..500 {
            if epoch % 25 == 0 {
                let p = model.params();
                let want = &params[epoch / 25];
                same(
                    &format!("{who}: w before epoch {epoch}"),
                    p.weight[0][0],
                    f32_of(&want[0]),
                );
                same(
                    &format!("{who}: b before epoch {epoch}"),
                    p.bias[0],
                    f32_of(&want[1]),
                );
            }
            let (next, loss) = trainer.step(model);
            model = next;
            if epoch % 50 == 0 {
                let logged = &start["logged"][epoch / 50];
                let loss: f32 = loss.into_scalar().elem();
                same(
                    &format!("{who}: train loss at epoch {epoch}"),
                    loss,
                    f32_of(&logged[1]),
                );
                let test = trainer.test_loss(&model.valid()) as f32;
                same(
                    &format!("{who}: test loss at epoch {epoch}"),
                    test,
                    f32_of(&logged[2]),
                );
            }
        }
        // The whole loop, as `train` runs it: logged losses, final parameters and losses.
        let mut logged: Vec<LogEntry> = Vec::new();
        let trained = train(
            model_at(start),
            &split,
            &config,
            &device,
            &mut |e: &LogEntry| logged.push(*e),
        )
        .expect("train");
        for (entry, want) in logged
            .iter()
            .zip(start["logged"].as_array().expect("logged"))
        {
            same(
                &format!("{who}: logged train loss"),
                entry.train_loss as f32,
                f32_of(&want[1]),
            );
            same(
                &format!("{who}: logged test loss"),
                entry.test_loss as f32,
                f32_of(&want[2]),
            );
        }
        let p = trained.model.params();
        let fin = &start["final"];
        same(
            &format!("{who}: final w"),
            p.weight[0][0],
            f32_of(&fin["w"]),
        );
        same(&format!("{who}: final b"), p.bias[0], f32_of(&fin["b"]));
        same(
            &format!("{who}: final train loss"),
            trained.train_loss as f32,
            f32_of(&fin["train_loss"]),
        );
        same(
            &format!("{who}: final test loss"),
            trained.test_loss as f32,
            f32_of(&fin["test_loss"]),
        );
    }
    // The starts include ones where the order of the bias-gradient sum decides the result.
    assert!(starts
        .iter()
        .any(|s| s["source"].as_str() == Some("torch.manual_seed(4); nn.Linear(1, 1)")));
}

fn check_binary_run(start: &Value, dir: &std::path::Path) {
    let who = name(start);
    let (w, b) = (
        start["w"].as_str().expect("w"),
        start["b"].as_str().expect("b"),
    );
    let out = linreg_cpu(
        dir,
        &["--init-weight", w, "--init-bias", b, "--out", "artifacts"],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{who}: linreg failed:\n{stderr}");
    let printed = epoch_lines(&stdout);
    let logged = start["logged"].as_array().expect("logged");
    assert_eq!(
        printed.len(),
        logged.len(),
        "{who}: epoch lines in\n{stdout}"
    );
    for ((epoch, train, test), want) in printed.iter().zip(logged) {
        assert_eq!(*epoch, want[0].as_u64().expect("epoch"), "{who}");
        same(
            &format!("{who}: printed train loss at {epoch}"),
            *train as f32,
            f32_of(&want[1]),
        );
        same(
            &format!("{who}: printed test loss at {epoch}"),
            *test as f32,
            f32_of(&want[2]),
        );
        // Printed exactly as Python prints the float32 value (shortest round-trip digits).
        assert_eq!(
            f64::from(*train as f32),
            *train,
            "{who}: {train} is not a float32 value"
        );
    }
    let summary = common::json(&dir.join("artifacts/summary.json"));
    let fin = &start["final"];
    let final_w = summary["final"]["weight"][0][0].as_f64().expect("weight") as f32;
    let final_b = summary["final"]["bias"][0].as_f64().expect("bias") as f32;
    same(
        &format!("{who}: final w (summary.json)"),
        final_w,
        f32_of(&fin["w"]),
    );
    same(
        &format!("{who}: final b (summary.json)"),
        final_b,
        f32_of(&fin["b"]),
    );
    let final_train = summary["train_loss"].as_f64().expect("train loss") as f32;
    same(
        &format!("{who}: final train loss"),
        final_train,
        f32_of(&fin["train_loss"]),
    );
    let final_test = summary["test_loss"].as_f64().expect("test loss") as f32;
    same(
        &format!("{who}: final test loss"),
        final_test,
        f32_of(&fin["test_loss"]),
    );
}

#[test]
fn binary_prints_pytorchs_numbers_from_every_start() {
    let starts = starts();
    // Two at a time: each run is a process of its own.
    let halves: Vec<Vec<Value>> = vec![
        starts.iter().step_by(2).cloned().collect(),
        starts.iter().skip(1).step_by(2).cloned().collect(),
    ];
    thread::scope(|scope| {
        for (i, half) in halves.iter().enumerate() {
            scope.spawn(move || {
                let dir = temp_dir(&format!("pytorch-starts-{i}"));
                for start in half {
                    check_binary_run(start, &dir);
                }
                let _ = std::fs::remove_dir_all(&dir);
            });
        }
    });
}
