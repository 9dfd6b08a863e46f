//! A linear-regression training step fused into one Burn operation: a backend extension.
//!
//! For a linear model `ŷ = x·W + b` (Burn's `Linear` layout: `W` is `[d, m]`), one call of
//! [`FusedRegressionBackend::fused_regression`] reads the rows of `x` (`[n, d]`) and `y`
//! (`[n, m]`) once and returns the mean loss (L1, MSE or Huber: [`FusedLoss`]), and on request
//! the gradients of `W` and `b` and the per-output residual sums `Σ|r|`, `Σr²` (what the
//! metrics need). A plain Burn graph for the same step runs a matmul, a bias broadcast, the
//! loss, and in the backward pass two more matmuls and a column sum, each a full pass over
//! the rows with `[n, m]` temporaries in between.
//!
//! The trait is implemented for
//! - burn-ndarray (feature `ndarray`): a blocked host kernel, vectorized over the features,
//!   parallel over chunks of rows, with no per-row allocation; `f32` and `f64` elements;
//! - every CubeCL backend (feature `cubecl`; one generic impl over `CubeBackend<R, …>` serves
//!   wgpu and cuda): a kernel that reduces on the device;
//! - `Autodiff<B>` for any `B` above: the operation records one node whose backward pass hands
//!   the gradients computed in the forward pass to `W` and `b`, so `loss.backward()`,
//!   `GradientsParams` and every Burn optimizer work unchanged.
//!
//! Any other backend gets the operation by an empty `impl FusedRegressionBackend for MyBackend
//! {}`: the default method composes ordinary tensor operations ([`reference`]), which is also
//! what the tests compare the fused kernels with.
//!
//! `rows` selects a mini-batch by index (a slice of a permutation): the kernels read those rows
//! in place, so a batch never becomes a gathered copy of the table.
//!
//! ```
//! use burn::backend::{Autodiff, NdArray};
//! use burn::tensor::Tensor;
//! use linreg_fused::{regression_loss, FusedLoss};
//!
//! type B = Autodiff<NdArray>;
//! let device = Default::default();
//! let x = Tensor::<B, 2>::from_floats([[1.0], [2.0]], &device);
//! let y = Tensor::<B, 2>::from_floats([[0.0], [5.0]], &device);
//! let w = Tensor::<B, 2>::from_floats([[1.0]], &device).require_grad();
//! let b = Tensor::<B, 1>::from_floats([0.0], &device).require_grad();
//!
//! // Residuals 1 and −3: mean |r| = 2; d/dw = (1·1 − 1·2)/2 = −0.5; d/db = 0.
//! let loss = regression_loss(x, y, w.clone(), Some(b.clone()), None, FusedLoss::L1);
//! assert_eq!(loss.clone().into_scalar(), 2.0);
//! let grads = loss.backward();
//! assert_eq!(w.grad(&grads).unwrap().into_scalar(), -0.5);
//! assert_eq!(b.grad(&grads).unwrap().into_scalar(), 0.0);
//! ```

mod autodiff;
pub mod cascade;
#[cfg(feature = "ndarray")]
mod cpu;
#[cfg(feature = "cubecl")]
mod cube;
mod element;
#[cfg(feature = "ndarray")]
mod ndarray;
pub mod reference;

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{Int, Tensor, TensorPrimitive};

#[cfg(feature = "ndarray")]
pub use cpu::CHUNK_WORK;
pub use element::KernelFloat;

/// The loss of a fused step, averaged over rows and outputs (PyTorch's `reduction='mean'`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FusedLoss {
    /// Mean absolute error; derivative `sign(r)/count` with `sign(0) = 0`.
    L1,
    /// Mean squared error; derivative `2r/count`.
    Mse,
    /// Huber loss: `r²/2` within `delta`, `delta·(|r| − delta/2)` beyond; derivative
    /// `clamp(r, −delta, delta)/count`.
    Huber {
        /// Where the loss turns from quadratic to linear (positive).
        delta: f64,
    },
}

/// What a fused step computes besides the loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusedOptions {
    /// The loss.
    pub loss: FusedLoss,
    /// Return the gradients of the weight and the bias. (On an autodiff backend they are
    /// computed anyway when the weight or bias is tracked, for the backward pass.)
    pub gradients: bool,
    /// Compute `Σ|r|` and `Σr²` per output.
    pub residual_sums: bool,
}

impl FusedOptions {
    /// The loss alone.
    pub fn loss(loss: FusedLoss) -> Self {
        Self {
            loss,
            gradients: false,
            residual_sums: false,
        }
    }
}

/// The results of a fused step, as backend primitives.
#[derive(Debug)]
pub struct FusedOutput<B: Backend> {
    /// `[1]`: the mean loss.
    pub loss: FloatTensor<B>,
    /// `[d, m]`: d loss / d weight, when asked for.
    pub weight_grad: Option<FloatTensor<B>>,
    /// `[m]`: d loss / d bias, when asked for and the model has a bias.
    pub bias_grad: Option<FloatTensor<B>>,
    /// `[2, m]`: `Σ|r|` per output, then `Σr²` per output, when asked for.
    pub residual_sums: Option<FloatTensor<B>>,
}

/// A Burn backend with a fused linear-regression step.
///
/// Shapes: `x` `[n, d]`, `y` `[n, m]`, `weight` `[d, m]`, `bias` `[m]`, `rows` `[k]` with
/// values in `0..n` (the rows used, in order; all `n` rows when `None`). `x` and `y` are data:
/// on an autodiff backend they receive no gradient. Panics on shapes that do not fit, as
/// Burn's own operations do.
pub trait FusedRegressionBackend: Backend {
    /// Loss (and, as `options` asks, gradients and residual sums) of `y ≈ x·weight + bias`.
    ///
    /// The default composes ordinary tensor operations ([`reference::fused_regression`]).
    fn fused_regression(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        rows: Option<IntTensor<Self>>,
        options: FusedOptions,
    ) -> FusedOutput<Self> {
        reference::fused_regression::<Self>(x, y, weight, bias, rows, options)
    }

