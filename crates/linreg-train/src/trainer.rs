//! The loop in memory: [`Trainer`] runs one epoch at a time on a device; [`train`] runs them
//! all through the one epoch loop of [`epochs`](crate::epochs), with checkpoints.

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, GradientsParams, Optimizer, Sgd, SgdConfig,
};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use linreg_data::{rng, Split};
use linreg_model::LrModel;
use serde::{Deserialize, Serialize};

use burn::tensor::Element;
use linreg_data::Real;
use linreg_fused::{regression_loss, FusedAutodiffBackend};

use crate::checkpoint::{BestModel, Checkpoint, Checkpointer, OptimizerRecord, TrainState};
use crate::device::{DeviceData, DeviceSplit};
use crate::epochs::{run_epochs, EpochLoss, Epochs, Evaluated, Resume, SoFar, Stepped};
use crate::optim::TorchSgd;
use crate::{Metrics, OptimizerKind, Scores, TrainConfig, TrainError, TrainStep};

/// One evaluation during training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Zero-based epoch.
    pub epoch: usize,
    /// Learning rate used in this epoch.
    pub lr: f64,
    /// Loss on the training rows: computed before this epoch's step for full batches (as the
    /// PyTorch tutorial prints it), the row-weighted mean of the batch losses otherwise.
    pub train_loss: f64,
    /// Loss on the test rows, computed after this epoch's step, in inference mode.
    pub test_loss: f64,
    /// Scores on the training rows after this epoch's step, averaged over targets.
    pub train: Scores,
    /// Scores on the test rows after this epoch's step, averaged over targets.
    pub test: Scores,
}

/// Receives progress from [`train`]. Both methods default to doing nothing; a closure
/// `FnMut(&LogEntry)` is a `Progress` that only listens to log entries.
pub trait Progress {
    /// Called after each epoch (0-based) of `epochs`.
    fn on_epoch(&mut self, _epoch: usize, _epochs: usize) {}
    /// Called with each logged evaluation.
    fn on_log(&mut self, _entry: &LogEntry) {}
}

/// No progress reports.
impl Progress for () {}

impl<F: FnMut(&LogEntry)> Progress for F {
    fn on_log(&mut self, entry: &LogEntry) {
        self(entry);
    }
}

/// What [`train`] gives back.
#[derive(Debug)]
pub struct Trained<B: AutodiffBackend> {
    /// The trained model (the best one, with early stopping), without autodiff.
    pub model: LrModel<B::InnerBackend>,
    /// Every logged evaluation, in order.
    pub history: Vec<LogEntry>,
    /// Loss of the returned model on the training rows.
    pub train_loss: f64,
    /// Loss of the returned model on the test rows.
    pub test_loss: f64,
    /// Scores of the returned model on the training rows.
    pub train_metrics: Metrics,
    /// Scores of the returned model on the test rows.
    pub test_metrics: Metrics,
    /// Epochs run (fewer than asked when early stopping struck).
    pub epochs_run: usize,
    /// With early stopping: the epoch whose model was kept.
    pub best_epoch: Option<usize>,
    /// Wall time of the loop, device work included.
    pub seconds: f64,
}

/// Early stopping on the test loss (`TrainConfig::patience`): keeps the best model seen and
/// says when `patience` epochs have passed without improvement. Every training loop (in
/// memory here, streamed or from moments in `linreg-stream`) decides the same way.
#[derive(Debug)]
pub struct EarlyStopping<M> {
    patience: Option<usize>,
    best: Option<(f64, usize, M)>,
}

impl<M> EarlyStopping<M> {
    /// With `patience: None` it never stops and keeps nothing.
    pub fn new(patience: Option<usize>) -> Self {
        Self {
            patience,
            best: None,
        }
    }

    /// Whether the loop must compute the test loss every epoch.
    pub fn active(&self) -> bool {
        self.patience.is_some()
    }

    /// Records `epoch`'s test loss and model. Returns `true` when the run should stop:
    /// `patience` epochs after the best one without a lower loss (a NaN loss never improves).
    pub fn observe(&mut self, epoch: usize, test_loss: f64, model: M) -> bool {
        let Some(patience) = self.patience else {
            return false;
        };
        match &self.best {
            Some((loss, at, _))
                if test_loss.partial_cmp(loss) != Some(std::cmp::Ordering::Less) =>
            {
                epoch - at >= patience
            }
            _ => {
                self.best = Some((test_loss, epoch, model));
                false
            }
        }
    }

