//! `Z_p`, the field the comparison shares its mask bits in, for a prime `p` chosen per
//! deployment (a parameter of the comparison, agreed by both parties like the CheckZero
//! variant).
//!
//! Any prime `67 <= p < 2^16` works: every `c[j]` lies in `[0, 65]`, so `c[j] = 0` in `Z_p`
//! exactly when it is 0 as an integer. `p = 67`, the smallest, costs one byte per element on
//! the wire; `p = 40961 = 5·2^13 + 1` costs two, but `p ≡ 1 (mod 8192)` gives it 4096 SIMD
//! slots, so the offline phase makes its mod-p triples 4096 at a time by homomorphic
//! encryption (`dyad-offline`'s `simd_product`). Measured in one run on the development
//! machine: DReLU online moves 260 instead of 134 bytes per element each way and runs 11%
//! slower on loopback, while stocking a Network-A training step takes 17.5 instead of
//! 29.5 s of the offline pair (mod-p triples 3x faster, 3.5x fewer bytes). The offline phase
//! is the bottleneck, so 40961 is the default.

use std::fmt;
use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

/// A prime `67 <= p < 2^16`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prime(u16);

impl Prime {
    /// 67: the smallest prime above 65, one byte per element.
    pub const P67: Prime = Prime(67);
    /// 40961 = 5·2^13 + 1: SIMD-friendly for ring degree 4096, two bytes per element.
    pub const P40961: Prime = Prime(40961);

    /// `p` if it is a prime in `67..2^16`.
    pub fn new(p: u32) -> Result<Prime, PrimeError> {
        let prime = (2..)
            .take_while(|d| d * d <= p)
            .all(|d| !p.is_multiple_of(d));
        match (67..1 << 16).contains(&p) && prime {
            true => Ok(Prime(p as u16)),
            false => Err(PrimeError::NotAPrime(p)),
        }
    }

    /// The modulus.
    #[inline]
    pub fn value(self) -> u32 {
        u32::from(self.0)
    }

    /// Bytes per element on the wire and in records: 1 for `p <= 256`, else 2.
    #[inline]
    pub fn bytes(self) -> usize {
        if self.0 <= 256 { 1 } else { 2 }
    }

    /// `v mod p`.
    #[inline]
    pub fn element(self, v: u64) -> Fp {
        Fp {
            value: self.reduce(v),
            prime: self,
        }
    }

    /// `v mod p`. The primes in use get their own arm, where the compiler turns the division by
    /// a constant into a multiplication (a division by a run-time `p` made DReLU 1.9x slower).
    #[inline]
    fn reduce(self, v: u64) -> u16 {
        (match self.0 {
            67 => v % 67,
            40961 => v % 40961,
            p => v % u64::from(p),
        }) as u16
    }

    /// Zero.
    #[inline]
    pub fn zero(self) -> Fp {
        Fp {
            value: 0,
            prime: self,
        }
    }

    /// One.
    #[inline]
    pub fn one(self) -> Fp {
        self.element(1)
    }

    /// A reduced value read off the wire, or `None` if it is not below `p`.
    #[inline]
    pub fn checked(self, v: u32) -> Option<Fp> {
        (v < self.value()).then_some(Fp {
            value: v as u16,
            prime: self,
        })
    }

    /// Reads an element of [`Prime::bytes`] little-endian bytes, checking its range.
    #[inline]
    pub fn read(self, bytes: &[u8]) -> Result<Fp, NotInField> {
        let v = bytes
            .iter()
            .rev()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        self.checked(v).ok_or(NotInField { value: v, p: self })
    }
}

/// A value read as an element of `Z_p` that is not below `p`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{value} is not an element of Z_{p}")]
pub struct NotInField {
    /// The value read.
    pub value: u32,
    /// The field's prime.
    pub p: Prime,
}

/// The default comparison prime, 40961 (see the module documentation for the choice).
impl Default for Prime {
    fn default() -> Prime {
        Prime::P40961
    }
}

impl fmt::Display for Prime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A comparison prime that cannot be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrimeError {
    /// The text is not a number.
    #[error("{0:?} is not a number")]
    NotANumber(String),
    /// The number is not a prime in range.
    #[error("the comparison needs a prime p with 67 <= p < 65536; {0} is not one")]
    NotAPrime(u32),
}

