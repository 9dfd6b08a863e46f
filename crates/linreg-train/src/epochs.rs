//! The one epoch loop every way of training shares: in memory on a device (this crate's
//! [`Trainer`](crate::Trainer)), from moments and streamed from disk (`linreg-stream`). An
//! [`Epochs`] says how one epoch runs and how a model scores; [`run_epochs`] does the rest the
//! same way for all of them: the learning-rate schedule, a [`LogEntry`] every `log_every`
//! epochs, early stopping on the test loss, divergence checks, checkpoints, the final scores.

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use linreg_model::LrModel;

use crate::{EarlyStopping, LogEntry, Metrics, Progress, TrainConfig, TrainError, Trained};

/// An epoch's training loss: on the host already, or on the device (read only when it is
/// logged, since reading it waits for the device).
pub enum EpochLoss<B: Backend> {
    /// Known on the host: checked after every epoch.
    Host(f64),
    /// Left on the device: checked when logged.
    Device(Tensor<B, 1>),
}

impl<B: Backend> EpochLoss<B> {
    fn read(self) -> f64 {
        match self {
            Self::Host(v) => v,
            Self::Device(t) => t.into_scalar().elem::<f64>(),
        }
    }
}

/// One epoch's result: the updated model and the epoch's training loss.
pub type Stepped<B> = (LrModel<B>, EpochLoss<<B as AutodiffBackend>::InnerBackend>);

/// A test loss and, when asked for, the scores on the training and test rows.
pub type Evaluated = (f64, Option<(Metrics, Metrics)>);

/// The best model kept by early stopping: its test loss, its epoch, the model.
pub type Best<B> = (f64, usize, LrModel<<B as AutodiffBackend>::InnerBackend>);

/// What a run has done so far, as a checkpoint records it.
pub struct SoFar<'a, B: AutodiffBackend> {
    /// Every logged evaluation.
    pub history: &'a [LogEntry],
    /// Early stopping's best epoch.
    pub best: Option<&'a Best<B>>,
    /// Training time, earlier sessions of a resumed run included.
    pub seconds: f64,
}

/// Where a resumed run picks up.
pub struct Resume<B: AutodiffBackend> {
    /// Epochs already done.
    pub epochs_done: usize,
    /// Their logged evaluations.
    pub history: Vec<LogEntry>,
    /// Early stopping's best epoch among them.
    pub best: Option<Best<B>>,
    /// Their training time.
    pub seconds: f64,
}

/// One way of running epochs: what [`run_epochs`] needs from a trainer.
pub trait Epochs<B: AutodiffBackend> {
    /// Why an epoch can fail.
    type Error: From<TrainError>;

    /// One epoch of `epoch` at `lr`: the updated model and the epoch's training loss (before
    /// the step for a full batch; the row-weighted mean of the batch losses for mini-batches).
    fn epoch(
        &mut self,
        model: LrModel<B>,
        lr: f64,
        epoch: usize,
    ) -> Result<Stepped<B>, Self::Error>;

    /// The loss of an inference model on the test rows and, with `scores`, the scores on the
    /// training and test rows.
    fn evaluate(
        &mut self,
        model: &LrModel<B::InnerBackend>,
        scores: bool,
    ) -> Result<Evaluated, Self::Error>;

    /// Final losses and scores of the model kept: `(train loss, test loss, train, test)`.
    fn last(
        &mut self,
        model: &LrModel<B::InnerBackend>,
    ) -> Result<(f64, f64, Metrics, Metrics), Self::Error>;

    /// Whether a NaN test loss is expected (there are no test rows) rather than a divergence.
    fn test_may_be_nan(&self) -> bool {
        false
    }

    /// Called after each epoch that did not stop the run early, with the model and what the
    /// run did so far; `Ok(true)` stops it (interrupted, its state saved).
    fn after_epoch(
        &mut self,
        _epochs_done: usize,
        _model: &LrModel<B>,
        _so_far: &SoFar<'_, B>,
    ) -> Result<bool, Self::Error> {
        Ok(false)
    }
}

