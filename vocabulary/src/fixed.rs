//! Fixed-point encoding: `x_fix = round(x * 2^f)` in two's complement over `Z_{2^64}`.

use crate::Z64;

/// `k`: every encoded value must satisfy `|x_fix| < 2^(k-1)`, which is what makes truncation
/// exact up to one unit (PROTOCOLS.md).
pub const K: u32 = 62;

/// The largest magnitude an encoded value may have: `2^(k-1) - 1`.
pub const MAX_MAGNITUDE: i64 = (1 << (K - 1)) - 1;

/// The fixed-point format: `f` fractional bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedPoint {
    /// Fractional bits (the paper's `l_D`).
    pub f: u32,
}

impl Default for FixedPoint {
    /// `f = 16`, as in the paper.
    fn default() -> Self {
        FixedPoint { f: 16 }
    }
}

impl FixedPoint {
    /// A format with `f` fractional bits; `f` must leave room for products (`2f < k - 1`).
    pub fn new(f: u32) -> Option<FixedPoint> {
        (f >= 1 && 2 * f < K - 1).then_some(FixedPoint { f })
    }

    /// `2^f`, the encoding of 1.0.
    pub fn one(self) -> i64 {
        1 << self.f
    }

    /// Encodes `x`, rounding to nearest; `None` if out of range or not finite.
    pub fn encode(self, x: f64) -> Option<Z64> {
        let scaled = (x * self.one() as f64).round();
        (scaled.is_finite() && scaled.abs() <= MAX_MAGNITUDE as f64)
            .then(|| Z64::from_signed(scaled as i64))
    }

    /// Decodes a ring element read as two's complement.
    pub fn decode(self, v: Z64) -> f64 {
        v.signed() as f64 / self.one() as f64
    }

    /// One unit in the last place, as a real number.
    pub fn ulp(self) -> f64 {
        1.0 / self.one() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let fp = FixedPoint::default();
        for x in [0.0, 1.0, -1.0, 0.5, -3.25, 1234.5678] {
            let e = fp.encode(x).expect("in range");
            assert!((fp.decode(e) - x).abs() <= fp.ulp() / 2.0);
        }
        assert_eq!(fp.encode(-1.0), Some(Z64(u64::MAX - 65535)));
        assert_eq!(fp.encode(f64::NAN), None);
        assert_eq!(fp.encode(2f64.powi(50)), None);
        assert!(FixedPoint::new(0).is_none() && FixedPoint::new(31).is_none());
        assert!(FixedPoint::new(30).is_some());
        assert_eq!(FixedPoint::new(20).map(|f| f.one()), Some(1 << 20));
    }
}
