//! Gradient descent without the rows: full-batch MSE from moments, and the way the streamed
//! trainer's epochs join linreg-train's one epoch loop.

use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use linreg_model::LrModel;
use linreg_solve::Moments;
use linreg_train::epochs::{Evaluated, Stepped};
use linreg_train::{EpochLoss, LossKind, Metrics, Progress, TrainConfig, TrainError, Trained};

use crate::optim::Optim;
use crate::{scores, StreamError};

/// One way of running epochs: what [`drive`] needs from a trainer.
pub(crate) trait Epochs<B: AutodiffBackend> {
    /// One epoch at `lr`: the updated model and the epoch's training loss (before the step for
    /// a full batch; the row-weighted mean of the batch losses for mini-batches).
    fn epoch(
        &mut self,
        model: LrModel<B>,
        lr: f64,
        epoch: usize,
    ) -> Result<(LrModel<B>, f64), StreamError>;
    /// The loss of an inference model on the test rows (NaN without test rows).
    fn test_loss(&mut self, model: &LrModel<B::InnerBackend>) -> Result<f64, StreamError>;
    /// Scores on the training and test rows, for a log entry.
    fn scores(
        &mut self,
        model: &LrModel<B::InnerBackend>,
    ) -> Result<(Metrics, Metrics), StreamError>;
    /// Final losses and scores of the model kept: `(train loss, test loss, train, test)`.
    fn last(
        &mut self,
        model: &LrModel<B::InnerBackend>,
    ) -> Result<(f64, f64, Metrics, Metrics), StreamError>;
}

/// Runs `config.epochs` epochs of `runner` through linreg-train's one epoch loop (logging,
/// early stopping, divergence checks), as training in memory does.
pub(crate) fn drive<B: AutodiffBackend>(
    model: LrModel<B>,
    config: &TrainConfig,
    runner: &mut dyn Epochs<B>,
    progress: &mut dyn Progress,
) -> Result<Trained<B>, StreamError> {
    config.validate()?;
    let mut host = OnHost(runner);
    linreg_train::run_epochs(model, config, &mut host, progress, None)
}

/// An [`Epochs`] as linreg-train's loop takes it: the losses are on the host, and a NaN test
/// loss means there are no test rows.
struct OnHost<'r, B: AutodiffBackend>(&'r mut dyn Epochs<B>);

impl<B: AutodiffBackend> linreg_train::Epochs<B> for OnHost<'_, B> {
    type Error = StreamError;

    fn epoch(
        &mut self,
        model: LrModel<B>,
        lr: f64,
        epoch: usize,
    ) -> Result<Stepped<B>, StreamError> {
        let (model, loss) = self.0.epoch(model, lr, epoch)?;
        Ok((model, EpochLoss::Host(loss)))
    }

    fn evaluate(
        &mut self,
        model: &LrModel<B::InnerBackend>,
        scores: bool,
    ) -> Result<Evaluated, StreamError> {
        let loss = self.0.test_loss(model)?;
        let scores = if scores {
            Some(self.0.scores(model)?)
        } else {
            None
        };
        Ok((loss, scores))
    }

    fn last(
        &mut self,
        model: &LrModel<B::InnerBackend>,
    ) -> Result<(f64, f64, Metrics, Metrics), StreamError> {
        self.0.last(model)
    }

    fn test_may_be_nan(&self) -> bool {
        true
    }
}

