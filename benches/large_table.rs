//! A 1,000,000 × 16 table: CSV load rate, epoch times (fused and plain steps, full batch and in
//! 1024-row batches), the fused kernel alone, and the exact solve.
//!
//! ```text
//! cargo bench --bench large_table                        # ndarray
//! LINREG_BENCH_ROWS=100000 cargo bench --bench large_table
//! LINREG_BENCH_TABLE=big.csv cargo bench --bench large_table   # an existing table (target y)
//! LINREG_BENCH_QUICK=1 cargo bench --bench large_table   # epochs only (what tools/bench_vs_pytorch.py runs)
//! ```
//!
//! The generated table is the one `linreg generate --rows 1000000 --features 16 --seed 0` writes.
//! Lines starting with `RESULT` are for `tools/bench_vs_pytorch.py`.

use std::path::PathBuf;
use std::time::Instant;

use burn::backend::{Autodiff, NdArray};
use burn::prelude::*;
use linreg_data::{read_table, Columns, CsvOptions, Split, Standardizer, SyntheticSpec};
use linreg_fused::{FusedLoss, FusedOptions, FusedRegressionBackend};
use linreg_model::LrModelConfig;
use linreg_solve::{least_squares, least_squares_qr, View};
use linreg_train::{DeviceSplit, FusedAutodiffBackend, LossKind, TrainConfig, TrainStep, Trainer};

fn median(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0])
}

