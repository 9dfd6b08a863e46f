//! The covariance ("Gram") solver: coordinate descent on `G = XᵀWX/W` and `c = XᵀWy/W`,
//! both read from [`Moments`], keeping the gradient `q = c − Gβ` up to date.

use linreg_solve::Moments;

use crate::descent::{axpy, descend, done, dot, duality_gap, Active, Budget, Coordinates, Penalty};
use crate::factor::{Factor, Polished};
use crate::frame::{
    alpha_list, alpha_max_of, fit_targets, not_converged, relative, walk, Frame, Solved,
};
use crate::{assemble, check_options, Path, PathError, PathOptions};

/// A problem read from moments, in the frame's units.
struct Gram {
    frame: Frame,
    /// `p × p`, row-major (symmetric, so row `j` is column `j`), features that take part.
    g: Vec<f64>,
    diag: Vec<f64>,
    /// `c̃` per target.
    xy: Vec<Vec<f64>>,
}

/// The frame and `c̃` of `m` (everything `α_max` needs; the Gram matrix is left out).
fn prepare(m: &Moments, options: &PathOptions) -> Result<(Frame, Vec<Vec<f64>>), PathError> {
    let (p, k) = (m.features(), m.targets());
    crate::check_sizes(p, k)?;
    if m.rows() == 0 || m.weight_sum() <= 0.0 {
        return Err(PathError::NoRows);
    }
    let prod = products(m, options.intercept);
    let mean = m.mean();
    let var: Vec<f64> = (0..p).map(|j| m.comoment(j, j) / m.weight_sum()).collect();
    let y_mean = mean[p..].to_vec();
    let yy = (0..k).map(|t| prod(p + t, p + t)).collect();
    let frame = Frame::new((mean[..p].to_vec(), &var), (y_mean, yy), m.rows(), options);
    let xy = (0..k)
        .map(|t| {
            frame
                .index
                .iter()
                .zip(&frame.scale)
                .map(|(&j, s)| prod(j, p + t) / s)
                .collect()
        })
        .collect();
    Ok((frame, xy))
}

/// `Σ w·z_i·z_j / W` for columns `i`, `j` of `[x, y]`: centred with intercept, about 0
/// without.
fn products(m: &Moments, intercept: bool) -> impl Fn(usize, usize) -> f64 + '_ {
    let (w, mean) = (m.weight_sum(), m.mean());
    move |i, j| {
        let c = m.comoment(i, j) / w;
        if intercept {
            c
        } else {
            c + mean[i] * mean[j]
        }
    }
}

fn build(m: &Moments, options: &PathOptions) -> Result<Gram, PathError> {
    let (frame, xy) = prepare(m, options)?;
    let prod = products(m, options.intercept);
    let (index, scale) = (&frame.index, &frame.scale);
    let p = index.len();
    let mut g = vec![0.0; p * p];
    for a in 0..p {
        for b in 0..=a {
            let v = prod(index[a], index[b]) / (scale[a] * scale[b]);
            g[a * p + b] = v;
            g[b * p + a] = v;
        }
    }
    let diag = (0..p).map(|j| g[j * p + j]).collect();
    Ok(Gram { frame, g, diag, xy })
}

/// The smallest α at which every coefficient is 0: `max_t max_j |c̃_tj| / max(R, 0.001)`,
/// `c̃` the features' (standardized, with `standardize`) covariance with the targets, over
/// `W`.
///
/// ```
/// use linreg_path::{alpha_max, PathOptions};
/// use linreg_solve::{Moments, View};
///
/// let (x, y) = ([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 5.0, 7.0]);
/// let m = Moments::from_rows(View::new(4, 1, &x)?, View::new(4, 1, &y)?, None)?;
/// // Population sd of x is √1.25; cov(x, y) = 2.5.
/// let a = alpha_max(&m, &PathOptions::default())?;
/// assert!((a - 2.5 / 1.25_f64.sqrt()).abs() < 1e-12);
/// # Ok::<(), linreg_path::PathError>(())
/// ```
pub fn alpha_max(m: &Moments, options: &PathOptions) -> Result<f64, PathError> {
    check_options(options)?;
    let (_, xy) = prepare(m, options)?;
    Ok(alpha_max_of(xy.iter().map(|c| &c[..]), options.l1_ratio))
}

/// The regularization path on the rows summed in `m`: one [`Point`](crate::Point) per α,
/// decreasing, each warm-started from the previous, by covariance coordinate descent.
///
/// Costs `O(p²)` memory for `p` features; for far more features than rows see
/// [`path_rows`](crate::path_rows).
pub fn path(m: &Moments, options: &PathOptions) -> Result<Path, PathError> {
    check_options(options)?;
    let gram = build(m, options)?;
    let amax = alpha_max_of(gram.xy.iter().map(|c| &c[..]), options.l1_ratio);
    let alphas = alpha_list(&options.alphas, amax)?;
    let stop = matches!(options.alphas, crate::Alphas::Grid { .. });
    let (alphas, solved) = fit_targets(gram.xy.len(), alphas, stop, |t, alphas, stop| {
        target_path(&gram, t, (alphas, amax), stop, options)
    })?;
    Ok(assemble(
        &gram.frame,
        alphas,
        &solved,
        options.l1_ratio,
        amax,
    ))
}

