//! The row ("naive") solver for wide tables: coordinate descent on standardized, centred
//! columns and a residual per target, with sequential strong rules and a KKT check, so that a
//! `p × p` matrix is never formed.

use linreg_solve::View;
use rayon::prelude::*;

use crate::descent::{axpy, descend, done, dot, duality_gap, Active, Budget, Coordinates, Penalty};
use crate::factor::{Factor, Polished};
use crate::frame::{
    alpha_list, alpha_max_of, fit_targets, not_converged, relative, walk, Frame, Solved,
};
use crate::{assemble, check_options, Path, PathError, PathOptions};

/// Columns per parallel task of the full gradient.
const GRADIENT_CHUNK: usize = 512;

/// Below this many cells (rows × features) the full gradient runs on one thread.
const PARALLEL_CELLS: usize = 1 << 20;

/// The table in the frame's units: column `j` is `√w·(x_j − x̄_j)/s_j` (`√w·x_j/s_j` without
/// intercept), stored contiguously; each target `√w·(y − ȳ)`.
struct Columns {
    frame: Frame,
    rows: usize,
    x: Vec<f64>,
    diag: Vec<f64>,
    y: Vec<Vec<f64>>,
    inv_w: f64,
}

impl Columns {
    fn col(&self, j: usize) -> &[f64] {
        &self.x[j * self.rows..(j + 1) * self.rows]
    }

    /// `g_j = x̃_jᵀr/W` for every feature.
    fn gradient(&self, r: &[f64], g: &mut [f64]) {
        let one = |(c, out): (usize, &mut [f64])| {
            for (i, o) in out.iter_mut().enumerate() {
                *o = dot(self.col(c * GRADIENT_CHUNK + i), r) * self.inv_w;
            }
        };
        if self.x.len() >= PARALLEL_CELLS {
            g.par_chunks_mut(GRADIENT_CHUNK).enumerate().for_each(one);
        } else {
            g.chunks_mut(GRADIENT_CHUNK).enumerate().for_each(one);
        }
    }
}

/// Weighted means and mean squares about the means of the columns of `v`, two passes.
fn column_moments(v: View<'_, f64>, w: Option<&[f64]>, total: f64) -> Vec<(f64, f64)> {
    let mut mean = vec![0.0; v.cols()];
    for i in 0..v.rows() {
        axpy(&mut mean, w.map_or(1.0, |w| w[i]), v.row(i));
    }
    mean.iter_mut().for_each(|m| *m /= total);
    let mut var = vec![0.0; v.cols()];
    for i in 0..v.rows() {
        let wi = w.map_or(1.0, |w| w[i]);
        for ((s, x), m) in var.iter_mut().zip(v.row(i)).zip(&mean) {
            *s += wi * (x - m) * (x - m);
        }
    }
    mean.into_iter()
        .zip(var)
        .map(|(m, s)| (m, s / total))
        .collect()
}

fn check_rows(
    x: View<'_, f64>,
    y: View<'_, f64>,
    weights: Option<&[f64]>,
) -> Result<(), PathError> {
    crate::check_sizes(x.cols(), y.cols())?;
    if x.rows() != y.rows() {
        return Err(PathError::Shape(format!(
            "the features have {} rows and the targets {}; give one target row per feature row",
            x.rows(),
            y.rows()
        )));
    }
    if x.rows() == 0 {
        return Err(PathError::NoRows);
    }
    if let Some(w) = weights {
        if w.len() != x.rows() {
            return Err(PathError::Shape(format!(
                "{} weights for {} rows; give one weight per row",
                w.len(),
                x.rows()
            )));
        }
        if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(PathError::InvalidOption(format!(
                "weight {} (row {}) is invalid: weights must be positive finite numbers; drop \
                 rows whose weight is 0",
                w[i],
                i + 1
            )));
        }
    }
    let finite = |v: View<'_, f64>| (0..v.rows()).all(|i| v.row(i).iter().all(|x| x.is_finite()));
    if !(finite(x) && finite(y)) {
        return Err(PathError::NonFinite);
    }
    Ok(())
}

