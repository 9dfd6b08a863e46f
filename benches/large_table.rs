//! A 1,000,000 × 16 table: CSV load rate, and epoch times full batch and in 1024-row batches.
//!
//! ```text
//! cargo bench --bench large_table              # ndarray
//! LINREG_BENCH_ROWS=100000 cargo bench --bench large_table
//! ```
//!
//! The table is the one `linreg generate --rows 1000000 --features 16 --seed 0` writes.

use std::time::Instant;

use burn::backend::{Autodiff, NdArray};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use linreg_data::{read_table, Columns, CsvOptions, Split, Standardizer, SyntheticSpec};
use linreg_model::LrModelConfig;
use linreg_solve::{least_squares, least_squares_qr, View};
use linreg_train::FusedAutodiffBackend;
use linreg_train::{to_tensor, LossKind, TrainConfig, Trainer};

fn main() {
    let rows: usize = std::env::var("LINREG_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let features = 16;
    let dir = std::env::temp_dir().join(format!("linreg-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("table.csv");

    let s = SyntheticSpec {
        rows,
        features,
        targets: 1,
        noise: 0.1,
        seed: 0,
    }
    .generate()
    .expect("spec");
    let t = Instant::now();
    s.write_csv(std::fs::File::create(&path).expect("file"))
        .expect("write");
    let write_s = t.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&path).expect("meta").len() as f64;
    println!(
        "table: {rows} rows × {features} features, {:.1} MB (written in {write_s:.2} s)",
        bytes / 1e6
    );

    let columns = Columns {
        targets: vec!["y".into()],
        features: None,
    };
    let mut loads = Vec::new();
    let mut table = None;
    for _ in 0..3 {
        let t = Instant::now();
        table = Some(read_table(&path, &columns, &CsvOptions::default()).expect("read"));
        loads.push(t.elapsed().as_secs_f64());
    }
    loads.sort_by(f64::total_cmp);
    println!(
        "load: median {:.3} s = {:.0} MB/s ({:.2} M rows/s)",
        loads[1],
        bytes / 1e6 / loads[1],
        rows as f64 / 1e6 / loads[1]
    );
    let table = table.expect("table");
    exact(&table.data.x, &table.data.y);
    let mut split = Split::ordered(table.data, 0.8).expect("split");
    let st = Standardizer::fit(&split.train.x, &table.features).expect("std");
    st.apply(&mut split.train.x);
    st.apply(&mut split.test.x);
    std::fs::remove_dir_all(&dir).expect("cleanup");

    epochs::<Autodiff<NdArray>>("ndarray", &split, &Default::default());
    operations::<NdArray>("ndarray", &split, &Default::default());
}

/// Exact least squares on all rows: the normal-equations solve, checked against QR.
fn exact(x: &linreg_data::Matrix, y: &linreg_data::Matrix) {
    let xv = View::new(x.rows(), x.cols(), x.values()).expect("x");
    let yv = View::new(y.rows(), y.cols(), y.values()).expect("y");
    let mut times = Vec::new();
    let mut fit = None;
    for _ in 0..5 {
        let t = Instant::now();
        fit = Some(least_squares(xv, yv, 0.0).expect("ols"));
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
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
    println!(
        "exact OLS (normal equations + Cholesky): median {:.4} s (min {:.4} s); QR: {qr_s:.3} s; \
         largest relative difference {worst:.1e}",
        times[2], times[0]
    );
}

/// The Burn operations a full-batch epoch is made of, one at a time (median of 5).
fn operations<B: Backend>(name: &str, split: &Split, device: &B::Device) {
    let x = to_tensor::<B>(&split.train.x, device);
    let n = split.train.len();
    let w = Tensor::<B, 2>::ones([16, 1], device);
    let g = Tensor::<B, 2>::ones([n, 1], device);
    let time = |label: &str, f: &dyn Fn() -> f32| {
        let mut t: Vec<f64> = (0..5)
            .map(|_| {
                let s = Instant::now();
                std::hint::black_box(f());
                s.elapsed().as_secs_f64()
            })
            .collect();
        t.sort_by(f64::total_cmp);
        println!("{name} op: {label:<44} {:>8.2} ms", t[2] * 1e3);
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
    time("g.sum()", &|| g.clone().sum().into_scalar().elem());
    time("g.transpose().sum_dim(1)", &|| {
        g.clone().transpose().sum_dim(1).into_scalar().elem()
    });
    time("(g − g).abs()", &|| {
        (g.clone() - g.clone()).abs().sum().into_scalar().elem()
    });
}

fn epochs<B: FusedAutodiffBackend>(name: &str, split: &Split, device: &B::Device) {
    for (label, batch, n) in [("full batch", None, 5), ("batch 1024", Some(1024), 2)] {
        let config = TrainConfig::new()
            .with_loss(LossKind::Mse)
            .with_lr(0.01)
            .with_batch_size(batch);
        let mut model = LrModelConfig::new().with_d_input(16).init::<B>(device);
        let mut trainer = Trainer::new(&model, split, &config, device).expect("trainer");
        let mut times = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            let (next, loss) = trainer.step(model);
            model = next;
            let _ = loss.into_scalar(); // wait for the device
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name}, {label}: epoch median {:.3} s (min {:.3} s, {} epochs of {} training rows)",
            times[times.len() / 2],
            times[0],
            n,
            split.train.len()
        );
    }
}