/// Full-batch MSE gradient descent from moments: each epoch evaluates the loss
/// `(Σₜ wₜᵀ S wₜ − 2 wₜᵀ sₜ + s_yy,t + (x̄·wₜ + bₜ − ȳₜ)²) / k` (`S = C_xx/n`, `s = C_xy/n`) as
/// a Burn expression of the model's parameters, and Burn's autodiff and optimizer step it:
/// the gradient is `2(S·W − s)/k` plus the mean term, the full-batch MSE gradient of the
/// rows, at a cost independent of their number.
///
/// `train` and `test` are the plain moments of the training and test rows in the model's
/// units (standardized, if the model sees standardized features: see
/// [`standardize`](crate::standardize)). `config.loss` must be MSE and `batch_size` `None`.
/// Scores come from the moments (MSE, RMSE, R²; the MAE needs the rows and is NaN).
pub fn train_on_moments<B: AutodiffBackend>(
    model: LrModel<B>,
    train: &Moments,
    test: Option<&Moments>,
    config: &TrainConfig,
    device: &B::Device,
    progress: &mut dyn Progress,
) -> Result<Trained<B>, StreamError> {
    if config.loss != LossKind::Mse || config.batch_size.is_some() {
        return Err(StreamError::Invalid(
            "gradient descent from moments is full-batch MSE; other losses and mini-batches stream the rows".into(),
        ));
    }
    let (p, k) = (train.features(), train.targets());
    if (model.d_input(), model.d_output()) != (p, k) {
        return Err(StreamError::Train(TrainError::ShapeMismatch {
            model_in: model.d_input(),
            model_out: model.d_output(),
            data_in: p,
            data_out: k,
        }));
    }
    if train.rows() == 0 {
        return Err(StreamError::Invalid("no training rows".into()));
    }
    let mut runner = FromMoments {
        quad: Quadratic::new(train, device),
        train: train.clone(),
        test: test.filter(|t| t.rows() > 0).cloned(),
        optim: Optim::new(config),
    };
    drive(model, config, &mut runner, progress)
}

/// The MSE of a linear model as a quadratic form of its parameters, on the device.
struct Quadratic<B: Backend> {
    s_xx: Tensor<B, 2>,
    s_xy: Tensor<B, 2>,
    s_yy: f64,
    x_mean: Tensor<B, 2>,
    y_mean: Tensor<B, 2>,
    k: usize,
}

impl<B: Backend> Quadratic<B> {
    fn new(m: &Moments, device: &B::Device) -> Self {
        let (p, k) = (m.features(), m.targets());
        let n = m.weight_sum();
        let tensor = |rows: usize, cols: usize, f: &dyn Fn(usize, usize) -> f64| {
            let v: Vec<f64> = (0..rows * cols).map(|i| f(i / cols, i % cols)).collect();
            Tensor::<B, 2>::from_data(
                TensorData::new(v, [rows, cols]).convert::<B::FloatElem>(),
                device,
            )
        };
        Self {
            s_xx: tensor(p, p, &|i, j| m.comoment(i, j) / n),
            s_xy: tensor(p, k, &|i, t| m.comoment(i, p + t) / n),
            s_yy: (0..k).map(|t| m.comoment(p + t, p + t) / n).sum(),
            x_mean: tensor(1, p, &|_, j| m.mean()[j]),
            y_mean: tensor(1, k, &|_, t| m.mean()[p + t]),
            k,
        }
    }

    /// The mean squared error of `model` on the rows (averaged over targets too).
    fn loss(&self, model: &LrModel<B>) -> Tensor<B, 1> {
        let w = model.linear.weight.val(); // [p, k]
        let quad = (w.clone() * self.s_xx.clone().matmul(w.clone())).sum()
            - (w.clone() * self.s_xy.clone()).sum().mul_scalar(2.0)
            + self.s_yy;
        let mut e = self.x_mean.clone().matmul(w) - self.y_mean.clone(); // [1, k]
        if let Some(b) = &model.linear.bias {
            e = e + b.val().unsqueeze_dim(0);
        }
        (quad + e.powi_scalar(2).sum()).div_scalar(self.k as f64)
    }
}

struct FromMoments<B: AutodiffBackend> {
    quad: Quadratic<B>,
    train: Moments,
    test: Option<Moments>,
    optim: Optim<B>,
}

fn host_scores<B: Backend>(m: &Moments, model: &LrModel<B>) -> Metrics {
    let params = model.params_as::<f64>();
    scores(m, &params.weight, &params.bias)
}

impl<B: AutodiffBackend> Epochs<B> for FromMoments<B> {
    fn epoch(
        &mut self,
        model: LrModel<B>,
        lr: f64,
        _: usize,
    ) -> Result<(LrModel<B>, f64), StreamError> {
        let loss = self.quad.loss(&model);
        let value = loss.clone().into_scalar().elem::<f64>();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        Ok((self.optim.step(lr, model, grads), value))
    }

