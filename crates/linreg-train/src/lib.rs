//! The linreg training loop.
//!
//! [`train`] moves a [`Split`](linreg_data::Split) onto a device once, then runs gradient
//! descent on an [`LrModel`]: forward, loss, backward, optimizer step, for full batches (the
//! tutorial) or seeded mini-batches. Every `log_every` epochs it evaluates both sets on the
//! inference model (`valid()`, Burn's `torch.inference_mode()`) and reports a [`LogEntry`]: as
//! in the PyTorch tutorial, the train loss is the one computed before that epoch's step and the
//! test loss is computed after it. The library never prints: progress goes to a [`Progress`].
//!
//! Each step is, by default, one fused pass over the rows ([`TrainStep::Fused`]: the loss and
//! its gradients from `linreg-fused`'s Burn backend extension, handed to the optimizer through
//! autodiff); [`TrainStep::Plain`] runs Burn's own graph (`Linear`, Burn's loss modules,
//! autodiff, Burn's optimizers) and is the reference the fused step is tested against.
//! Mini-batches are slices of a permutation of the rows already on the device. Data can be
//! moved to the device once ([`DeviceSplit::new`], [`train_on_device`]), so the table never
//! exists twice in memory.
//!
//! Losses: L1, MSE, Huber ([`LossKind`]). Optimizers: SGD with momentum and weight decay, Adam,
//! AdamW, with PyTorch's semantics ([`OptimizerKind`]). Schedules: constant, step, cosine
//! ([`Schedule`]). Early stopping on the test loss (`patience`). Metrics: MAE, MSE, RMSE, R²
//! ([`Metrics`]).
//!
//! ```
//! use burn::backend::{Autodiff, NdArray};
//! use linreg_data::{LineSpec, Split};
//! use linreg_model::{LinearParams, LrModelConfig};
//! use linreg_train::{train, LogEntry, TrainConfig};
//!
//! type B = Autodiff<NdArray>;
//! let device = Default::default();
//! let split = Split::ordered(LineSpec::default().generate()?, 0.8)?;
//! let start = LinearParams { weight: vec![vec![0.7645385]], bias: vec![0.8300079] };
//! let model = LrModelConfig::new().init::<B>(&device).with_params(&start)?;
//!
//! let config = TrainConfig::new(); // L1 loss, SGD at lr 0.01, 500 epochs, log every 50
//! let mut logged = Vec::new();
//! let trained = train(model, &split, &config, &device, &mut |e: &LogEntry| logged.push(e.epoch))?;
//! assert_eq!(logged, vec![0, 50, 100, 150, 200, 250, 300, 350, 400, 450]);
//! assert!(trained.test_loss < 0.01);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod checkpoint;
mod config;
mod device;
pub mod epochs;
mod metrics;
mod optim;
mod trainer;

use burn::prelude::*;
use linreg_data::{Matrix, Real};
use linreg_model::LrModel;

pub use checkpoint::{Checkpoint, Checkpointer, TrainState};
pub use config::{LossKind, OptimizerKind, Schedule, TrainConfig, TrainStep};
pub use device::{DeviceData, DeviceSplit};
pub use epochs::{run_epochs, EpochLoss, Epochs};
pub use linreg_fused::FusedAutodiffBackend;
pub use metrics::{sum_of_squares, Metrics, Scores};
pub use optim::{TorchSgd, TorchSgdState};
pub use trainer::{
    train, train_checkpointed, train_on_device, train_on_device_checkpointed, EarlyStopping,
    LogEntry, Progress, Trained, Trainer,
};

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
    /// Training was asked to stop (Ctrl-C) after a checkpoint was saved.
    #[error("training was interrupted after epoch {epochs_done}")]
    Interrupted {
        /// Epochs completed and saved.
        epochs_done: usize,
    },
    /// A checkpoint could not be saved or restored.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
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
pub fn to_tensor<B: Backend>(
    m: &Matrix<impl Real + burn::tensor::Element>,
    device: &B::Device,
) -> Tensor<B, 2> {
    // `from_data` keeps the data's own float type: convert to the backend's (f64 models).
    Tensor::from_data(
        TensorData::new(m.values().to_vec(), [m.rows(), m.cols()]).convert::<B::FloatElem>(),
        device,
    )
}

/// Reads a `[rows, cols]` tensor back into a host matrix.
pub fn to_matrix<B: Backend>(t: Tensor<B, 2>) -> Matrix {
    let [rows, cols] = t.dims();
    let values = t
        .into_data()
        .convert::<f32>()
        .into_vec()
        .unwrap_or_default();
    Matrix::new(rows, cols, values).unwrap_or_else(|_| Matrix::column(Vec::new()))
}

/// Predictions of `model` for the rows of `x` (f32 or f64), on the host (`[rows, d_output]`,
/// rounded to f32).
pub fn predict<B: Backend>(
    model: &LrModel<B>,
    x: &Matrix<impl Real + burn::tensor::Element>,
    device: &B::Device,
) -> Matrix {
    to_matrix(model.forward(to_tensor(x, device)))
}

/// The loss of `model` on `data`, read back to the host.
pub fn evaluate<B: Backend>(
    model: &LrModel<B>,
    data: &linreg_data::Dataset<impl Real + burn::tensor::Element>,
    loss: LossKind,
    device: &B::Device,
) -> f64 {
    let pred = model.forward(to_tensor(&data.x, device));
    loss.compute(pred, to_tensor(&data.y, device))
        .into_scalar()
        .elem::<f64>()
}