    /// The best epoch so far: its test loss, its number and its model.
    pub fn best(&self) -> Option<&(f64, usize, M)> {
        self.best.as_ref()
    }

    /// Continues from a checkpoint's best epoch.
    pub fn resume(&mut self, best: Option<(f64, usize, M)>) {
        self.best = best;
    }

    /// The model to return and, if early stopping kept one, its epoch; `last` otherwise.
    pub fn finish(self, last: impl FnOnce() -> M) -> (M, Option<usize>) {
        match self.best {
            Some((_, at, kept)) => (kept, Some(at)),
            None => (last(), None),
        }
    }
}

/// Burn's optimizers have different types; this picks one at run time.
enum Optim<B: FusedAutodiffBackend> {
    Sgd(OptimizerAdaptor<Sgd<B::InnerBackend>, LrModel<B>, B>),
    TorchSgd(OptimizerAdaptor<TorchSgd, LrModel<B>, B>),
    Adam(OptimizerAdaptor<Adam, LrModel<B>, B>),
    AdamW(OptimizerAdaptor<AdamW, LrModel<B>, B>),
}

impl<B: FusedAutodiffBackend> Optim<B> {
    fn new(config: &TrainConfig) -> Self {
        let decay =
            (config.weight_decay > 0.0).then(|| WeightDecayConfig::new(config.weight_decay as f32));
        // PyTorch's defaults: no dampening, ε = 1e-8 (Burn's defaults are 0.1 and 1e-5).
        match (config.optimizer, config.train_step) {
            (OptimizerKind::Sgd, TrainStep::Fused) => {
                Self::TorchSgd(OptimizerAdaptor::from(TorchSgd {
                    momentum: config.momentum,
                    weight_decay: config.weight_decay,
                }))
            }
            (OptimizerKind::Sgd, TrainStep::Plain) => Self::Sgd(
                SgdConfig::new()
                    .with_momentum((config.momentum > 0.0).then(|| {
                        MomentumConfig::new()
                            .with_momentum(config.momentum)
                            .with_dampening(0.0)
                    }))
                    .with_weight_decay(decay)
                    .init(),
            ),
            (OptimizerKind::Adam, _) => Self::Adam(
                AdamConfig::new()
                    .with_epsilon(1e-8)
                    .with_weight_decay(decay)
                    .init(),
            ),
            (OptimizerKind::AdamW, _) => Self::AdamW(
                AdamWConfig::new()
                    .with_epsilon(1e-8)
                    .with_weight_decay(config.weight_decay as f32)
                    .init(),
            ),
        }
    }

    fn step(&mut self, lr: f64, model: LrModel<B>, grads: GradientsParams) -> LrModel<B> {
        match self {
            Self::Sgd(o) => o.step(lr, model, grads),
            Self::TorchSgd(o) => o.step(lr, model, grads),
            Self::Adam(o) => o.step(lr, model, grads),
            Self::AdamW(o) => o.step(lr, model, grads),
        }
    }

    /// The optimizer's state, as Burn records it.
    fn record(&self) -> OptimizerRecord<B> {
        match self {
            Self::Sgd(o) => OptimizerRecord::Sgd(o.to_record()),
            Self::TorchSgd(o) => OptimizerRecord::TorchSgd(o.to_record()),
            Self::Adam(o) => OptimizerRecord::Adam(o.to_record()),
            Self::AdamW(o) => OptimizerRecord::AdamW(o.to_record()),
        }
    }

