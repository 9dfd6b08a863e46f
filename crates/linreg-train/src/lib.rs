//! The linreg training loop.
//!
//! [`train`] moves a [`Split`](linreg_data::Split) onto a device, then runs full-batch gradient
//! descent on an [`LrModel`] exactly as the PyTorch tutorial does: forward, loss, backward,
//! optimizer step; every `log_every` epochs it evaluates the test rows on the inference model
//! (`valid()`, Burn's `torch.inference_mode()`) and reports a [`LogEntry`]: the train loss
//! computed before that epoch's step, and the test loss after it. The library never prints:
//! progress goes to a callback.
//!
//! ```
//! use burn::backend::{Autodiff, NdArray};
//! use linreg_data::{LineSpec, Split};
//! use linreg_model::{LinearParams, LrModelConfig};
//! use linreg_train::{train, TrainConfig};
//!
//! type B = Autodiff<NdArray>;
//! let device = Default::default();
//! let split = Split::ordered(LineSpec::default().generate()?, 0.8)?;
//! let start = LinearParams { weight: vec![vec![0.7645385]], bias: vec![0.8300079] };
//! let model = LrModelConfig::new().init::<B>(&device).with_params(&start)?;
//!
//! let config = TrainConfig::new(); // L1 loss, SGD at lr 0.01, 500 epochs, log every 50
//! let mut logged = Vec::new();
//! let trained = train(model, &split, &config, &device, &mut |e: &linreg_train::LogEntry| logged.push(e.epoch))?;
//! assert_eq!(logged, vec![0, 50, 100, 150, 200, 250, 300, 350, 400, 450]);
//! assert!(trained.test_loss < 0.01);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::nn::loss::{HuberLossConfig, LpLossConfig, MseLoss, Reduction};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{GradientsParams, Optimizer, Sgd, SgdConfig};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use linreg_data::{Dataset, Matrix, Split};
use linreg_model::LrModel;
use serde::{Deserialize, Serialize};

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

    /// The loss's name as the CLI spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::L1 => "l1",
            Self::Mse => "mse",
            Self::Huber { .. } => "huber",
        }
    }
}

/// Hyperparameters of a training run. Defaults are the tutorial's.
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Full passes over the training rows.
    #[config(default = 500)]
    pub epochs: usize,
    /// SGD learning rate.
    #[config(default = 0.01)]
    pub lr: f64,
    /// Evaluate and report every this many epochs (epoch 0 included).
    #[config(default = 50)]
    pub log_every: usize,
    /// The loss to minimize.
    #[config(default = "LossKind::L1")]
    pub loss: LossKind,
}

impl TrainConfig {
    /// Checks every hyperparameter once, before any tensor is made.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |name, value: f64, expected| {
            Err(TrainError::InvalidConfig {
                name,
                value: value.to_string(),
                expected,
            })
        };
        if self.epochs == 0 {
            return bad("epochs", 0.0, "at least 1");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", self.lr, "a positive finite number, such as 0.01");
        }
        if self.log_every == 0 {
            return bad("log-every", 0.0, "at least 1");
        }
        if let LossKind::Huber { delta } = self.loss {
            if !(delta.is_finite() && delta > 0.0) {
                return bad(
                    "huber-delta",
                    delta,
                    "a positive finite number, such as 1.0",
                );
            }
        }
        Ok(())
    }
}

/// One evaluation during training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Zero-based epoch.
    pub epoch: usize,
    /// Loss on the training rows, computed before this epoch's optimizer step.
    pub train_loss: f64,
    /// Loss on the test rows, computed after this epoch's step, in inference mode.
    pub test_loss: f64,
}

/// What [`train`] gives back.
#[derive(Debug)]
pub struct Trained<B: AutodiffBackend> {
    /// The trained model, without autodiff: ready to predict or save.
    pub model: LrModel<B::InnerBackend>,
    /// Every logged evaluation, in order.
    pub history: Vec<LogEntry>,
    /// Loss of the final model on the training rows.
    pub train_loss: f64,
    /// Loss of the final model on the test rows.
    pub test_loss: f64,
    /// Wall time of the loop, device work included.
    pub seconds: f64,
}

