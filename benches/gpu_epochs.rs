//! Epoch times on the GPU backends this build has (wgpu, cuda): a synthetic `rows × 16` table
//! (`linreg generate`'s generator, seed 0) moved to the device once, then MSE + SGD epochs,
//! full batch and in 1024-row batches, with the fused step and with the plain one.
//!
//! ```text
//! tools/gpu_epochs.sh                                              # on a machine with a GPU
//! LINREG_GPU_ROWS=1000000,10000000 cargo bench --bench gpu_epochs --no-default-features --features wgpu,cuda
//! LINREG_GPU_ROWS=20000 cargo bench --bench gpu_epochs --features wgpu   # a smoke run (lavapipe)
//! ```
//!
//! Each figure is the median of several epochs after a warm-up epoch (kernel compilation), and
//! waits for the device at the end of every epoch (reading the loss back).

use std::time::Instant;

use linreg_data::{Split, Standardizer, SyntheticSpec};
use linreg_model::LrModelConfig;
use linreg_train::{DeviceSplit, FusedAutodiffBackend, LossKind, TrainConfig, TrainStep, Trainer};

fn rows_list() -> Vec<usize> {
    std::env::var("LINREG_GPU_ROWS")
        .ok()
        .map(|v| v.split(',').filter_map(|r| r.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000_000, 10_000_000])
}

fn table(rows: usize) -> Split {
    let s = SyntheticSpec {
        rows,
        features: 16,
        targets: 1,
        noise: 0.1,
        seed: 0,
    }
    .generate()
    .expect("table");
    let names = s.feature_names.clone();
    let mut split = Split::ordered(s.data, 0.8).expect("split");
    let st = Standardizer::fit(&split.train.x, &names).expect("standardize");
    st.apply(&mut split.train.x);
    st.apply(&mut split.test.x);
    split
}

#[allow(dead_code)] // unused in a build without a GPU backend
fn bench<B: FusedAutodiffBackend>(name: &str, device: &B::Device, split: &Split) {
    let data = DeviceSplit::<B::InnerBackend>::copied(split, device);
    let rows = data.train.len();
    for step in [TrainStep::Fused, TrainStep::Plain] {
        for (label, batch) in [("full batch", None), ("1024-row batches", Some(1024))] {
            let epochs = match (batch, rows > 2_000_000) {
                (None, _) => 11,
                (Some(_), false) => 3,
                (Some(_), true) => 2,
            };
            let config = TrainConfig::new()
                .with_loss(LossKind::Mse)
                .with_lr(0.01)
                .with_batch_size(batch)
                .with_train_step(step);
            let mut model = LrModelConfig::new().with_d_input(16).init::<B>(device);
            let mut trainer = Trainer::on_device(&model, data.clone(), &config).expect("trainer");
            let mut times = Vec::new();
            for e in 0..=epochs {
                let t = Instant::now();
                let (next, loss) = trainer.step(model);
                model = next;
                let _ = loss.into_scalar(); // wait for the device
                if e > 0 {
                    times.push(t.elapsed().as_secs_f64());
                }
            }
            times.sort_by(f64::total_cmp);
            println!(
                "{name}: {rows} training rows × 16, {} step, {label}: epoch median {:.3} ms (min {:.3} ms, {epochs} epochs)",
                step.name(),
                times[times.len() / 2] * 1e3,
                times[0] * 1e3
            );
        }
    }
}

fn main() {
    for rows in rows_list() {
        let t = Instant::now();
        let split = table(rows);
        println!(
            "table: {rows} rows × 16 features, generated in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        #[cfg(feature = "wgpu")]
        {
            use burn::backend::{Autodiff, Wgpu};
            bench::<Autodiff<Wgpu>>("wgpu", &Default::default(), &split);
        }
        #[cfg(feature = "cuda")]
        {
            use burn::backend::{Autodiff, Cuda};
            bench::<Autodiff<Cuda>>("cuda", &Default::default(), &split);
        }
        #[cfg(not(any(feature = "wgpu", feature = "cuda")))]
        println!("this build has no GPU backend: build with --features wgpu and/or cuda");
        drop(split);
    }
}
