//! [`Moments`]: the sufficient statistics of a (weighted) least-squares problem, built from
//! blocks of rows and merged pairwise, so that a table can be summed in parts — by threads,
//! by a stream of record batches, by the partitions of a query engine — and solved at the end.

use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::{Accum, Mat, Par};

use crate::{Element, SolveError, View};

/// Count, weight sum, weighted means and centred cross products of the columns `[x, y]`
/// (features, then targets) of a table, in f64.
///
/// With `z = [x, y]` a row and `w > 0` its weight (1 without weights):
///
/// - `rows` = number of rows, `weight_sum` = `W` = Σ w, `log_weight_sum` = Σ ln w
///   (the weighted log-likelihood needs it);
/// - `mean` = `z̄` = Σ w·z / W;
/// - `comoment` = `C` = Σ w·(z − z̄)(z − z̄)ᵀ, a symmetric `(p + k) × (p + k)` matrix.
///
/// Blocks of rows are summed around their own first row (so that sums stay small next to
/// the spread, and centring loses almost nothing) and merged with the pairwise update of
/// Chan, Golub and LeVeque (1979): for parts `a` and `b`, with `δ = z̄_b − z̄_a`,
/// `W = W_a + W_b`, `z̄ = z̄_a + δ·W_b/W`, `C = C_a + C_b + δδᵀ·W_a·W_b/W`. The order of
/// merging changes only rounding.
///
/// Ordinary and ridge least squares, with or without intercept, and the classical inference
/// table (see [`crate::inference`]) follow from a `Moments` alone:
/// [`Moments::least_squares`].
///
/// ```
/// use linreg_solve::{Moments, View};
///
/// // y = 2·x + 1, summed in two parts and merged.
/// let (x, y) = ([0.0_f64, 1.0, 2.0, 3.0], [1.0_f64, 3.0, 5.0, 7.0]);
/// let mut a = Moments::new(1, 1);
/// a.push(View::new(2, 1, &x[..2])?, View::new(2, 1, &y[..2])?, None)?;
/// let b = Moments::from_rows(View::new(2, 1, &x[2..])?, View::new(2, 1, &y[2..])?, None)?;
/// a.merge(&b)?;
/// assert_eq!((a.rows(), a.mean()[0]), (4, 1.5));
/// let fit = a.least_squares(true, 0.0)?.fit;
/// assert!((fit.weight[0][0] - 2.0).abs() < 1e-14 && (fit.bias[0] - 1.0).abs() < 1e-14);
///
/// // The state is a flat list of f64, for a query engine's aggregate to ship and merge.
/// let state = a.to_state();
/// assert_eq!(Moments::from_state(1, 1, &state)?, a);
/// # Ok::<(), linreg_solve::SolveError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    features: usize,
    targets: usize,
    rows: u64,
    weight_sum: f64,
    log_weight_sum: f64,
    mean: Vec<f64>,
    /// Full symmetric, row-major, `d × d` with `d = features + targets`.
    comoment: Vec<f64>,
}

/// Rows per block: big enough for the matrix product to run at full speed, small enough to
/// stay in cache (1024 × 18 f64 ≈ 147 KiB).
const BLOCK: usize = 1024;

/// Below this many rows one thread does it all: threads cost more than they save.
const PARALLEL_ROWS: usize = 65_536;

impl Moments {
    /// Empty statistics for `features` feature and `targets` target columns.
    pub fn new(features: usize, targets: usize) -> Self {
        let d = features + targets;
        Self {
            features,
            targets,
            rows: 0,
            weight_sum: 0.0,
            log_weight_sum: 0.0,
            mean: vec![0.0; d],
            comoment: vec![0.0; d * d],
        }
    }

    /// The statistics of the rows of `x` (features) and `y` (targets), with optional
    /// positive row weights; large inputs are summed on every core.
    pub fn from_rows<T: Element>(
        x: View<'_, T>,
        y: View<'_, T>,
        weights: Option<&[f64]>,
    ) -> Result<Self, SolveError> {
        let mut m = Self::new(x.cols(), y.cols());
        m.push(x, y, weights)?;
        Ok(m)
    }

