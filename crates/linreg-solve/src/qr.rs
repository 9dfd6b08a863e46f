//! The accurate path: Householder QR of the (weighted) design matrix in double-double
//! arithmetic.
//!
//! Every operation carries about 32 significant digits, so the coefficients lose
//! `log10(condition number)` digits from 32, not from 16: Filip's degree-10 polynomial
//! (condition number 2·10¹⁵ as given, 5·10⁹ with unit-length columns) is solved to the last
//! digit of an f64. The residual sum of squares is the norm of the part of `Qᵀy` that `R`
//! does not reach, and the unscaled covariance is `R⁻¹R⁻ᵀ`, both in double-double too.

use faer::Mat;

use crate::dd::Dd;
use crate::moments::parallel;
use crate::{Conditioning, Element, Fit, FitStats, Method, Solution, View};

/// A design whose unit-length-column condition number exceeds this is singular to working
/// precision: its data, rounded to f64 (relative error 1.1·10⁻¹⁶), no longer determine the
/// coefficients.
pub(crate) const SINGULAR: f64 = 1e14;

/// Rows × columns × columns above which the column updates run on every core.
const PARALLEL_WORK: usize = 1 << 22;

/// What the QR solve needs to know besides the rows.
pub(crate) struct QrProblem<'a, T: Element> {
    pub x: View<'a, T>,
    pub y: View<'a, T>,
    pub weights: Option<&'a [f64]>,
    pub intercept: bool,
    pub l2: f64,
    /// When set, `x` is one column and the design is `[x, x², …, x^degree]`, each power
    /// kept in double-double (rounding the powers to f64 would cost Filip six digits).
    pub degree: Option<usize>,
}

/// Solves by double-double QR; `None` when the design is singular to working precision (the
/// caller falls back to the minimum-norm solution).
pub(crate) fn solve<T: Element>(pb: &QrProblem<'_, T>) -> Option<Solution> {
    let (n, k) = (pb.x.rows(), pb.y.cols());
    let p = pb.degree.unwrap_or(pb.x.cols());
    let o = usize::from(pb.intercept);
    let q = p + o;
    let sw: Vec<Dd> = match pb.weights {
        Some(w) => w.iter().map(|&v| Dd::from_f64(v).sqrt()).collect(),
        None => Vec::new(),
    };
    let root = |i: usize| sw.get(i).copied().unwrap_or(Dd::ONE);
    // Column-major: the q design columns, then the k targets.
    let mut cols: Vec<Vec<Dd>> = (0..q + k)
        .map(|c| {
            (0..n)
                .map(|i| {
                    let v = if c < o {
                        Dd::ONE
                    } else if c >= q {
                        Dd::from_f64(pb.y.row(i)[c - q].to_f64())
                    } else if pb.degree.is_some() {
                        let x = Dd::from_f64(pb.x.row(i)[0].to_f64());
                        (o..c).fold(x, |acc, _| acc * x)
                    } else {
                        Dd::from_f64(pb.x.row(i)[c - o].to_f64())
                    };
                    if pb.weights.is_some() {
                        root(i) * v
                    } else {
                        v
                    }
                })
                .collect()
        })
        .collect();
    let tss = total_sums(pb, &cols[q..]);
    let col_norms: Vec<f64> = cols[..q]
        .iter()
        .map(|c| c.iter().fold(Dd::ZERO, |s, &v| s + v * v).sqrt().to_f64())
        .collect();
    let r = householder(&mut cols, q);
    let r64 = Mat::<f64>::from_fn(q, q, |i, j| if i <= j { r[i][j].to_f64() } else { 0.0 });
    let conditioning = condition_from_r(&r64, &col_norms, pb.intercept);
    if conditioning.scaled > SINGULAR || (0..q).any(|i| r[i][i].hi == 0.0) {
        return None;
    }
    // Qᵀy: rows ..q meet R, rows q.. are what no coefficient reaches.
    let z: Vec<Vec<Dd>> = cols[q..].iter().map(|c| c[..q].to_vec()).collect();
    // A residual sum below (10⁻³⁰)² of the target's own sum of squares is an exact fit to
    // working precision (Wampler1): call it 0, as exact arithmetic would.
    let rss: Vec<f64> = cols[q..]
        .iter()
        .map(|c| {
            let rss = c[q..].iter().fold(Dd::ZERO, |s, &v| s + v * v).to_f64();
            let all = c.iter().fold(Dd::ZERO, |s, &v| s + v * v).to_f64();
            if rss <= 1e-60 * all {
                0.0
            } else {
                rss
            }
        })
        .collect();
    let beta: Vec<Vec<Dd>> = if pb.l2 > 0.0 {
        ridge(&r, &z, pb.l2 * sw_total(pb), o)
    } else {
        z.iter().map(|zt| back_substitute(&r, zt)).collect()
    };
    let weight: Vec<Vec<f64>> = beta
        .iter()
        .map(|b| b[o..].iter().map(|v| v.to_f64()).collect())
        .collect();
    let bias: Vec<f64> = beta
        .iter()
        .map(|b| if o == 1 { b[0].to_f64() } else { 0.0 })
        .collect();
    let stats = (pb.l2 == 0.0).then(|| {
        let rinv = upper_inverse(&r);
        let mut cov = vec![0.0; q * q];
        for a in 0..q {
            for b in a..q {
                // (R⁻¹R⁻ᵀ)_ab = Σ_c R⁻¹_ac R⁻¹_bc, c ≥ max(a, b) = b.
                let s = (b..q).fold(Dd::ZERO, |s, c| s + rinv[a][c] * rinv[b][c]);
                cov[a * q + b] = s.to_f64();
                cov[b * q + a] = s.to_f64();
            }
        }
        FitStats {
            rows: n as u64,
            weight_sum: sw_total(pb),
            log_weight_sum: pb.weights.map_or(0.0, |w| w.iter().map(|v| v.ln()).sum()),
            intercept: pb.intercept,
            cov_unscaled: cov,
            rss,
            tss,
        }
    });
    Some(Solution {
        fit: Fit {
            weight,
            bias,
            iterations: 1,
            rank_deficiency: None,
        },
        method: Method::Qr,
        stats,
        conditioning,
    })
}

