//! `Z_p` with `p = 67`: where the comparison protocol shares the bits of its mask.
//!
//! 67 is the smallest prime above 65, the largest value a `c[j]` can take, so `c[j] = 0` in
//! `Z_p` exactly when it is 0 as an integer.

use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

/// The modulus `p`.
pub const P: u8 = 67;

/// An element of `Z_67`, always reduced (`0 <= value < 67`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Debug, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct Fp(u8);

impl Fp {
    /// Zero.
    pub const ZERO: Fp = Fp(0);
    /// One.
    pub const ONE: Fp = Fp(1);

    /// `v mod 67`.
    pub fn new(v: u64) -> Fp {
        Fp((v % u64::from(P)) as u8)
    }

    /// `v mod 67` for a small-integer accumulation: sums of many field elements can be formed
    /// in `u32` and reduced once.
    pub fn reduce(v: u32) -> Fp {
        Fp((v % u32::from(P)) as u8)
    }

    /// The representative as a `u32`, for accumulating before [`Fp::reduce`].
    pub fn wide(self) -> u32 {
        u32::from(self.0)
    }

    /// A reduced value read off the wire, or `None` if it is not below 67.
    pub fn checked(v: u8) -> Option<Fp> {
        (v < P).then_some(Fp(v))
    }

    /// The representative in `0..67`.
    pub fn value(self) -> u8 {
        self.0
    }

    /// A bit as a field element.
    pub fn from_bit(b: u8) -> Fp {
        Fp(b & 1)
    }
}

impl Add for Fp {
    type Output = Fp;
    fn add(self, rhs: Fp) -> Fp {
        let s = self.0 + rhs.0; // < 134, fits in u8
        Fp(if s >= P { s - P } else { s })
    }
}

impl Sub for Fp {
    type Output = Fp;
    fn sub(self, rhs: Fp) -> Fp {
        self + (-rhs)
    }
}

impl Neg for Fp {
    type Output = Fp;
    fn neg(self) -> Fp {
        Fp(if self.0 == 0 { 0 } else { P - self.0 })
    }
}

impl Mul for Fp {
    type Output = Fp;
    fn mul(self, rhs: Fp) -> Fp {
        Fp(((u16::from(self.0) * u16::from(rhs.0)) % u16::from(P)) as u8)
    }
}

impl AddAssign for Fp {
    fn add_assign(&mut self, rhs: Fp) {
        *self = *self + rhs;
    }
}

impl SubAssign for Fp {
    fn sub_assign(&mut self, rhs: Fp) {
        *self = *self - rhs;
    }
}

impl num_traits::Zero for Fp {
    fn zero() -> Fp {
        Fp::ZERO
    }
    fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

impl ndarray::ScalarOperand for Fp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_operations_match_integers_mod_67() {
        for a in 0..67u64 {
            for b in 0..67u64 {
                let (x, y) = (Fp::new(a), Fp::new(b));
                assert_eq!((x + y).value() as u64, (a + b) % 67);
                assert_eq!((x - y).value() as u64, (a + 67 - b) % 67);
                assert_eq!((x * y).value() as u64, (a * b) % 67);
            }
        }
        assert_eq!(Fp::checked(67), None);
        assert_eq!(Fp::checked(66), Some(Fp::new(66)));
    }
}