    /// Adds the rows of `x` and `y` (and their weights, if any).
    pub fn push<T: Element>(
        &mut self,
        x: View<'_, T>,
        y: View<'_, T>,
        weights: Option<&[f64]>,
    ) -> Result<(), SolveError> {
        if x.cols() != self.features || y.cols() != self.targets {
            return Err(SolveError::Shape(format!(
                "these moments hold {} feature(s) and {} target(s); the block has {} and {}",
                self.features,
                self.targets,
                x.cols(),
                y.cols()
            )));
        }
        if x.rows() != y.rows() {
            return Err(SolveError::Shape(format!(
                "features have {} rows, targets {}",
                x.rows(),
                y.rows()
            )));
        }
        if let Some(w) = weights {
            check_weights(w, x.rows())?;
        }
        let n = x.rows();
        if n == 0 {
            return Ok(());
        }
        let threads = if n >= PARALLEL_ROWS {
            std::thread::available_parallelism().map_or(1, |t| t.get().min(8))
        } else {
            1
        };
        let chunk = n.div_ceil(threads);
        let ranges: Vec<(usize, usize)> = (0..threads)
            .map(|t| (t * chunk, ((t + 1) * chunk).min(n)))
            .filter(|(a, b)| a < b)
            .collect();
        let (p, k) = (self.features, self.targets);
        let parts = parallel(&ranges, |&(a, b)| {
            let mut part = Moments::new(p, k);
            let mut scratch = Mat::<f64>::zeros(p + k + 1, BLOCK);
            for start in (a..b).step_by(BLOCK) {
                let end = (start + BLOCK).min(b);
                part.merge_unchecked(&block_moments(x, y, weights, start, end, &mut scratch));
            }
            part
        });
        // A NaN or infinite cell (or an overflow) makes its part's sums non-finite: checked
        // here rather than in a separate pass over the rows, before anything is merged.
        if !parts.iter().all(Moments::is_finite) {
            return Err(SolveError::NonFinite);
        }
        for part in &parts {
            self.merge_unchecked(part);
        }
        Ok(())
    }

    /// Adds rows given column by column — `columns` holds the features, then the targets, each
    /// a slice of the same length (one value per row) — as a columnar reader (Arrow, Parquet)
    /// delivers them, without building rows first. Optional positive row weights.
    ///
    /// Runs on the calling thread: a scan that reads on several threads gives each its own
    /// `Moments` and [`merge`](Moments::merge)s them. A NaN or infinite value is
    /// [`SolveError::NonFinite`], and then nothing is added.
    ///
    /// ```
    /// use linreg_solve::{Moments, View};
    ///
    /// let (x, y) = ([0.0_f32, 1.0, 2.0, 3.0], [1.0_f32, 3.0, 5.0, 7.0]);
    /// let mut by_columns = Moments::new(1, 1);
    /// by_columns.push_columns(&[&x[..], &y[..]], None)?;
    /// let by_rows = Moments::from_rows(View::new(4, 1, &x)?, View::new(4, 1, &y)?, None)?;
    /// assert_eq!(by_columns, by_rows);
    /// # Ok::<(), linreg_solve::SolveError>(())
    /// ```
    pub fn push_columns<T: Element>(
        &mut self,
        columns: &[&[T]],
        weights: Option<&[f64]>,
    ) -> Result<(), SolveError> {
        let d = self.features + self.targets;
        if columns.len() != d {
            return Err(SolveError::Shape(format!(
                "these moments hold {} feature(s) and {} target(s): {d} column(s), got {}",
                self.features,
                self.targets,
                columns.len()
            )));
        }
        let n = columns.first().map_or(0, |c| c.len());
        if let Some(bad) = columns.iter().find(|c| c.len() != n) {
            return Err(SolveError::Shape(format!(
                "columns of {n} and {} values; give every column one value per row",
                bad.len()
            )));
        }
        if let Some(w) = weights {
            check_weights(w, n)?;
        }
        if n == 0 {
            return Ok(());
        }
        let mut part = Moments::new(self.features, self.targets);
        let mut scratch = Mat::<f64>::zeros(BLOCK.min(n), d + 1);
        for start in (0..n).step_by(BLOCK) {
            let end = (start + BLOCK).min(n);
            part.merge_unchecked(&block_moments_columns(
                columns,
                weights,
                start,
                end,
                (self.features, self.targets),
                &mut scratch,
            ));
        }
        if !part.is_finite() {
            return Err(SolveError::NonFinite);
        }
        self.merge_unchecked(&part);
        Ok(())
    }

    fn is_finite(&self) -> bool {
        self.weight_sum.is_finite()
            && self.mean.iter().all(|v| v.is_finite())
            && self.comoment.iter().all(|v| v.is_finite())
    }

