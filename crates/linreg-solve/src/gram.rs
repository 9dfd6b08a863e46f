//! Centred moment matrices `XᵀX`, `Xᵀy` in f64, from row-major f32 rows, in blocks, on every
//! core.

use faer::linalg::matmul::matmul;
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

/// One thread's weighted sums for the means.
struct Sums {
    total: f64,
    x: Vec<f64>,
    y: Vec<f64>,
}

/// Rows per block: big enough for the matrix product to run at full speed, small enough to
/// stay in cache (1024 × 17 f64 ≈ 136 KiB).
const BLOCK: usize = 1024;

/// Below this many rows one thread does it all: threads cost more than they save.
const PARALLEL_ROWS: usize = 65_536;

impl Moments {
    /// Two passes: the means, then the centred products block by block (each block of
    /// centred rows, converted to f64, multiplied by its own transpose with faer's matrix
    /// product). Rows are shared among the available cores; each sums its own blocks.
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

        let sums: Vec<Sums> = parallel(&ranges, |&(a, b)| {
            let mut sx = vec![0.0_f64; p];
            let mut sy = vec![0.0_f64; k];
            let mut total = 0.0;
            for i in a..b {
                let w = weights.get(i);
                total += w;
                for (m, &v) in sx.iter_mut().zip(x.row(i)) {
                    *m += w * f64::from(v);
                }
                for (m, &v) in sy.iter_mut().zip(y.row(i)) {
                    *m += w * f64::from(v);
                }
            }
            Sums {
                total,
                x: sx,
                y: sy,
            }
        });
        let total_weight: f64 = sums.iter().map(|s| s.total).sum();
        let mean = |pick: fn(&Sums) -> &[f64], len: usize| -> Vec<f64> {
            (0..len)
                .map(|j| sums.iter().map(|s| pick(s)[j]).sum::<f64>() / total_weight)
                .collect()
        };
        let mean_x = mean(|s| &s.x, p);
        let mean_y = mean(|s| &s.y, k);

        // One block holds the centred features and targets side by side, transposed
        // (column r is row r): filling it writes contiguously.
        let partials: Vec<Mat<f64>> = parallel(&ranges, |&(a, b)| {
            let mut acc = Mat::<f64>::zeros(p + k, p + k);
            let mut block = Mat::<f64>::zeros(p + k, BLOCK);
            for start in (a..b).step_by(BLOCK) {
                let len = BLOCK.min(b - start);
                for r in 0..len {
                    let i = start + r;
                    let s = weights.get(i).sqrt();
                    let col = block.col_as_slice_mut(r);
                    for (j, &v) in x.row(i).iter().enumerate() {
                        col[j] = s * (f64::from(v) - mean_x[j]);
                    }
                    for (t, &v) in y.row(i).iter().enumerate() {
                        col[p + t] = s * (f64::from(v) - mean_y[t]);
                    }
                }
                let b = block.subcols(0, len);
                matmul(acc.as_mut(), Accum::Add, b, b.transpose(), 1.0, Par::Seq);
            }
            acc
        });
        let mut all = Mat::<f64>::zeros(p + k, p + k);
        for part in &partials {
            all += part;
        }
        Self {
            p,
            k,
            total_weight,
            mean_x,
            mean_y,
            xx: all.submatrix(0, 0, p, p).to_owned(),
            xy: all.submatrix(0, p, p, k).to_owned(),
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
