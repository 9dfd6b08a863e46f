//! The optimizer a [`TrainConfig`] names, for one `LrModel`.
//!
//! `linreg-train` keeps its own choice private to its in-memory trainer; the streamed loops
//! here step the same Burn optimizers, configured the same way (PyTorch's defaults: no
//! dampening, ε = 1e-8).

use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, GradientsParams, Optimizer, Sgd, SgdConfig,
};
use burn::tensor::backend::AutodiffBackend;
use linreg_model::LrModel;
use linreg_train::{OptimizerKind, TrainConfig};

/// Burn's optimizers have different types; this picks one at run time.
pub(crate) enum Optim<B: AutodiffBackend> {
    Sgd(OptimizerAdaptor<Sgd<B::InnerBackend>, LrModel<B>, B>),
    Adam(OptimizerAdaptor<Adam, LrModel<B>, B>),
    AdamW(OptimizerAdaptor<AdamW, LrModel<B>, B>),
}

impl<B: AutodiffBackend> Optim<B> {
    pub(crate) fn new(config: &TrainConfig) -> Self {
        let decay =
            (config.weight_decay > 0.0).then(|| WeightDecayConfig::new(config.weight_decay as f32));
        match config.optimizer {
            OptimizerKind::Sgd => Self::Sgd(
                SgdConfig::new()
                    .with_momentum((config.momentum > 0.0).then(|| {
                        MomentumConfig::new()
                            .with_momentum(config.momentum)
                            .with_dampening(0.0)
                    }))
                    .with_weight_decay(decay)
                    .init(),
            ),
            OptimizerKind::Adam => Self::Adam(
                AdamConfig::new()
                    .with_epsilon(1e-8)
                    .with_weight_decay(decay)
                    .init(),
            ),
            OptimizerKind::AdamW => Self::AdamW(
                AdamWConfig::new()
                    .with_epsilon(1e-8)
                    .with_weight_decay(config.weight_decay as f32)
                    .init(),
            ),
        }
    }

    pub(crate) fn step(
        &mut self,
        lr: f64,
        model: LrModel<B>,
        grads: GradientsParams,
    ) -> LrModel<B> {
        match self {
            Self::Sgd(o) => o.step(lr, model, grads),
            Self::Adam(o) => o.step(lr, model, grads),
            Self::AdamW(o) => o.step(lr, model, grads),
        }
    }
}
