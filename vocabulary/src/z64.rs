//! `Z_L` with `L = 2^64`: the ring every arithmetic share lives in.
//!
//! [`Z64`] is a transparent wrapper around `u64` whose operators wrap, so protocol code can use
//! `+`, `-`, `*` on elements and on `ndarray` arrays of them exactly as the spec writes them,
//! and an accidental non-wrapping operation cannot exist.

use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// An element of `Z_{2^64}`.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(transparent)]
pub struct Z64(pub u64);

impl Z64 {
    /// Zero.
    pub const ZERO: Z64 = Z64(0);
    /// One.
    pub const ONE: Z64 = Z64(1);

    /// Bit `j` (0 = least significant) as 0 or 1.
    pub fn bit(self, j: u32) -> u8 {
        ((self.0 >> j) & 1) as u8
    }

    /// `MSB(v)`: bit 63.
    pub fn msb(self) -> u8 {
        self.bit(63)
    }

    /// `wrap(u, v, L)`: 1 iff `u + v >= 2^64` as integers.
    pub fn wrap(u: Z64, v: Z64) -> u8 {
        u8::from(u.0.overflowing_add(v.0).1)
    }

    /// The element as a two's-complement signed integer.
    pub fn signed(self) -> i64 {
        self.0 as i64
    }

    /// The element whose two's-complement reading is `v`.
    pub fn from_signed(v: i64) -> Z64 {
        Z64(v as u64)
    }

    /// A bit (0 or 1) as a ring element.
    pub fn from_bit(b: u8) -> Z64 {
        Z64(u64::from(b & 1))
    }
}

impl std::fmt::Debug for Z64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl Add for Z64 {
    type Output = Z64;
    fn add(self, rhs: Z64) -> Z64 {
        Z64(self.0.wrapping_add(rhs.0))
    }
}

impl Sub for Z64 {
    type Output = Z64;
    fn sub(self, rhs: Z64) -> Z64 {
        Z64(self.0.wrapping_sub(rhs.0))
    }
}

impl Mul for Z64 {
    type Output = Z64;
    fn mul(self, rhs: Z64) -> Z64 {
        Z64(self.0.wrapping_mul(rhs.0))
    }
}

impl Neg for Z64 {
    type Output = Z64;
    fn neg(self) -> Z64 {
        Z64(self.0.wrapping_neg())
    }
}

impl AddAssign for Z64 {
    fn add_assign(&mut self, rhs: Z64) {
        *self = *self + rhs;
    }
}

impl SubAssign for Z64 {
    fn sub_assign(&mut self, rhs: Z64) {
        *self = *self - rhs;
    }
}

impl MulAssign for Z64 {
    fn mul_assign(&mut self, rhs: Z64) {
        *self = *self * rhs;
    }
}

impl Sum for Z64 {
    fn sum<I: Iterator<Item = Z64>>(iter: I) -> Z64 {
        iter.fold(Z64::ZERO, Add::add)
    }
}

impl num_traits::Zero for Z64 {
    fn zero() -> Z64 {
        Z64::ZERO
    }
    fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

impl num_traits::One for Z64 {
    fn one() -> Z64 {
        Z64::ONE
    }
}

impl ndarray::ScalarOperand for Z64 {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_wrap() {
        assert_eq!(Z64(u64::MAX) + Z64(2), Z64(1));
        assert_eq!(Z64(0) - Z64(1), Z64(u64::MAX));
        assert_eq!(Z64(1 << 63) * Z64(2), Z64(0));
        assert_eq!(-Z64(1), Z64(u64::MAX));
    }

    #[test]
    fn wrap_and_bits() {
        assert_eq!(Z64::wrap(Z64(u64::MAX), Z64(1)), 1);
        assert_eq!(Z64::wrap(Z64(u64::MAX), Z64(0)), 0);
        assert_eq!(Z64(1 << 63).msb(), 1);
        assert_eq!(Z64::from_signed(-1).msb(), 1);
        assert_eq!(Z64(5).bit(2), 1);
        assert_eq!(Z64(5).bit(1), 0);
    }
}
