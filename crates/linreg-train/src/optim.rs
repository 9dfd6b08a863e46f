//! SGD with PyTorch's rounding, as a Burn `SimpleOptimizer`.
//!
//! `torch.optim.SGD` (single-tensor path, as on the CPU) updates a parameter with
//! `p.add_(g, alpha=-lr)`, and applies weight decay as `g.add(p, alpha=wd)`: each of these is a
//! fused multiply-add, rounded once. Burn's `Sgd` computes `p − g·lr`, rounding the product
//! first. The two differ in the last bit now and then, and on the tutorial's L1 loss (whose
//! gradient is a sign) a last-bit difference can send the parameters into another two-cycle.
//! [`TorchSgd`] rounds as PyTorch does, through the fused step's backend extension
//! ([`linreg_fused::axpy`]), and plugs into Burn's `OptimizerAdaptor`, `GradientsParams` and
//! learning-rate schedules like any Burn optimizer.

use burn::optim::SimpleOptimizer;
use burn::prelude::*;
use burn::record::Record;
use linreg_fused::{axpy, FusedRegressionBackend};

/// SGD with momentum (no dampening) and L2 weight decay, rounded as PyTorch rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TorchSgd {
    /// Momentum factor; 0 for plain SGD.
    pub momentum: f64,
    /// L2 penalty added to the gradient; 0 for none.
    pub weight_decay: f64,
}

/// The momentum buffer of one parameter.
#[derive(Record, Clone)]
pub struct TorchSgdState<B: Backend, const D: usize> {
    /// PyTorch's `momentum_buffer`.
    pub velocity: Tensor<B, D>,
}

impl<B: FusedRegressionBackend> SimpleOptimizer<B> for TorchSgd {
    type State<const D: usize> = TorchSgdState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: f64,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let mut g = grad;
        if self.weight_decay > 0.0 {
            // d_p = d_p.add(p, alpha=weight_decay)
            g = axpy(tensor.clone(), self.weight_decay, g);
        }
        let mut next = None;
        if self.momentum > 0.0 {
            // buf = clone(d_p) on the first step, then buf.mul_(momentum).add_(d_p)
            let velocity = match state {
                Some(s) => s.velocity.mul_scalar(self.momentum) + g,
                None => g,
            };
            g = velocity.clone();
            next = Some(TorchSgdState { velocity });
        }
        // p.add_(d_p, alpha=-lr)
        (axpy(g, -lr, tensor), next)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        TorchSgdState {
            velocity: state.velocity.to_device(device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    type B = NdArray;

    fn values(t: Tensor<B, 1>) -> Vec<f32> {
        t.into_data().to_vec().unwrap()
    }

    #[test]
    fn plain_step_rounds_once() {
        let device = Default::default();
        let p = Tensor::<B, 1>::from_floats([0.764_538_5, 0.830_007_9, 1.0], &device);
        let g = Tensor::<B, 1>::from_floats([-0.5, 0.3, 0.125], &device);
        let sgd = TorchSgd {
            momentum: 0.0,
            weight_decay: 0.0,
        };
        let (next, state) = SimpleOptimizer::<B>::step(&sgd, 0.01, p.clone(), g.clone(), None);
        assert!(state.is_none());
        let lr = 0.01f32;
        let want: Vec<f32> = values(p)
            .iter()
            .zip(values(g))
            .map(|(&p, g)| (-lr).mul_add(g, p))
            .collect();
        assert_eq!(values(next), want);
    }

    #[test]
    fn momentum_and_decay_follow_pytorch() {
        // One parameter p = 1, gradient 1, lr 0.1, momentum 0.5, decay 0.1:
        // step 1: d = 1 + 0.1·1 = 1.1, buf = 1.1, p = 1 − 0.11 = 0.89;
        // step 2: d = 1 + 0.1·0.89 = 1.089, buf = 0.55 + 1.089 = 1.639, p = 0.89 − 0.1639.
        let device = Default::default();
        let sgd = TorchSgd {
            momentum: 0.5,
            weight_decay: 0.1,
        };
        let one = || Tensor::<B, 1>::from_floats([1.0], &device);
        let (p, s) = SimpleOptimizer::<B>::step(&sgd, 0.1, one(), one(), None);
        assert!((values(p.clone())[0] - 0.89).abs() < 1e-6);
        let (p, _) = SimpleOptimizer::<B>::step(&sgd, 0.1, p, one(), s);
        assert!((values(p)[0] - (0.89 - 0.1639)).abs() < 1e-6);
    }
}
