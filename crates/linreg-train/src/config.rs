//! Hyperparameters: what to minimize, how, and for how long. Checked once, in [`TrainConfig::validate`].

use burn::prelude::*;
use linreg_fused::FusedLoss;

use crate::TrainError;

/// The loss to minimize, averaged over rows and outputs.
#[derive(Config, Debug, Copy, PartialEq)]
pub enum LossKind {
    /// Mean absolute error (PyTorch's `L1Loss`): the tutorial's loss.
    L1,
    /// Mean squared error (PyTorch's `MSELoss`).
    Mse,
    /// Huber loss with the given delta (PyTorch's `HuberLoss`): squared near zero, linear beyond.
    Huber {
        /// Where the loss turns from quadratic to linear; must be positive.
        delta: f64,
    },
}

impl LossKind {
    /// The loss of `pred` against `target`, as a one-element tensor.
    pub fn compute<B: Backend>(&self, pred: Tensor<B, 2>, target: Tensor<B, 2>) -> Tensor<B, 1> {
        use burn::nn::loss::{HuberLossConfig, LpLossConfig, MseLoss, Reduction};
        match *self {
            Self::L1 => LpLossConfig::l1().forward(pred, target, Reduction::Mean),
            Self::Mse => MseLoss::new().forward(pred, target, Reduction::Mean),
            Self::Huber { delta } => {
                HuberLossConfig::new(delta as f32)
                    .init()
                    .forward(pred, target, Reduction::Mean)
            }
        }
    }

    /// The same loss for the fused step.
    pub fn fused(&self) -> FusedLoss {
        match *self {
            Self::L1 => FusedLoss::L1,
            Self::Mse => FusedLoss::Mse,
            Self::Huber { delta } => FusedLoss::Huber { delta },
        }
    }

    /// The loss's name as the CLI spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::L1 => "l1",
            Self::Mse => "mse",
            Self::Huber { .. } => "huber",
        }
    }
}

/// The optimizer, with PyTorch's semantics.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    /// Stochastic gradient descent; `momentum` and `weight_decay` (L2) apply, with no dampening.
    Sgd,
    /// Adam (β = 0.9, 0.999, ε = 1e-8); `weight_decay` is added to the gradient (L2).
    Adam,
    /// AdamW (β = 0.9, 0.999, ε = 1e-8); `weight_decay` is decoupled from the gradient.
    AdamW,
}

impl OptimizerKind {
    /// The optimizer's name as the CLI spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Adam => "adam",
            Self::AdamW => "adamw",
        }
    }
}

/// How each training step computes the loss and its gradients.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum TrainStep {
    /// One pass over the rows per step: the fused regression operation of `linreg-fused`
    /// (a Burn backend extension), its gradients handed to the optimizer through autodiff;
    /// SGD rounds its update as PyTorch does. Mini-batches are read in place by row index.
    Fused,
    /// Burn's graph: `Linear`'s forward, Burn's loss modules, autodiff's backward through
    /// them, Burn's own optimizers. The reference the fused step is tested against.
    Plain,
}

impl TrainStep {
    /// The name as the CLI spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Fused => "fused",
            Self::Plain => "plain",
        }
    }
}

/// How the learning rate changes with the epoch.
#[derive(Config, Debug, Copy, PartialEq)]
pub enum Schedule {
    /// The same rate every epoch.
    Constant,
    /// Multiplied by `gamma` every `step_size` epochs (PyTorch's `StepLR`).
    Step {
        /// Epochs between two decays.
        step_size: usize,
        /// Factor applied at each decay, in (0, 1].
        gamma: f64,
    },
    /// From the rate down to 0 along half a cosine over all epochs (PyTorch's
    /// `CosineAnnealingLR` with `T_max = epochs`, `eta_min = 0`).
    Cosine,
}

impl Schedule {
    /// The learning rate of `epoch` (0-based) when the base rate is `lr` over `epochs` epochs.
    pub fn lr(&self, lr: f64, epoch: usize, epochs: usize) -> f64 {
        match *self {
            Self::Constant => lr,
            Self::Step { step_size, gamma } => {
                lr * gamma.powi(i32::try_from(epoch / step_size.max(1)).unwrap_or(i32::MAX))
            }
            Self::Cosine => {
                let t = epoch as f64 / epochs.max(1) as f64;
                lr * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }

    /// The schedule's name as the CLI spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Step { .. } => "step",
            Self::Cosine => "cosine",
        }
    }
}