fn build(
    x: View<'_, f64>,
    y: View<'_, f64>,
    weights: Option<&[f64]>,
    options: &PathOptions,
) -> Result<Columns, PathError> {
    check_rows(x, y, weights)?;
    let n = x.rows();
    let total = weights.map_or(n as f64, |w| w.iter().sum());
    let xm = column_moments(x, weights, total);
    let ym = column_moments(y, weights, total);
    let root: Vec<f64> = (0..n)
        .map(|i| weights.map_or(1.0, |w| w[i].sqrt()))
        .collect();
    let centre = |m: f64| if options.intercept { m } else { 0.0 };
    let ys: Vec<Vec<f64>> = ym
        .iter()
        .enumerate()
        .map(|(t, &(m, _))| {
            (0..n)
                .map(|i| root[i] * (y.row(i)[t] - centre(m)))
                .collect()
        })
        .collect();
    let inv_w = 1.0 / total;
    let yy = ys.iter().map(|v| dot(v, v) * inv_w).collect();
    let var: Vec<f64> = xm.iter().map(|m| m.1).collect();
    let y_mean = ym.iter().map(|m| m.0).collect();
    let x_mean = xm.iter().map(|m| m.0).collect();
    let frame = Frame::new((x_mean, &var), (y_mean, yy), n as u64, options);
    let p = frame.index.len();
    let mut cols = vec![0.0; n * p];
    // Eight rows at a time, so that each column's cache line is written whole.
    for start in (0..n).step_by(8) {
        let end = (start + 8).min(n);
        for (k, (&j, &s)) in frame.index.iter().zip(&frame.scale).enumerate() {
            let (m, out) = (centre(xm[j].0), &mut cols[k * n + start..k * n + end]);
            for (i, o) in (start..end).zip(out) {
                *o = root[i] * (x.row(i)[j] - m) / s;
            }
        }
    }
    let diag = (0..p)
        .map(|k| dot(&cols[k * n..(k + 1) * n], &cols[k * n..(k + 1) * n]) * inv_w)
        .collect();
    Ok(Columns {
        frame,
        rows: n,
        x: cols,
        diag,
        y: ys,
        inv_w,
    })
}

/// The regularization path of the rows `x` (features) and `y` (targets), with optional
/// positive row weights: the same points as [`path`](crate::path) on their moments, for
/// tables with far more features than rows (say 200 × 10,000), where the `p × p` matrix of
/// [`path`](crate::path) would not fit or would cost more than the rows.
///
/// Coordinate descent updates one residual per target (`O(rows)` per update), sweeps only
/// the features that the sequential strong rule of Tibshirani et al. (2012) keeps
/// (`|c_j(α_prev)| ≥ R·(2α − α_prev)`) and then checks the KKT conditions of the others; the
/// duality gap is computed from the rows. On tall tables (more rows than features) prefer
/// [`path`](crate::path) on their moments: each update here costs `O(rows)`.
///
/// ```
/// use linreg_path::{path, path_rows, PathOptions};
/// use linreg_solve::{Moments, View};
///
/// let x = [0.0, 1.0, 1.0, 0.5, 2.0, 0.0, 3.0, 2.5, 4.0, 1.0];
/// let y = [1.0, 3.2, 4.9, 7.1, 9.0];
/// let (xv, yv) = (View::new(5, 2, &x)?, View::new(5, 1, &y)?);
/// let rows = path_rows(xv, yv, None, &PathOptions::default())?;
/// let gram = path(&Moments::from_rows(xv, yv, None)?, &PathOptions::default())?;
/// let (a, b) = (&rows.points[60].weight[0], &gram.points[60].weight[0]);
/// assert!((a[0] - b[0]).abs() < 1e-6 && (a[1] - b[1]).abs() < 1e-6);
/// # Ok::<(), linreg_path::PathError>(())
/// ```
pub fn path_rows(
    x: View<'_, f64>,
    y: View<'_, f64>,
    weights: Option<&[f64]>,
    options: &PathOptions,
) -> Result<Path, PathError> {
    check_options(options)?;
    let cols = build(x, y, weights, options)?;
    let p = cols.frame.index.len();
    let mut g0 = vec![vec![0.0; p]; cols.y.len()];
    for (g, y) in g0.iter_mut().zip(&cols.y) {
        cols.gradient(y, g);
    }
    let amax = alpha_max_of(g0.iter().map(|g| &g[..]), options.l1_ratio);
    let alphas = alpha_list(&options.alphas, amax)?;
    let stop = matches!(options.alphas, crate::Alphas::Grid { .. });
    let (alphas, solved) = fit_targets(g0.len(), alphas, stop, |t, alphas, stop| {
        target_path(&cols, t, g0[t].clone(), (alphas, amax), stop, options)
    })?;
    Ok(assemble(
        &cols.frame,
        alphas,
        &solved,
        options.l1_ratio,
        amax,
    ))
}

/// One target's coefficients and residual.
struct State<'a> {
    cols: &'a Columns,
    beta: Vec<f64>,
    r: Vec<f64>,
}