/// One target's coefficients and gradient.
struct State<'a> {
    gram: &'a Gram,
    beta: Vec<f64>,
    q: Vec<f64>,
    factor: Factor,
}

impl Coordinates for State<'_> {
    fn update(&mut self, j: usize, pen: &Penalty) -> f64 {
        let d = self.gram.diag[j];
        let old = self.beta[j];
        let new = crate::descent::soft(self.q[j] + d * old, pen.l1) / (d + pen.l2);
        if new == old {
            return 0.0;
        }
        let p = self.beta.len();
        self.beta[j] = new;
        axpy(&mut self.q, old - new, &self.gram.g[j * p..(j + 1) * p]);
        d * (new - old) * (new - old)
    }

    fn is_zero(&self, j: usize) -> bool {
        self.beta[j] == 0.0
    }
}

impl State<'_> {
    /// Recomputes `q = c − Gβ` from scratch: the running updates drift by rounding.
    fn refresh(&mut self, c: &[f64]) {
        let p = self.beta.len();
        self.q.copy_from_slice(c);
        for (j, &b) in self.beta.iter().enumerate() {
            if b != 0.0 {
                axpy(&mut self.q, -b, &self.gram.g[j * p..(j + 1) * p]);
            }
        }
    }

    /// [`Factor::polish`] on the current support; refreshes `q` if it moved.
    fn polish(&mut self, c: &[f64], all: &[usize], pen: &Penalty, allowance: f64) -> Polished {
        let (g, p) = (&self.gram.g, self.beta.len());
        let entry = |a: usize, b: usize| g[a * p + b];
        let limits = (pen, self.gram.frame.rank, allowance);
        let done = self.factor.polish((&mut self.beta, c), all, limits, &entry);
        if done != Polished::Failed {
            self.refresh(c);
        }
        done
    }

    /// `(gap, rᵀr/W)`.
    fn gap(&self, c: &[f64], yy: f64, pen: &Penalty) -> (f64, f64) {
        let yr = yy - dot(&self.beta, c);
        let rss = (yr - dot(&self.beta, &self.q)).max(0.0);
        let gap = duality_gap(&self.beta, &self.q, &self.gram.diag, (yr, rss), pen);
        (gap, rss)
    }
}

/// Target `t` along `alphas` (`amax`: the path's `α_max`); with `stop`, only until the fit
/// is saturated.
fn target_path(
    gram: &Gram,
    t: usize,
    (alphas, amax): (&[f64], f64),
    stop: bool,
    options: &PathOptions,
) -> Result<Vec<Solved>, PathError> {
    let (c, yy) = (&gram.xy[t][..], gram.frame.yy[t]);
    let p = c.len();
    let mut st = State {
        gram,
        beta: vec![0.0; p],
        q: c.to_vec(),
        factor: Factor::default(),
    };
    let all: Vec<usize> = (0..p).collect();
    let mut active = Active::new(p);
    walk((alphas, amax), (p, yy), stop, options.l1_ratio, |_, pen| {
        solve(&mut st, (c, yy), &all, &mut active, pen, options)
    })
}

/// One α, warm-started from `st`.
fn solve(
    st: &mut State<'_>,
    (c, yy): (&[f64], f64),
    all: &[usize],
    active: &mut Active,
    pen: &Penalty,
    options: &PathOptions,
) -> Result<Solved, PathError> {
    let tol = options.tol;
    let mut budget = Budget::new(options.max_sweeps, all.len() as f64);
    // glmnet's threshold on the moves (its `thresh` times the null deviance), tightened
    // while the point may not stop.
    let mut thr = tol * yy;
    loop {
        let step = descend(st, all, active, pen, thr, &mut budget);
        let mut moved = !matches!(step, Ok(false));
        st.refresh(c);
        let (mut gap, mut rss) = st.gap(c, yy, pen);
        let mut polished = false;
        if !done(gap, thr, moved, false, tol, yy) && step.is_ok() {
            let how = st.polish(c, all, pen, budget.work);
            (polished, moved) = (how == Polished::Full, moved || how == Polished::Moved);
            (gap, rss) = st.gap(c, yy, pen);
        }
        if done(gap, thr, moved, polished, tol, yy) {
            return Ok(Solved {
                beta: st.beta.clone(),
                rss,
                sweeps: budget.used,
                gap: relative(gap, yy),
            });
        }
        // Nothing moved and nothing to polish: rounding, not sweeps, limits the gap.
        if step.is_err() || (!moved && !polished) {
            return Err(not_converged(pen.alpha, budget.used, gap, yy));
        }
        thr *= 1e-2;
    }
}