    /// This optimizer with a recorded state, which must be of the same optimizer.
    fn with_record(self, record: OptimizerRecord<B>) -> Result<Self, TrainError> {
        match (self, record) {
            (Self::Sgd(o), OptimizerRecord::Sgd(r)) => Ok(Self::Sgd(o.load_record(r))),
            (Self::TorchSgd(o), OptimizerRecord::TorchSgd(r)) => {
                Ok(Self::TorchSgd(o.load_record(r)))
            }
            (Self::Adam(o), OptimizerRecord::Adam(r)) => Ok(Self::Adam(o.load_record(r))),
            (Self::AdamW(o), OptimizerRecord::AdamW(r)) => Ok(Self::AdamW(o.load_record(r))),
            _ => Err(TrainError::Checkpoint(
                "the checkpoint holds the state of another optimizer than the one configured"
                    .into(),
            )),
        }
    }
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
pub struct Trainer<B: FusedAutodiffBackend> {
    optim: Optim<B>,
    /// The training rows as (untracked) autodiff tensors, made once.
    train_xy: (Tensor<B, 2>, Tensor<B, 2>),
    train: DeviceData<B::InnerBackend>,
    test: DeviceData<B::InnerBackend>,
    config: TrainConfig,
    rows: usize,
    epoch: usize,
}

impl<B: FusedAutodiffBackend> Trainer<B> {
    /// Validates `config`, checks that `split` fits `model`'s shape and copies the data to
    /// `device`.
    pub fn new<T: Real + Element>(
        model: &LrModel<B>,
        split: &Split<T>,
        config: &TrainConfig,
        device: &B::Device,
    ) -> Result<Self, TrainError> {
        config.validate()?;
        check_shapes(model, split.train.x.cols(), split.train.y.cols())?;
        check_shapes(model, split.test.x.cols(), split.test.y.cols())?;
        Self::on_device(model, DeviceSplit::copied(split, device), config)
    }

    /// Like [`Trainer::new`], for data already on the device (see [`DeviceSplit::new`]).
    pub fn on_device(
        model: &LrModel<B>,
        data: DeviceSplit<B::InnerBackend>,
        config: &TrainConfig,
    ) -> Result<Self, TrainError> {
        config.validate()?;
        for set in [&data.train, &data.test] {
            check_shapes(model, set.inputs(), set.outputs())?;
        }
        Ok(Self {
            optim: Optim::new(config),
            train_xy: (
                Tensor::from_inner(data.train.x().clone()),
                Tensor::from_inner(data.train.y().clone()),
            ),
            rows: data.train.len(),
            train: data.train,
            test: data.test,
            config: config.clone(),
            epoch: 0,
        })
    }

    /// The learning rate the next epoch will use.
    pub fn lr(&self) -> f64 {
        self.config
            .schedule
            .lr(self.config.lr, self.epoch, self.config.epochs)
    }

    /// The loss of `model` on the training rows `rows` (all when `None`), with its graph.
    fn loss(&self, model: &LrModel<B>, rows: Option<Tensor<B, 1, Int>>) -> Tensor<B, 1> {
        let (x, y) = self.train_xy.clone();
        match self.config.train_step {
            TrainStep::Fused => regression_loss(
                x,
                y,
                model.linear.weight.val(),
                model.linear.bias.as_ref().map(|b| b.val()),
                rows,
                self.config.loss.fused(),
            ),
            TrainStep::Plain => {
                let (x, y) = match rows {
                    Some(idx) => (x.select(0, idx.clone()), y.select(0, idx)),
                    None => (x, y),
                };
                self.config.loss.compute(model.forward(x), y)
            }
        }
    }

