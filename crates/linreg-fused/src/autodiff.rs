//! `Autodiff<B>`: one graph node whose backward pass hands the gradients that the forward
//! pass already computed to the weight and the bias.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::ops::{FloatTensor, IntTensor};

use crate::{FusedOptions, FusedOutput, FusedRegressionBackend};

/// The backward step of a fused regression with `N` parameters (weight, and bias if any).
#[derive(Debug)]
struct ParamsBackward<const N: usize>;

impl<B: FusedRegressionBackend, const N: usize> Backward<B, N> for ParamsBackward<N> {
    /// The gradients of a unit upstream gradient, in the order of the parents.
    type State = [FloatTensor<B>; N];

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        // The loss is a [1] tensor; its upstream gradient scales every parameter's gradient
        // (it is 1 for `loss.backward()`).
        let upstream = grads.consume::<B>(&ops.node);
        for (parent, grad) in ops.parents.into_iter().zip(ops.state) {
            if let Some(node) = parent {
                grads.register::<B>(node.id, B::fused_scale_grad(grad, upstream.clone()));
            }
        }
    }
}

impl<B: FusedRegressionBackend, C: CheckpointStrategy> FusedRegressionBackend for Autodiff<B, C> {
    fn fused_regression(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        rows: Option<IntTensor<Self>>,
        options: FusedOptions,
    ) -> FusedOutput<Self> {
        // x and y are data: only the weight and the bias are graph parents.
        let (x, y) = (x.primitive, y.primitive);
        let inner = |gradients| {
            B::fused_regression(
                x,
                y,
                weight.primitive.clone(),
                bias.as_ref().map(|b| b.primitive.clone()),
                rows,
                FusedOptions {
                    gradients,
                    ..options
                },
            )
        };
        let wrap = |t: Option<FloatTensor<B>>| t.map(Self::from_inner);
        match &bias {
            Some(b) => {
                let prep = ParamsBackward::<2>
                    .prepare::<C>([weight.node.clone(), b.node.clone()])
                    .compute_bound()
                    .stateful();
                match prep {
                    OpsKind::Tracked(prep) => {
                        let out = inner(true);
                        let (gw, gb) = (
                            out.weight_grad.expect("weight gradient"),
                            out.bias_grad.expect("bias gradient"),
                        );
                        let ret_w = options.gradients.then(|| gw.clone());
                        let ret_b = options.gradients.then(|| gb.clone());
                        FusedOutput {
                            loss: prep.finish([gw, gb], out.loss),
                            weight_grad: wrap(ret_w),
                            bias_grad: wrap(ret_b),
                            residual_sums: wrap(out.residual_sums),
                        }
                    }
                    OpsKind::UnTracked(prep) => {
                        let out = inner(options.gradients);
                        FusedOutput {
                            loss: prep.finish(out.loss),
                            weight_grad: wrap(out.weight_grad),
                            bias_grad: wrap(out.bias_grad),
                            residual_sums: wrap(out.residual_sums),
                        }
                    }
                }
            }
            None => {
                let prep = ParamsBackward::<1>
                    .prepare::<C>([weight.node.clone()])
                    .compute_bound()
                    .stateful();
                match prep {
                    OpsKind::Tracked(prep) => {
                        let out = inner(true);
                        let gw = out.weight_grad.expect("weight gradient");
                        let ret_w = options.gradients.then(|| gw.clone());
                        FusedOutput {
                            loss: prep.finish([gw], out.loss),
                            weight_grad: wrap(ret_w),
                            bias_grad: None,
                            residual_sums: wrap(out.residual_sums),
                        }
                    }
                    OpsKind::UnTracked(prep) => {
                        let out = inner(options.gradients);
                        FusedOutput {
                            loss: prep.finish(out.loss),
                            weight_grad: wrap(out.weight_grad),
                            bias_grad: None,
                            residual_sums: wrap(out.residual_sums),
                        }
                    }
                }
            }
        }
    }
}
