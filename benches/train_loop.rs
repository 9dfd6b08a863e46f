//! The tutorial's 500-epoch training loop, timed, fused and plain, and the pieces of one
//! epoch.
//!
//! ```text
//! cargo bench --bench train_loop                   # ndarray
//! cargo bench --bench train_loop --features wgpu   # ndarray and wgpu
//! ```
//!
//! Prints the median and the minimum of several repetitions. Numbers go to BENCHMARKS.md;
//! lines starting with `RESULT` are for `tools/bench_vs_pytorch.py`.

use std::time::{Duration, Instant};

use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use linreg_data::{LineSpec, Split};
use linreg_fused::regression_loss;
use linreg_model::{LinearParams, LrModel, LrModelConfig};
use linreg_train::{
    train, DeviceSplit, FusedAutodiffBackend, TorchSgd, TrainConfig, TrainStep, Trainer,
};

const REPS: usize = 25;

fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0])
}

fn report(what: &str, v: Vec<Duration>) -> f64 {
    let (median, min) = stats(v);
    println!(
        "  {what:<48} median {:>8.3} ms   min {:>8.3} ms   ({:.2} µs per epoch)",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e6 / 500.0
    );
    median.as_secs_f64() * 1e3
}

fn start<B: AutodiffBackend>(device: &B::Device) -> LrModel<B> {
    LrModelConfig::new()
        .init::<B>(device)
        .with_params(&LinearParams {
            weight: vec![vec![0.764_538_5]],
            bias: vec![0.830_007_9],
        })
        .expect("params")
}

fn bench<B: FusedAutodiffBackend>(name: &str, device: &B::Device) {
    println!("{name}:");
    let split = Split::ordered(LineSpec::default().generate().expect("data"), 0.8).expect("split");
    for step in [TrainStep::Fused, TrainStep::Plain] {
        let config = TrainConfig::new().with_train_step(step);
        // Warm up: first use initializes the device and its kernels.
        let _ = train(start::<B>(device), &split, &config, device, &mut ());

        let mut whole = Vec::new();
        for _ in 0..REPS {
            let model = start::<B>(device);
            let t = Instant::now();
            let trained = train(model, &split, &config, device, &mut ()).expect("train");
            std::hint::black_box(&trained.model);
            whole.push(t.elapsed());
        }
        let ms = report(
            &format!("{} step: train(), 500 epochs, 10 evaluations", step.name()),
            whole,
        );
        println!("RESULT {name}_{}_train_ms {ms:.4}", step.name());

        let mut steps = Vec::new();
        for _ in 0..REPS {
            let mut model = start::<B>(device);
            let mut trainer = Trainer::new(&model, &split, &config, device).expect("trainer");
            let t = Instant::now();
            for _ in 0..500 {
                model = trainer.step(model).0;
            }
            let _ = model.params(); // wait for the device
            steps.push(t.elapsed());
        }
        let ms = report(
            &format!("{} step: 500 × Trainer::step, no evaluation", step.name()),
            steps,
        );
        println!("RESULT {name}_{}_steps_ms {ms:.4}", step.name());
    }

    // The pieces of a fused epoch, each repeated 500 times.
    let data = DeviceSplit::<B::InnerBackend>::copied(&split, device);
    let x = burn::tensor::Tensor::<B, 2>::from_inner(data.train.x().clone());
    let y = burn::tensor::Tensor::<B, 2>::from_inner(data.train.y().clone());
    let mut fwd = Vec::new();
    let mut bwd = Vec::new();
    let mut opt = Vec::new();
    for _ in 0..REPS {
        let mut optim =
            burn::optim::adaptor::OptimizerAdaptor::<TorchSgd, LrModel<B>, B>::from(TorchSgd {
                momentum: 0.0,
                weight_decay: 0.0,
            });
        let mut m = start::<B>(device);
        let (mut tf, mut tb, mut to) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        for _ in 0..500 {
            let t0 = Instant::now();
            let l = regression_loss(
                x.clone(),
                y.clone(),
                m.linear.weight.val(),
                m.linear.bias.as_ref().map(|b| b.val()),
                None,
                linreg_fused::FusedLoss::L1,
            );
            let t1 = Instant::now();
            let grads = GradientsParams::from_grads(l.backward(), &m);
            let t2 = Instant::now();
            m = optim.step(0.01, m, grads);
            let t3 = Instant::now();
            tf += t1 - t0;
            tb += t2 - t1;
            to += t3 - t2;
        }
        fwd.push(tf);
        bwd.push(tb);
        opt.push(to);
    }
    report("  fused loss + gradients (one graph node)", fwd);
    report("  backward + GradientsParams", bwd);
    report("  SGD step (TorchSgd through OptimizerAdaptor)", opt);
}

fn main() {
    #[cfg(feature = "ndarray")]
    bench::<burn::backend::Autodiff<burn::backend::NdArray>>("ndarray", &Default::default());
    #[cfg(feature = "wgpu")]
    bench::<burn::backend::Autodiff<burn::backend::Wgpu>>("wgpu", &Default::default());
}
