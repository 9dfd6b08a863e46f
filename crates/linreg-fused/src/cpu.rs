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
        let chunk = |(start, end)| Arch::new().dispatch(ChunkOp { p: self, start, end });
        if chunks == 1 {
            return self.finish(rows, chunk((0, rows)));
        }
        let per = rows.div_ceil(chunks);
        let ranges: Vec<(usize, usize)> = (0..rows)
            .step_by(per)
            .map(|s| (s, (s + per).min(rows)))
            .collect();
        let parts: Vec<Partial<f64>> = ranges.par_iter().map(|&r| chunk(r)).collect();
        // Chunks are added in order, in f64, so the result does not depend on the threads.
        let mut total = Partial {
            loss: 0.0,
            gw: vec![0.0; parts[0].gw.len()],
            gb: vec![0.0; parts[0].gb.len()],
            sums: vec![0.0; parts[0].sums.len()],
        };
        for p in &parts {
            total.loss += p.loss;
            for (t, v) in total.gw.iter_mut().zip(&p.gw) {
                *t += v;
            }
            for (t, v) in total.gb.iter_mut().zip(&p.gb) {
                *t += v;
            }
            for (t, v) in total.sums.iter_mut().zip(&p.sums) {
                *t += v;
            }
        }
        self.finish(rows, total)
    }

    /// The outputs from the (added-up) sums. With one chunk every conversion is exact, so the
    /// results are the chunk's own float sums.
    fn finish(&self, rows: usize, sums: Partial<f64>) -> Output<E> {
        let (d, m) = (self.d, self.m);
        // Partial weight gradients are kept per output ([m][d]); the result is [d][m].
        let mut weight_grad = vec![E::ZERO; sums.gw.len()];
        for j in 0..sums.gw.len() / d.max(1) {
            for k in 0..d {
                weight_grad[k * m + j] = E::from_f64(sums.gw[j * d + k]);
            }
        }
        let to_e = |v: Vec<f64>| v.into_iter().map(E::from_f64).collect();
        Output {
            loss: E::from_f64(sums.loss) / E::from_count(rows * m),
            weight_grad,
            bias_grad: to_e(sums.gb),
            residual_sums: to_e(sums.sums),
        }
    }
}

/// One chunk's sums, in f64 (each exactly the chunk's own float sum, or a sum of 256-row
/// block sums for the weight gradient).
struct Partial<F> {
    loss: F,
    /// `[m][d]`.
    gw: Vec<F>,
    gb: Vec<F>,
    /// `[2][m]`.
    sums: Vec<F>,
}

/// One chunk of rows, compiled for the best instruction set the CPU has (pulp's dispatch).
struct ChunkOp<'p, 'a, E> {
    p: &'p Problem<'a, E>,
    start: usize,
    end: usize,
}

impl<E: KernelFloat> WithSimd for ChunkOp<'_, '_, E> {
    type Output = Partial<f64>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> Partial<f64> {
        let (p, start, end) = (self.p, self.start, self.end);
        let count = E::from_count(p.len() * p.m);
        // One copy of the row loop per loss, so the loss is not a branch per element.
        match p.loss {
            FusedLoss::L1 => chunk(p, start, end, L1(E::ONE / count)),
            // mse_loss_backward: (input − target) · (2 / numel), the factor rounded once.
            FusedLoss::Mse => chunk(
                p,
                start,
                end,
                Mse(E::from_f64(2.0 / (p.len() * p.m) as f64)),
            ),
            FusedLoss::Huber { delta } => chunk(
                p,
                start,
                end,
                Huber {
                    scale: E::ONE / count,
                    delta: E::from_f64(delta),
                },
            ),
        }
    }
}

/// A loss term and its derivative, scaled by `1/count` as PyTorch scales it (mean's backward
/// is `grad / numel`, in the element type).
trait LossTerms<E>: Copy {
    fn eval(&self, r: E) -> (E, E);
}

#[derive(Clone, Copy)]
struct L1<E>(E);
#[derive(Clone, Copy)]
struct Mse<E>(E);
#[derive(Clone, Copy)]
struct Huber<E> {
    scale: E,
    delta: E,
}

impl<E: KernelFloat> LossTerms<E> for L1<E> {
    #[inline(always)]
    fn eval(&self, r: E) -> (E, E) {
        (r.abs(), r.sign() * self.0)
    }
}

impl<E: KernelFloat> LossTerms<E> for Mse<E> {
    #[inline(always)]
    fn eval(&self, r: E) -> (E, E) {
        (r * r, r * self.0)
    }
}