    /// `y + alpha·x`, element by element, rounded once: PyTorch's `y.add(x, alpha=alpha)` on
    /// the CPU, which is how its SGD applies `p − lr·g`. (Burn's `y + x·alpha` rounds twice;
    /// bit-level parity with PyTorch's optimizer needs the single rounding.)
    ///
    /// The default composes `y + x·alpha` (two roundings); the ndarray kernel fuses it.
    fn fused_axpy(x: FloatTensor<Self>, alpha: f64, y: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_add(y, Self::float_mul_scalar(x, alpha.into()))
    }

    /// A gradient computed for a unit upstream gradient, times the actual upstream gradient
    /// of the `[1]` loss (the autodiff backward pass calls this). The default multiplies; a
    /// backend may skip the multiplication when the upstream gradient is 1, as it is for
    /// `loss.backward()`.
    fn fused_scale_grad(grad: FloatTensor<Self>, upstream: FloatTensor<Self>) -> FloatTensor<Self> {
        scale_by_upstream::<Self>(grad, upstream)
    }
}

/// `grad · upstream`, the `[1]` upstream gradient broadcast over `grad`.
pub(crate) fn scale_by_upstream<B: Backend>(
    grad: FloatTensor<B>,
    upstream: FloatTensor<B>,
) -> FloatTensor<B> {
    use burn::tensor::{Shape, TensorMetadata};
    let rank = grad.shape().num_dims();
    let scale = B::float_reshape(upstream, Shape::from(vec![1; rank]));
    B::float_mul(grad, scale)
}

/// An autodiff backend whose inner backend has the fused step too: what a training loop that
/// trains through autodiff and evaluates on the inner backend needs.
pub trait FusedAutodiffBackend:
    AutodiffBackend<InnerBackend: FusedRegressionBackend> + FusedRegressionBackend
{
}

impl<B> FusedAutodiffBackend for B where
    B: AutodiffBackend<InnerBackend: FusedRegressionBackend> + FusedRegressionBackend
{
}

fn float<B: Backend, const D: usize>(t: Tensor<B, D>) -> FloatTensor<B> {
    t.into_primitive().tensor()
}

fn tensor<B: Backend, const D: usize>(p: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(p))
}

/// The mean loss of `y ≈ x·weight + bias` over `rows` (all rows when `None`), as a `[1]`
/// tensor. On an autodiff backend, `backward()` gives `weight` and `bias` their gradients.
pub fn regression_loss<B: FusedRegressionBackend>(
    x: Tensor<B, 2>,
    y: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
    rows: Option<Tensor<B, 1, Int>>,
    loss: FusedLoss,
) -> Tensor<B, 1> {
    let out = B::fused_regression(
        float(x),
        float(y),
        float(weight),
        bias.map(float),
        rows.map(Tensor::into_primitive),
        // An autodiff backend computes the gradients itself when weight or bias is tracked.
        FusedOptions::loss(loss),
    );
    tensor(out.loss)
}

/// `y + alpha·x` with one rounding per element (see [`FusedRegressionBackend::fused_axpy`]).
pub fn axpy<B: FusedRegressionBackend, const D: usize>(
    x: Tensor<B, D>,
    alpha: f64,
    y: Tensor<B, D>,
) -> Tensor<B, D> {
    tensor(B::fused_axpy(float(x), alpha, float(y)))
}

/// The mean loss and the residual sums (`[2, m]`: `Σ|r|` per output, then `Σr²`) of
/// `y ≈ x·weight + bias` in one pass, for evaluation (no gradients).
pub fn evaluate<B: FusedRegressionBackend>(
    x: Tensor<B, 2>,
    y: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
    loss: FusedLoss,
) -> (Tensor<B, 1>, Tensor<B, 2>) {
    let out = B::fused_regression(
        float(x),
        float(y),
        float(weight),
        bias.map(float),
        None,
        FusedOptions {
            loss,
            gradients: false,
            residual_sums: true,
        },
    );
    let sums = out
        .residual_sums
        .expect("every implementation returns the residual sums it is asked for");
    (tensor(out.loss), tensor(sums))
}

/// Panics with a clear message when the shapes do not fit (a programming error).
pub(crate) fn check_shapes(
    x: &[usize],
    y: &[usize],
    weight: &[usize],
    bias: Option<&[usize]>,
    rows: Option<&[usize]>,
) -> (usize, usize, usize) {
    assert!(
        x.len() == 2 && y.len() == 2 && weight.len() == 2,
        "fused regression: x, y and weight must be 2-D, got {x:?}, {y:?}, {weight:?}"
    );
    let (n, d, m) = (x[0], x[1], weight[1]);
    assert!(
        d > 0 && m > 0,
        "fused regression: a linear model needs at least one input and one output, got {d}→{m}"
    );
    assert!(
        y[0] == n && y[1] == m && weight[0] == d,
        "fused regression: x {x:?}, y {y:?} and weight {weight:?} do not fit \
         (need x [n, d], y [n, m], weight [d, m])"
    );
    if let Some(b) = bias {
        assert!(
            b == [m],
            "fused regression: bias {b:?} does not fit weight {weight:?}"
        );
    }
    if let Some(r) = rows {
        assert!(
            r.len() == 1,
            "fused regression: rows must be 1-D, got {r:?}"
        );
    }
    (n, d, m)
}
