//! Centred moment matrices `XᵀX`, `Xᵀy` in f64, from row-major f32 rows: one pass, in blocks,
//! on every core.

use faer::linalg::matmul::triangular::{matmul, BlockStructure};
use faer::{Accum, Mat, Par};

use crate::View;

/// Row weights for the moments: all equal, or one per row (iteratively reweighted solves).
pub(crate) enum Weights<'a> {
    Uniform,
    PerRow(&'a [f64]),
}

impl Weights<'_> {
    fn get(&self, i: usize) -> f64 {
        match self {
            Self::Uniform => 1.0,
            Self::PerRow(w) => w[i],
        }
    }
}

/// Weighted means and centred cross products of features and targets.
pub(crate) struct Moments {
    pub p: usize,
    pub k: usize,
    pub total_weight: f64,
    pub mean_x: Vec<f64>,
    pub mean_y: Vec<f64>,
    /// `Σ wᵢ (xᵢ − x̄)(xᵢ − x̄)ᵀ`, `p × p`.
    pub xx: Mat<f64>,
    /// `Σ wᵢ (xᵢ − x̄)(yᵢ − ȳ)ᵀ`, `p × k`.
    pub xy: Mat<f64>,
}

/// Rows per block: big enough for the matrix product to run at full speed, small enough to
/// stay in cache (1024 × 17 f64 ≈ 136 KiB).
const BLOCK: usize = 1024;

/// Below this many rows one thread does it all: threads cost more than they save.
const PARALLEL_ROWS: usize = 65_536;

impl Moments {
    /// One pass over the rows. Each block of rows, shifted by the first row (so that the sums
    /// stay small and centring them later loses almost nothing), converted to f64 and extended
    /// by a column of ones, is multiplied by its own transpose with faer's matrix product: the
    /// result holds the shifted cross products, the shifted sums and the total weight at once.
    /// The rows are shared among the available cores; each sums its own blocks.
    pub fn compute(x: View<'_>, y: View<'_>, weights: &Weights<'_>) -> Self {
        let (n, p, k) = (x.rows(), x.cols(), y.cols());
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
        let shift_x: Vec<f64> = x.row(0).iter().map(|&v| f64::from(v)).collect();
        let shift_y: Vec<f64> = y.row(0).iter().map(|&v| f64::from(v)).collect();
        let width = p + k + 1;

        // Column r of a block is row r, transposed: filling it writes contiguously.
        let partials: Vec<Mat<f64>> = parallel(&ranges, |&(a, b)| {
            let mut acc = Mat::<f64>::zeros(width, width);
            let mut block = Mat::<f64>::zeros(width, BLOCK);
            for start in (a..b).step_by(BLOCK) {
                let len = BLOCK.min(b - start);
                for r in 0..len {
                    let i = start + r;
                    let s = weights.get(i).sqrt();
                    let (cx, rest) = block.col_as_slice_mut(r).split_at_mut(p);
                    let (cy, one) = rest.split_at_mut(k);
                    for ((c, &v), m) in cx.iter_mut().zip(x.row(i)).zip(&shift_x) {
                        *c = s * (f64::from(v) - m);
                    }
                    for ((c, &v), m) in cy.iter_mut().zip(y.row(i)).zip(&shift_y) {
                        *c = s * (f64::from(v) - m);
                    }
                    one[0] = s;
                }
                let b = block.subcols(0, len);
                // The product is symmetric: compute its lower half only.
                matmul(
                    acc.as_mut(),
                    BlockStructure::TriangularLower,
                    Accum::Add,
                    b,
                    BlockStructure::Rectangular,
                    b.transpose(),
                    BlockStructure::Rectangular,
                    1.0,
                    Par::Seq,
                );
            }
            acc
        });
        let mut all = Mat::<f64>::zeros(width, width);
        for part in &partials {
            all += part;
        }
        let at = |i: usize, j: usize| if i >= j { all[(i, j)] } else { all[(j, i)] };
        // Row `p + k` holds Σ √w·(√w·(v − shift)) = Σ w·(v − shift), and the corner Σ w.
        let total_weight = at(p + k, p + k);
        let d: Vec<f64> = (0..p + k).map(|j| at(p + k, j) / total_weight).collect();
        let centred = |i: usize, j: usize| at(i, j) - total_weight * d[i] * d[j];
        Self {
            p,
            k,
            total_weight,
            mean_x: (0..p).map(|j| shift_x[j] + d[j]).collect(),
            mean_y: (0..k).map(|t| shift_y[t] + d[p + t]).collect(),
            xx: Mat::from_fn(p, p, &centred),
            xy: Mat::from_fn(p, k, |i, t| centred(i, p + t)),
        }
    }
}

/// Runs `f` on each item on its own thread (the first on this one), in order.
fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
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