fn sw_total<T: Element>(pb: &QrProblem<'_, T>) -> f64 {
    pb.weights.map_or(pb.x.rows() as f64, |w| {
        w.iter()
            .fold(Dd::ZERO, |s, &v| s + Dd::from_f64(v))
            .to_f64()
    })
}

/// Σ w·(y − ȳ)² with an intercept (ȳ the weighted mean), Σ w·y² without, in double-double,
/// from the √w-scaled target columns.
fn total_sums<T: Element>(pb: &QrProblem<'_, T>, ys: &[Vec<Dd>]) -> Vec<f64> {
    let n = pb.x.rows();
    let w = |i: usize| Dd::from_f64(pb.weights.map_or(1.0, |w| w[i]));
    ys.iter()
        .enumerate()
        .map(|(t, col)| {
            if !pb.intercept {
                return col.iter().fold(Dd::ZERO, |s, &v| s + v * v).to_f64();
            }
            let (mut sy, mut sw) = (Dd::ZERO, Dd::ZERO);
            for i in 0..n {
                sy = sy + w(i) * Dd::from_f64(pb.y.row(i)[t].to_f64());
                sw = sw + w(i);
            }
            let mean = sy / sw;
            (0..n)
                .fold(Dd::ZERO, |s, i| {
                    let d = Dd::from_f64(pb.y.row(i)[t].to_f64()) - mean;
                    s + w(i) * d * d
                })
                .to_f64()
        })
        .collect()
}

/// Householder QR of the first `q` columns of `cols`, applied to all of them. Returns `R`
/// (`r[i][j]` for `j ≥ i`); the columns after `q` end up holding `Qᵀ` times themselves.
fn householder(cols: &mut [Vec<Dd>], q: usize) -> Vec<Vec<Dd>> {
    let m = cols.first().map_or(0, Vec::len);
    let mut r = vec![vec![Dd::ZERO; q]; q];
    for c in 0..q.min(m) {
        let (head, tail) = cols.split_at_mut(c + 1);
        let v = &mut head[c];
        let norm = v[c..].iter().fold(Dd::ZERO, |s, &a| s + a * a).sqrt();
        if norm.hi == 0.0 {
            continue; // r[c][c] stays 0: singular, reported by the caller
        }
        let alpha = if v[c].hi >= 0.0 { -norm } else { norm };
        // v = a − α·e₁; vᵀv = 2‖a‖(‖a‖ + |a₁|).
        let vtv = Dd::from_f64(2.0) * norm * (norm + v[c].abs());
        v[c] = v[c] - alpha;
        let v = &v[c..];
        let reflect = |col: &mut Vec<Dd>| {
            let dot = v
                .iter()
                .zip(&col[c..])
                .fold(Dd::ZERO, |s, (&a, &b)| s + a * b);
            let f = Dd::from_f64(2.0) * dot / vtv;
            for (x, &vi) in col[c..].iter_mut().zip(v) {
                *x = *x - f * vi;
            }
        };
        if (m - c) * tail.len() >= PARALLEL_WORK {
            let threads = std::thread::available_parallelism().map_or(1, |t| t.get().min(8));
            let per = tail.len().div_ceil(threads);
            let chunks: Vec<std::sync::Mutex<&mut [Vec<Dd>]>> =
                tail.chunks_mut(per).map(std::sync::Mutex::new).collect();
            parallel(&chunks, |chunk| {
                let mut guard = chunk.lock().unwrap_or_else(|e| e.into_inner());
                for col in guard.iter_mut() {
                    reflect(col);
                }
            });
        } else {
            for col in tail.iter_mut() {
                reflect(col);
            }
        }
        r[c][c] = alpha;
        for (j, col) in tail[..q - c - 1].iter().enumerate() {
            r[c][c + 1 + j] = col[c];
        }
    }
    r
}

