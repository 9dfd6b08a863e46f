//! The polishing step: the elastic net solved exactly on the current support with its signs
//! fixed, where the problem is smooth, from a Cholesky factor of the support's Gram matrix that
//! is updated (not recomputed) as features enter and leave.
//!
//! Coordinate descent needs many sweeps where the active features are strongly correlated
//! (small α, and always with more features than rows); this step lands on the solution at once
//! when the support is right, and drops the features whose coefficient would change sign (the
//! active-set steps of the homotopy method) when it is not.

use crate::descent::{axpy, dot, Penalty};

/// Largest support that is polished (its factor costs `m³/3` to build).
const MAX_SUPPORT: usize = 1000;

/// Below this, relative to the diagonal, a pivot means a nearly collinear support, whose
/// solution would be noise.
const PIVOT: f64 = 1e-10;

/// Largest ratio between the current ridge weight and the factor's for which the factor
/// still serves, as a preconditioner: the conjugate gradients then need a handful of
/// iterations.
const SHIFT_RATIO: f64 = 4.0;

/// What [`Factor::polish`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Polished {
    /// `β` is the exact solution on its (possibly smaller) support, signs consistent.
    Full,
    /// `β` lost features on the way but the last solve failed.
    Moved,
    /// Nothing: the support is empty, too large or nearly collinear.
    Failed,
}

/// The lower Cholesky factor `L` of `G_SS + shift·I` for an ordered support `S`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Factor {
    support: Vec<usize>,
    /// Row `i` holds `L[i][0..=i]`.
    rows: Vec<Vec<f64>>,
    shift: f64,
}

impl Factor {
    /// Appends feature `j`; `g(a, b)` is `G_ab`. False (and nothing changes) if its pivot is
    /// not safely positive.
    fn push(&mut self, j: usize, g: &impl Fn(usize, usize) -> f64) -> bool {
        let mut w: Vec<f64> = self.support.iter().map(|&k| g(j, k)).collect();
        for i in 0..w.len() {
            w[i] = (w[i] - dot(&self.rows[i][..i], &w[..i])) / self.rows[i][i];
        }
        let diag = g(j, j) + self.shift;
        let d2 = diag - dot(&w, &w);
        if !(d2.is_finite() && d2 > PIVOT * diag) {
            return false;
        }
        w.push(d2.sqrt());
        self.rows.push(w);
        self.support.push(j);
        true
    }

    /// Removes position `k`: the rows below lose their column `k` by Givens rotations.
    fn remove(&mut self, k: usize) {
        self.support.remove(k);
        self.rows.remove(k);
        for c in k..self.rows.len() {
            let (a, b) = (self.rows[c][c], self.rows[c][c + 1]);
            let r = a.hypot(b);
            let (cs, sn) = (a / r, b / r);
            for row in &mut self.rows[c..] {
                let (x, y) = (row[c], row[c + 1]);
                row[c] = cs * x + sn * y;
                row[c + 1] = cs * y - sn * x;
            }
            self.rows[c].pop();
        }
    }

    /// `(G_SS + shift·I)⁻¹·b`, in the support's order.
    fn solve(&self, b: &mut [f64]) {
        for i in 0..b.len() {
            b[i] = (b[i] - dot(&self.rows[i][..i], &b[..i])) / self.rows[i][i];
        }
        for i in (0..b.len()).rev() {
            b[i] /= self.rows[i][i];
            let v = b[i];
            for (bk, lk) in b[..i].iter_mut().zip(&self.rows[i][..i]) {
                *bk -= lk * v;
            }
        }
    }

    /// Whether the factor (of `G_SS + shift·I`) serves for the ridge weight `l2`: directly,
    /// or as the preconditioner of conjugate gradients when `l2` is within a factor
    /// [`SHIFT_RATIO`] of its shift.
    fn serves(&self, l2: f64) -> bool {
        let (lo, hi) = (l2.min(self.shift), l2.max(self.shift));
        !self.support.is_empty() && (l2 == self.shift || (lo > 0.0 && hi <= SHIFT_RATIO * lo))
    }

