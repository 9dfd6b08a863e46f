//! The fused step on the host: one pass over the rows of row-major slices.
//!
//! Every row is read once: its `m` predictions (a dot product per output), the residuals, the
//! loss terms and their derivatives, the weight-gradient update `gw[j] += g·x` (fused
//! multiply-adds, vectorized over the features), and, on request, the residual sums for the
//! metrics. Per-row values that must be summed go into small stack blocks that feed
//! [`Cascade`] sums. Nothing of size `n` is allocated.
//!
//! Summation order, chosen so that small problems reproduce PyTorch bit for bit and large ones
//! stay accurate and parallel:
//! - prediction: `dot(x, w)` (vector lanes, then the leftover features by fused multiply-add
//!   from 0) and then `+ b` as a separate rounding, as PyTorch's `addmm` does for one feature;
//! - loss and bias gradient: PyTorch's cascade sum ([`Cascade`]) over each chunk's values;
//! - weight gradient: fused multiply-adds in row order within blocks of 256 rows (what
//!   PyTorch's BLAS does for fewer than ~200 rows), the block sums added up in `f64`;
//! - rows are cut into chunks of at least [`CHUNK_WORK`] multiply-adds (a fixed rule of the
//!   problem's size, never of the number of threads, so results do not depend on the machine's
//!   core count); chunks run in parallel and their results are added in order in `f64`. A
//!   problem that fits one chunk (the tutorial's 40 rows) is summed exactly as PyTorch sums it.

use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

use crate::cascade::Cascade;
use crate::element::KernelFloat;
use crate::FusedLoss;

/// Rows per block: values of a block are staged on the stack before they are summed.
const BLOCK: usize = 64;
/// Rows whose weight-gradient terms are added in row order before joining the running total.
const GW_BLOCK: usize = 256;
/// Multiply-adds (`rows × (features + 1) × outputs`) below which a problem is one chunk.
pub const CHUNK_WORK: usize = 1 << 17;
/// At most this many chunks (each a task for the thread pool).
const MAX_CHUNKS: usize = 64;
/// Lanes of the dot products' accumulators.
const DOT_LANES: usize = 8;

/// One fused step's inputs, as row-major slices.
#[derive(Debug, Clone, Copy)]
pub struct Problem<'a, E> {
    /// Features, `[n, d]`.
    pub x: &'a [E],
    /// Targets, `[n, m]`.
    pub y: &'a [E],
    /// Weight in Burn's `[d, m]` orientation.
    pub weight: &'a [E],
    /// Bias, `[m]`.
    pub bias: Option<&'a [E]>,
    /// Rows of `x` and `y` to use, in this order; all rows when `None`.
    pub rows: Option<&'a [usize]>,
    /// Feature count `d`.
    pub d: usize,
    /// Output count `m`.
    pub m: usize,
    /// The loss.
    pub loss: FusedLoss,
    /// Whether to compute the gradients.
    pub gradients: bool,
    /// Whether to compute the residual sums.
    pub residual_sums: bool,
}

/// One fused step's results.
#[derive(Debug, Clone, PartialEq)]
pub struct Output<E> {
    /// Mean loss over the rows and outputs used.
    pub loss: E,
    /// `[d, m]` weight gradient (empty unless asked for).
    pub weight_grad: Vec<E>,
    /// `[m]` bias gradient (empty unless asked for).
    pub bias_grad: Vec<E>,
    /// `[2, m]`: Σ|r| per output, then Σr² per output (empty unless asked for).
    pub residual_sums: Vec<E>,
}