/// Hyperparameters of a training run. Defaults are the tutorial's: L1 loss, plain SGD at
/// lr 0.01, 500 full-batch epochs, a log line every 50.
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Full passes over the training rows.
    #[config(default = 500)]
    pub epochs: usize,
    /// Base learning rate.
    #[config(default = 0.01)]
    pub lr: f64,
    /// Evaluate and report every this many epochs (epoch 0 included).
    #[config(default = 50)]
    pub log_every: usize,
    /// The loss to minimize.
    #[config(default = "LossKind::L1")]
    pub loss: LossKind,
    /// The optimizer.
    #[config(default = "OptimizerKind::Sgd")]
    pub optimizer: OptimizerKind,
    /// SGD momentum in [0, 1); 0 is plain SGD.
    #[config(default = 0.0)]
    pub momentum: f64,
    /// L2 penalty (SGD, Adam) or decoupled decay (AdamW); 0 for none.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Rows per optimizer step; `None` trains on all rows at once (full batch). Mini-batches
    /// are drawn from a fresh seeded shuffle every epoch.
    pub batch_size: Option<usize>,
    /// Learning-rate schedule.
    #[config(default = "Schedule::Constant")]
    pub schedule: Schedule,
    /// Stop when the test loss has not improved for this many epochs, and keep the best model.
    pub patience: Option<usize>,
    /// Seed of the mini-batch shuffles.
    #[config(default = 0)]
    pub seed: u64,
    /// Fused (default) or plain training step.
    #[config(default = "TrainStep::Fused")]
    pub train_step: TrainStep,
}

impl TrainConfig {
    /// Checks every hyperparameter once, before any tensor is made.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |name, value: String, expected| {
            Err(TrainError::InvalidConfig {
                name,
                value,
                expected,
            })
        };
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "at least 1");
        }
        if !positive(self.lr) {
            return bad(
                "lr",
                self.lr.to_string(),
                "a positive finite number, such as 0.01",
            );
        }
        if self.log_every == 0 {
            return bad("log-every", "0".into(), "at least 1");
        }
        if let LossKind::Huber { delta } = self.loss {
            if !positive(delta) {
                return bad(
                    "huber-delta",
                    delta.to_string(),
                    "a positive finite number, such as 1.0",
                );
            }
        }
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return bad(
                "momentum",
                self.momentum.to_string(),
                "a number in [0, 1), such as 0.9",
            );
        }
        if self.momentum > 0.0 && self.optimizer != OptimizerKind::Sgd {
            return bad(
                "momentum",
                self.momentum.to_string(),
                "0 with adam or adamw (their betas play that part); use --optimizer sgd for momentum",
            );
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "weight-decay",
                self.weight_decay.to_string(),
                "a finite number ≥ 0",
            );
        }
        if self.batch_size == Some(0) {
            return bad("batch-size", "0".into(), "at least 1");
        }
        if let Schedule::Step { step_size, gamma } = self.schedule {
            if step_size == 0 {
                return bad("lr-step-size", "0".into(), "at least 1");
            }
            if !(gamma.is_finite() && gamma > 0.0 && gamma <= 1.0) {
                return bad(
                    "lr-gamma",
                    gamma.to_string(),
                    "a number in (0, 1], such as 0.1",
                );
            }
        }
        if self.patience == Some(0) {
            return bad("patience", "0".into(), "at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_pytorch() {
        let step = Schedule::Step {
            step_size: 10,
            gamma: 0.5,
        };
        assert_eq!(step.lr(1.0, 9, 100), 1.0);
        assert_eq!(step.lr(1.0, 10, 100), 0.5);
        assert_eq!(step.lr(1.0, 25, 100), 0.25);
        assert_eq!(Schedule::Cosine.lr(2.0, 0, 100), 2.0);
        assert!((Schedule::Cosine.lr(2.0, 50, 100) - 1.0).abs() < 1e-12);
        assert!(Schedule::Cosine.lr(2.0, 99, 100) < 0.001);
        assert_eq!(Schedule::Constant.lr(0.3, 77, 100), 0.3);
    }

    #[test]
    fn invalid_config_is_refused() {
        for (config, name) in [
            (TrainConfig::new().with_epochs(0), "epochs"),
            (TrainConfig::new().with_lr(-1.0), "lr"),
            (TrainConfig::new().with_lr(f64::NAN), "lr"),
            (TrainConfig::new().with_log_every(0), "log-every"),
            (
                TrainConfig::new().with_loss(LossKind::Huber { delta: 0.0 }),
                "huber-delta",
            ),
            (TrainConfig::new().with_momentum(1.0), "momentum"),
            (
                TrainConfig::new()
                    .with_momentum(0.9)
                    .with_optimizer(OptimizerKind::Adam),
                "momentum",
            ),
            (TrainConfig::new().with_weight_decay(-0.1), "weight-decay"),
            (TrainConfig::new().with_batch_size(Some(0)), "batch-size"),
            (
                TrainConfig::new().with_schedule(Schedule::Step {
                    step_size: 0,
                    gamma: 0.1,
                }),
                "lr-step-size",
            ),
            (
                TrainConfig::new().with_schedule(Schedule::Step {
                    step_size: 5,
                    gamma: 2.0,
                }),
                "lr-gamma",
            ),
            (TrainConfig::new().with_patience(Some(0)), "patience"),
        ] {
            match config.validate() {
                Err(TrainError::InvalidConfig { name: got, .. }) => assert_eq!(got, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(TrainConfig::new().with_momentum(0.9).validate().is_ok());
    }
}