    /// Multiply-adds to bring the factor up to date for the support of `beta` and the ridge
    /// weight `l2`, and solve (roughly): `m³/3` afresh, else `m²` per feature that enters and
    /// per solve (a dozen solves with conjugate gradients).
    pub fn cost(&self, beta: &[f64], candidates: &[usize], l2: f64) -> f64 {
        let m = candidates.iter().filter(|&&j| beta[j] != 0.0).count() as f64;
        if !self.serves(l2) {
            return m * m * m / 3.0;
        }
        let kept = self.support.iter().filter(|&&j| beta[j] != 0.0).count() as f64;
        let solves = if l2 == self.shift { 1.0 } else { 12.0 };
        (m - kept + solves) * m * m
    }

    /// `(G_SS + l2·I)⁻¹·b`: directly when `l2` is the factor's shift, else by conjugate
    /// gradients preconditioned with the factor. False if they do not converge.
    fn solve_shifted(&self, b: &mut [f64], l2: f64, g: &impl Fn(usize, usize) -> f64) -> bool {
        if l2 == self.shift {
            self.solve(b);
            return true;
        }
        let (m, s) = (b.len(), &self.support);
        let a: Vec<f64> = (0..m * m)
            .map(|k| g(s[k / m], s[k % m]) + if k / m == k % m { l2 } else { 0.0 })
            .collect();
        let times = |v: &[f64]| -> Vec<f64> { a.chunks_exact(m).map(|row| dot(row, v)).collect() };
        let norm = dot(b, b).sqrt();
        let mut x = b.to_vec();
        self.solve(&mut x);
        let mut r: Vec<f64> = b.iter().zip(times(&x)).map(|(b, ax)| b - ax).collect();
        let mut z = r.clone();
        self.solve(&mut z);
        let (mut d, mut rz) = (z.clone(), dot(&r, &z));
        for _ in 0..100 {
            if dot(&r, &r).sqrt() <= 1e-15 * norm {
                b.copy_from_slice(&x);
                return true;
            }
            let ad = times(&d);
            let step = rz / dot(&d, &ad);
            axpy(&mut x, step, &d);
            axpy(&mut r, -step, &ad);
            z.copy_from_slice(&r);
            self.solve(&mut z);
            let next = dot(&r, &z);
            for (di, zi) in d.iter_mut().zip(&z) {
                *di = zi + next / rz * *di;
            }
            rz = next;
        }
        false
    }

    /// Makes the factor's support the nonzero coordinates of `beta` (among `candidates`),
    /// afresh at the shift `l2` unless the factor still serves for it. False if a feature
    /// could not enter.
    fn sync(
        &mut self,
        beta: &[f64],
        candidates: &[usize],
        l2: f64,
        g: &impl Fn(usize, usize) -> f64,
    ) -> bool {
        if !self.serves(l2) {
            *self = Self {
                shift: l2,
                ..Self::default()
            };
        }
        for k in (0..self.support.len()).rev() {
            if beta[self.support[k]] == 0.0 {
                self.remove(k);
            }
        }
        let mut member = vec![false; beta.len()];
        self.support.iter().for_each(|&j| member[j] = true);
        candidates
            .iter()
            .filter(|&&j| beta[j] != 0.0 && !member[j])
            .all(|&j| self.push(j, g))
    }

    /// Whether a support of `m` features is worth polishing: not empty, not too large, and
    /// (without a ridge term) not above `rank`, where its Gram matrix would be singular.
    pub fn fits(m: usize, rank: usize, pen: &Penalty) -> bool {
        m > 0 && m <= MAX_SUPPORT && (pen.l2 > 0.0 || m <= rank)
    }

