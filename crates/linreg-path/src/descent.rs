//! Coordinate descent shared by the Gram and the row solver: the update rule, the sweeps over
//! a candidate set and the active set, and the duality gap that decides convergence.

/// The two penalty weights at one α: `l1 = α·R`, `l2 = α·(1 − R)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Penalty {
    pub alpha: f64,
    pub l1: f64,
    pub l2: f64,
}

impl Penalty {
    pub fn new(alpha: f64, l1_ratio: f64) -> Self {
        Self {
            alpha,
            l1: alpha * l1_ratio,
            l2: alpha * (1.0 - l1_ratio),
        }
    }
}

/// Soft thresholding, `sign(z)·max(|z| − t, 0)`; exactly `0.0` inside `[−t, t]`.
#[inline]
pub(crate) fn soft(z: f64, t: f64) -> f64 {
    if z > t {
        z - t
    } else if z < -t {
        z + t
    } else {
        0.0
    }
}

/// `aᵀb` with eight partial sums: the loop vectorizes, and the summation order (hence the
/// rounding) does not depend on anything but the length.
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((s, u), v) in acc.iter_mut().zip(x).zip(y) {
            *s += u * v;
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `y += a·x`.
#[inline]
pub(crate) fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    for (u, v) in y.iter_mut().zip(x) {
        *u += a * v;
    }
}

/// A problem that coordinate descent can minimize one coordinate at a time.
pub(crate) trait Coordinates {
    /// Moves coordinate `j` to its minimizer with the others fixed; returns `G_jj·Δ²`, how
    /// much the move changed the fitted values' mean square (0 when it did not move).
    fn update(&mut self, j: usize, pen: &Penalty) -> f64;
    /// Whether coordinate `j` is exactly 0.
    fn is_zero(&self, j: usize) -> bool;
}

/// The coordinates that have been nonzero at some α (glmnet's "ever active" set), in the
/// order they entered.
pub(crate) struct Active {
    pub list: Vec<usize>,
    member: Vec<bool>,
}

impl Active {
    pub fn new(p: usize) -> Self {
        Self {
            list: Vec::new(),
            member: vec![false; p],
        }
    }

    /// Adds `j`; whether it was new.
    fn insert(&mut self, j: usize) -> bool {
        let new = !self.member[j];
        if new {
            self.member[j] = true;
            self.list.push(j);
        }
        new
    }
}

/// Sweeps counted against `max_sweeps` at one α, and the work they did (in multiply-adds,
/// roughly), which bounds what a polish may cost.
pub(crate) struct Budget {
    pub used: usize,
    max: usize,
    /// Multiply-adds per coordinate visited: `p` in the Gram solver, `2·rows` in the row
    /// solver.
    unit: f64,
    pub work: f64,
}

/// The sweep budget ran out.
pub(crate) struct Exhausted;

impl Budget {
    pub fn new(max: usize, unit: f64) -> Self {
        Self {
            used: 0,
            max,
            unit,
            work: 0.0,
        }
    }

    /// Counts a sweep over `len` coordinates.
    fn spend(&mut self, len: usize) -> Result<(), Exhausted> {
        if self.used >= self.max {
            return Err(Exhausted);
        }
        self.used += 1;
        self.work += len as f64 * self.unit;
        Ok(())
    }
}

/// glmnet's scheme: a sweep over `set`, then sweeps over the active set until no coordinate
/// moves by more than `thr`, repeated until a sweep over `set` brings in no new coordinate and
/// moves none by more than `thr`. Returns whether any coordinate moved at all.
pub(crate) fn descend<C: Coordinates>(
    c: &mut C,
    set: &[usize],
    active: &mut Active,
    pen: &Penalty,
    thr: f64,
    budget: &mut Budget,
) -> Result<bool, Exhausted> {
    let mut changed = false;
    loop {
        budget.spend(set.len())?;
        let (mut moved, mut entered) = (0.0_f64, false);
        for &j in set {
            moved = moved.max(c.update(j, pen));
            if !c.is_zero(j) && active.insert(j) {
                entered = true;
            }
        }
        changed |= moved > 0.0;
        if !entered && moved <= thr {
            return Ok(changed);
        }
        loop {
            budget.spend(active.list.len())?;
            let mut moved = 0.0_f64;
            for &j in &active.list {
                moved = moved.max(c.update(j, pen));
            }
            changed |= moved > 0.0;
            if moved <= thr {
                break;
            }
        }
    }
}