impl Coordinates for State<'_> {
    fn update(&mut self, j: usize, pen: &Penalty) -> f64 {
        let col = self.cols.col(j);
        let d = self.cols.diag[j];
        let old = self.beta[j];
        let z = dot(col, &self.r) * self.cols.inv_w + d * old;
        let new = crate::descent::soft(z, pen.l1) / (d + pen.l2);
        if new == old {
            return 0.0;
        }
        self.beta[j] = new;
        axpy(&mut self.r, old - new, col);
        d * (new - old) * (new - old)
    }

    fn is_zero(&self, j: usize) -> bool {
        self.beta[j] == 0.0
    }
}

impl State<'_> {
    /// Recomputes `r = y − Xβ` from scratch: the running updates drift by rounding.
    fn refresh(&mut self, y: &[f64]) {
        self.r.copy_from_slice(y);
        for (j, &b) in self.beta.iter().enumerate() {
            if b != 0.0 {
                axpy(&mut self.r, -b, self.cols.col(j));
            }
        }
    }

    /// `(gap, rᵀr/W)`, `g` the gradient at the current `β`.
    fn gap(&self, y: &[f64], g: &[f64], pen: &Penalty) -> (f64, f64) {
        self.gap_of(y, (&self.beta, g, &self.cols.diag), pen)
    }

    /// [`State::gap`] over some coordinates: their `β`, gradient and `G_jj`.
    fn gap_of(
        &self,
        y: &[f64],
        (beta, g, diag): (&[f64], &[f64], &[f64]),
        pen: &Penalty,
    ) -> (f64, f64) {
        let inv_w = self.cols.inv_w;
        let (yr, rss) = (dot(y, &self.r) * inv_w, dot(&self.r, &self.r) * inv_w);
        (duality_gap(beta, g, diag, (yr, rss), pen), rss)
    }
}

/// The features that coordinate descent sweeps at one α, in increasing order.
struct Strong {
    list: Vec<usize>,
    member: Vec<bool>,
}

impl Strong {
    /// Adds every `j` with `|g_j| > cut` (`≥` when `inclusive`); whether any was added.
    fn add(&mut self, g: &[f64], cut: f64, inclusive: bool) -> bool {
        let before = self.list.len();
        for (j, v) in g.iter().enumerate() {
            let keep = if inclusive {
                v.abs() >= cut
            } else {
                v.abs() > cut
            };
            if keep && !self.member[j] {
                self.member[j] = true;
                self.list.push(j);
            }
        }
        if self.list.len() > before {
            self.list.sort_unstable();
            return true;
        }
        false
    }
}

/// Inner products `x̃_iᵀx̃_j/W` among the features that have been polished, computed once
/// per pair along the path.
struct Cache {
    slot: Vec<usize>,
    lower: Vec<Vec<f64>>,
}

impl Cache {
    fn new(p: usize) -> Self {
        Self {
            slot: vec![usize::MAX; p],
            lower: Vec::new(),
        }
    }

    fn add(&mut self, cols: &Columns, j: usize, order: &mut Vec<usize>) {
        if self.slot[j] != usize::MAX {
            return;
        }
        let col = cols.col(j);
        let row = order
            .iter()
            .map(|&k| dot(col, cols.col(k)) * cols.inv_w)
            .chain([cols.diag[j]])
            .collect();
        self.slot[j] = self.lower.len();
        self.lower.push(row);
        order.push(j);
    }

    fn has(&self, j: usize) -> bool {
        self.slot[j] != usize::MAX
    }

    fn get(&self, i: usize, j: usize) -> f64 {
        let (a, b) = (self.slot[i], self.slot[j]);
        if a >= b {
            self.lower[a][b]
        } else {
            self.lower[b][a]
        }
    }
}

/// One target's solve along the path: the coefficients and residual, the gradients at `β = 0`
/// (`c`) and at the current `β` (`g`), and the sets that limit the sweeps.
struct Target<'a> {
    st: State<'a>,
    y: &'a [f64],
    yy: f64,
    c: Vec<f64>,
    g: Vec<f64>,
    active: Active,
    strong: Strong,
    cache: Cache,
    cached: Vec<usize>,
    factor: Factor,
}