    /// Moves `beta` to the solution of the smooth problem on its support with its signs
    /// fixed, `(G_SS + l2·I)·β_S = c_S − l1·sign(β_S)`. Where a coefficient of that solution
    /// has the wrong sign, steps towards it only until the first one reaches 0 (the objective
    /// decreases all along a segment on which no sign changes), drops that feature and solves
    /// again. `candidates` holds every coordinate that may be nonzero; `rank` bounds the rank
    /// of `G`. Does nothing if bringing the factor up to date would cost more than
    /// `allowance` multiply-adds: the polish must not cost more than the sweeps it saves.
    pub fn polish(
        &mut self,
        (beta, c): (&mut [f64], &[f64]),
        candidates: &[usize],
        (pen, rank, allowance): (&Penalty, usize, f64),
        g: &impl Fn(usize, usize) -> f64,
    ) -> Polished {
        let m = candidates.iter().filter(|&&j| beta[j] != 0.0).count();
        let fits = Self::fits(m, rank, pen) && self.cost(beta, candidates, pen.l2) <= allowance;
        if !fits || !self.sync(beta, candidates, pen.l2, g) {
            return Polished::Failed;
        }
        let mut moved = false;
        while !self.support.is_empty() {
            let old: Vec<f64> = self.support.iter().map(|&j| beta[j]).collect();
            let mut x: Vec<f64> = self
                .support
                .iter()
                .zip(&old)
                .map(|(&j, b)| c[j] - pen.l1 * b.signum())
                .collect();
            if !self.solve_shifted(&mut x, pen.l2, g) {
                return if moved {
                    Polished::Moved
                } else {
                    Polished::Failed
                };
            }
            if self.step(beta, &old, &x, pen.l1) {
                return Polished::Full;
            }
            moved = true;
            for k in (0..self.support.len()).rev() {
                if beta[self.support[k]] == 0.0 {
                    self.remove(k);
                }
            }
        }
        Polished::Full
    }

    /// Moves the support's coefficients from `old` towards `new`, as far as no sign changes
    /// (all the way without an l1 term, where no sign matters); those that reach 0 are set to
    /// exactly 0. Whether it went all the way.
    fn step(&self, beta: &mut [f64], old: &[f64], new: &[f64], l1: f64) -> bool {
        let crossing = |n: f64, o: f64| l1 > 0.0 && n * o.signum() <= 0.0;
        let t = new
            .iter()
            .zip(old)
            .filter(|(n, o)| crossing(**n, **o))
            .map(|(n, o)| o / (o - n))
            .fold(1.0_f64, f64::min);
        for ((&j, &n), &o) in self.support.iter().zip(new).zip(old) {
            let v = if t >= 1.0 { n } else { o + t * (n - o) };
            let reached = crossing(n, o) && o / (o - n) <= t;
            beta[j] = if reached || v * o.signum() <= 0.0 {
                0.0
            } else {
                v
            };
        }
        t >= 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symmetric positive definite 5 × 5 matrix.
    fn gram(i: usize, j: usize) -> f64 {
        let d = (i as f64 - j as f64).abs();
        0.6_f64.powf(d) + if i == j { 0.5 } else { 0.0 }
    }

    #[test]
    fn updates_match_a_fresh_factor() {
        let g = |a: usize, b: usize| gram(a, b);
        let mut f = Factor::default();
        for j in [0, 3, 1, 4, 2] {
            assert!(f.push(j, &g));
        }
        f.remove(1);
        f.remove(3);
        let mut fresh = Factor::default();
        for &j in &f.support.clone() {
            assert!(fresh.push(j, &g));
        }
        for (a, b) in f.rows.iter().zip(&fresh.rows) {
            for (u, v) in a.iter().zip(b) {
                assert!((u - v).abs() < 1e-14, "{u} {v}");
            }
        }
        // And the solve inverts G_SS.
        let s = f.support.clone();
        let mut x: Vec<f64> = (0..s.len()).map(|i| 1.0 + i as f64).collect();
        let b = x.clone();
        f.solve(&mut x);
        for (i, &a) in s.iter().enumerate() {
            let gx: f64 = s.iter().zip(&x).map(|(&k, v)| gram(a, k) * v).sum();
            assert!((gx - b[i]).abs() < 1e-13);
        }
    }

    #[test]
    fn collinear_features_are_refused() {
        let g = |a: usize, b: usize| if a % 2 == b % 2 { 1.0 } else { 0.5 };
        let mut f = Factor::default();
        assert!(f.push(0, &g) && f.push(1, &g));
        assert!(!f.push(2, &g));
        assert_eq!(f.support, vec![0, 1]);
    }
}
