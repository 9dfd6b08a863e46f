//! Training and evaluating on rows streamed from disk every epoch.

use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use linreg_data::rng::SplitMix64;
use linreg_data::Standardizer;
use linreg_io::{Element, Format, ScanOptions};
use linreg_model::LrModel;
use linreg_solve::Moments;
use linreg_train::{LossKind, Metrics, Progress, TrainConfig, Trained};

use crate::gd::{drive, Epochs};
use crate::optim::Optim;
use crate::part::Rows;
#[cfg(doc)]
use crate::MemoryBudget;
use crate::{scores, EvalSums, Part, StreamError};

/// What a streamed run reads, and the statistics of its first pass.
#[derive(Debug, Clone)]
pub struct StreamPlan<'a> {
    /// The table whose training rows ([`Rows::Train`](crate::part::Rows)) train.
    pub train: Part<'a>,
    /// Where the test rows are: the training table's [`Rows::Test`], or the
    /// [`Rows::Train`] (every row, split [`RowSplit::All`](crate::RowSplit::All)) of another
    /// table; `None` for none.
    pub test: Option<(Part<'a>, Rows)>,
    /// Applied to the features before the model sees them.
    pub standardizer: Option<Standardizer>,
    /// Plain moments of the training rows, in the model's units (for the logged scores).
    pub train_moments: Moments,
    /// Plain moments of the test rows, in the model's units.
    pub test_moments: Option<Moments>,
    /// Rows the shuffle buffer holds (at least one batch is used): what the memory budget
    /// allows, [`MemoryBudget::buffer_rows`].
    pub buffer_rows: usize,
    /// Threads, batch and unit sizes of the reads.
    pub options: ScanOptions,
}

impl StreamPlan<'_> {
    /// Bytes one buffered row takes (f32 features and targets, and their tensor copy).
    pub fn row_bytes(features: usize, targets: usize) -> usize {
        (features + targets) * 4 * 2
    }
}

/// Gradient descent on rows streamed from disk every epoch.
///
/// With `config.batch_size`: every epoch reads the training units (Parquet row groups) in a
/// fresh seeded order, read ahead on other threads; their training rows (features
/// standardized) fill a shuffle buffer of [`StreamPlan::buffer_rows`] rows, which is shuffled
/// (seeded) and cut into batches; each batch is one Burn step (forward, loss, backward,
/// optimizer). A row can land anywhere in the epoch within its buffer's window; rows of one
/// row group stay within about a buffer of each other. CSV sources are read in file order
/// (a text file has no row groups), so only the buffer shuffles them.
///
/// Without a batch size (full batch): every epoch streams the training rows once,
/// accumulating the gradient of the whole loss (each chunk's loss weighted by its share of
/// the rows), then takes one step — the same step as full-batch training in memory.
///
/// Logged scores (MSE, RMSE, R²) come from the moments; the test loss from a pass over the
/// test rows (from the test moments for MSE). The final scores, MAE included, from one last
/// pass over both sets.
pub fn train_streamed<B: AutodiffBackend>(
    model: LrModel<B>,
    plan: &StreamPlan<'_>,
    config: &TrainConfig,
    device: &B::Device,
    progress: &mut dyn Progress,
) -> Result<Trained<B>, StreamError> {
    let (p, k) = (plan.train.features(), plan.train.targets());
    if (model.d_input(), model.d_output()) != (p, k) {
        return Err(StreamError::Train(
            linreg_train::TrainError::ShapeMismatch {
                model_in: model.d_input(),
                model_out: model.d_output(),
                data_in: p,
                data_out: k,
            },
        ));
    }
    if plan.train.selected.weights().is_some() {
        return Err(StreamError::Invalid(
            "row weights are for exact least squares; gradient descent takes every row once".into(),
        ));
    }
    let mut runner = Streamed {
        ctx: Ctx {
            plan,
            config,
            device: device.clone(),
            rows: plan.train_moments.rows(),
        },
        optim: Optim::new(config),
    };
    drive(model, config, &mut runner, progress)
}

struct Streamed<'a, 'p, B: AutodiffBackend> {
    ctx: Ctx<'a, 'p, B>,
    optim: Optim<B>,
}

/// What the epochs read (apart from the optimizer, which they change).
struct Ctx<'a, 'p, B: AutodiffBackend> {
    plan: &'a StreamPlan<'p>,
    config: &'a TrainConfig,
    device: B::Device,
    rows: u64,
}