fn main() {
    let quick = std::env::var("LINREG_BENCH_QUICK").is_ok();
    let (path, cleanup) = match std::env::var("LINREG_BENCH_TABLE") {
        Ok(p) => (PathBuf::from(p), None),
        Err(_) => {
            let rows: usize = std::env::var("LINREG_BENCH_ROWS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1_000_000);
            let dir = std::env::temp_dir().join(format!("linreg-bench-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            let path = dir.join("table.csv");
            let s = SyntheticSpec {
                rows,
                features: 16,
                targets: 1,
                noise: 0.1,
                seed: 0,
            }
            .generate()
            .expect("spec");
            s.write_csv(std::fs::File::create(&path).expect("file"))
                .expect("write");
            (path, Some(dir))
        }
    };
    let bytes = std::fs::metadata(&path).expect("meta").len() as f64;
    let columns = Columns {
        targets: vec!["y".into()],
        features: None,
    };
    let mut loads = Vec::new();
    let mut table = None;
    for _ in 0..if quick { 1 } else { 3 } {
        let t = Instant::now();
        table = Some(read_table(&path, &columns, &CsvOptions::default()).expect("read"));
        loads.push(t.elapsed().as_secs_f64());
    }
    let table = table.expect("table");
    let (load, _) = median(loads);
    println!(
        "table: {} rows × {} features, {:.1} MB; load: median {load:.3} s = {:.0} MB/s",
        table.data.len(),
        table.features.len(),
        bytes / 1e6,
        bytes / 1e6 / load
    );
    println!("RESULT load_s {load:.4}");
    if !quick {
        exact("f32", &table.data.x, &table.data.y);
        let wide = table.data.cast::<f64>();
        exact("f64", &wide.x, &wide.y);
        drop(wide);
    }
    let mut split = Split::ordered(table.data, 0.8).expect("split");
    let st = Standardizer::fit(&split.train.x, &table.features).expect("std");
    st.apply(&mut split.train.x);
    st.apply(&mut split.test.x);
    if let Some(dir) = cleanup {
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    let device = Default::default();
    let data = DeviceSplit::<NdArray>::new(split, &device);
    kernel::<NdArray>(&data, quick);
    epochs::<Autodiff<NdArray>>(&data, quick);
    if !quick {
        operations::<NdArray>(&data);
    }
}

/// Exact least squares on all rows: the normal-equations solve, checked against QR.
fn exact<T: linreg_data::Real + linreg_solve::Element>(
    label: &str,
    x: &linreg_data::Matrix<T>,
    y: &linreg_data::Matrix<T>,
) {
    let xv = View::new(x.rows(), x.cols(), x.values()).expect("x");
    let yv = View::new(y.rows(), y.cols(), y.values()).expect("y");
    let mut times = Vec::new();
    let mut fit = None;
    for _ in 0..5 {
        let t = Instant::now();
        fit = Some(least_squares(xv, yv, 0.0).expect("ols"));
        times.push(t.elapsed().as_secs_f64());
    }
    let fit = fit.expect("fit");
    let t = Instant::now();
    let qr = least_squares_qr(xv, yv, 0.0).expect("qr");
    let qr_s = t.elapsed().as_secs_f64();
    let worst = fit.weight[0]
        .iter()
        .chain(&fit.bias)
        .zip(qr.weight[0].iter().chain(&qr.bias))
        .map(|(a, b)| ((a - b) / b.abs().max(1e-12)).abs())
        .fold(0.0_f64, f64::max);
    let (med, min) = median(times);
    println!(
        "exact OLS, {label} input (least_squares: moments + Cholesky): median {med:.4} s (min {min:.4} s); \
         f64 QR: {qr_s:.3} s; largest relative difference {worst:.1e}"
    );
}

/// The fused operation alone on the inner backend (no autodiff, no optimizer): loss and
/// gradients of MSE over the training rows, and the same with residual sums (an evaluation).
fn kernel<B: FusedRegressionBackend>(data: &DeviceSplit<B>, quick: bool) {
    let device = data.train.x().device();
    let d = data.train.inputs();
    let w = Tensor::<B, 2>::ones([d, 1], &device).mul_scalar(0.1);
    let b = Tensor::<B, 1>::zeros([1], &device);
    for (label, options) in [
        (
            "loss + gradients",
            FusedOptions {
                loss: FusedLoss::Mse,
                gradients: true,
                residual_sums: false,
            },
        ),
        (
            "loss + residual sums (evaluation)",
            FusedOptions {
                loss: FusedLoss::Mse,
                gradients: false,
                residual_sums: true,
            },
        ),
    ] {
        let mut times = Vec::new();
        for _ in 0..if quick { 11 } else { 21 } {
            let t = Instant::now();
            let out = B::fused_regression(
                data.train.x().clone().into_primitive().tensor(),
                data.train.y().clone().into_primitive().tensor(),
                w.clone().into_primitive().tensor(),
                Some(b.clone().into_primitive().tensor()),
                None,
                options,
            );
            let loss =
                Tensor::<B, 1>::from_primitive(burn::tensor::TensorPrimitive::Float(out.loss));
            let _ = loss.into_scalar();
            times.push(t.elapsed().as_secs_f64());
        }
        let (med, min) = median(times);
        println!(
            "fused kernel, {label}, {} rows: median {:.2} ms (min {:.2} ms)",
            data.train.len(),
            med * 1e3,
            min * 1e3
        );
    }
}

fn epochs<B: FusedAutodiffBackend>(data: &DeviceSplit<B::InnerBackend>, quick: bool) {
    for step in [TrainStep::Fused, TrainStep::Plain] {
        for (label, batch, n) in [("full", None, 7), ("batch1024", Some(1024), 3)] {
            let n = if quick { n.min(5) } else { n };
            let config = TrainConfig::new()
                .with_loss(LossKind::Mse)
                .with_lr(0.01)
                .with_batch_size(batch)
                .with_train_step(step);
            let device = data.train.x().device();
            let mut model = LrModelConfig::new()
                .with_d_input(data.train.inputs())
                .init::<B>(&device);
            let mut trainer = Trainer::on_device(&model, data.clone(), &config).expect("trainer");
            let mut times = Vec::new();
            for _ in 0..n {
                let t = Instant::now();
                let (next, loss) = trainer.step(model);
                model = next;
                let _ = loss.into_scalar(); // wait for the device
                times.push(t.elapsed().as_secs_f64());
            }
            let (med, min) = median(times);
            println!(
                "{} step, {label} epoch: median {:.2} ms (min {:.2} ms; {n} epochs of {} rows)",
                step.name(),
                med * 1e3,
                min * 1e3,
                data.train.len()
            );
            println!("RESULT {}_{label}_ms {:.3}", step.name(), med * 1e3);
        }
    }
}

/// The Burn operations a plain full-batch epoch is made of, one at a time (median of 5).
fn operations<B: Backend>(data: &DeviceSplit<B>) {
    let x = data.train.x().clone();
    let device = x.device();
    let n = data.train.len();
    let w = Tensor::<B, 2>::ones([data.train.inputs(), 1], &device);
    let g = Tensor::<B, 2>::ones([n, 1], &device);
    let time = |label: &str, f: &dyn Fn() -> f32| {
        let t: Vec<f64> = (0..5)
            .map(|_| {
                let s = Instant::now();
                std::hint::black_box(f());
                s.elapsed().as_secs_f64()
            })
            .collect();
        let (med, _) = median(t);
        println!("plain op: {label:<44} {:>8.2} ms", med * 1e3);
    };
    time("x.matmul(w)  [n,16]·[16,1]", &|| {
        x.clone().matmul(w.clone()).sum().into_scalar().elem()
    });
    time("x.transpose().matmul(g)  [16,n]·[n,1]", &|| {
        x.clone()
            .transpose()
            .matmul(g.clone())
            .sum()
            .into_scalar()
            .elem()
    });
    time("g.sum_dim(0)  [n,1] → [1,1]", &|| {
        g.clone().sum_dim(0).into_scalar().elem()
    });
    time("(g − g).abs()", &|| {
        (g.clone() - g.clone()).abs().sum().into_scalar().elem()
    });
}