impl<E: KernelFloat> Problem<'_, E> {
    /// Rows used.
    pub fn len(&self) -> usize {
        match self.rows {
            Some(r) => r.len(),
            None => self.x.len() / self.d.max(1),
        }
    }

    /// Runs the step.
    pub fn run(&self) -> Output<E> {
        let rows = self.len();
        let work = rows
            .saturating_mul(self.d + 1)
            .saturating_mul(self.m)
            .max(1);
        let chunks = (work / CHUNK_WORK).clamp(1, MAX_CHUNKS).min(rows.max(1));
        let per = rows.div_ceil(chunks).max(1);
        let ranges: Vec<(usize, usize)> = (0..rows)
            .step_by(per)
            .map(|s| (s, (s + per).min(rows)))
            .collect();
        let parts: Vec<Partial<E>> = if ranges.len() > 1 {
            ranges
                .par_iter()
                .map(|&(s, e)| {
                    Arch::new().dispatch(ChunkOp {
                        p: self,
                        start: s,
                        end: e,
                    })
                })
                .collect()
        } else {
            ranges
                .iter()
                .map(|&(s, e)| {
                    Arch::new().dispatch(ChunkOp {
                        p: self,
                        start: s,
                        end: e,
                    })
                })
                .collect()
        };
        self.combine(rows, parts)
    }

    fn combine(&self, rows: usize, parts: Vec<Partial<E>>) -> Output<E> {
        let (d, m) = (self.d, self.m);
        let mut loss = 0.0f64;
        let mut gw = vec![0.0f64; if self.gradients { d * m } else { 0 }];
        let mut gb = vec![0.0f64; if self.gradients { m } else { 0 }];
        let mut sums = vec![0.0f64; if self.residual_sums { 2 * m } else { 0 }];
        for p in &parts {
            loss += p.loss.to_f64();
            // Partial weight gradients are kept per output ([m][d]); the result is [d][m].
            for j in 0..gw.len() / d.max(1) {
                for k in 0..d {
                    gw[k * m + j] += p.gw[j * d + k];
                }
            }
            for (t, v) in gb.iter_mut().zip(&p.gb) {
                *t += v.to_f64();
            }
            for (t, v) in sums.iter_mut().zip(&p.sums) {
                *t += v;
            }
        }
        // With one chunk every conversion below is exact, so the result is the chunk's own.
        let loss = E::from_f64(loss) / E::from_count(rows * m);
        let to_e = |v: Vec<f64>| v.into_iter().map(E::from_f64).collect();
        Output {
            loss,
            weight_grad: to_e(gw),
            bias_grad: to_e(gb),
            residual_sums: to_e(sums),
        }
    }
}

/// One chunk's sums.
struct Partial<E> {
    loss: E,
    /// `[m][d]`, in f64 (sums of 256-row blocks).
    gw: Vec<f64>,
    gb: Vec<E>,
    /// `[2][m]` in f64.
    sums: Vec<f64>,
}

/// One chunk of rows, compiled for the best instruction set the CPU has (pulp's dispatch).
struct ChunkOp<'p, 'a, E> {
    p: &'p Problem<'a, E>,
    start: usize,
    end: usize,
}

impl<E: KernelFloat> WithSimd for ChunkOp<'_, '_, E> {
    type Output = Partial<E>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> Partial<E> {
        chunk(self.p, self.start, self.end)
    }
}

/// Constants of the loss: the per-element derivative factor.
#[derive(Clone, Copy)]
struct LossTerms<E> {
    kind: FusedLoss,
    /// `1 / count` (L1, Huber) or `2 / count` (MSE), as PyTorch scales the derivative.
    scale: E,
    delta: E,
}

impl<E: KernelFloat> LossTerms<E> {
    fn new(kind: FusedLoss, count: usize) -> Self {
        let scale = match kind {
            // mean's backward: grad / numel, in the element type.
            FusedLoss::L1 | FusedLoss::Huber { .. } => E::ONE / E::from_count(count),
            // mse_loss_backward: (input − target) · (2 / numel), the factor rounded once.
            FusedLoss::Mse => E::from_f64(2.0 / count as f64),
        };
        let delta = match kind {
            FusedLoss::Huber { delta } => E::from_f64(delta),
            _ => E::ZERO,
        };
        Self { kind, scale, delta }
    }

    /// The loss term of residual `r` and its derivative (already scaled).
    #[inline(always)]
    fn eval(&self, r: E) -> (E, E) {
        match self.kind {
            FusedLoss::L1 => (r.abs(), r.sign() * self.scale),
            FusedLoss::Mse => (r * r, r * self.scale),
            FusedLoss::Huber { .. } => {
                let a = r.abs();
                let l = if a < self.delta {
                    E::HALF * a * a
                } else {
                    self.delta * (a - E::HALF * self.delta)
                };
                let c = if r < -self.delta {
                    -self.delta
                } else if r > self.delta {
                    self.delta
                } else {
                    r
                };
                (l, c * self.scale)
            }
        }
    }
}