/// A seed for epoch `epoch`'s `what` (row groups, buffer fills), from the run's seed.
fn seed(base: u64, epoch: usize, what: u64) -> u64 {
    let mut g = SplitMix64::new(
        base ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ what.rotate_left(32),
    );
    g.next_u64()
}

fn shuffle<T>(v: &mut [T], rng: &mut SplitMix64) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}

/// Rows waiting to be cut into batches, row-major f32.
struct Buffer {
    x: Vec<f32>,
    y: Vec<f32>,
    p: usize,
    k: usize,
}

impl Buffer {
    fn rows(&self) -> usize {
        self.x.len() / self.p.max(1)
    }

    /// Shuffles the rows in place with `rng`.
    fn shuffle(&mut self, rng: &mut SplitMix64) {
        let n = self.rows();
        let mut order: Vec<usize> = (0..n).collect();
        shuffle(&mut order, rng);
        let (p, k) = (self.p, self.k);
        let x: Vec<f32> = order
            .iter()
            .flat_map(|&r| self.x[r * p..(r + 1) * p].iter().copied())
            .collect();
        let y: Vec<f32> = order
            .iter()
            .flat_map(|&r| self.y[r * k..(r + 1) * k].iter().copied())
            .collect();
        self.x = x;
        self.y = y;
    }
}

impl<B: AutodiffBackend> Ctx<'_, '_, B> {
    fn tensor(&self, values: &[f32], rows: usize, cols: usize) -> Tensor<B, 2> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), [rows, cols]).convert::<B::FloatElem>(),
            &self.device,
        )
    }

    /// Streams the training rows (standardized, f32, row-major) to `f` in the epoch's order.
    fn each_training_chunk(
        &self,
        epoch: usize,
        mut f: impl FnMut(&[f32], &[f32], usize) -> Result<(), StreamError>,
    ) -> Result<(), StreamError> {
        let part = &self.plan.train;
        let options = &self.plan.options;
        let order = (part.source.format() == Format::Parquet).then(|| {
            let mut units = part.units(Rows::Train, options.unit_rows);
            shuffle(
                &mut units,
                &mut SplitMix64::new(seed(self.config.seed, epoch, 1)),
            );
            units
        });
        let (p, k) = (part.features(), part.targets());
        let mut scratch = Vec::new();
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        part.source
            .stream::<f32, StreamError>(part.selected, options, order.as_deref(), |chunk| {
                chunk.check_finite()?;
                part.rows_of(chunk, Rows::Train, &mut scratch, |cols, _| {
                    let n = cols[0].len();
                    xs.clear();
                    ys.clear();
                    for r in 0..n {
                        for (j, col) in cols[..p].iter().enumerate() {
                            xs.push(match &self.plan.standardizer {
                                Some(s) => ((f64::from(col[r]) - s.mean[j]) / s.scale[j]) as f32,
                                None => col[r],
                            });
                        }
                        ys.extend(cols[p..p + k].iter().map(|c| c[r]));
                    }
                    f(&xs, &ys, n)
                })
                .transpose()?;
                Ok(())
            })
    }
}

impl<B: AutodiffBackend> Streamed<'_, '_, B> {
    fn mini_batches(
        &mut self,
        mut model: LrModel<B>,
        lr: f64,
        epoch: usize,
        batch: usize,
    ) -> Result<(LrModel<B>, f64), StreamError> {
        let ctx = &self.ctx;
        let (p, k) = (ctx.plan.train.features(), ctx.plan.train.targets());
        let capacity = ctx.plan.buffer_rows.max(batch);
        let mut buffer = Buffer {
            x: Vec::new(),
            y: Vec::new(),
            p,
            k,
        };
        let mut rng = SplitMix64::new(seed(ctx.config.seed, epoch, 2));
        let mut total = Tensor::<B::InnerBackend, 1>::zeros([1], &ctx.device);
        let mut seen = 0usize;
        let loss_fn = ctx.config.loss;
        let step = |model: LrModel<B>,
                    buffer: &Buffer,
                    from: usize,
                    len: usize,
                    optim: &mut Optim<B>,
                    total: &mut Tensor<B::InnerBackend, 1>| {
            let x = ctx.tensor(&buffer.x[from * p..(from + len) * p], len, p);
            let y = ctx.tensor(&buffer.y[from * k..(from + len) * k], len, k);
            let loss = loss_fn.compute(model.forward(x), y);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let model = optim.step(lr, model, grads);
            *total = total.clone() + loss.inner().mul_scalar(len as f64);
            model
        };
        let optim = &mut self.optim;
        let mut drain = |model: LrModel<B>,
                         buffer: &mut Buffer,
                         all: bool,
                         rng: &mut SplitMix64,
                         total: &mut Tensor<B::InnerBackend, 1>,
                         seen: &mut usize| {
            buffer.shuffle(rng);
            let n = buffer.rows();
            let full = if all { n } else { n - n % batch };
            let mut model = model;
            let mut from = 0;
            while from < full {
                let len = batch.min(full - from);
                model = step(model, buffer, from, len, optim, total);
                from += len;
            }
            *seen += full;
            buffer.x.drain(..full * p);
            buffer.y.drain(..full * k);
            model
        };
        let mut held = Some(model);
        ctx.each_training_chunk(epoch, |xs, ys, _| {
            buffer.x.extend_from_slice(xs);
            buffer.y.extend_from_slice(ys);
            if buffer.rows() >= capacity {
                let m = held
                    .take()
                    .ok_or_else(|| StreamError::Invalid("internal: no model".into()))?;
                held = Some(drain(
                    m,
                    &mut buffer,
                    false,
                    &mut rng,
                    &mut total,
                    &mut seen,
                ));
            }
            Ok(())
        })?;
        model = held
            .take()
            .ok_or_else(|| StreamError::Invalid("internal: no model".into()))?;
        model = drain(model, &mut buffer, true, &mut rng, &mut total, &mut seen);
        let mean = total.into_scalar().elem::<f64>() / seen.max(1) as f64;
        Ok((model, mean))
    }