    /// One epoch: full batch (forward, loss, backward, step), or one step per mini-batch of a
    /// fresh seeded shuffle. Returns the updated model and the epoch's training loss, left on the
    /// device (reading it waits for the device, so read it only when needed).
    ///
    /// Mini-batches are rows of the one device-resident table: the epoch's permutation goes to
    /// the device once, and each step reads its slice of it (the fused step reads those rows in
    /// place; the plain step gathers one batch with `select`).
    pub fn step(&mut self, mut model: LrModel<B>) -> (LrModel<B>, Tensor<B::InnerBackend, 1>) {
        let lr = self.lr();
        let rows = self.rows;
        let batch = self.config.batch_size.unwrap_or(rows).min(rows);
        let loss = if batch >= rows {
            let loss = self.loss(&model, None);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = self.optim.step(lr, model, grads);
            loss.inner()
        } else {
            let seed = self.config.seed ^ (self.epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let order: Vec<burn::tensor::ops::IntElem<B>> = rng::permutation(rows, seed)
                .into_iter()
                .map(|i| (i as i64).elem())
                .collect();
            let device = self.train.x().device();
            let perm = Tensor::<B, 1, Int>::from_data(TensorData::new(order, [rows]), &device);
            let mut total = Tensor::<B::InnerBackend, 1>::zeros([1], &device);
            for start in (0..rows).step_by(batch) {
                let len = batch.min(rows - start);
                let loss = self.loss(&model, Some(perm.clone().narrow(0, start, len)));
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = self.optim.step(lr, model, grads);
                total = total + loss.inner().mul_scalar(len as f64);
            }
            total.div_scalar(rows as f64)
        };
        self.epoch += 1;
        (model, loss)
    }

    /// Loss and scores of an inference model on one set of rows, in one pass over them.
    fn evaluate(
        &self,
        model: &LrModel<B::InnerBackend>,
        data: &DeviceData<B::InnerBackend>,
    ) -> (f64, Metrics) {
        let (x, y) = (data.x().clone(), data.y().clone());
        let (loss, sums) = match self.config.train_step {
            TrainStep::Fused => linreg_fused::evaluate(
                x,
                y,
                model.linear.weight.val(),
                model.linear.bias.as_ref().map(|b| b.val()),
                self.config.loss.fused(),
            ),
            TrainStep::Plain => {
                let pred = model.forward(x);
                let loss = self.config.loss.compute(pred.clone(), y.clone());
                let r = pred - y;
                let sums = Tensor::cat(
                    vec![r.clone().abs().sum_dim(0), (r.clone() * r).sum_dim(0)],
                    0,
                );
                (loss, sums)
            }
        };
        let sums: Vec<f64> = sums
            .into_data()
            .convert::<f64>()
            .into_vec()
            .unwrap_or_default();
        let m = data.outputs();
        let metrics = if sums.len() == 2 * m {
            Metrics::from_sums(&sums[..m], &sums[m..], data.len(), data.sum_of_squares())
        } else {
            Metrics::from_sums(
                &vec![f64::NAN; m],
                &vec![f64::NAN; m],
                data.len(),
                data.sum_of_squares(),
            )
        };
        (scalar(loss), metrics)
    }

    /// Loss of an inference model on the test rows.
    pub fn test_loss(&self, model: &LrModel<B::InnerBackend>) -> f64 {
        let (x, y) = (self.test.x().clone(), self.test.y().clone());
        scalar(match self.config.train_step {
            TrainStep::Fused => regression_loss(
                x,
                y,
                model.linear.weight.val(),
                model.linear.bias.as_ref().map(|b| b.val()),
                None,
                self.config.loss.fused(),
            ),
            TrainStep::Plain => self.config.loss.compute(model.forward(x), y),
        })
    }
}

fn check_shapes<B: Backend>(
    model: &LrModel<B>,
    inputs: usize,
    outputs: usize,
) -> Result<(), TrainError> {
    let (d_in, d_out) = (model.d_input(), model.d_output());
    if inputs != d_in || outputs != d_out {
        return Err(TrainError::ShapeMismatch {
            model_in: d_in,
            model_out: d_out,
            data_in: inputs,
            data_out: outputs,
        });
    }
    Ok(())
}

/// State export and restore, for checkpoints.
impl<B: FusedAutodiffBackend> Trainer<B> {
    /// Epochs run so far.
    pub fn epochs_done(&self) -> usize {
        self.epoch
    }

    /// The optimizer's state (momentum buffers, Adam's moments), keyed by parameter id.
    pub fn optimizer_record(&self) -> OptimizerRecord<B> {
        self.optim.record()
    }

