//! The fused kernels against the same step composed of ordinary Burn operations: losses,
//! gradients and residual sums agree to f32 rounding, for every loss, with and without bias,
//! with and without a row selection, for one and several outputs, on every backend this build
//! has; and through `Autodiff`, the gradients agree with Burn's `Linear` and loss modules.

use burn::nn::loss::{HuberLossConfig, MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData, TensorPrimitive};
use linreg_fused::{reference, regression_loss, FusedLoss, FusedOptions, FusedRegressionBackend};

const LOSSES: [FusedLoss; 3] = [
    FusedLoss::L1,
    FusedLoss::Mse,
    FusedLoss::Huber { delta: 0.5 },
];

/// Deterministic values in [-1.5, 1.5).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 3.0
        })
        .collect()
}

fn matrix<B: Backend>(rows: usize, cols: usize, seed: u64, device: &B::Device) -> Tensor<B, 2> {
    Tensor::from_data(
        TensorData::new(values(rows * cols, seed), [rows, cols]),
        device,
    )
}

fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().into_vec().expect("f32 data")
}

/// Every value of `got` within f32 rounding of `want`: 2e-5 relative, plus the error a sum of
/// `n` terms of size `scale` accumulates in f32 (~√n rounding errors, the two sides adding
/// in different orders).
fn assert_close(what: &str, got: &[f32], want: &[f32], scale: f32, n: usize) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = 2e-5 * w.abs().max(scale) + 5e-7 * (n as f32).sqrt() * scale;
        assert!(
            (g - w).abs() <= tol,
            "{what}[{i}]: fused {g}, reference {w} (|Δ| = {:e} > {tol:e})",
            (g - w).abs()
        );
    }
}

/// Shapes: the tutorial's, several outputs, more features than a vector has lanes, and one
/// large enough to be cut into parallel chunks.
const SHAPES: [(usize, usize, usize); 4] = [(40, 1, 1), (300, 5, 3), (1000, 17, 2), (40_000, 9, 1)];

fn kernels_match_reference<B: FusedRegressionBackend>(name: &str, device: &B::Device) {
    for (n, d, m) in SHAPES {
        let x = matrix::<B>(n, d, 1, device);
        let y = matrix::<B>(n, m, 2, device);
        let w = matrix::<B>(d, m, 3, device);
        let b = Tensor::<B, 1>::from_floats(&values(m, 4)[..], device);
        // A batch: every third row, backwards.
        let batch: Vec<i32> = (0..n as i32).rev().step_by(3).collect();
        let idx =
            Tensor::<B, 1, Int>::from_data(TensorData::new(batch.clone(), [batch.len()]), device);
        for loss in LOSSES {
            for with_bias in [true, false] {
                for rows in [None, Some(idx.clone())] {
                    let what = format!(
                        "{name} {n}×{d}→{m} {loss:?} bias {with_bias} rows {}",
                        rows.is_some()
                    );
                    let options = FusedOptions {
                        loss,
                        gradients: true,
                        residual_sums: true,
                    };
                    let args = || {
                        (
                            x.clone().into_primitive().tensor(),
                            y.clone().into_primitive().tensor(),
                            w.clone().into_primitive().tensor(),
                            with_bias.then(|| b.clone().into_primitive().tensor()),
                            rows.clone().map(Tensor::into_primitive),
                        )
                    };
                    let (xp, yp, wp, bp, rp) = args();
                    let fused = B::fused_regression(xp, yp, wp, bp, rp, options);
                    let (xp, yp, wp, bp, rp) = args();
                    let want = reference::fused_regression::<B>(xp, yp, wp, bp, rp, options);
                    let t = |p| host(Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(p)));
                    let flat = |p: Option<_>| p.map(t).unwrap_or_default();
                    let reshape = |p: Option<burn::tensor::ops::FloatTensor<B>>| {
                        p.map(|p| {
                            let t2 = Tensor::<B, 2>::from_primitive(TensorPrimitive::Float(p));
                            host(t2.flatten::<1>(0, 1))
                        })
                        .unwrap_or_default()
                    };
                    let (wl, fl) = (t(want.loss), t(fused.loss));
                    assert_close(&format!("{what}: loss"), &fl, &wl, 1e-3, n);
                    // Gradient entries near zero are sums of cancelling terms: compare them
                    // against the gradient's own scale.
                    let (gw_want, gw) = (reshape(want.weight_grad), reshape(fused.weight_grad));
                    let scale = gw_want.iter().fold(0.05f32, |a, v| a.max(v.abs()));
                    assert_close(&format!("{what}: weight grad"), &gw, &gw_want, scale, n);
                    let (gb_want, gb) = (flat(want.bias_grad), flat(fused.bias_grad));
                    let scale = gb_want.iter().fold(0.05f32, |a, v| a.max(v.abs()));
                    assert_close(&format!("{what}: bias grad"), &gb, &gb_want, scale, n);
                    assert_eq!(gb.len(), if with_bias { m } else { 0 });
                    let (s_want, s) = (reshape(want.residual_sums), reshape(fused.residual_sums));
                    assert_close(&format!("{what}: residual sums"), &s, &s_want, 1e-3, n);
                }
            }
        }
    }
}

