//! The fused step composed of ordinary Burn tensor operations: the default for backends
//! without a kernel, and the reference the kernels are tested against.
//!
//! The gradients are written in closed form (`xᵀ·g` and `Σ g` for `g = d loss / d ŷ`), which
//! is what autodiff computes through `Linear` and Burn's loss modules.

use burn::tensor::backend::Backend;
use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{Int, Tensor};

use crate::{check_shapes, float, tensor, FusedLoss, FusedOptions, FusedOutput};

/// [`FusedRegressionBackend::fused_regression`](crate::FusedRegressionBackend::fused_regression)
/// with ordinary tensor operations on backend `B`.
pub fn fused_regression<B: Backend>(
    x: FloatTensor<B>,
    y: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
    rows: Option<IntTensor<B>>,
    options: FusedOptions,
) -> FusedOutput<B> {
    let x: Tensor<B, 2> = tensor(x);
    let y: Tensor<B, 2> = tensor(y);
    let w: Tensor<B, 2> = tensor(weight);
    let b: Option<Tensor<B, 1>> = bias.map(tensor);
    let rows: Option<Tensor<B, 1, Int>> = rows.map(Tensor::from_primitive);
    check_shapes(
        &x.dims(),
        &y.dims(),
        &w.dims(),
        b.as_ref().map(|b| b.dims()).as_ref().map(|d| &d[..]),
        rows.as_ref().map(|r| r.dims()).as_ref().map(|d| &d[..]),
    );
    let (x, y) = match rows {
        Some(idx) => (x.select(0, idx.clone()), y.select(0, idx)),
        None => (x, y),
    };
    let [k, m] = y.dims();
    let count = (k * m) as f64;
    let mut pred = x.clone().matmul(w);
    if let Some(b) = &b {
        pred = pred + b.clone().unsqueeze::<2>();
    }
    let r = pred - y;
    let residual_sums = options.residual_sums.then(|| {
        let abs = r.clone().abs().sum_dim(0);
        let sq = (r.clone() * r.clone()).sum_dim(0);
        float(Tensor::cat(vec![abs, sq], 0))
    });
    let (terms, g) = match options.loss {
        FusedLoss::L1 => (r.clone().abs(), r.sign().div_scalar(count)),
        FusedLoss::Mse => (r.clone() * r.clone(), r.mul_scalar(2.0 / count)),
        FusedLoss::Huber { delta } => {
            let a = r.clone().abs();
            let linear_part = a.clone().lower_elem(delta).bool_not();
            let linear = a.clone().sub_scalar(delta / 2.0).mul_scalar(delta);
            let terms = (a.clone() * a)
                .mul_scalar(0.5)
                .mask_where(linear_part, linear);
            (terms, r.clamp(-delta, delta).div_scalar(count))
        }
    };
    let loss = terms.sum().div_scalar(count);
    let (weight_grad, bias_grad) = if options.gradients {
        let gw = x.clone().transpose().matmul(g.clone());
        let gb = b.as_ref().map(|_| g.sum_dim(0).reshape([m]));
        (Some(float(gw)), gb.map(float))
    } else {
        (None, None)
    };
    FusedOutput {
        loss: float(loss),
        weight_grad,
        bias_grad,
        residual_sums,
    }
}