impl Target<'_> {
    /// Recomputes the residual and the full gradient, and adds the features that violate the
    /// KKT conditions to the strong set; whether there were any.
    fn settle(&mut self, pen: &Penalty) -> bool {
        self.st.refresh(self.y);
        self.st.cols.gradient(&self.st.r, &mut self.g);
        self.strong.add(&self.g, pen.l1, false)
    }

    /// The duality gap of the problem restricted to the strong set, from a fresh residual:
    /// a pass over the strong set only, to decide whether to polish before the full pass.
    fn strong_gap(&mut self, pen: &Penalty) -> f64 {
        self.st.refresh(self.y);
        let cols = self.st.cols;
        let list = &self.strong.list;
        let g: Vec<f64> = list
            .iter()
            .map(|&j| dot(cols.col(j), &self.st.r) * cols.inv_w)
            .collect();
        let beta: Vec<f64> = list.iter().map(|&j| self.st.beta[j]).collect();
        let diag: Vec<f64> = list.iter().map(|&j| cols.diag[j]).collect();
        self.st.gap_of(self.y, (&beta, &g, &diag), pen).0
    }

    /// [`Factor::polish`] on the current support, if it costs less than `allowance`
    /// multiply-adds (the inner products it needs included).
    fn polish(&mut self, pen: &Penalty, allowance: f64) -> Polished {
        let (cols, beta) = (self.st.cols, &self.st.beta);
        let support: Vec<usize> = self
            .strong
            .list
            .iter()
            .copied()
            .filter(|&j| beta[j] != 0.0)
            .collect();
        let fresh = support.iter().filter(|&&j| !self.cache.has(j)).count() as f64;
        let products = fresh * (self.cached.len() as f64 + fresh) * cols.rows as f64;
        let cost = products + self.factor.cost(beta, &self.strong.list, pen.l2);
        if !Factor::fits(support.len(), cols.frame.rank, pen) || cost > allowance {
            return Polished::Failed;
        }
        for &j in &support {
            self.cache.add(cols, j, &mut self.cached);
        }
        let cache = &self.cache;
        let entry = |a: usize, b: usize| cache.get(a, b);
        let (beta, c) = (&mut self.st.beta, &self.c[..]);
        let limits = (pen, cols.frame.rank, f64::INFINITY);
        self.factor
            .polish((beta, c), &self.strong.list, limits, &entry)
    }

    /// One α, warm-started from the previous: sweeps, then (if the strong set's gap says the
    /// sweeps are slow) a polish, then one pass over every feature for the KKT conditions and
    /// the gap.
    fn solve(&mut self, pen: &Penalty, options: &PathOptions) -> Result<Solved, PathError> {
        let (tol, yy) = (options.tol, self.yy);
        let mut budget = Budget::new(options.max_sweeps, 2.0 * self.st.cols.rows as f64);
        let mut thr = tol * yy;
        loop {
            let step = descend(
                &mut self.st,
                &self.strong.list,
                &mut self.active,
                pen,
                thr,
                &mut budget,
            );
            let mut moved = !matches!(step, Ok(false));
            let mut polished = false;
            if step.is_ok() && !done(self.strong_gap(pen), thr, moved, false, tol, yy) {
                // Not polishing costs at least one more pass over every feature.
                let allowance = budget.work + self.st.cols.x.len() as f64;
                let how = self.polish(pen, allowance);
                (polished, moved) = (how == Polished::Full, moved || how == Polished::Moved);
            }
            let kkt = self.settle(pen);
            budget.work += self.st.cols.x.len() as f64;
            if kkt && step.is_ok() {
                continue;
            }
            let (gap, rss) = self.st.gap(self.y, &self.g, pen);
            if done(gap, thr, moved, polished, tol, yy) {
                let beta = self.st.beta.clone();
                let gap = relative(gap, yy);
                return Ok(Solved {
                    beta,
                    rss,
                    sweeps: budget.used,
                    gap,
                });
            }
            if step.is_err() || (!moved && !polished) {
                return Err(not_converged(pen.alpha, budget.used, gap, yy));
            }
            thr *= 1e-2;
        }
    }
}

/// Target `t` along `alphas` (`amax` serves as the α before the first); `c` is the gradient
/// at `β = 0`.
fn target_path(
    cols: &Columns,
    t: usize,
    c: Vec<f64>,
    (alphas, amax): (&[f64], f64),
    stop: bool,
    options: &PathOptions,
) -> Result<Vec<Solved>, PathError> {
    let (y, yy) = (&cols.y[t][..], cols.frame.yy[t]);
    let p = c.len();
    let mut tg = Target {
        st: State {
            cols,
            beta: vec![0.0; p],
            r: y.to_vec(),
        },
        y,
        yy,
        g: c.clone(),
        c,
        active: Active::new(p),
        strong: Strong {
            list: Vec::new(),
            member: vec![false; p],
        },
        cache: Cache::new(p),
        cached: Vec::new(),
        factor: Factor::default(),
    };
    let mut prev = amax.max(alphas.first().copied().unwrap_or(0.0));
    walk(
        (alphas, amax),
        (p, yy),
        stop,
        options.l1_ratio,
        |alpha, pen| {
            // Sequential strong rule: features far below the threshold at the previous α stay
            // out; the KKT check catches the rule's rare mistakes.
            tg.strong
                .add(&tg.g, options.l1_ratio * (2.0 * alpha - prev), true);
            prev = alpha;
            tg.solve(pen, options)
        },
    )
}