impl<E: KernelFloat> LossTerms<E> for Huber<E> {
    #[inline(always)]
    fn eval(&self, r: E) -> (E, E) {
        // PyTorch: z < δ ? 0.5·z·z : δ·(z − 0.5·δ); derivative clamp(r, −δ, δ)/numel.
        let a = r.abs();
        let term = if a < self.delta {
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
        (term, c * self.scale)
    }
}

/// `Σ x[k]·w[k]`: lanes of fused multiply-adds, a tree across the lanes, then the leftover
/// features one by one. One feature gives exactly `x·w` rounded once.
#[inline(always)]
fn dot<E: KernelFloat>(x: &[E], w: &[E]) -> E {
    let split = x.len() / DOT_LANES * DOT_LANES;
    let (xh, xt) = x.split_at(split);
    let (wh, wt) = w.split_at(split.min(w.len()));
    let mut s = E::ZERO;
    if split > 0 {
        let mut acc = [E::ZERO; DOT_LANES];
        for (xc, wc) in xh.chunks_exact(DOT_LANES).zip(wh.chunks_exact(DOT_LANES)) {
            for l in 0..DOT_LANES {
                acc[l] = xc[l].mul_add(wc[l], acc[l]);
            }
        }
        let a = [acc[0] + acc[4], acc[1] + acc[5], acc[2] + acc[6], acc[3] + acc[7]];
        s = (a[0] + a[2]) + (a[1] + a[3]);
    }
    for (&a, &b) in xt.iter().zip(wt) {
        s = a.mul_add(b, s);
    }
    s
}

/// The running state of one chunk.
struct ChunkState<'s, E> {
    d: usize,
    m: usize,
    gradients: bool,
    residual_sums: bool,
    /// `wt[j·d + k] = weight[k][j]`.
    wt: &'s [E],
    bias: Option<&'s [E]>,
    /// Weight-gradient terms of the current 256-row block, `[m][d]`.
    gw_block: &'s mut [E],
    /// Loss terms of the current 64-row block, row-major.
    lbuf: &'s mut [E],
    /// Derivatives of the current 64-row block, `[m][BLOCK]`.
    gbuf: &'s mut [E],
    /// `[2][m]` residual sums, f64.
    sums: &'s mut [f64],
}

impl<E: KernelFloat> ChunkState<'_, E> {
    /// One row: predictions, residuals, loss terms, derivatives, weight-gradient terms.
    #[inline(always)]
    fn row<L: LossTerms<E>>(&mut self, b: usize, xr: &[E], yr: &[E], loss: L) {
        let (d, m) = (self.d, self.m);
        for (j, &yj) in yr.iter().enumerate().take(m) {
            let dotv = dot(xr, &self.wt[j * d..(j + 1) * d]);
            let pred = match self.bias {
                Some(bias) => dotv + bias[j],
                None => dotv,
            };
            let r = pred - yj;
            let (l, g) = loss.eval(r);
            self.lbuf[b * m + j] = l;
            self.gbuf[j * BLOCK + b] = g;
            if self.gradients {
                for (acc, &xv) in self.gw_block[j * d..(j + 1) * d].iter_mut().zip(xr) {
                    *acc = g.mul_add(xv, *acc);
                }
            }
            if self.residual_sums {
                let r64 = r.to_f64();
                self.sums[j] += r64.abs();
                self.sums[m + j] += r64 * r64;
            }
        }
    }
}

#[inline(always)]
fn chunk<E: KernelFloat, L: LossTerms<E>>(
    p: &Problem<'_, E>,
    start: usize,
    end: usize,
    loss: L,
) -> Partial<f64> {
    let (d, m) = (p.d, p.m);
    let len = end - start;
    // One scratch buffer for everything of size d·m or BLOCK·m.
    let gw_len = if p.gradients { d * m } else { 0 };
    let mut scratch = vec![E::ZERO; d * m + gw_len + 2 * BLOCK * m];
    let (wt, rest) = scratch.split_at_mut(d * m);
    for k in 0..d {
        for j in 0..m {
            wt[j * d + k] = p.weight[k * m + j];
        }
    }
    let (gw_block, rest) = rest.split_at_mut(gw_len);
    let (lbuf, gbuf) = rest.split_at_mut(BLOCK * m);
    let mut f64s = vec![0.0f64; gw_len + if p.residual_sums { 2 * m } else { 0 }];
    let (gw_total, sums) = f64s.split_at_mut(gw_len);
    let mut state = ChunkState {
        d,
        m,
        gradients: p.gradients,
        residual_sums: p.residual_sums,
        wt,
        bias: p.bias,
        gw_block,
        lbuf,
        gbuf,
        sums,
    };
    let mut loss_sum = Cascade::new(len * m);
    let mut gb: Vec<Cascade<E>> = if p.gradients {
        (0..m).map(|_| Cascade::new(len)).collect()
    } else {
        Vec::new()
    };

    let mut in_gw_block = 0;
    let mut row = start;
    while row < end {
        let rows = BLOCK.min(end - row);
        match p.rows {
            Some(idx) => {
                for (b, &i) in idx[row..row + rows].iter().enumerate() {
                    state.row(b, &p.x[i * d..(i + 1) * d], &p.y[i * m..(i + 1) * m], loss);
                }
            }
            None => {
                let xs = p.x[row * d..(row + rows) * d].chunks_exact(d);
                let ys = p.y[row * m..(row + rows) * m].chunks_exact(m);
                for (b, (xr, yr)) in xs.zip(ys).enumerate() {
                    state.row(b, xr, yr, loss);
                }
            }
        }
        loss_sum.push_all(&state.lbuf[..rows * m]);
        for (j, c) in gb.iter_mut().enumerate() {
            c.push_all(&state.gbuf[j * BLOCK..j * BLOCK + rows]);
        }
        in_gw_block += rows;
        if p.gradients && in_gw_block == GW_BLOCK {
            flush(gw_total, state.gw_block);
            in_gw_block = 0;
        }
        row += rows;
    }
    flush(gw_total, state.gw_block);
    let sums = state.sums.to_vec();
    f64s.truncate(gw_len);
    Partial {
        loss: loss_sum.finish().to_f64(),
        gw: f64s,
        gb: gb.iter_mut().map(|c| c.finish().to_f64()).collect(),
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