/// `Σ x[k]·w[k]`: lanes of fused multiply-adds, a tree across the lanes, then the leftover
/// features one by one. One feature gives exactly `x·w` rounded once.
#[inline(always)]
fn dot<E: KernelFloat>(x: &[E], w: &[E]) -> E {
    let split = x.len() / DOT_LANES * DOT_LANES;
    let (xh, xt) = x.split_at(split);
    let (wh, wt) = w.split_at(split);
    let mut s = E::ZERO;
    if split > 0 {
        let mut acc = [E::ZERO; DOT_LANES];
        for (xc, wc) in xh.chunks_exact(DOT_LANES).zip(wh.chunks_exact(DOT_LANES)) {
            for l in 0..DOT_LANES {
                acc[l] = xc[l].mul_add(wc[l], acc[l]);
            }
        }
        let a = [
            acc[0] + acc[4],
            acc[1] + acc[5],
            acc[2] + acc[6],
            acc[3] + acc[7],
        ];
        s = (a[0] + a[2]) + (a[1] + a[3]);
    }
    for (&a, &b) in xt.iter().zip(wt) {
        s = a.mul_add(b, s);
    }
    s
}

#[inline(always)]
fn chunk<E: KernelFloat>(p: &Problem<'_, E>, start: usize, end: usize) -> Partial<E> {
    let (d, m) = (p.d, p.m);
    let len = end - start;
    let terms = LossTerms::new(p.loss, p.len() * m);
    // The weight per output, contiguous: wt[j][k] = weight[k][j].
    let mut wt = vec![E::ZERO; d * m];
    for k in 0..d {
        for j in 0..m {
            wt[j * d + k] = p.weight[k * m + j];
        }
    }
    let mut loss = Cascade::new(len * m);
    let mut gb: Vec<Cascade<E>> = if p.gradients {
        (0..m).map(|_| Cascade::new(len)).collect()
    } else {
        Vec::new()
    };
    let mut gw_total = vec![0.0f64; if p.gradients { d * m } else { 0 }];
    let mut gw_block = vec![E::ZERO; if p.gradients { d * m } else { 0 }];
    let mut sums = vec![0.0f64; if p.residual_sums { 2 * m } else { 0 }];
    // Per-block staging: loss terms row-major, derivatives per output.
    let mut lbuf = vec![E::ZERO; BLOCK * m];
    let mut gbuf = vec![E::ZERO; BLOCK * m];
    let mut in_gw_block = 0;

    let mut row = start;
    while row < end {
        let rows = BLOCK.min(end - row);
        for b in 0..rows {
            let i = match p.rows {
                Some(idx) => idx[row + b],
                None => row + b,
            };
            let xr = &p.x[i * d..(i + 1) * d];
            let yr = &p.y[i * m..(i + 1) * m];
            for j in 0..m {
                let dotv = dot(xr, &wt[j * d..(j + 1) * d]);
                let pred = match p.bias {
                    Some(bias) => dotv + bias[j],
                    None => dotv,
                };
                let r = pred - yr[j];
                let (l, g) = terms.eval(r);
                lbuf[b * m + j] = l;
                gbuf[j * BLOCK + b] = g;
                if p.gradients {
                    for (acc, &xv) in gw_block[j * d..(j + 1) * d].iter_mut().zip(xr) {
                        *acc = g.mul_add(xv, *acc);
                    }
                }
                if p.residual_sums {
                    let r64 = r.to_f64();
                    sums[j] += r64.abs();
                    sums[m + j] += r64 * r64;
                }
            }
            in_gw_block += 1;
            if p.gradients && in_gw_block == GW_BLOCK {
                flush(&mut gw_total, &mut gw_block);
                in_gw_block = 0;
            }
        }
        loss.push_all(&lbuf[..rows * m]);
        for (j, c) in gb.iter_mut().enumerate() {
            c.push_all(&gbuf[j * BLOCK..j * BLOCK + rows]);
        }
        row += rows;
    }
    flush(&mut gw_total, &mut gw_block);
    Partial {
        loss: loss.finish(),
        gw: gw_total,
        gb: gb.into_iter().map(Cascade::finish).collect(),
        sums,
    }
}