impl std::str::FromStr for Prime {
    type Err = PrimeError;

    fn from_str(s: &str) -> Result<Prime, PrimeError> {
        let p = s
            .parse::<u32>()
            .map_err(|_| PrimeError::NotANumber(s.to_owned()))?;
        Prime::new(p)
    }
}

/// An element of `Z_p`, always reduced, with its modulus (arithmetic between elements of
/// different fields is a bug: debug builds check).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Fp {
    value: u16,
    prime: Prime,
}

impl Fp {
    /// The representative in `0..p`.
    #[inline]
    pub fn value(self) -> u32 {
        u32::from(self.value)
    }

    /// The representative as a `u64`, for accumulating sums of products before
    /// [`Prime::element`] reduces them once.
    #[inline]
    pub fn wide(self) -> u64 {
        u64::from(self.value)
    }

    /// Its field.
    #[inline]
    pub fn prime(self) -> Prime {
        self.prime
    }

    /// Appends its [`Prime::bytes`] little-endian bytes.
    #[inline]
    pub fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.value.to_le_bytes()[..self.prime.bytes()]);
    }

    #[inline]
    fn with(self, value: u32) -> Fp {
        Fp {
            value: value as u16,
            prime: self.prime,
        }
    }
}

impl Add for Fp {
    type Output = Fp;
    #[inline]
    fn add(self, rhs: Fp) -> Fp {
        debug_assert_eq!(self.prime, rhs.prime);
        let (s, p) = (self.value() + rhs.value(), self.prime.value());
        self.with(if s >= p { s - p } else { s })
    }
}

impl Sub for Fp {
    type Output = Fp;
    #[inline]
    fn sub(self, rhs: Fp) -> Fp {
        self + (-rhs)
    }
}

impl Neg for Fp {
    type Output = Fp;
    #[inline]
    fn neg(self) -> Fp {
        self.with(match self.value {
            0 => 0,
            v => self.prime.value() - u32::from(v),
        })
    }
}

impl Mul for Fp {
    type Output = Fp;
    #[inline]
    fn mul(self, rhs: Fp) -> Fp {
        debug_assert_eq!(self.prime, rhs.prime);
        self.prime.element(self.wide() * rhs.wide())
    }
}

impl AddAssign for Fp {
    #[inline]
    fn add_assign(&mut self, rhs: Fp) {
        *self = *self + rhs;
    }
}

impl SubAssign for Fp {
    #[inline]
    fn sub_assign(&mut self, rhs: Fp) {
        *self = *self - rhs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_operations_match_integers_mod_p() {
        for prime in [Prime::P67, Prime::P40961] {
            let p = u64::from(prime.value());
            let values = [0, 1, 2, 33, 65, p / 2, p - 2, p - 1];
            for &a in &values {
                for &b in &values {
                    let (x, y) = (prime.element(a), prime.element(b));
                    assert_eq!(u64::from((x + y).value()), (a + b) % p);
                    assert_eq!(u64::from((x - y).value()), (a + p - b) % p);
                    assert_eq!(u64::from((x * y).value()), (a * b) % p);
                }
            }
            assert_eq!(prime.checked(prime.value()), None);
            let last = prime.checked(prime.value() - 1).expect("in range");
            let mut bytes = Vec::new();
            last.write(&mut bytes);
            assert_eq!(bytes.len(), prime.bytes());
            assert_eq!(prime.read(&bytes), Ok(last));
        }
        assert_eq!(Prime::P67.bytes(), 1);
        assert_eq!(Prime::P40961.bytes(), 2);
    }

    #[test]
    fn only_primes_in_range_are_comparison_primes() {
        assert_eq!("67".parse::<Prime>(), Ok(Prime::P67));
        assert_eq!("40961".parse::<Prime>(), Ok(Prime::P40961));
        for bad in ["61", "65", "69", "65537", "4096", "x"] {
            assert!(bad.parse::<Prime>().is_err(), "{bad}");
        }
        assert_eq!(Prime::new(65521).map(Prime::bytes), Ok(2));
    }
}