    fn full_batch(
        &mut self,
        model: LrModel<B>,
        lr: f64,
        epoch: usize,
    ) -> Result<(LrModel<B>, f64), StreamError> {
        let ctx = &self.ctx;
        let (p, k) = (ctx.plan.train.features(), ctx.plan.train.targets());
        let n = ctx.rows.max(1) as f64;
        let mut acc = GradientsAccumulator::<LrModel<B>>::new();
        let mut total = Tensor::<B::InnerBackend, 1>::zeros([1], &ctx.device);
        let loss_fn = ctx.config.loss;
        ctx.each_training_chunk(epoch, |xs, ys, rows| {
            let x = ctx.tensor(xs, rows, p);
            let y = ctx.tensor(ys, rows, k);
            // This chunk's share of the mean over every training row.
            let loss = loss_fn
                .compute(model.forward(x), y)
                .mul_scalar(rows as f64 / n);
            total = total.clone() + loss.clone().inner();
            acc.accumulate(&model, GradientsParams::from_grads(loss.backward(), &model));
            Ok(())
        })?;
        let value = total.into_scalar().elem::<f64>();
        Ok((self.optim.step(lr, model, acc.grads()), value))
    }

    fn params(model: &LrModel<B::InnerBackend>) -> (Vec<Vec<f64>>, Vec<f64>) {
        let p = model.params_as::<f64>();
        (p.weight, p.bias)
    }
}

impl<B: AutodiffBackend> Epochs<B> for Streamed<'_, '_, B> {
    fn epoch(
        &mut self,
        model: LrModel<B>,
        lr: f64,
        epoch: usize,
    ) -> Result<(LrModel<B>, f64), StreamError> {
        match self.ctx.config.batch_size {
            Some(batch) if (batch as u64) < self.ctx.rows => {
                self.mini_batches(model, lr, epoch, batch)
            }
            _ => self.full_batch(model, lr, epoch),
        }
    }

    fn test_loss(&mut self, model: &LrModel<B::InnerBackend>) -> Result<f64, StreamError> {
        let (w, b) = Self::params(model);
        if self.ctx.config.loss == LossKind::Mse {
            return Ok(self
                .ctx
                .plan
                .test_moments
                .as_ref()
                .map_or(f64::NAN, |m| scores(m, &w, &b).mean.mse));
        }
        match self.ctx.plan.test {
            None => Ok(f64::NAN),
            Some((part, rows)) => {
                let (_, loss) = evaluate_streamed(
                    &part,
                    rows,
                    self.ctx.plan.standardizer.as_ref(),
                    &w,
                    &b,
                    self.ctx.config.loss,
                    &self.ctx.plan.options,
                )?;
                Ok(loss)
            }
        }
    }

    fn scores(
        &mut self,
        model: &LrModel<B::InnerBackend>,
    ) -> Result<(Metrics, Metrics), StreamError> {
        let (w, b) = Self::params(model);
        let train = scores(&self.ctx.plan.train_moments, &w, &b);
        let test = match &self.ctx.plan.test_moments {
            Some(m) if m.rows() > 0 => scores(m, &w, &b),
            _ => Metrics::nan(train.per_target.len()),
        };
        Ok((train, test))
    }