/// The plain path: Burn's `Linear` and loss modules under autodiff.
fn burn_loss<B: Backend>(pred: Tensor<B, 2>, y: Tensor<B, 2>, loss: FusedLoss) -> Tensor<B, 1> {
    match loss {
        FusedLoss::L1 => (pred - y).abs().mean(),
        FusedLoss::Mse => MseLoss::new().forward(pred, y, Reduction::Mean),
        FusedLoss::Huber { delta } => {
            HuberLossConfig::new(delta as f32)
                .init()
                .forward(pred, y, Reduction::Mean)
        }
    }
}

fn grads<B: AutodiffBackend>(linear: &Linear<B>, loss: Tensor<B, 1>) -> (Vec<f32>, Vec<f32>, f32) {
    let value = host(loss.clone())[0];
    let g = loss.backward();
    let gw = linear.weight.grad(&g).expect("weight grad");
    let gb = linear
        .bias
        .as_ref()
        .map(|b| host(b.grad(&g).expect("bias grad")))
        .unwrap_or_default();
    (host(gw.flatten::<1>(0, 1)), gb, value)
}

fn autodiff_matches_burn_modules<B: AutodiffBackend + FusedRegressionBackend>(
    name: &str,
    device: &B::Device,
) {
    for (n, d, m) in SHAPES {
        let x = matrix::<B>(n, d, 5, device);
        let y = matrix::<B>(n, m, 6, device);
        for with_bias in [true, false] {
            let linear: Linear<B> = LinearConfig::new(d, m).with_bias(with_bias).init(device);
            for loss in LOSSES {
                let what = format!("{name} {n}×{d}→{m} {loss:?} bias {with_bias}");
                let plain = burn_loss(linear.forward(x.clone()), y.clone(), loss);
                let (pw, pb, pl) = grads(&linear, plain);
                let fused = regression_loss(
                    x.clone(),
                    y.clone(),
                    linear.weight.val(),
                    linear.bias.as_ref().map(|b| b.val()),
                    None,
                    loss,
                );
                let (fw, fb, fl) = grads(&linear, fused);
                assert_close(&format!("{what}: loss"), &[fl], &[pl], 1e-3, n);
                let scale = pw.iter().fold(0.05f32, |a, v| a.max(v.abs()));
                assert_close(&format!("{what}: weight grad"), &fw, &pw, scale, n);
                let scale = pb.iter().fold(0.05f32, |a, v| a.max(v.abs()));
                assert_close(&format!("{what}: bias grad"), &fb, &pb, scale, n);
            }
        }
    }
    // The upstream gradient scales the parameters' gradients, and a row selection equals the
    // gathered rows.
    let (n, d, m) = (50, 3, 2);
    let x = matrix::<B>(n, d, 7, device);
    let y = matrix::<B>(n, m, 8, device);
    let linear: Linear<B> = LinearConfig::new(d, m).init(device);
    let batch = [7i32, 3, 3, 49, 0];
    let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(batch.to_vec(), [5]), device);
    let plain = burn_loss(
        linear.forward(x.clone().select(0, idx.clone())),
        y.clone().select(0, idx.clone()),
        FusedLoss::Mse,
    )
    .mul_scalar(3.0);
    let (pw, pb, _) = grads(&linear, plain);
    let fused = regression_loss(
        x,
        y,
        linear.weight.val(),
        linear.bias.as_ref().map(|b| b.val()),
        Some(idx),
        FusedLoss::Mse,
    )
    .mul_scalar(3.0);
    let (fw, fb, _) = grads(&linear, fused);
    assert_close(
        &format!("{name}: scaled, selected weight grad"),
        &fw,
        &pw,
        1e-2,
        n,
    );
    assert_close(
        &format!("{name}: scaled, selected bias grad"),
        &fb,
        &pb,
        1e-2,
        n,
    );
}

#[cfg(feature = "ndarray")]
mod ndarray {
    use burn::backend::{Autodiff, NdArray};

    #[test]
    fn host_kernel_matches_reference() {
        super::kernels_match_reference::<NdArray>("ndarray", &Default::default());
    }

    #[test]
    fn host_kernel_matches_reference_in_f64() {
        super::kernels_match_reference::<NdArray<f64>>("ndarray f64", &Default::default());
    }

    #[test]
    fn autodiff_gradients_match_burn_modules() {
        super::autodiff_matches_burn_modules::<Autodiff<NdArray>>("ndarray", &Default::default());
    }
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use burn::backend::{Autodiff, Wgpu};

    #[test]
    fn device_kernel_matches_reference() {
        super::kernels_match_reference::<Wgpu>("wgpu", &Default::default());
    }

    #[test]
    fn autodiff_gradients_match_burn_modules() {
        super::autodiff_matches_burn_modules::<Autodiff<Wgpu>>("wgpu", &Default::default());
    }
}
