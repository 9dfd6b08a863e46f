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
    let nan_ok = runner.test_may_be_nan();
    let check = |which, value: f64, epoch, nan_ok: bool| {
        if value.is_finite() || (nan_ok && value.is_nan()) {
            Ok(value)
        } else {
            Err(TrainError::Diverged {
                which,
                value,
                epoch,
                lr: config.lr,
            })
        }
    };
    let mut stopping = EarlyStopping::new(config.patience);
    let (mut history, first_epoch, seconds_before) = match resume {
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
    let mut epochs_run = first_epoch;
    let start = Instant::now();
    for epoch in first_epoch..config.epochs {
        let lr = config.schedule.lr(config.lr, epoch, config.epochs);
        let (next, loss) = runner.epoch(model, lr, epoch)?;
        model = next;
        epochs_run = epoch + 1;
        let loss = match loss {
            EpochLoss::Host(v) => EpochLoss::Host(check("train", v, epoch, false)?),
            device => device,
        };
        let logging = epoch % config.log_every == 0;
        if logging || stopping.active() {
            let valid = model.valid();
            let (test_loss, scores) = runner.evaluate(&valid, logging)?;
            let test_loss = check("test", test_loss, epoch, nan_ok)?;
            if let Some((train, test)) = scores {
                let entry = LogEntry {
                    epoch,
                    lr,
                    train_loss: check("train", loss.read(), epoch, false)?,
                    test_loss,
                    train: train.mean,
                    test: test.mean,
                };
                progress.on_log(&entry);
                history.push(entry);
            }
            if stopping.observe(epoch, test_loss, valid) {
                progress.on_epoch(epoch, config.epochs);
                break;
            }
        }
        progress.on_epoch(epoch, config.epochs);
        let so_far = SoFar {
            history: &history,
            best: stopping.best(),
            seconds: seconds_before + start.elapsed().as_secs_f64(),
        };
        // Asked to stop after the last epoch, the run is complete: finish it.
        if runner.after_epoch(epoch + 1, &model, &so_far)? && epoch + 1 < config.epochs {
            return Err(TrainError::Interrupted {
                epochs_done: epoch + 1,
            }
            .into());
        }
    }
    let (model, best_epoch) = stopping.finish(|| model.valid());
    let last = epochs_run.saturating_sub(1);
    let (train_loss, test_loss, train_metrics, test_metrics) = runner.last(&model)?;
    let train_loss = check("train", train_loss, last, false)?;
    let test_loss = check("test", test_loss, last, nan_ok)?;
    Ok(Trained {
        model,
        history,
        train_loss,
        test_loss,
        train_metrics,
        test_metrics,
        epochs_run,
        best_epoch,
        seconds: seconds_before + start.elapsed().as_secs_f64(),
    })
}