/// Solves `R β = z` for upper-triangular `R`.
fn back_substitute(r: &[Vec<Dd>], z: &[Dd]) -> Vec<Dd> {
    let q = r.len();
    let mut b = vec![Dd::ZERO; q];
    for i in (0..q).rev() {
        let s = ((i + 1)..q).fold(z[i], |s, j| s - r[i][j] * b[j]);
        b[i] = s / r[i][i];
    }
    b
}

/// `R⁻¹`, upper triangular, column by column.
fn upper_inverse(r: &[Vec<Dd>]) -> Vec<Vec<Dd>> {
    let q = r.len();
    let mut inv = vec![vec![Dd::ZERO; q]; q];
    for j in 0..q {
        inv[j][j] = Dd::ONE / r[j][j];
        for i in (0..j).rev() {
            let s = ((i + 1)..=j).fold(Dd::ZERO, |s, l| s + r[i][l] * inv[l][j]);
            inv[i][j] = -s / r[i][i];
        }
    }
    inv
}

/// Ridge from the data's `R` and `Qᵀy`: least squares on `[R; √(W·l2)·I]` (zero rows for the
/// intercept, which is not penalized), itself by double-double QR: `q` extra rows, cheap.
fn ridge(r: &[Vec<Dd>], z: &[Vec<Dd>], w_l2: f64, o: usize) -> Vec<Vec<Dd>> {
    let q = r.len();
    let k = z.len();
    let lam = Dd::from_f64(w_l2).sqrt();
    let mut cols: Vec<Vec<Dd>> = (0..q + k)
        .map(|c| {
            (0..2 * q)
                .map(|i| match (i < q, c < q) {
                    (true, true) => {
                        if i <= c {
                            r[i][c]
                        } else {
                            Dd::ZERO
                        }
                    }
                    (true, false) => z[c - q][i],
                    (false, true) => {
                        if i - q == c && c >= o {
                            lam
                        } else {
                            Dd::ZERO
                        }
                    }
                    (false, false) => Dd::ZERO,
                })
                .collect()
        })
        .collect();
    let r2 = householder(&mut cols, q);
    cols[q..]
        .iter()
        .map(|c| back_substitute(&r2, &c[..q]))
        .collect()
}

/// Condition numbers from the triangular factor: the singular values of `R` are those of the
/// design; scaling `R`'s columns to the design's column norms gives Belsley's number.
pub(crate) fn condition_from_r(r: &Mat<f64>, col_norms: &[f64], intercept: bool) -> Conditioning {
    let q = r.nrows();
    if q == 0 {
        return Conditioning::default();
    }
    let kappa = |m: &Mat<f64>| -> (f64, Vec<f64>) {
        match m.svd() {
            Ok(svd) => {
                let s: Vec<f64> = (0..q).map(|i| svd.S()[i]).collect();
                let (max, min) = (s[0], s[q - 1]);
                let k = if min > 0.0 { max / min } else { f64::INFINITY };
                (k, (0..q).map(|a| svd.V()[(a, q - 1)]).collect())
            }
            Err(_) => (f64::INFINITY, vec![0.0; q]),
        }
    };
    let (raw, _) = kappa(r);
    let scaled_r = Mat::<f64>::from_fn(q, q, |i, j| {
        if col_norms[j] > 0.0 {
            r[(i, j)] / col_norms[j]
        } else {
            0.0
        }
    });
    let (scaled, v) = kappa(&scaled_r);
    Conditioning::new(raw, scaled, &v, intercept)
}