    fn last(
        &mut self,
        model: &LrModel<B::InnerBackend>,
    ) -> Result<(f64, f64, Metrics, Metrics), StreamError> {
        let (w, b) = Self::params(model);
        let s = self.ctx.plan.standardizer.as_ref();
        let (train, train_loss) = evaluate_streamed(
            &self.ctx.plan.train,
            Rows::Train,
            s,
            &w,
            &b,
            self.ctx.config.loss,
            &self.ctx.plan.options,
        )?;
        let (test, test_loss) = match self.ctx.plan.test {
            Some((part, rows)) => evaluate_streamed(
                &part,
                rows,
                s,
                &w,
                &b,
                self.ctx.config.loss,
                &self.ctx.plan.options,
            )?,
            None => (Metrics::nan(train.per_target.len()), f64::NAN),
        };
        Ok((train_loss, test_loss, train, test))
    }
}

/// Scores (MAE, MSE, RMSE, R²) and the mean `loss` of the linear model `weight·x + bias`
/// (`[out][in]`, on features standardized by `standardizer` if given) on `rows` of `part`,
/// in one parallel pass, in f64.
pub fn evaluate_streamed(
    part: &Part<'_>,
    rows: Rows,
    standardizer: Option<&Standardizer>,
    weight: &[Vec<f64>],
    bias: &[f64],
    loss: LossKind,
    options: &ScanOptions,
) -> Result<(Metrics, f64), StreamError> {
    if part.source.stored_as::<f32>(part.selected) {
        evaluate_as::<f32>(part, rows, standardizer, weight, bias, loss, options)
    } else {
        evaluate_as::<f64>(part, rows, standardizer, weight, bias, loss, options)
    }
}

fn evaluate_as<T: Element>(
    part: &Part<'_>,
    rows: Rows,
    standardizer: Option<&Standardizer>,
    weight: &[Vec<f64>],
    bias: &[f64],
    loss: LossKind,
    options: &ScanOptions,
) -> Result<(Metrics, f64), StreamError> {
    let (p, k) = (part.features(), part.targets());
    // In original units, so each row costs one dot product per target.
    let (w, b) = match standardizer {
        Some(s) => s.to_original_units(weight, bias),
        None => (weight.to_vec(), bias.to_vec()),
    };
    let b: Vec<f64> = (0..k).map(|t| b.get(t).copied().unwrap_or(0.0)).collect();
    let init = || (EvalSums::new(k), 0.0f64, Vec::<Vec<T>>::new());
    let states = part.source.scan::<T, _, StreamError>(
        part.selected,
        options,
        init,
        |(sums, loss_sum, scratch), chunk| {
            chunk.check_finite()?;
            part.rows_of(chunk, rows, scratch, |cols, _| {
                let n = cols[0].len();
                let mut pred = vec![0.0f64; n * k];
                for t in 0..k {
                    for r in 0..n {
                        pred[r * k + t] = b[t];
                    }
                    for (j, col) in cols[..p].iter().enumerate() {
                        let wj = w[t][j];
                        for r in 0..n {
                            pred[r * k + t] += wj * col[r].to_f64();
                        }
                    }
                }
                let ys: Vec<Vec<f64>> = cols[p..p + k]
                    .iter()
                    .map(|c| c.iter().map(|v| v.to_f64()).collect())
                    .collect();
                for (t, y) in ys.iter().enumerate() {
                    for (r, &yv) in y.iter().enumerate() {
                        let e = pred[r * k + t] - yv;
                        *loss_sum += match loss {
                            LossKind::L1 => e.abs(),
                            LossKind::Mse => e * e,
                            LossKind::Huber { delta } => {
                                if e.abs() <= delta {
                                    0.5 * e * e
                                } else {
                                    delta * (e.abs() - 0.5 * delta)
                                }
                            }
                        };
                    }
                }
                let refs: Vec<&[f64]> = ys.iter().map(|c| &c[..]).collect();
                sums.push(&pred, &refs);
            });
            Ok(())
        },
    )?;
    let mut sums = EvalSums::new(k);
    let mut loss_sum = 0.0;
    for (s, l, _) in &states {
        sums.merge(s);
        loss_sum += l;
    }
    let n = sums.rows();
    if n == 0 {
        return Ok((Metrics::nan(k), f64::NAN));
    }
    Ok((sums.metrics(), loss_sum / (n as f64 * k as f64)))
}
