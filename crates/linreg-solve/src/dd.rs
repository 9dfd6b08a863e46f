//! Double-double arithmetic: a number is the unevaluated sum `hi + lo` of two f64 with
//! `|lo| ≤ ulp(hi)/2`, about 106 significant bits (32 decimal digits).
//!
//! Built from error-free transformations (Knuth's TwoSum, and TwoProd through the fused
//! multiply-add), after Dekker (1971) and Hida, Li and Bailey's QD library (2001). Only what the
//! accurate least-squares path needs: add, subtract, multiply, divide, square root.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// `hi + lo`, a double-double.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Dd {
    pub hi: f64,
    pub lo: f64,
}

/// `a + b = s + e` exactly (Knuth).
#[inline]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    (s, e)
}

/// `a + b = s + e` exactly, given `|a| ≥ |b|`.
#[inline]
fn quick_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    (s, b - (s - a))
}

/// `a · b = p + e` exactly (the fused multiply-add computes the rounding error).
#[inline]
fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    (p, a.mul_add(b, -p))
}

impl Dd {
    pub const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };
    pub const ONE: Dd = Dd { hi: 1.0, lo: 0.0 };

    #[inline]
    pub fn from_f64(v: f64) -> Self {
        Self { hi: v, lo: 0.0 }
    }

    /// The nearest f64.
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.hi + self.lo
    }

    /// The exact product of two f64.
    #[inline]
    pub fn mul_f64(a: f64, b: f64) -> Self {
        let (hi, lo) = two_prod(a, b);
        Self { hi, lo }
    }

    #[inline]
    pub fn abs(self) -> Self {
        if self.hi < 0.0 {
            -self
        } else {
            self
        }
    }

    /// Square root: one Newton step from the f64 root (Karp and Markstein).
    pub fn sqrt(self) -> Self {
        if self.hi <= 0.0 {
            return Self::ZERO;
        }
        let x = 1.0 / self.hi.sqrt();
        let ax = self.hi * x;
        let diff = self - Dd::mul_f64(ax, ax);
        let (hi, lo) = two_sum(ax, diff.hi * (x * 0.5));
        Self { hi, lo }
    }
}

impl Add for Dd {
    type Output = Dd;
    /// The accurate ("IEEE") addition of QD: relative error about 2·2⁻¹⁰⁶.
    #[inline]
    fn add(self, b: Dd) -> Dd {
        let (s1, s2) = two_sum(self.hi, b.hi);
        let (t1, t2) = two_sum(self.lo, b.lo);
        let s2 = s2 + t1;
        let (s1, s2) = quick_two_sum(s1, s2);
        let s2 = s2 + t2;
        let (hi, lo) = quick_two_sum(s1, s2);
        Dd { hi, lo }
    }
}

impl Neg for Dd {
    type Output = Dd;
    #[inline]
    fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
}

impl Sub for Dd {
    type Output = Dd;
    #[inline]
    fn sub(self, b: Dd) -> Dd {
        self + (-b)
    }
}

impl Mul for Dd {
    type Output = Dd;
    #[inline]
    fn mul(self, b: Dd) -> Dd {
        let (p1, p2) = two_prod(self.hi, b.hi);
        let p2 = p2 + (self.hi * b.lo + self.lo * b.hi);
        let (hi, lo) = quick_two_sum(p1, p2);
        Dd { hi, lo }
    }
}

impl Div for Dd {
    type Output = Dd;
    /// Long division in three f64 quotient digits.
    fn div(self, b: Dd) -> Dd {
        let q1 = self.hi / b.hi;
        let r = self - b * Dd::from_f64(q1);
        let q2 = r.hi / b.hi;
        let r = r - b * Dd::from_f64(q2);
        let q3 = r.hi / b.hi;
        let (q1, q2) = quick_two_sum(q1, q2);
        Dd { hi: q1, lo: q2 } + Dd::from_f64(q3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_third_has_32_digits() {
        let third = Dd::ONE / Dd::from_f64(3.0);
        // 3 · (1/3) − 1 is at the 1e-32 level, far below f64's 1e-16.
        let err = (third * Dd::from_f64(3.0) - Dd::ONE).to_f64().abs();
        assert!(err < 1e-31, "{err:e}");
        assert_eq!(third.to_f64(), 1.0 / 3.0);
        assert!(third.lo != 0.0);
    }

    #[test]
    fn sums_that_cancel_in_f64_survive() {
        // (1e16 + 1) − 1e16 = 1: lost in f64, kept here.
        let a = Dd::from_f64(1e16) + Dd::ONE;
        assert_eq!((a - Dd::from_f64(1e16)).to_f64(), 1.0);
        assert_eq!(
            Dd::mul_f64(1.0 + f64::EPSILON, 1.0 - f64::EPSILON).lo,
            -f64::EPSILON.powi(2)
        );
    }

    #[test]
    fn square_root_squares_back() {
        let two = Dd::from_f64(2.0);
        let r = two.sqrt();
        assert!((r * r - two).to_f64().abs() < 1e-31);
        assert_eq!(Dd::ZERO.sqrt(), Dd::ZERO);
    }
}