    /// Adds the statistics of other rows (Chan, Golub and LeVeque's pairwise update).
    pub fn merge(&mut self, other: &Moments) -> Result<(), SolveError> {
        if (other.features, other.targets) != (self.features, self.targets) {
            return Err(SolveError::Shape(format!(
                "cannot merge moments of {}+{} columns into moments of {}+{}",
                other.features, other.targets, self.features, self.targets
            )));
        }
        self.merge_unchecked(other);
        Ok(())
    }

    fn merge_unchecked(&mut self, other: &Moments) {
        if other.rows == 0 {
            return;
        }
        if self.rows == 0 {
            *self = other.clone();
            return;
        }
        let (wa, wb) = (self.weight_sum, other.weight_sum);
        let w = wa + wb;
        let d = self.mean.len();
        let delta: Vec<f64> = (0..d).map(|i| other.mean[i] - self.mean[i]).collect();
        let f = wa * wb / w;
        // Lower half, mirrored: the matrix stays exactly symmetric.
        for i in 0..d {
            for j in 0..=i {
                let v =
                    self.comoment[i * d + j] + other.comoment[i * d + j] + f * delta[i] * delta[j];
                self.comoment[i * d + j] = v;
                self.comoment[j * d + i] = v;
            }
        }
        for (m, dl) in self.mean.iter_mut().zip(&delta) {
            *m += dl * (wb / w);
        }
        self.rows += other.rows;
        self.weight_sum = w;
        self.log_weight_sum += other.log_weight_sum;
    }

    /// Number of feature columns.
    pub fn features(&self) -> usize {
        self.features
    }

    /// Number of target columns.
    pub fn targets(&self) -> usize {
        self.targets
    }

    /// Rows summed.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Σ w (the row count without weights).
    pub fn weight_sum(&self) -> f64 {
        self.weight_sum
    }

    /// Σ ln w (0 without weights).
    pub fn log_weight_sum(&self) -> f64 {
        self.log_weight_sum
    }

    /// Weighted means of the features, then the targets.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// `Σ w (z_i − z̄_i)(z_j − z̄_j)` for columns `i`, `j` of `[x, y]`.
    pub fn comoment(&self, i: usize, j: usize) -> f64 {
        self.comoment[i * self.mean.len() + j]
    }

    /// Length of [`Moments::to_state`] for these column counts.
    pub fn state_len(features: usize, targets: usize) -> usize {
        let d = features + targets;
        3 + d + d * (d + 1) / 2
    }

    /// The statistics as a flat list: `[rows, weight_sum, log_weight_sum, mean…, C…]`, the
    /// comoment matrix's lower triangle row by row (`C₀₀, C₁₀, C₁₁, C₂₀, …`). Exact: `rows`
    /// is below 2⁵³ in any table that fits anywhere.
    pub fn to_state(&self) -> Vec<f64> {
        let d = self.mean.len();
        let mut s = Vec::with_capacity(Self::state_len(self.features, self.targets));
        s.extend([self.rows as f64, self.weight_sum, self.log_weight_sum]);
        s.extend_from_slice(&self.mean);
        for i in 0..d {
            s.extend_from_slice(&self.comoment[i * d..i * d + i + 1]);
        }
        s
    }

    /// Rebuilds what [`Moments::to_state`] wrote.
    pub fn from_state(features: usize, targets: usize, state: &[f64]) -> Result<Self, SolveError> {
        let d = features + targets;
        if state.len() != Self::state_len(features, targets) {
            return Err(SolveError::Shape(format!(
                "a moments state of {features}+{targets} columns has {} values, got {}",
                Self::state_len(features, targets),
                state.len()
            )));
        }
        if state.iter().any(|v| !v.is_finite()) || state[0] < 0.0 || state[0].fract() != 0.0 {
            return Err(SolveError::NonFinite);
        }
        let mut m = Self::new(features, targets);
        m.rows = state[0] as u64;
        m.weight_sum = state[1];
        m.log_weight_sum = state[2];
        m.mean.copy_from_slice(&state[3..3 + d]);
        let mut at = 3 + d;
        for i in 0..d {
            for j in 0..=i {
                m.comoment[i * d + j] = state[at];
                m.comoment[j * d + i] = state[at];
                at += 1;
            }
        }
        Ok(m)
    }
}

pub(crate) fn check_weights(w: &[f64], rows: usize) -> Result<(), SolveError> {
    if w.len() != rows {
        return Err(SolveError::Shape(format!(
            "{} weights for {rows} rows; give one weight per row",
            w.len()
        )));
    }
    if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(SolveError::InvalidParameter(format!(
            "weight {} (row {}) is invalid: weights must be positive finite numbers; drop rows \
             whose weight is 0",
            w[i],
            i + 1
        )));
    }
    Ok(())
}