/// Runs `config.epochs` epochs of `runner` from `model` (or from where `resume` left off):
/// logging every `log_every`, early stopping on the test loss, divergence checks, the
/// runner's checkpoints; then the model kept and its scores.
pub fn run_epochs<B: AutodiffBackend, E: Epochs<B>>(
    mut model: LrModel<B>,
    config: &TrainConfig,
    runner: &mut E,
    progress: &mut dyn Progress,
    resume: Option<Resume<B>>,
) -> Result<Trained<B>, E::Error> {
    let mut run = Run::new(config, runner.test_may_be_nan(), resume);
    let start = Instant::now();
    let mut epochs_run = run.first_epoch;
    for epoch in run.first_epoch..config.epochs {
        let lr = config.schedule.lr(config.lr, epoch, config.epochs);
        let (next, loss) = runner.epoch(model, lr, epoch)?;
        model = next;
        epochs_run = epoch + 1;
        let loss = match loss {
            EpochLoss::Host(v) => EpochLoss::Host(run.check("train", v, epoch, false)?),
            device => device,
        };
        if run.evaluate(runner, &model, (epoch, lr), loss, progress)? {
            progress.on_epoch(epoch, config.epochs);
            break;
        }
        progress.on_epoch(epoch, config.epochs);
        let so_far = SoFar {
            history: &run.history,
            best: run.stopping.best(),
            seconds: run.seconds_before + start.elapsed().as_secs_f64(),
        };
        // Asked to stop after the last epoch, the run is complete: finish it.
        if runner.after_epoch(epoch + 1, &model, &so_far)? && epoch + 1 < config.epochs {
            return Err(TrainError::Interrupted {
                epochs_done: epoch + 1,
            }
            .into());
        }
    }
    run.finish(runner, model, epochs_run, start)
}

/// What the loop carries from epoch to epoch.
struct Run<'c, B: AutodiffBackend> {
    config: &'c TrainConfig,
    /// Whether a NaN test loss is allowed (no test rows).
    nan_ok: bool,
    stopping: EarlyStopping<LrModel<B::InnerBackend>>,
    history: Vec<LogEntry>,
    first_epoch: usize,
    seconds_before: f64,
}

impl<'c, B: AutodiffBackend> Run<'c, B> {
    fn new(config: &'c TrainConfig, nan_ok: bool, resume: Option<Resume<B>>) -> Self {
        let mut stopping = EarlyStopping::new(config.patience);
        let (history, first_epoch, seconds_before) = match resume {
            Some(r) => {
                stopping.resume(r.best);
                (r.history, r.epochs_done, r.seconds)
            }
            None => (
                Vec::with_capacity(config.epochs / config.log_every + 1),
                0,
                0.0,
            ),
        };
        Self {
            config,
            nan_ok,
            stopping,
            history,
            first_epoch,
            seconds_before,
        }
    }

    fn check(
        &self,
        which: &'static str,
        value: f64,
        epoch: usize,
        nan_ok: bool,
    ) -> Result<f64, TrainError> {
        checked(self.config.lr, which, value, epoch, nan_ok)
    }

    /// At a logged epoch (or every epoch with early stopping): the test loss, the log entry,
    /// and whether early stopping ends the run.
    fn evaluate<E: Epochs<B>>(
        &mut self,
        runner: &mut E,
        model: &LrModel<B>,
        (epoch, lr): (usize, f64),
        loss: EpochLoss<B::InnerBackend>,
        progress: &mut dyn Progress,
    ) -> Result<bool, E::Error> {
        let logging = epoch % self.config.log_every == 0;
        if !(logging || self.stopping.active()) {
            return Ok(false);
        }
        let valid = model.valid();
        let (test_loss, scores) = runner.evaluate(&valid, logging)?;
        let test_loss = self.check("test", test_loss, epoch, self.nan_ok)?;
        if let Some((train, test)) = scores {
            let entry = LogEntry {
                epoch,
                lr,
                train_loss: self.check("train", loss.read(), epoch, false)?,
                test_loss,
                train: train.mean,
                test: test.mean,
            };
            progress.on_log(&entry);
            self.history.push(entry);
        }
        Ok(self.stopping.observe(epoch, test_loss, valid))
    }

    /// The model kept (early stopping's best, or the last) and its final scores.
    fn finish<E: Epochs<B>>(
        self,
        runner: &mut E,
        model: LrModel<B>,
        epochs_run: usize,
        start: Instant,
    ) -> Result<Trained<B>, E::Error> {
        let lr = self.config.lr;
        let (model, best_epoch) = self.stopping.finish(|| model.valid());
        let last = epochs_run.saturating_sub(1);
        let (train_loss, test_loss, train_metrics, test_metrics) = runner.last(&model)?;
        let train_loss = checked(lr, "train", train_loss, last, false)?;
        // Without test rows (NaN allowed) the final test loss is reported as it is, as the
        // streamed loops always did; in memory it must be finite.
        let test_loss = match self.nan_ok {
            true => test_loss,
            false => checked(lr, "test", test_loss, last, false)?,
        };
        Ok(Trained {
            model,
            history: self.history,
            train_loss,
            test_loss,
            train_metrics,
            test_metrics,
            epochs_run,
            best_epoch,
            seconds: self.seconds_before + start.elapsed().as_secs_f64(),
        })
    }
}

/// `value`, or the divergence it shows (a NaN test loss passes with `nan_ok`).
fn checked(
    lr: f64,
    which: &'static str,
    value: f64,
    epoch: usize,
    nan_ok: bool,
) -> Result<f64, TrainError> {
    if value.is_finite() || (nan_ok && value.is_nan()) {
        return Ok(value);
    }
    Err(TrainError::Diverged {
        which,
        value,
        epoch,
        lr,
    })
}