fn flush<E: KernelFloat>(total: &mut [f64], block: &mut [E]) {
    for (t, b) in total.iter_mut().zip(block.iter_mut()) {
        *t += b.to_f64();
        *b = E::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem<'a>(
        x: &'a [f32],
        y: &'a [f32],
        w: &'a [f32],
        b: &'a [f32],
        d: usize,
        loss: FusedLoss,
    ) -> Problem<'a, f32> {
        Problem {
            x,
            y,
            weight: w,
            bias: Some(b),
            rows: None,
            d,
            m: y.len() / (x.len() / d),
            loss,
            gradients: true,
            residual_sums: true,
        }
    }

    #[test]
    fn hand_computed_l1_mse_huber() {
        // x = [1, 2], y = [0, 5], w = 1, b = 0 → residuals [1, −3].
        let (x, y, w, b) = ([1.0f32, 2.0], [0.0f32, 5.0], [1.0f32], [0.0f32]);
        let l1 = problem(&x, &y, &w, &b, 1, FusedLoss::L1).run();
        assert_eq!(l1.loss, 2.0);
        // d/dw = (1·1 + (−1)·2)/2 = −0.5; d/db = (1 − 1)/2 = 0.
        assert_eq!((l1.weight_grad[0], l1.bias_grad[0]), (-0.5, 0.0));
        assert_eq!(l1.residual_sums, vec![4.0, 10.0]);
        let mse = problem(&x, &y, &w, &b, 1, FusedLoss::Mse).run();
        // (1 + 9)/2 = 5; d/dw = 2·(1·1 + (−3)·2)/2 = −5; d/db = 2·(1 − 3)/2 = −2.
        assert_eq!(
            (mse.loss, mse.weight_grad[0], mse.bias_grad[0]),
            (5.0, -5.0, -2.0)
        );
        let huber = problem(&x, &y, &w, &b, 1, FusedLoss::Huber { delta: 1.0 }).run();
        // terms 0.5 (|r| = 1 is not < δ: δ(1 − 0.5) = 0.5) and 1·(3 − 0.5) = 2.5 → 1.5;
        // derivative clamp(r, −1, 1)/2: [0.5, −0.5] → d/dw = 0.5 − 1 = −0.5, d/db = 0.
        assert_eq!(
            (huber.loss, huber.weight_grad[0], huber.bias_grad[0]),
            (1.5, -0.5, 0.0)
        );
    }

    #[test]
    fn rows_pick_and_order_the_batch() {
        let x = [1.0f32, 2.0, 3.0, 4.0];
        let y = [1.0f32, 1.0, 1.0, 1.0];
        let (w, b) = ([1.0f32], [0.0f32]);
        let idx = [3usize, 1];
        let mut p = problem(&x, &y, &w, &b, 1, FusedLoss::Mse);
        p.rows = Some(&idx);
        let out = p.run();
        // residuals 3 and 1: loss (9 + 1)/2 = 5; d/dw = (3·4 + 1·2) = 14; d/db = 4.
        assert_eq!(
            (out.loss, out.weight_grad[0], out.bias_grad[0]),
            (5.0, 14.0, 4.0)
        );
    }

    #[test]
    fn many_chunks_agree_with_one() {
        // A problem large enough to be cut into chunks, against the same rows summed in f64.
        let (n, d, m) = (20_000, 7, 2);
        let x: Vec<f32> = (0..n * d)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
            .collect();
        let y: Vec<f32> = (0..n * m)
            .map(|i| ((i * 13 % 29) as f32 - 14.0) / 7.0)
            .collect();
        let w: Vec<f32> = (0..d * m).map(|i| (i as f32 - 5.0) / 10.0).collect();
        let b = [0.25f32, -0.5];
        let p = problem(&x, &y, &w, &b, d, FusedLoss::Mse);
        assert!(n * (d + 1) * m > 2 * CHUNK_WORK);
        let out = p.run();
        let mut loss = 0.0f64;
        let mut gw = vec![0.0f64; d * m];
        let mut gb = vec![0.0f64; m];
        for i in 0..n {
            for j in 0..m {
                let mut pred = f64::from(b[j]);
                for k in 0..d {
                    pred += f64::from(x[i * d + k]) * f64::from(w[k * m + j]);
                }
                let r = pred - f64::from(y[i * m + j]);
                loss += r * r;
                for k in 0..d {
                    gw[k * m + j] += 2.0 * r * f64::from(x[i * d + k]);
                }
                gb[j] += 2.0 * r;
            }
        }
        let count = (n * m) as f64;
        let close = |a: f32, b: f64| (f64::from(a) - b).abs() <= 1e-5 * b.abs().max(1.0);
        assert!(
            close(out.loss, loss / count),
            "{} {}",
            out.loss,
            loss / count
        );
        for (a, b) in out.weight_grad.iter().zip(&gw) {
            assert!(close(*a, b / count), "{a} {}", b / count);
        }
        for (a, b) in out.bias_grad.iter().zip(&gb) {
            assert!(close(*a, b / count), "{a} {}", b / count);
        }
    }
}