    fn test_loss(&mut self, model: &LrModel<B::InnerBackend>) -> Result<f64, StreamError> {
        Ok(self
            .test
            .as_ref()
            .map_or(f64::NAN, |t| host_scores(t, model).mean.mse))
    }

    fn scores(
        &mut self,
        model: &LrModel<B::InnerBackend>,
    ) -> Result<(Metrics, Metrics), StreamError> {
        let train = host_scores(&self.train, model);
        let test = self.test.as_ref().map_or_else(
            || Metrics::nan(train.per_target.len()),
            |t| host_scores(t, model),
        );
        Ok((train, test))
    }

    fn last(
        &mut self,
        model: &LrModel<B::InnerBackend>,
    ) -> Result<(f64, f64, Metrics, Metrics), StreamError> {
        let (train, test) = self.scores(model)?;
        Ok((train.mean.mse, test.mean.mse, train, test))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, NdArray};
    use linreg_data::{Split, SyntheticSpec};
    use linreg_model::{LinearParams, LrModelConfig};
    use linreg_solve::View;

    type B = Autodiff<NdArray>;

    #[test]
    fn moments_gradient_descent_steps_like_full_batch_on_the_rows() {
        let s = SyntheticSpec {
            rows: 500,
            features: 3,
            targets: 2,
            noise: 0.3,
            seed: 7,
        }
        .generate()
        .unwrap();
        let split = Split::ordered(s.data, 0.8).unwrap();
        let moments = |d: &linreg_data::Dataset| {
            Moments::from_rows(
                View::new(d.len(), 3, d.x.values()).unwrap(),
                View::new(d.len(), 2, d.y.values()).unwrap(),
                None,
            )
            .unwrap()
        };
        let (train_m, test_m) = (moments(&split.train), moments(&split.test));
        let start = LinearParams {
            weight: vec![vec![0.1, -0.2, 0.3], vec![0.0, 0.5, -0.1]],
            bias: vec![0.2, -0.3],
        };
        let device = Default::default();
        let model = || {
            LrModelConfig::new()
                .with_d_input(3)
                .with_d_output(2)
                .init::<B>(&device)
                .with_params(&start)
                .unwrap()
        };
        let config = TrainConfig::new()
            .with_loss(LossKind::Mse)
            .with_lr(0.002)
            .with_epochs(40)
            .with_log_every(10);
        let from_moments =
            train_on_moments(model(), &train_m, Some(&test_m), &config, &device, &mut ()).unwrap();
        let on_rows = linreg_train::train(model(), &split, &config, &device, &mut ()).unwrap();
        let (a, b) = (
            from_moments.model.params_as::<f64>(),
            on_rows.model.params_as::<f64>(),
        );
        for (u, v) in a
            .weight
            .iter()
            .flatten()
            .chain(&a.bias)
            .zip(b.weight.iter().flatten().chain(&b.bias))
        {
            assert!((u - v).abs() <= 1e-4 * v.abs().max(1.0), "{u} {v}");
        }
        for (h, g) in from_moments.history.iter().zip(&on_rows.history) {
            assert_eq!(h.epoch, g.epoch);
            assert!(
                (h.train_loss - g.train_loss).abs() <= 1e-4 * g.train_loss,
                "{h:?} {g:?}"
            );
            assert!(
                (h.test_loss - g.test_loss).abs() <= 1e-4 * g.test_loss,
                "{h:?} {g:?}"
            );
        }
        assert!((from_moments.train_loss - on_rows.train_loss).abs() <= 1e-4 * on_rows.train_loss);
        assert!(from_moments.train_metrics.mean.mae.is_nan());
        let err = train_on_moments(
            model(),
            &train_m,
            None,
            &config.clone().with_loss(LossKind::L1),
            &device,
            &mut (),
        )
        .unwrap_err();
        assert!(matches!(err, StreamError::Invalid(_)));
    }
}
