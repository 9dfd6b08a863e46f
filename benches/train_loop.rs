//! The tutorial's 500-epoch training loop, timed, and the pieces of one epoch.
//!
//! ```text
//! cargo bench --bench train_loop                   # ndarray
//! cargo bench --bench train_loop --features wgpu   # ndarray and wgpu
//! ```
//!
//! Prints the median and the minimum of several repetitions. Numbers go to BENCHMARKS.md.

use std::time::{Duration, Instant};

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer, SgdConfig};
use burn::tensor::backend::AutodiffBackend;
use linreg_data::{LineSpec, Split};
use linreg_model::{LinearParams, LrModel, LrModelConfig};
use linreg_train::FusedAutodiffBackend;
use linreg_train::{to_tensor, train, TrainConfig, Trainer};

const REPS: usize = 15;

fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0])
}

fn report(what: &str, per: &str, v: Vec<Duration>, divisor: u32) {
    let (median, min) = stats(v);
    println!(
        "  {what:<44} median {:>9.3} ms   min {:>9.3} ms   ({:.2} µs {per})",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e6 / f64::from(divisor)
    );
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
    let config = TrainConfig::new();
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
    report(
        "train(): 500 epochs, 10 evaluations",
        "per epoch",
        whole,
        500,
    );

    let mut steps = Vec::new();
    for _ in 0..REPS {
        let mut model = start::<B>(device);
        let mut trainer = Trainer::new(&model, &split, &config, device).expect("trainer");
        let t = Instant::now();
        for _ in 0..500 {
            model = trainer.step(model).0;
        }
        let _ = model.valid().params(); // wait for the device
        steps.push(t.elapsed());
    }
    report(
        "500 × Trainer::step, no evaluation",
        "per epoch",
        steps,
        500,
    );

    // The pieces of one step, each repeated 500 times.
    let x = to_tensor::<B>(&split.train.x, device);
    let y = to_tensor::<B>(&split.train.y, device);
    let model = start::<B>(device);
    let loss = config.loss;
    let mut fwd = Vec::new();
    let mut bwd = Vec::new();
    let mut opt = Vec::new();
    for _ in 0..REPS {
        let mut optim = SgdConfig::new().init::<B, LrModel<B>>();
        let mut m = model.clone();
        let (mut tf, mut tb, mut to) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        for _ in 0..500 {
            let t0 = Instant::now();
            let l = loss.compute(m.forward(x.clone()), y.clone());
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
    report("  forward + loss (graph recorded)", "per epoch", fwd, 500);
    report("  backward + GradientsParams", "per epoch", bwd, 500);
    report("  SGD step (OptimizerAdaptor)", "per epoch", opt, 500);

    // Prototype: closed-form gradients on the inner backend, no autodiff.
    type I<B> = <B as AutodiffBackend>::InnerBackend;
    let xi = to_tensor::<I<B>>(&split.train.x, device);
    let yi = to_tensor::<I<B>>(&split.train.y, device);
    let xt = xi.clone().transpose();
    let n = 40.0;
    let mut ana = Vec::new();
    for _ in 0..REPS {
        let m = model.valid();
        let mut w = m.linear.weight.val();
        let mut b = m.linear.bias.as_ref().expect("bias").val();
        let t = Instant::now();
        for _ in 0..500 {
            let pred = xi.clone().matmul(w.clone()) + b.clone().unsqueeze::<2>();
            let g = (pred - yi.clone()).sign().div_scalar(n);
            let gw = xt.clone().matmul(g.clone());
            let gb = g.sum_dim(0).reshape([1]);
            w = w - gw.mul_scalar(0.01);
            b = b - gb.mul_scalar(0.01);
        }
        let _ = w.into_data();
        ana.push(t.elapsed());
    }
    report(
        "  prototype: closed-form gradient, inner backend",
        "per epoch",
        ana,
        500,
    );
}

fn main() {
    #[cfg(feature = "ndarray")]
    bench::<burn::backend::Autodiff<burn::backend::NdArray>>("ndarray", &Default::default());
    #[cfg(feature = "wgpu")]
    bench::<burn::backend::Autodiff<burn::backend::Wgpu>>("wgpu", &Default::default());
}
