//! What a checkpoint holds, and the hook through which [`train_checkpointed`](crate::train_checkpointed)
//! hands it out and takes it back.
//!
//! A [`TrainState`] is everything the loop needs to continue exactly where it stopped: the
//! model's and the optimizer's Burn records (parameter ids included, so momentum and Adam's
//! moments stay attached to their parameters), the number of epochs done (which fixes the
//! learning-rate schedule's position and the seed of the next epoch's mini-batch order), the
//! history logged so far and, with early stopping, the best model yet. Resumed from it, a run
//! on the same data and configuration ends with bit-identical parameters and history. This
//! crate only builds and restores the state; `linreg-store` writes it to files.

use burn::module::ParamId;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamW, Optimizer, Sgd};
use linreg_fused::FusedAutodiffBackend;
use linreg_model::{LrModel, LrModelRecord};

use crate::LogEntry;

/// The record of one of Burn's optimizers behind [`OptimizerKind`](crate::OptimizerKind).
pub type AdaptorRecord<O, B> =
    <OptimizerAdaptor<O, LrModel<B>, B> as Optimizer<LrModel<B>, B>>::Record;

/// The optimizer's state: one Burn record per parameter id (SGD's momentum buffers, Adam's
/// moments and step count), for the optimizer the configuration names.
pub enum OptimizerRecord<B: FusedAutodiffBackend> {
    /// Burn's SGD, the plain step's (empty without momentum).
    Sgd(AdaptorRecord<Sgd<B::InnerBackend>, B>),
    /// SGD rounded as PyTorch rounds, the fused step's (empty without momentum).
    TorchSgd(AdaptorRecord<crate::TorchSgd, B>),
    /// Adam.
    Adam(AdaptorRecord<Adam, B>),
    /// AdamW.
    AdamW(AdaptorRecord<AdamW, B>),
}

impl<B: FusedAutodiffBackend> OptimizerRecord<B> {
    /// The number of parameters with state.
    pub fn len(&self) -> usize {
        match self {
            Self::Sgd(r) => r.len(),
            Self::TorchSgd(r) => r.len(),
            Self::Adam(r) => r.len(),
            Self::AdamW(r) => r.len(),
        }
    }

    /// Whether no parameter has state yet (SGD without momentum, or before the first step).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The parameter ids the state is kept for.
    pub fn param_ids(&self) -> Vec<ParamId> {
        match self {
            Self::Sgd(r) => r.keys().copied().collect(),
            Self::TorchSgd(r) => r.keys().copied().collect(),
            Self::Adam(r) => r.keys().copied().collect(),
            Self::AdamW(r) => r.keys().copied().collect(),
        }
    }
}

/// The best model yet, with early stopping.
pub struct BestModel<B: FusedAutodiffBackend> {
    /// Its loss on the test rows.
    pub test_loss: f64,
    /// The epoch (0-based) after which it was taken.
    pub epoch: usize,
    /// Its parameters.
    pub model: LrModelRecord<B::InnerBackend>,
}

/// Everything needed to continue a run after `epochs_done` epochs.
pub struct TrainState<B: FusedAutodiffBackend> {
    /// Epochs completed; the next epoch is this (0-based) one.
    pub epochs_done: usize,
    /// The model's parameters, with their ids.
    pub model: LrModelRecord<B>,
    /// The optimizer's state, keyed by those ids.
    pub optimizer: OptimizerRecord<B>,
    /// With early stopping: the best model so far.
    pub best: Option<BestModel<B>>,
    /// Every logged evaluation so far.
    pub history: Vec<LogEntry>,
    /// Training time so far, in seconds.
    pub seconds: f64,
}

/// What the loop does after an epoch, as a [`Checkpointer`] decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// Go on.
    Continue,
    /// Hand the state to [`Checkpointer::save`], then go on.
    Save,
    /// Hand the state to [`Checkpointer::save`], then stop with
    /// [`TrainError::Interrupted`](crate::TrainError::Interrupted).
    SaveAndStop,
}

/// Decides after each epoch whether to save the state, and saves it.
pub trait Checkpointer<B: FusedAutodiffBackend> {
    /// Called after each epoch with the number of epochs done.
    fn after_epoch(&mut self, epochs_done: usize) -> Checkpoint;
    /// Saves `state`; an error stops training with
    /// [`TrainError::Checkpoint`](crate::TrainError::Checkpoint).
    fn save(&mut self, state: TrainState<B>) -> Result<(), String>;
}

/// No checkpoints.
impl<B: FusedAutodiffBackend> Checkpointer<B> for () {
    fn after_epoch(&mut self, _epochs_done: usize) -> Checkpoint {
        Checkpoint::Continue
    }

    fn save(&mut self, _state: TrainState<B>) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{train, train_checkpointed, OptimizerKind, Schedule, TrainConfig, TrainError};
    use burn::backend::{Autodiff, NdArray};
    use linreg_data::rng::SplitMix64;
    use linreg_data::{Split, Standardizer, SyntheticSpec};
    use linreg_model::LrModelConfig;

    type B = Autodiff<NdArray>;

    /// Keeps the state after every epoch.
    #[derive(Default)]
    struct KeepAll(Vec<TrainState<B>>);

