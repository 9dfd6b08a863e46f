//! The fused training step against the plain one (Burn's `Linear`, loss modules, autodiff and
//! optimizers): the same logged losses, scores and final parameters, to f32 rounding, for every
//! loss, optimizer, batch size and number of targets, on every backend this build has.
//!
//! The two paths round differently (the fused step sums in another order, its SGD rounds
//! `p − lr·g` once as PyTorch does, Burn's twice), so they agree to rounding, not to the bit.
//! Runs are short and start away from the optimum, so no residual sits at an L1 kink where a
//! last-bit difference could flip a sign.

use burn::tensor::backend::AutodiffBackend;
use linreg_data::{Split, SyntheticSpec};
use linreg_model::{LinearParams, LrModelConfig};
use linreg_train::{
    train, FusedAutodiffBackend, LogEntry, LossKind, OptimizerKind, TrainConfig, TrainStep, Trained,
};

fn split(targets: usize) -> Split {
    let s = SyntheticSpec {
        rows: 160,
        features: 3,
        targets,
        noise: 0.3,
        seed: 11,
    }
    .generate()
    .expect("table");
    Split::ordered(s.data, 0.75).expect("split")
}

fn run<B: FusedAutodiffBackend>(
    split: &Split,
    config: &TrainConfig,
    device: &B::Device,
) -> (Trained<B>, Vec<LogEntry>) {
    let m = split.train.y.cols();
    let model = LrModelConfig::new()
        .with_d_input(3)
        .with_d_output(m)
        .init::<B>(device)
        .with_params(&LinearParams {
            weight: (0..m)
                .map(|o| vec![0.3 - 0.1 * o as f32, -0.2, 0.05])
                .collect(),
            bias: (0..m).map(|o| 0.1 * o as f32 - 0.5).collect(),
        })
        .expect("params");
    let mut log = Vec::new();
    let trained = train(model, split, config, device, &mut |e: &LogEntry| {
        log.push(*e)
    })
    .expect("train");
    (trained, log)
}

fn close(what: &str, a: f64, b: f64) {
    let tol = 2e-5 * a.abs().max(b.abs()).max(1.0);
    assert!(
        (a - b).abs() <= tol,
        "{what}: fused {a}, plain {b} (|Δ| = {:e} > {tol:e})",
        (a - b).abs()
    );
}

/// The combinations: every loss with every optimizer; batch size and target count vary
/// across them so that each occurs with each loss.
fn combinations(short: bool) -> Vec<(LossKind, OptimizerKind, f64, f64, Option<usize>, usize)> {
    let losses = [LossKind::L1, LossKind::Mse, LossKind::Huber { delta: 0.5 }];
    // (optimizer, momentum, weight decay)
    let optimizers = [
        (OptimizerKind::Sgd, 0.0, 0.0),
        (OptimizerKind::Sgd, 0.9, 0.01),
        (OptimizerKind::Adam, 0.0, 0.01),
        (OptimizerKind::AdamW, 0.0, 0.01),
    ];
    let mut out = Vec::new();
    for (i, loss) in losses.into_iter().enumerate() {
        for (k, (opt, momentum, decay)) in optimizers.into_iter().enumerate() {
            let batch = [None, Some(32), Some(7)][(i + k) % 3];
            let targets = 1 + (i + k) % 2;
            if short && (i + k) % 2 == 1 {
                continue;
            }
            out.push((loss, opt, momentum, decay, batch, targets));
        }
    }
    out
}

fn fused_and_plain_agree<B: FusedAutodiffBackend + AutodiffBackend>(
    name: &str,
    device: &B::Device,
    epochs: usize,
    short: bool,
) {
    for (loss, optimizer, momentum, decay, batch, targets) in combinations(short) {
        let split = split(targets);
        let config = TrainConfig::new()
            .with_epochs(epochs)
            .with_log_every(5)
            .with_lr(0.02)
            .with_loss(loss)
            .with_optimizer(optimizer)
            .with_momentum(momentum)
            .with_weight_decay(decay)
            .with_batch_size(batch)
            .with_seed(4);
        let what = format!(
            "{name}: {} {} (momentum {momentum}, decay {decay}), batch {batch:?}, {targets} target(s)",
            loss.name(),
            optimizer.name()
        );
        let (fused, fused_log) = run::<B>(
            &split,
            &config.clone().with_train_step(TrainStep::Fused),
            device,
        );
        let (plain, plain_log) = run::<B>(
            &split,
            &config.clone().with_train_step(TrainStep::Plain),
            device,
        );
        assert_eq!(fused_log.len(), plain_log.len(), "{what}");
        for (f, p) in fused_log.iter().zip(&plain_log) {
            let at = |s: &str| format!("{what}, epoch {}: {s}", f.epoch);
            close(&at("train loss"), f.train_loss, p.train_loss);
            close(&at("test loss"), f.test_loss, p.test_loss);
            close(&at("train MSE"), f.train.mse, p.train.mse);
            close(&at("test R²"), f.test.r2, p.test.r2);
        }
        let (fp, pp) = (fused.model.params(), plain.model.params());
        for (a, b) in fp
            .weight
            .iter()
            .flatten()
            .chain(&fp.bias)
            .zip(pp.weight.iter().flatten().chain(&pp.bias))
        {
            close(
                &format!("{what}: final parameter"),
                f64::from(*a),
                f64::from(*b),
            );
        }
        close(
            &format!("{what}: final train loss"),
            fused.train_loss,
            plain.train_loss,
        );
        close(
            &format!("{what}: final test MAE"),
            fused.test_metrics.mean.mae,
            plain.test_metrics.mean.mae,
        );
        // Training moved the parameters: the comparison is not between two unchanged starts.
        assert!(
            (fp.bias[0] - (-0.5)).abs() > 1e-3,
            "{what}: the parameters did not move"
        );
    }
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_fused_step_follows_the_plain_one() {
    fused_and_plain_agree::<burn::backend::Autodiff<burn::backend::NdArray>>(
        "ndarray",
        &Default::default(),
        30,
        false,
    );
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_fused_step_follows_the_plain_one() {
    // lavapipe runs kernels on the CPU: fewer epochs and every other combination.
    fused_and_plain_agree::<burn::backend::Autodiff<burn::backend::Wgpu>>(
        "wgpu",
        &Default::default(),
        10,
        true,
    );
}
