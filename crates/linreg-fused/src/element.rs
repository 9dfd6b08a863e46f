//! The two float types the host kernel computes in: `f32` (what models train on) and `f64`.

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

/// A float the host kernel can compute in. Sealed: `f32` and `f64`, whose IEEE rounding the
/// kernel's summation order (and the PyTorch parity) relies on.
pub trait KernelFloat:
    Copy
    + Send
    + Sync
    + Debug
    + PartialOrd
    + Add<Output = Self>
    + AddAssign
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + sealed::Sealed
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// 0.5.
    const HALF: Self;
    /// `self · a + b` with one rounding (a fused multiply-add).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `|self|`.
    fn abs(self) -> Self;
    /// −1, 0 or 1 (PyTorch's `sgn`: `sign(0) = 0`); NaN stays NaN.
    fn sign(self) -> Self;
    /// The nearest value of this type.
    fn from_f64(v: f64) -> Self;
    /// The value as `f64` (exact).
    fn to_f64(self) -> f64;
    /// `n` rounded to this type, as PyTorch turns an element count into a divisor.
    fn from_count(n: usize) -> Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

macro_rules! kernel_float {
    ($t:ty) => {
        impl KernelFloat for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const HALF: Self = 0.5;
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                <$t>::mul_add(self, a, b)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn sign(self) -> Self {
                if self > 0.0 {
                    1.0
                } else if self < 0.0 {
                    -1.0
                } else if self == 0.0 {
                    // ±0 → +0, as PyTorch's `sgn`.
                    0.0
                } else {
                    self // NaN
                }
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_count(n: usize) -> Self {
                n as $t
            }
        }
    };
}

kernel_float!(f32);
kernel_float!(f64);