    impl Checkpointer<B> for KeepAll {
        fn after_epoch(&mut self, _epochs_done: usize) -> Checkpoint {
            Checkpoint::Save
        }
        fn save(&mut self, state: TrainState<B>) -> Result<(), String> {
            assert_eq!(state.epochs_done, self.0.len() + 1);
            self.0.push(state);
            Ok(())
        }
    }

    fn split() -> Split {
        let s = SyntheticSpec {
            rows: 120,
            features: 3,
            targets: 2,
            noise: 0.3,
            seed: 11,
        }
        .generate()
        .unwrap();
        let mut split = Split::shuffled(s.data, 0.75, 2).unwrap();
        let names: Vec<String> = (0..3).map(|i| i.to_string()).collect();
        let st = Standardizer::fit(&split.train.x, &names).unwrap();
        st.apply(&mut split.train.x);
        st.apply(&mut split.test.x);
        split
    }

    fn model() -> LrModel<B> {
        LrModelConfig::new()
            .with_d_input(3)
            .with_d_output(2)
            .init::<B>(&Default::default())
            .with_params(&linreg_model::LinearParams {
                weight: vec![vec![0.1, -0.2, 0.3], vec![0.0, 0.5, -0.4]],
                bias: vec![0.05, -0.05],
            })
            .unwrap()
    }

    /// Resumed at 5 random epochs, every run ends exactly as the uninterrupted one.
    fn resume_is_bit_identical(config: TrainConfig) {
        let split = split();
        let device = Default::default();
        let full = train(model(), &split, &config, &device, &mut ()).unwrap();
        let mut kept = KeepAll::default();
        let again = train_checkpointed(model(), &split, &config, &device, &mut (), &mut kept, None)
            .unwrap();
        assert_eq!(
            again.model.params(),
            full.model.params(),
            "saving changes nothing"
        );
        let mut states: Vec<Option<TrainState<B>>> = kept.0.into_iter().map(Some).collect();
        let mut rng = SplitMix64::new(5);
        for _ in 0..5 {
            let at = rng.below(states.len() - 1);
            let Some(state) = states[at].take() else {
                continue;
            };
            let epochs = state.epochs_done;
            let resumed = train_checkpointed(
                model(),
                &split,
                &config,
                &device,
                &mut (),
                &mut (),
                Some(state),
            )
            .unwrap();
            let what = format!("{:?} resumed after epoch {epochs}", config.optimizer);
            assert_eq!(resumed.model.params(), full.model.params(), "{what}");
            assert_eq!(resumed.history, full.history, "{what}");
            assert_eq!(
                (resumed.train_loss, resumed.test_loss),
                (full.train_loss, full.test_loss),
                "{what}"
            );
            assert_eq!(
                (resumed.epochs_run, resumed.best_epoch),
                (full.epochs_run, full.best_epoch),
                "{what}"
            );
            assert_eq!(resumed.test_metrics, full.test_metrics, "{what}");
        }
    }

    #[test]
    fn sgd_with_momentum_resumes_bit_identically() {
        resume_is_bit_identical(
            TrainConfig::new()
                .with_loss(crate::LossKind::Mse)
                .with_lr(0.02)
                .with_momentum(0.9)
                .with_epochs(40)
                .with_log_every(3),
        );
    }

    #[test]
    fn adam_with_mini_batches_and_a_step_schedule_resumes_bit_identically() {
        resume_is_bit_identical(
            TrainConfig::new()
                .with_loss(crate::LossKind::Mse)
                .with_optimizer(OptimizerKind::Adam)
                .with_lr(0.05)
                .with_batch_size(Some(16))
                .with_schedule(Schedule::Step {
                    step_size: 7,
                    gamma: 0.5,
                })
                .with_epochs(40)
                .with_log_every(4)
                .with_seed(9),
        );
    }

    #[test]
    fn early_stopping_resumes_with_its_best_model() {
        resume_is_bit_identical(
            TrainConfig::new()
                .with_loss(crate::LossKind::Huber { delta: 0.5 })
                .with_optimizer(OptimizerKind::AdamW)
                .with_weight_decay(0.1)
                .with_lr(0.3)
                .with_patience(Some(3))
                .with_epochs(60)
                .with_log_every(1),
        );
    }

    #[test]
    fn the_state_keeps_the_optimizers_parameter_ids_and_stops_when_asked() {
        struct StopAt(usize);
        impl Checkpointer<B> for StopAt {
            fn after_epoch(&mut self, epochs_done: usize) -> Checkpoint {
                if epochs_done == self.0 {
                    Checkpoint::SaveAndStop
                } else {
                    Checkpoint::Continue
                }
            }
            fn save(&mut self, state: TrainState<B>) -> Result<(), String> {
                // Adam keeps moments for the weight and the bias, under the model's ids.
                let mut ids = state.optimizer.param_ids();
                ids.sort_by_key(|id| id.val());
                let mut want = vec![state.model.linear.weight.id];
                want.extend(state.model.linear.bias.as_ref().map(|b| b.id));
                want.sort_by_key(|id| id.val());
                assert_eq!(ids, want);
                Err("disk full".into())
            }
        }
        let config = TrainConfig::new()
            .with_optimizer(OptimizerKind::Adam)
            .with_epochs(10);
        let err = train_checkpointed(
            model(),
            &split(),
            &config,
            &Default::default(),
            &mut (),
            &mut StopAt(4),
            None,
        )
        .unwrap_err();
        assert_eq!(err, TrainError::Checkpoint("disk full".into()));
    }
}