/// Why training stopped without a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// A hyperparameter is out of range.
    #[error("--{name} = {value} is invalid: expected {expected}")]
    InvalidConfig {
        /// The option's name.
        name: &'static str,
        /// The value given.
        value: String,
        /// What a valid value looks like.
        expected: &'static str,
    },
    /// The data do not fit the model.
    #[error(
        "the model takes {model_in} inputs and gives {model_out} outputs, \
         but the data have {data_in} feature and {data_out} target columns"
    )]
    ShapeMismatch {
        /// Model inputs.
        model_in: usize,
        /// Model outputs.
        model_out: usize,
        /// Feature columns.
        data_in: usize,
        /// Target columns.
        data_out: usize,
    },
    /// The loss became NaN or infinite.
    #[error(
        "training diverged: the {which} loss became {value} at epoch {epoch}; \
         try a smaller learning rate than {}", short(*lr)
    )]
    Diverged {
        /// `train` or `test`.
        which: &'static str,
        /// The non-finite value.
        value: f64,
        /// The epoch at which it was seen.
        epoch: usize,
        /// The learning rate used.
        lr: f64,
    },
}

/// A number as a person would type it: `0.01`, `1e38`.
fn short(v: f64) -> String {
    if v != 0.0 && !(1e-4..1e6).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

/// Copies a matrix onto `device` as a `[rows, cols]` tensor: one contiguous copy.
pub fn to_tensor<B: Backend>(m: &Matrix, device: &B::Device) -> Tensor<B, 2> {
    Tensor::from_data(
        TensorData::new(m.values().to_vec(), [m.rows(), m.cols()]),
        device,
    )
}

/// The tensors of a dataset on one device.
struct DeviceData<B: Backend> {
    x: Tensor<B, 2>,
    y: Tensor<B, 2>,
}

impl<B: Backend> DeviceData<B> {
    fn new(data: &Dataset, device: &B::Device) -> Self {
        Self {
            x: to_tensor(&data.x, device),
            y: to_tensor(&data.y, device),
        }
    }
}

/// The loss of `model` on `data`, read back to the host.
pub fn evaluate<B: Backend>(
    model: &LrModel<B>,
    data: &Dataset,
    loss: LossKind,
    device: &B::Device,
) -> f64 {
    let d = DeviceData::<B>::new(data, device);
    scalar(loss.compute(model.forward(d.x), d.y))
}

fn scalar<B: Backend>(t: Tensor<B, 1>) -> f64 {
    t.into_scalar().elem::<f64>()
}

/// One epoch at a time: the loop [`train`] runs, for callers that want to watch or steer it.
///
/// Like Burn's optimizers, it takes the model by value and gives the updated one back:
///
/// ```
/// use burn::backend::{Autodiff, NdArray};
/// use linreg_data::{LineSpec, Split};
/// use linreg_model::LrModelConfig;
/// use linreg_train::{TrainConfig, Trainer};
///
/// type B = Autodiff<NdArray>;
/// let device = Default::default();
/// let split = Split::ordered(LineSpec::default().generate()?, 0.8)?;
/// let mut model = LrModelConfig::new().init::<B>(&device);
/// let mut trainer = Trainer::new(&model, &split, &TrainConfig::new(), &device)?;
/// for _ in 0..3 {
///     let (next, loss) = trainer.step(model);
///     model = next;
///     println!("train loss before this step: {}", loss.into_scalar());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Trainer<B: AutodiffBackend> {
    optim: OptimizerAdaptor<Sgd<B::InnerBackend>, LrModel<B>, B>,
    train: DeviceData<B>,
    test: DeviceData<B::InnerBackend>,
    config: TrainConfig,
}

