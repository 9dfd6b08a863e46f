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

impl<E: SimdFloat> Problem<'_, E> {
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
        let chunk = |(start, end)| {
            Arch::new().dispatch(ChunkOp {
                p: self,
                start,
                end,
            })
        };
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

impl<E: SimdFloat> WithSimd for ChunkOp<'_, '_, E> {
    type Output = Partial<f64>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Partial<f64> {
        let (p, start, end) = (self.p, self.start, self.end);
        let count = E::from_count(p.len() * p.m);
        // One copy of the row loop per loss, so the loss is not a branch per element.
        match p.loss {
            FusedLoss::L1 => chunk(simd, p, start, end, L1(E::ONE / count)),
            // mse_loss_backward: (input − target) · (2 / numel), the factor rounded once.
            FusedLoss::Mse => chunk(
                simd,
                p,
                start,
                end,
                Mse(E::from_f64(2.0 / (p.len() * p.m) as f64)),
            ),
            FusedLoss::Huber { delta } => chunk(
                simd,
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

/// `f32` and `f64` as pulp vectors: what the kernel's loops need of each.
pub(crate) trait SimdFloat: KernelFloat {
    /// A vector of this element on instruction set `S`.
    type V<S: Simd>: Copy;
    /// Whole vectors, then the rest.
    fn as_simd<S: Simd>(x: &[Self]) -> (&[Self::V<S>], &[Self]);
    /// Whole vectors, then the rest, mutably.
    fn as_mut_simd<S: Simd>(x: &mut [Self]) -> (&mut [Self::V<S>], &mut [Self]);
    /// Every lane `v`.
    fn splat<S: Simd>(s: S, v: Self) -> Self::V<S>;
    /// `a·b + c`, one rounding per lane.
    fn fma<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>, c: Self::V<S>) -> Self::V<S>;
    /// The sum of the lanes.
    fn reduce<S: Simd>(s: S, v: Self::V<S>) -> Self;
}

macro_rules! simd_float {
    ($t:ty, $as_simd:ident, $as_mut_simd:ident, $splat:ident, $fma:ident, $reduce:ident, $v:ident) => {
        impl SimdFloat for $t {
            type V<S: Simd> = S::$v;
            #[inline(always)]
            fn as_simd<S: Simd>(x: &[Self]) -> (&[Self::V<S>], &[Self]) {
                S::$as_simd(x)
            }
            #[inline(always)]
            fn as_mut_simd<S: Simd>(x: &mut [Self]) -> (&mut [Self::V<S>], &mut [Self]) {
                S::$as_mut_simd(x)
            }
            #[inline(always)]
            fn splat<S: Simd>(s: S, v: Self) -> Self::V<S> {
                s.$splat(v)
            }
            #[inline(always)]
            fn fma<S: Simd>(s: S, a: Self::V<S>, b: Self::V<S>, c: Self::V<S>) -> Self::V<S> {
                s.$fma(a, b, c)
            }
            #[inline(always)]
            fn reduce<S: Simd>(s: S, v: Self::V<S>) -> Self {
                s.$reduce(v)
            }
        }
    };
}

simd_float!(
    f32,
    as_simd_f32s,
    as_mut_simd_f32s,
    splat_f32s,
    mul_add_f32s,
    reduce_sum_f32s,
    f32s
);
simd_float!(
    f64,
    as_simd_f64s,
    as_mut_simd_f64s,
    splat_f64s,
    mul_add_f64s,
    reduce_sum_f64s,
    f64s
);

/// `Σ x[k]·w[k]` with `w` given as whole vectors `wv` and leftover features `wt`: vector
/// fused multiply-adds summed across their lanes, then the leftover features one by one. One
/// feature gives exactly `x·w`, rounded once.
#[inline(always)]
fn dot<S: Simd, E: SimdFloat>(s: S, x: &[E], wv: &[E::V<S>], wt: &[E]) -> E {
    let (xh, xt) = E::as_simd::<S>(x);
    let mut total = E::ZERO;
    if !wv.is_empty() {
        let mut acc = E::splat(s, E::ZERO);
        for (&a, &b) in xh.iter().zip(wv) {
            acc = E::fma(s, a, b, acc);
        }
        total = E::reduce(s, acc);
    }
    for (&a, &b) in xt.iter().zip(wt) {
        total = a.mul_add(b, total);
    }
    total
}

#[inline(always)]
fn chunk<S: Simd, E: SimdFloat, L: LossTerms<E>>(
    s: S,
    p: &Problem<'_, E>,
    start: usize,
    end: usize,
    loss: L,
) -> Partial<f64> {
    let (d, m) = (p.d, p.m);
    // Rows in place: consecutive ones as one slice, or picked by index.
    match p.rows {
        None => chunk_rows(s, p, start, end, loss, |from, n| {
            let xs = p.x[from * d..(from + n) * d].chunks_exact(d);
            xs.zip(p.y[from * m..(from + n) * m].chunks_exact(m))
        }),
        Some(idx) => chunk_rows(s, p, start, end, loss, |from, n| {
            idx[from..from + n]
                .iter()
                .map(move |&i| (&p.x[i * d..(i + 1) * d], &p.y[i * m..(i + 1) * m]))
        }),
    }
}

#[inline(always)]
fn chunk_rows<'a, S, E, L, F, I>(
    s: S,
    p: &Problem<'a, E>,
    start: usize,
    end: usize,
    loss: L,
    block_rows: F,
) -> Partial<f64>
where
    S: Simd,
    E: SimdFloat,
    L: LossTerms<E>,
    F: Fn(usize, usize) -> I,
    I: Iterator<Item = (&'a [E], &'a [E])>,
{
    let (d, m) = (p.d, p.m);
    let len = end - start;
    // The weight per output as whole vectors and leftover features.
    let mut wt_full = vec![E::ZERO; d * m];
    for k in 0..d {
        for j in 0..m {
            wt_full[j * d + k] = p.weight[k * m + j];
        }
    }
    let vectors = E::as_simd::<S>(&wt_full[..d]).0.len();
    let first_tail = d - E::as_simd::<S>(&wt_full[..d]).1.len();
    let mut wv: Vec<E::V<S>> = Vec::with_capacity(vectors * m);
    let mut wtail: Vec<E> = Vec::with_capacity((d - first_tail) * m);
    for wj in wt_full.chunks_exact(d) {
        let (h, t) = E::as_simd::<S>(wj);
        wv.extend_from_slice(h);
        wtail.extend_from_slice(t);
    }
    let tail_len = d - first_tail;
    // Scratch: weight-gradient terms of the current 256 rows ([m][d]), then per 64-row block the
    // loss terms (row-major), derivatives and residuals ([m][BLOCK]).
    let gw_len = if p.gradients { d * m } else { 0 };
    let mut scratch = vec![E::ZERO; gw_len + 3 * BLOCK * m];
    let (gw_block, rest) = scratch.split_at_mut(gw_len);
    let (lbuf, rest) = rest.split_at_mut(BLOCK * m);
    let (gbuf, rbuf) = rest.split_at_mut(BLOCK * m);
    let mut f64s = vec![0.0f64; gw_len + if p.residual_sums { 2 * m } else { 0 }];
    let (gw_total, sums) = f64s.split_at_mut(gw_len);
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
        // Dot products first, in a tight loop (so the processor can run many rows ahead on
        // the loads), then residuals, loss terms and derivatives.
        if m == 1 {
            // One output: the second loop runs over arrays, and vectorizes.
            for ((xr, yr), (p_, y_)) in
                block_rows(row, rows).zip(rbuf.iter_mut().zip(lbuf.iter_mut()))
            {
                *p_ = dot(s, xr, &wv, &wtail);
                *y_ = yr[0];
            }
            let b0 = p.bias.map_or(E::ZERO, |b| b[0]);
            let rows_r = rbuf[..rows].iter_mut();
            for ((r_, l_), g_) in rows_r
                .zip(lbuf[..rows].iter_mut())
                .zip(gbuf[..rows].iter_mut())
            {
                // (dot + b) − y, two roundings, as PyTorch's addmm and subtraction.
                let r = (*r_ + b0) - *l_;
                let (l, g) = loss.eval(r);
                *r_ = r;
                *l_ = l;
                *g_ = g;
            }
        } else {
            for (b, (xr, _)) in block_rows(row, rows).enumerate() {
                for j in 0..m {
                    let wvj = &wv[j * vectors..(j + 1) * vectors];
                    let wtj = &wtail[j * tail_len..(j + 1) * tail_len];
                    rbuf[j * BLOCK + b] = dot(s, xr, wvj, wtj);
                }
            }
            for (b, (_, yr)) in block_rows(row, rows).enumerate() {
                for (j, &yj) in yr.iter().enumerate() {
                    let dotv = rbuf[j * BLOCK + b];
                    let pred = match p.bias {
                        Some(bias) => dotv + bias[j],
                        None => dotv,
                    };
                    let r = pred - yj;
                    let (l, g) = loss.eval(r);
                    lbuf[b * m + j] = l;
                    gbuf[j * BLOCK + b] = g;
                    rbuf[j * BLOCK + b] = r;
                }
            }
        }
        // Weight-gradient terms: per vector of features, the block's rows in order,
        // accumulated in a register.
        if p.gradients {
            for (j, gw_j) in gw_block.chunks_exact_mut(d).enumerate() {
                let g = &gbuf[j * BLOCK..j * BLOCK + rows];
                let (head, tail) = E::as_mut_simd::<S>(gw_j);
                for (c, acc_ref) in head.iter_mut().enumerate() {
                    let mut acc = *acc_ref;
                    for ((xr, _), &gr) in block_rows(row, rows).zip(g) {
                        let xv = E::as_simd::<S>(xr).0[c];
                        acc = E::fma(s, E::splat(s, gr), xv, acc);
                    }
                    *acc_ref = acc;
                }
                for (t, acc) in tail.iter_mut().enumerate() {
                    for ((xr, _), &gr) in block_rows(row, rows).zip(g) {
                        *acc = gr.mul_add(xr[first_tail + t], *acc);
                    }
                }
            }
        }
        if p.residual_sums {
            for j in 0..m {
                for &r in &rbuf[j * BLOCK..j * BLOCK + rows] {
                    let r64 = r.to_f64();
                    sums[j] += r64.abs();
                    sums[m + j] += r64 * r64;
                }
            }
        }
        loss_sum.push_all(&lbuf[..rows * m]);
        for (j, c) in gb.iter_mut().enumerate() {
            c.push_all(&gbuf[j * BLOCK..j * BLOCK + rows]);
        }
        in_gw_block += rows;
        if p.gradients && in_gw_block == GW_BLOCK {
            flush(gw_total, gw_block);
            in_gw_block = 0;
        }
        row += rows;
    }
    flush(gw_total, gw_block);
    let sums = sums.to_vec();
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