/// The moments of rows `start..end`: the block, shifted by its first row, converted to f64,
/// scaled by √w and extended by a column of √w, is multiplied by its own transpose with
/// faer's matrix product: one product gives the shifted cross products, the shifted sums and
/// the weight sum. Column `r` of `scratch` is row `r`, so filling it writes contiguously.
fn block_moments<T: Element>(
    x: View<'_, T>,
    y: View<'_, T>,
    weights: Option<&[f64]>,
    start: usize,
    end: usize,
    scratch: &mut Mat<f64>,
) -> Moments {
    let (p, k) = (x.cols(), y.cols());
    let d = p + k;
    let len = end - start;
    let shift: Vec<f64> = x
        .row(start)
        .iter()
        .chain(y.row(start))
        .map(|v| v.to_f64())
        .collect();
    let (shift_x, shift_y) = shift.split_at(p);
    let mut log_w = 0.0;
    for r in 0..len {
        let i = start + r;
        let w = weights.map_or(1.0, |w| w[i]);
        if weights.is_some() {
            log_w += w.ln();
        }
        let s = w.sqrt();
        let (cx, rest) = scratch.col_as_slice_mut(r).split_at_mut(p);
        let (cy, one) = rest.split_at_mut(k);
        for ((c, &v), m) in cx.iter_mut().zip(x.row(i)).zip(shift_x) {
            *c = s * (v.to_f64() - m);
        }
        for ((c, &v), m) in cy.iter_mut().zip(y.row(i)).zip(shift_y) {
            *c = s * (v.to_f64() - m);
        }
        one[0] = s;
    }
    let b = scratch.subcols(0, len);
    let mut acc = Mat::<f64>::zeros(d + 1, d + 1);
    // The product is symmetric: its lower half is enough.
    matmul(
        acc.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        b,
        BlockStructure::Rectangular,
        b.transpose(),
        BlockStructure::Rectangular,
        1.0,
        Par::Seq,
    );
    finish_block(&acc, &shift, len, log_w, (p, k))
}

/// [`block_moments`] for rows `start..end` of columns: column `j` of `scratch` (`len × (d+1)`,
/// column-major) is column `j` of the block, so filling it is a contiguous conversion, and the
/// product is `BᵀB`.
fn block_moments_columns<T: Element>(
    columns: &[&[T]],
    weights: Option<&[f64]>,
    start: usize,
    end: usize,
    (p, k): (usize, usize),
    scratch: &mut Mat<f64>,
) -> Moments {
    let d = p + k;
    let len = end - start;
    let shift: Vec<f64> = columns.iter().map(|c| c[start].to_f64()).collect();
    let mut log_w = 0.0;
    let root: Option<Vec<f64>> = weights.map(|w| {
        w[start..end]
            .iter()
            .map(|&v| {
                log_w += v.ln();
                v.sqrt()
            })
            .collect()
    });
    for (j, (col, &m)) in columns.iter().zip(&shift).enumerate() {
        let out = &mut scratch.col_as_slice_mut(j)[..len];
        let src = &col[start..end];
        match &root {
            None => {
                for (o, &v) in out.iter_mut().zip(src) {
                    *o = v.to_f64() - m;
                }
            }
            Some(r) => {
                for ((o, &v), s) in out.iter_mut().zip(src).zip(r) {
                    *o = s * (v.to_f64() - m);
                }
            }
        }
    }
    let ones = &mut scratch.col_as_slice_mut(d)[..len];
    match &root {
        None => ones.fill(1.0),
        Some(r) => ones.copy_from_slice(r),
    }
    let b = scratch.subrows(0, len);
    let mut acc = Mat::<f64>::zeros(d + 1, d + 1);
    matmul(
        acc.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        b.transpose(),
        BlockStructure::Rectangular,
        b,
        BlockStructure::Rectangular,
        1.0,
        Par::Seq,
    );
    finish_block(&acc, &shift, len, log_w, (p, k))
}