    /// Continues after `epochs_done` epochs with the optimizer's recorded state: the schedule
    /// and the mini-batch order pick up at that epoch.
    pub fn restore(
        &mut self,
        epochs_done: usize,
        optimizer: OptimizerRecord<B>,
    ) -> Result<(), TrainError> {
        let fresh = Optim::new(&self.config);
        self.optim = std::mem::replace(&mut self.optim, fresh).with_record(optimizer)?;
        self.epoch = epochs_done;
        Ok(())
    }
}

fn scalar<B: Backend>(t: Tensor<B, 1>) -> f64 {
    t.into_scalar().elem::<f64>()
}

/// Trains `model` on `split.train`, evaluating on `split.test` (both copied to `device` once;
/// [`train_on_device`] takes data already there).
///
/// `progress` hears about every epoch and every [`LogEntry`] (epochs 0, `log_every`, …). Losses
/// are read back from the device only when they are reported or early stopping needs them, so
/// the loop itself does not wait on the device.
pub fn train<B: FusedAutodiffBackend, T: Real + Element>(
    model: LrModel<B>,
    split: &Split<T>,
    config: &TrainConfig,
    device: &B::Device,
    progress: &mut dyn Progress,
) -> Result<Trained<B>, TrainError> {
    train_checkpointed(model, split, config, device, progress, &mut (), None)
}

/// [`train`], handing a [`TrainState`] to `checkpointer` after the epochs it asks for, and
/// starting from `resume` when given (then `model` only supplies the shape and the device).
/// A run resumed from a state ends exactly as the run that saved it would have.
pub fn train_checkpointed<B: FusedAutodiffBackend, T: Real + Element>(
    model: LrModel<B>,
    split: &Split<T>,
    config: &TrainConfig,
    device: &B::Device,
    progress: &mut dyn Progress,
    checkpointer: &mut dyn Checkpointer<B>,
    resume: Option<TrainState<B>>,
) -> Result<Trained<B>, TrainError> {
    config.validate()?;
    check_shapes(&model, split.train.x.cols(), split.train.y.cols())?;
    check_shapes(&model, split.test.x.cols(), split.test.y.cols())?;
    train_on_device_checkpointed(
        model,
        DeviceSplit::copied(split, device),
        config,
        progress,
        checkpointer,
        resume,
    )
}

/// [`train`] on rows already on the device: with [`DeviceSplit::new`] the table is moved there
/// and never exists twice in memory.
pub fn train_on_device<B: FusedAutodiffBackend>(
    model: LrModel<B>,
    data: DeviceSplit<B::InnerBackend>,
    config: &TrainConfig,
    progress: &mut dyn Progress,
) -> Result<Trained<B>, TrainError> {
    train_on_device_checkpointed(model, data, config, progress, &mut (), None)
}

/// [`train_checkpointed`] on rows already on the device.
pub fn train_on_device_checkpointed<B: FusedAutodiffBackend>(
    model: LrModel<B>,
    data: DeviceSplit<B::InnerBackend>,
    config: &TrainConfig,
    progress: &mut dyn Progress,
    checkpointer: &mut dyn Checkpointer<B>,
    resume: Option<TrainState<B>>,
) -> Result<Trained<B>, TrainError> {
    let trainer = Trainer::on_device(&model, data, config)?;
    let mut runner = OnDevice {
        trainer,
        checkpointer,
    };
    let (model, resume) = match resume {
        None => (model, None),
        Some(state) => {
            // Record loading keeps the recorded parameter ids, which the optimizer's state uses.
            let model = model.load_record(state.model);
            runner.trainer.restore(state.epochs_done, state.optimizer)?;
            let best = state
                .best
                .map(|b| (b.test_loss, b.epoch, model.valid().load_record(b.model)));
            let resume = Resume {
                epochs_done: state.epochs_done,
                history: state.history,
                best,
                seconds: state.seconds,
            };
            (model, Some(resume))
        }
    };
    run_epochs(model, config, &mut runner, progress, resume)
}

/// Epochs of a [`Trainer`] on its device, checkpointed by a [`Checkpointer`].
struct OnDevice<'a, B: FusedAutodiffBackend> {
    trainer: Trainer<B>,
    checkpointer: &'a mut dyn Checkpointer<B>,
}

impl<B: FusedAutodiffBackend> Epochs<B> for OnDevice<'_, B> {
    type Error = TrainError;

    fn epoch(
        &mut self,
        model: LrModel<B>,
        _lr: f64,
        _epoch: usize,
    ) -> Result<Stepped<B>, TrainError> {
        // The trainer follows the schedule from its own epoch count (restored on resume).
        let (model, loss) = self.trainer.step(model);
        Ok((model, EpochLoss::Device(loss)))
    }

    fn evaluate(
        &mut self,
        model: &LrModel<B::InnerBackend>,
        scores: bool,
    ) -> Result<Evaluated, TrainError> {
        let t = &self.trainer;
        Ok(if scores {
            let (loss, test) = t.evaluate(model, &t.test);
            let (_, train) = t.evaluate(model, &t.train);
            (loss, Some((train, test)))
        } else {
            (t.test_loss(model), None)
        })
    }

    fn last(
        &mut self,
        model: &LrModel<B::InnerBackend>,
    ) -> Result<(f64, f64, Metrics, Metrics), TrainError> {
        let t = &self.trainer;
        let (train_loss, train) = t.evaluate(model, &t.train);
        let (test_loss, test) = t.evaluate(model, &t.test);
        Ok((train_loss, test_loss, train, test))
    }