impl<B: AutodiffBackend> Trainer<B> {
    /// Validates `config`, checks that `split` fits `model`'s shape and moves the data to `device`.
    pub fn new(
        model: &LrModel<B>,
        split: &Split,
        config: &TrainConfig,
        device: &B::Device,
    ) -> Result<Self, TrainError> {
        config.validate()?;
        let (d_in, d_out) = (model.d_input(), model.d_output());
        for data in [&split.train, &split.test] {
            if data.x.cols() != d_in || data.y.cols() != d_out {
                return Err(TrainError::ShapeMismatch {
                    model_in: d_in,
                    model_out: d_out,
                    data_in: data.x.cols(),
                    data_out: data.y.cols(),
                });
            }
        }
        Ok(Self {
            optim: SgdConfig::new().init::<B, LrModel<B>>(),
            train: DeviceData::new(&split.train, device),
            test: DeviceData::new(&split.test, device),
            config: config.clone(),
        })
    }

    /// One full-batch epoch: forward, loss, backward, optimizer step. Returns the updated model
    /// and the training loss computed before the step, left on the device (reading it waits
    /// for the device, so read it only when needed).
    pub fn step(&mut self, model: LrModel<B>) -> (LrModel<B>, Tensor<B::InnerBackend, 1>) {
        let pred = model.forward(self.train.x.clone());
        let loss = self.config.loss.compute(pred, self.train.y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = self.optim.step(self.config.lr, model, grads);
        (model, loss.inner())
    }

    /// Loss of an inference model on the test rows.
    pub fn test_loss(&self, model: &LrModel<B::InnerBackend>) -> f64 {
        scalar(
            self.config
                .loss
                .compute(model.forward(self.test.x.clone()), self.test.y.clone()),
        )
    }
}

/// Trains `model` on `split.train` with full-batch SGD, evaluating on `split.test`.
///
/// `on_log` is called with each [`LogEntry`] as it is made (epochs 0, `log_every`, …).
/// Losses are read back from the device only at those epochs, so the loop itself never waits
/// on the device.
pub fn train<B: AutodiffBackend>(
    mut model: LrModel<B>,
    split: &Split,
    config: &TrainConfig,
    device: &B::Device,
    on_log: &mut dyn FnMut(&LogEntry),
) -> Result<Trained<B>, TrainError> {
    let mut trainer = Trainer::new(&model, split, config, device)?;
    let diverged = |which, value: f64, epoch| TrainError::Diverged {
        which,
        value,
        epoch,
        lr: config.lr,
    };
    let mut history = Vec::with_capacity(config.epochs / config.log_every + 1);
    let start = Instant::now();
    for epoch in 0..config.epochs {
        let (next, loss) = trainer.step(model);
        model = next;
        if epoch % config.log_every == 0 {
            let entry = LogEntry {
                epoch,
                train_loss: scalar(loss),
                test_loss: trainer.test_loss(&model.valid()),
            };
            for (which, value) in [("train", entry.train_loss), ("test", entry.test_loss)] {
                if !value.is_finite() {
                    return Err(diverged(which, value, epoch));
                }
            }
            on_log(&entry);
            history.push(entry);
        }
    }
    let model = model.valid();
    let train_loss = evaluate(&model, &split.train, config.loss, device);
    let test_loss = trainer.test_loss(&model);
    let seconds = start.elapsed().as_secs_f64();
    for (which, value) in [("train", train_loss), ("test", test_loss)] {
        if !value.is_finite() {
            return Err(diverged(which, value, config.epochs - 1));
        }
    }
    Ok(Trained {
        model,
        history,
        train_loss,
        test_loss,
        seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use linreg_data::LineSpec;
    use linreg_model::{LinearParams, LrModelConfig};

    type B = Autodiff<NdArray>;

    fn start(w: f32, b: f32) -> LrModel<B> {
        LrModelConfig::new()
            .init::<B>(&Default::default())
            .with_params(&LinearParams {
                weight: vec![vec![w]],
                bias: vec![b],
            })
            .unwrap()
    }

    fn tutorial_split() -> Split {
        Split::ordered(LineSpec::default().generate().unwrap(), 0.8).unwrap()
    }

    #[test]
    fn one_sgd_step_matches_hand_computation() {
        // From w = 0, b = 0 every prediction is below its target, so the L1 gradient is
        // (−mean(x), −1) and one step at lr 0.01 gives w = 0.01·mean(x), b = 0.01.
        let split = tutorial_split();
        let mean_x: f64 = split
            .train
            .x
            .values()
            .iter()
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / 40.0;
        let config = TrainConfig::new().with_epochs(1);
        let trained = train(
            start(0.0, 0.0),
            &split,
            &config,
            &Default::default(),
            &mut |_| {},
        )
        .unwrap();
        let p = trained.model.params();
        assert!((f64::from(p.weight[0][0]) - 0.01 * mean_x).abs() < 1e-7);
        assert!((p.bias[0] - 0.01).abs() < 1e-7);
        // The logged train loss is the one before the step: mean(y) of the training rows.
        let mean_y: f64 = split
            .train
            .y
            .values()
            .iter()
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / 40.0;
        assert!((trained.history[0].train_loss - mean_y).abs() < 1e-6);
    }

    #[test]
    fn mse_on_a_perfect_start_stays_put() {
        let split = tutorial_split();
        let config = TrainConfig::new().with_loss(LossKind::Mse).with_epochs(10);
        let trained = train(
            start(0.8, 0.2),
            &split,
            &config,
            &Default::default(),
            &mut |_| {},
        )
        .unwrap();
        assert!(trained.train_loss < 1e-12);
        let p = trained.model.params();
        assert!((p.weight[0][0] - 0.8).abs() < 1e-6 && (p.bias[0] - 0.2).abs() < 1e-6);
    }

    #[test]
    fn huge_learning_rate_diverges_with_a_hint() {
        let split = tutorial_split();
        let config = TrainConfig::new()
            .with_loss(LossKind::Mse)
            .with_lr(1e30)
            .with_epochs(100)
            .with_log_every(1);
        let err = train(
            start(0.0, 0.0),
            &split,
            &config,
            &Default::default(),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(err, TrainError::Diverged { .. }), "{err}");
        assert!(err.to_string().contains("smaller learning rate"));
    }

    #[test]
    fn invalid_config_is_refused_before_training() {
        for config in [
            TrainConfig::new().with_epochs(0),
            TrainConfig::new().with_lr(-1.0),
            TrainConfig::new().with_lr(f64::NAN),
            TrainConfig::new().with_log_every(0),
            TrainConfig::new().with_loss(LossKind::Huber { delta: 0.0 }),
        ] {
            assert!(matches!(
                config.validate(),
                Err(TrainError::InvalidConfig { .. })
            ));
        }
    }

    #[test]
    fn data_of_the_wrong_width_is_refused() {
        let split = tutorial_split();
        let model = LrModelConfig::new()
            .with_d_input(2)
            .init::<B>(&Default::default());
        let err = train(
            model,
            &split,
            &TrainConfig::new(),
            &Default::default(),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(
            err,
            TrainError::ShapeMismatch {
                model_in: 2,
                data_in: 1,
                ..
            }
        ));
    }

    #[test]
    fn huber_is_quadratic_then_linear() {
        let device = Default::default();
        let pred = Tensor::<NdArray, 2>::from_floats([[0.5], [3.0]], &device);
        let target = Tensor::<NdArray, 2>::zeros([2, 1], &device);
        // delta 1: 0.5·0.5² = 0.125; 1·(3 − 0.5) = 2.5; mean 1.3125
        let v = scalar(LossKind::Huber { delta: 1.0 }.compute(pred, target));
        assert!((v - 1.3125).abs() < 1e-7);
    }
}