/// The moments of a block from the lower half of `[B, √w]ᵀ[B, √w]`, `B` the block shifted by
/// `shift` and scaled by `√w`.
fn finish_block(
    acc: &Mat<f64>,
    shift: &[f64],
    len: usize,
    log_w: f64,
    (p, k): (usize, usize),
) -> Moments {
    let d = p + k;
    let at = |i: usize, j: usize| if i >= j { acc[(i, j)] } else { acc[(j, i)] };
    // Row `d` holds Σ √w·(√w·(z − shift)) = Σ w·(z − shift), and the corner Σ w.
    let w = at(d, d);
    let off: Vec<f64> = (0..d).map(|j| at(d, j) / w).collect();
    let mut comoment = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let v = at(i, j) - w * off[i] * off[j];
            comoment[i * d + j] = v;
            comoment[j * d + i] = v;
        }
    }
    Moments {
        features: p,
        targets: k,
        rows: len as u64,
        weight_sum: w,
        log_weight_sum: log_w,
        mean: shift.iter().zip(&off).map(|(s, o)| s + o).collect(),
        comoment,
    }
}

/// Runs `f` on each item on its own thread (the first on this one), in order.
pub(crate) fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    match items {
        [] => Vec::new(),
        [only] => vec![f(only)],
        [first, rest @ ..] => std::thread::scope(|scope| {
            let handles: Vec<_> = rest.iter().map(|item| scope.spawn(|| f(item))).collect();
            let mut out = vec![f(first)];
            out.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
            );
            out
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Two-pass textbook statistics in f64, as the reference.
    fn two_pass(z: &[Vec<f64>], w: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let d = z[0].len();
        let wsum: f64 = w.iter().sum();
        let mean: Vec<f64> = (0..d)
            .map(|j| z.iter().zip(w).map(|(r, w)| w * r[j]).sum::<f64>() / wsum)
            .collect();
        let mut c = vec![0.0; d * d];
        for (r, w) in z.iter().zip(w) {
            for i in 0..d {
                for j in 0..d {
                    c[i * d + j] += w * (r[i] - mean[i]) * (r[j] - mean[j]);
                }
            }
        }
        (mean, c)
    }

    #[test]
    fn any_split_and_merge_order_gives_the_two_pass_statistics() {
        let mut s = 11;
        let n = 3000;
        let (p, k) = (3, 2);
        // Offsets far from zero test the centring.
        let x: Vec<f64> = (0..n * p)
            .map(|i| 1e6 * (i % p) as f64 + lcg(&mut s))
            .collect();
        let y: Vec<f64> = (0..n * k).map(|_| 5.0 + lcg(&mut s)).collect();
        let w: Vec<f64> = (0..n).map(|_| 0.5 + lcg(&mut s)).collect();
        let z: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                x[i * p..(i + 1) * p]
                    .iter()
                    .chain(&y[i * k..(i + 1) * k])
                    .copied()
                    .collect()
            })
            .collect();
        let (mean, c) = two_pass(&z, &w);
        let whole = Moments::from_rows(
            View::new(n, p, &x).unwrap(),
            View::new(n, k, &y).unwrap(),
            Some(&w),
        )
        .unwrap();
        // Three uneven parts, merged in another order.
        let cut = [0, 7, 2001, n];
        let parts: Vec<Moments> = cut
            .windows(2)
            .map(|c| {
                let (a, b) = (c[0], c[1]);
                Moments::from_rows(
                    View::new(b - a, p, &x[a * p..b * p]).unwrap(),
                    View::new(b - a, k, &y[a * k..b * k]).unwrap(),
                    Some(&w[a..b]),
                )
                .unwrap()
            })
            .collect();
        let mut merged = parts[2].clone();
        merged.merge(&parts[0]).unwrap();
        merged.merge(&parts[1]).unwrap();
        for m in [&whole, &merged] {
            assert_eq!(m.rows(), n as u64);
            assert!((m.weight_sum() - w.iter().sum::<f64>()).abs() < 1e-9);
            let lw: f64 = w.iter().map(|v| v.ln()).sum();
            assert!((m.log_weight_sum() - lw).abs() < 1e-9);
            for (a, b) in m.mean().iter().zip(&mean) {
                assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} {b}");
            }
            let d = p + k;
            for i in 0..d {
                for j in 0..d {
                    let (a, b) = (m.comoment(i, j), c[i * d + j]);
                    let scale = (c[i * d + i] * c[j * d + j]).sqrt();
                    assert!((a - b).abs() <= 1e-10 * scale, "{i},{j}: {a} {b}");
                }
            }
        }
        let back = Moments::from_state(p, k, &merged.to_state()).unwrap();
        assert_eq!(back, merged);
    }

    #[test]
    fn columns_give_the_statistics_of_rows() {
        let mut s = 5;
        let n = 2500;
        let (p, k) = (3, 2);
        let x: Vec<f32> = (0..n * p)
            .map(|i| (100.0 * (i % p) as f64 + lcg(&mut s)) as f32)
            .collect();
        let y: Vec<f32> = (0..n * k).map(|_| (7.0 + lcg(&mut s)) as f32).collect();
        let w: Vec<f64> = (0..n).map(|_| 0.5 + lcg(&mut s)).collect();
        let column = |m: &[f32], cols: usize, j: usize| -> Vec<f32> {
            m.iter().skip(j).step_by(cols).copied().collect()
        };
        let cols: Vec<Vec<f32>> = (0..p)
            .map(|j| column(&x, p, j))
            .chain((0..k).map(|j| column(&y, k, j)))
            .collect();
        let slices: Vec<&[f32]> = cols.iter().map(|c| &c[..]).collect();
        for weights in [None, Some(&w[..])] {
            let rows = Moments::from_rows(
                View::new(n, p, &x).unwrap(),
                View::new(n, k, &y).unwrap(),
                weights,
            )
            .unwrap();
            // In two uneven pushes.
            let mut by_cols = Moments::new(p, k);
            let cut = 1500;
            let head: Vec<&[f32]> = slices.iter().map(|c| &c[..cut]).collect();
            let tail: Vec<&[f32]> = slices.iter().map(|c| &c[cut..]).collect();
            by_cols
                .push_columns(&head, weights.map(|w| &w[..cut]))
                .unwrap();
            by_cols
                .push_columns(&tail, weights.map(|w| &w[cut..]))
                .unwrap();
            assert_eq!(by_cols.rows(), rows.rows());
            assert!((by_cols.weight_sum() - rows.weight_sum()).abs() < 1e-9);
            assert!((by_cols.log_weight_sum() - rows.log_weight_sum()).abs() < 1e-9);
            for (a, b) in by_cols.mean().iter().zip(rows.mean()) {
                assert!((a - b).abs() <= 1e-13 * b.abs().max(1.0), "{a} {b}");
            }
            let d = p + k;
            for i in 0..d {
                for j in 0..d {
                    let (a, b) = (by_cols.comoment(i, j), rows.comoment(i, j));
                    let scale = (rows.comoment(i, i) * rows.comoment(j, j)).sqrt();
                    assert!((a - b).abs() <= 1e-12 * scale, "{i},{j}: {a} {b}");
                }
            }
        }
        // Wrong shapes and non-finite values add nothing.
        let mut m = Moments::new(p, k);
        assert!(matches!(
            m.push_columns(&slices[..4], None),
            Err(SolveError::Shape(_))
        ));
        let short: Vec<&[f32]> = slices
            .iter()
            .enumerate()
            .map(|(j, c)| if j == 2 { &c[..10] } else { &c[..] })
            .collect();
        assert!(matches!(
            m.push_columns(&short, None),
            Err(SolveError::Shape(_))
        ));
        let mut bad = cols.clone();
        bad[4][2000] = f32::INFINITY;
        let bad: Vec<&[f32]> = bad.iter().map(|c| &c[..]).collect();
        assert_eq!(m.push_columns(&bad, None), Err(SolveError::NonFinite));
        assert_eq!(m, Moments::new(p, k));
    }

    #[test]
    fn bad_blocks_and_states_are_errors() {
        let mut m = Moments::new(2, 1);
        let x = [1.0_f32, 2.0];
        assert!(matches!(
            m.push(
                View::new(2, 1, &x).unwrap(),
                View::new(2, 1, &x).unwrap(),
                None
            ),
            Err(SolveError::Shape(_))
        ));
        assert!(m.merge(&Moments::new(1, 1)).is_err());
        assert!(Moments::from_state(2, 1, &[0.0; 4]).is_err());
        let mut one = Moments::new(1, 1);
        assert!(matches!(
            one.push(
                View::new(2, 1, &x).unwrap(),
                View::new(2, 1, &x).unwrap(),
                Some(&[1.0, 0.0])
            ),
            Err(SolveError::InvalidParameter(_))
        ));
        assert!(matches!(
            one.push(
                View::new(2, 1, &[1.0, f32::NAN]).unwrap(),
                View::new(2, 1, &x).unwrap(),
                None
            ),
            Err(SolveError::NonFinite)
        ));
        // Nothing was added by the failed pushes.
        assert_eq!(one, Moments::new(1, 1));
    }
}