/// The duality gap at `β`, in the normalized (`/W`) units, never below 0.
///
/// `q` is the gradient `c − Gβ` (`Xᵀr/W`) on every coordinate, `yr` = `yᵀr/W` = `yᵀy/W − βᵀc`
/// and `rss` = `rᵀr/W`. With `R > 0` it is scikit-learn's elastic-net gap
/// (`enet_coordinate_descent_gram`), rewritten so that nothing cancels at the optimum:
/// `gap(κ) = Σ_j (l1·|β_j| − β_j·A_j) + (1 − κ)·(yr − (1 + κ)/2·(rss + l2‖β‖²))` with
/// `A = q − l2·β` and `κ = min(1, l1/max|A|)` the dual scaling; expanding it gives
/// scikit-learn's formula term for term. With `R = 0` that gap jumps at the optimum (κ falls
/// from 1 to 0), so ridge uses the exact Fenchel dual of its smooth penalty at the dual point
/// `r/W`, `Σ_j A_j²/(2·l2)`. With `α = 0` there is no dual bound; `Σ_j q_j²/(2·G_jj)`, what
/// each coordinate alone could still gain, stands in.
pub(crate) fn duality_gap(
    beta: &[f64],
    q: &[f64],
    diag: &[f64],
    (yr, rss): (f64, f64),
    pen: &Penalty,
) -> f64 {
    let a = |j: usize| q[j] - pen.l2 * beta[j];
    let gap = if pen.l1 > 0.0 {
        let dual = (0..q.len()).map(|j| a(j).abs()).fold(0.0, f64::max);
        let kappa = if dual > pen.l1 { pen.l1 / dual } else { 1.0 };
        let base: f64 = beta
            .iter()
            .enumerate()
            .filter(|(_, b)| **b != 0.0)
            .map(|(j, b)| pen.l1 * b.abs() - b * a(j))
            .sum();
        if kappa < 1.0 {
            let norm2 = dot(beta, beta);
            base + (1.0 - kappa) * (yr - 0.5 * (1.0 + kappa) * (rss + pen.l2 * norm2))
        } else {
            base
        }
    } else if pen.l2 > 0.0 {
        (0..q.len()).map(|j| a(j) * a(j)).sum::<f64>() / (2.0 * pen.l2)
    } else {
        q.iter().zip(diag).map(|(g, d)| g * g / (2.0 * d)).sum()
    };
    gap.max(0.0)
}

/// Whether a solve at tolerance `tol` may stop, with duality gap `gap` (normalized units)
/// and the last sweeps' moves at most `thr` (`moved`: whether anything moved at all):
/// the gap must be at most `tol·yᵀy/W`, and either the moves at most `tol²·yᵀy/W` (so that
/// the coefficients, not only the objective, are accurate to about `tol`) or the point
/// just polished (exact on its support).
pub(crate) fn done(gap: f64, thr: f64, moved: bool, polished: bool, tol: f64, yy: f64) -> bool {
    gap <= tol * yy && (polished || !moved || thr <= tol * tol * yy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_thresholding_gives_exact_zeros() {
        assert_eq!(soft(0.5, 1.0).to_bits(), 0.0_f64.to_bits());
        assert_eq!(soft(-0.5, 1.0).to_bits(), 0.0_f64.to_bits());
        assert_eq!(soft(3.0, 1.0), 2.0);
        assert_eq!(soft(-3.0, 1.0), -2.0);
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let a: Vec<f64> = (0..37).map(|i| (i as f64).sin()).collect();
        let b: Vec<f64> = (0..37).map(|i| (i as f64 * 0.3).cos()).collect();
        let plain: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-13);
        let mut y = b.clone();
        axpy(&mut y, 2.0, &a);
        assert_eq!(y[5], b[5] + 2.0 * a[5]);
    }

    #[test]
    fn the_gap_is_scikit_learns_formula() {
        // A 2-coordinate problem with made-up (non-optimal) numbers: the rewritten gap must
        // equal scikit-learn's expression, both with κ = 1 and with κ < 1.
        let g = [2.0, 0.5, 0.5, 1.0];
        let c = [1.0, -0.4];
        let yy = 1.7;
        // κ < 1 twice, then κ = 1 with a nonzero coefficient.
        let cases = [
            ([0.2, -0.1], 0.3, 0.7),
            ([0.0, 0.05], 0.01, 0.5),
            ([0.3, 0.0], 2.0, 0.5),
        ];
        for (beta, alpha, r) in cases {
            let pen = Penalty::new(alpha, r);
            let gb = [
                g[0] * beta[0] + g[1] * beta[1],
                g[2] * beta[0] + g[3] * beta[1],
            ];
            let q = [c[0] - gb[0], c[1] - gb[1]];
            let btc = beta[0] * c[0] + beta[1] * c[1];
            let rss = yy - 2.0 * btc + beta[0] * gb[0] + beta[1] * gb[1];
            let xta = [q[0] - pen.l2 * beta[0], q[1] - pen.l2 * beta[1]];
            let dual = xta[0].abs().max(xta[1].abs());
            let (k, mut want) = if dual > pen.l1 {
                let k = pen.l1 / dual;
                (k, 0.5 * (rss + rss * k * k))
            } else {
                (1.0, rss)
            };
            let l1n = beta[0].abs() + beta[1].abs();
            let l2n = beta[0] * beta[0] + beta[1] * beta[1];
            want += pen.l1 * l1n - k * (yy - btc) + 0.5 * pen.l2 * (1.0 + k * k) * l2n;
            let got = duality_gap(&beta, &q, &[2.0, 1.0], (yy - btc, rss), &pen);
            assert!((got - want.max(0.0)).abs() < 1e-14, "{got} {want}");
        }
    }
}