    fn after_epoch(
        &mut self,
        epochs_done: usize,
        model: &LrModel<B>,
        so_far: &SoFar<'_, B>,
    ) -> Result<bool, TrainError> {
        let decision = self.checkpointer.after_epoch(epochs_done);
        if decision == Checkpoint::Continue {
            return Ok(false);
        }
        let state = TrainState {
            epochs_done,
            model: model.clone().into_record(),
            optimizer: self.trainer.optimizer_record(),
            best: so_far.best.map(|(test_loss, epoch, m)| BestModel {
                test_loss: *test_loss,
                epoch: *epoch,
                model: m.clone().into_record(),
            }),
            history: so_far.history.to_vec(),
            seconds: so_far.seconds,
        };
        self.checkpointer
            .save(state)
            .map_err(TrainError::Checkpoint)?;
        Ok(decision == Checkpoint::SaveAndStop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LossKind, Schedule};
    use burn::backend::{Autodiff, NdArray};
    use linreg_data::{Dataset, LineSpec, SyntheticSpec};
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

    fn quiet() -> impl Progress {
        |_: &LogEntry| {}
    }

    #[test]
    fn one_sgd_step_matches_hand_computation() {
        // From w = 0, b = 0 every prediction is below its target, so the L1 gradient is
        // (−mean(x), −1) and one step at lr 0.01 gives w = 0.01·mean(x), b = 0.01.
        let split = tutorial_split();
        let mean = |v: &[f32]| v.iter().map(|&v| f64::from(v)).sum::<f64>() / v.len() as f64;
        let config = TrainConfig::new().with_epochs(1);
        let trained = train(
            start(0.0, 0.0),
            &split,
            &config,
            &Default::default(),
            &mut quiet(),
        )
        .unwrap();
        let p = trained.model.params();
        assert!((f64::from(p.weight[0][0]) - 0.01 * mean(split.train.x.values())).abs() < 1e-7);
        assert!((p.bias[0] - 0.01).abs() < 1e-7);
        // The logged train loss is the one before the step: mean(y) of the training rows.
        assert!((trained.history[0].train_loss - mean(split.train.y.values())).abs() < 1e-6);
    }

    #[test]
    fn momentum_follows_pytorch_without_dampening() {
        // MSE from w = b = 0 on one point (x = 1, y = 1): g = 2(p − y) on each parameter.
        // PyTorch SGD(momentum=0.5): v1 = g1, p1 = p0 − lr·v1; v2 = 0.5·v1 + g2, p2 = p1 − lr·v2.
        let one = Dataset::new(
            linreg_data::Matrix::column(vec![1.0]),
            linreg_data::Matrix::column(vec![1.0]),
        )
        .unwrap();
        let split = Split {
            train: one.clone(),
            test: one,
        };
        let config = TrainConfig::new()
            .with_loss(LossKind::Mse)
            .with_lr(0.1)
            .with_momentum(0.5)
            .with_epochs(2);
        let trained = train(
            start(0.0, 0.0),
            &split,
            &config,
            &Default::default(),
            &mut quiet(),
        )
        .unwrap();
        // Step 1: p = 0, g = −2, v = −2, p = 0.2 (both w and b). Step 2: pred = 0.4, g = −1.2,
        // v = −1 − 1.2 = −2.2, p = 0.2 + 0.22 = 0.42.
        let p = trained.model.params();
        assert!((p.weight[0][0] - 0.42).abs() < 1e-6, "{p:?}");
        assert!((p.bias[0] - 0.42).abs() < 1e-6);
    }

    #[test]
    fn adam_first_step_moves_each_parameter_by_lr() {
        // Adam's first update is lr · m̂/(√v̂ + ε) = lr · sign(g) for any gradient.
        let split = tutorial_split();
        for optimizer in [OptimizerKind::Adam, OptimizerKind::AdamW] {
            let config = TrainConfig::new()
                .with_optimizer(optimizer)
                .with_lr(0.05)
                .with_epochs(1);
            let trained = train(
                start(0.0, 0.0),
                &split,
                &config,
                &Default::default(),
                &mut quiet(),
            )
            .unwrap();
            let p = trained.model.params();
            assert!(
                (p.weight[0][0] - 0.05).abs() < 1e-6 && (p.bias[0] - 0.05).abs() < 1e-6,
                "{optimizer:?}: {p:?}"
            );
        }
    }

    #[test]
    fn mini_batches_and_schedules_converge_on_many_features() {
        let s = SyntheticSpec {
            rows: 600,
            features: 4,
            targets: 2,
            noise: 0.0,
            seed: 5,
        }
        .generate()
        .unwrap();
        let split = Split::shuffled(s.data, 0.8, 1).unwrap();
        // Standardize so one learning rate suits every feature.
        let mut split = split;
        let names: Vec<String> = (0..4).map(|i| i.to_string()).collect();
        let st = linreg_data::Standardizer::fit(&split.train.x, &names).unwrap();
        st.apply(&mut split.train.x);
        st.apply(&mut split.test.x);
        for schedule in [
            Schedule::Constant,
            Schedule::Cosine,
            Schedule::Step {
                step_size: 100,
                gamma: 0.5,
            },
        ] {
            let config = TrainConfig::new()
                .with_loss(LossKind::Mse)
                .with_optimizer(OptimizerKind::Adam)
                .with_lr(0.05)
                .with_epochs(300)
                .with_batch_size(Some(64))
                .with_schedule(schedule)
                .with_seed(3);
            let model = LrModelConfig::new()
                .with_d_input(4)
                .with_d_output(2)
                .init::<B>(&Default::default());
            let trained = train(model, &split, &config, &Default::default(), &mut quiet()).unwrap();
            assert!(
                trained.test_metrics.mean.r2 > 0.999,
                "{schedule:?}: {:?}",
                trained.test_metrics
            );
            let w = trained.model.params().weight;
            let (orig, _) = st.to_original_units(
                &w.iter()
                    .map(|r| r.iter().map(|&v| f64::from(v)).collect())
                    .collect::<Vec<_>>(),
                &[0.0, 0.0],
            );
            for (got, want) in orig.iter().flatten().zip(s.weight.iter().flatten()) {
                assert!((got - want).abs() < 0.02, "{schedule:?}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn early_stopping_waits_patience_epochs_and_nan_never_improves() {
        let mut s = EarlyStopping::new(Some(2));
        assert!(s.active());
        assert!(!s.observe(0, 1.0, "a"));
        assert!(!s.observe(1, 0.5, "b"));
        assert!(!s.observe(2, f64::NAN, "c"));
        // Not lower than epoch 1's, two epochs after it: stop.
        assert!(s.observe(3, 0.5, "d"));
        assert_eq!(s.best().map(|b| b.1), Some(1));
        assert_eq!(s.finish(|| "last"), ("b", Some(1)));
        let mut off = EarlyStopping::new(None);
        assert!(!off.active() && !off.observe(0, 1.0, "a"));
        assert_eq!(off.finish(|| "last"), ("last", None));
    }

    #[test]
    fn early_stopping_keeps_the_best_model() {
        // Test rows from another line than the training rows: the test loss gets worse as the
        // model fits the training rows, so training stops after `patience` epochs.
        let split = tutorial_split();
        let mut test = split.test.clone();
        test.y.values_mut().iter_mut().for_each(|v| *v = 0.9);
        let split = Split { test, ..split };
        let config = TrainConfig::new()
            .with_patience(Some(5))
            .with_epochs(500)
            .with_log_every(1);
        let trained = train(
            start(0.0, 0.0),
            &split,
            &config,
            &Default::default(),
            &mut quiet(),
        )
        .unwrap();
        let best = trained.best_epoch.unwrap();
        assert_eq!(trained.epochs_run, best + 6);
        let best_logged = trained
            .history
            .iter()
            .map(|e| e.test_loss)
            .fold(f64::INFINITY, f64::min);
        assert!((trained.test_loss - best_logged).abs() < 1e-7);
    }

    #[test]
    fn huge_learning_rate_diverges_with_a_hint() {
        let config = TrainConfig::new()
            .with_loss(LossKind::Mse)
            .with_lr(1e30)
            .with_epochs(100)
            .with_log_every(1);
        let err = train(
            start(0.0, 0.0),
            &tutorial_split(),
            &config,
            &Default::default(),
            &mut quiet(),
        )
        .unwrap_err();
        assert!(matches!(err, TrainError::Diverged { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("try a smaller learning rate than 1e30"),
            "{err}"
        );
    }

    #[test]
    fn data_of_the_wrong_width_is_refused() {
        let model = LrModelConfig::new()
            .with_d_input(2)
            .init::<B>(&Default::default());
        let err = train(
            model,
            &tutorial_split(),
            &TrainConfig::new(),
            &Default::default(),
            &mut quiet(),
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
