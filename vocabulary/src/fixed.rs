//! Fixed-point encoding: `x_fix = round(x * 2^f)` in two's complement over `Z_{2^64}`, and the
//! truncation window every encoder of outside values keeps to.
//!
//! # The truncation window as a contract
//!
//! Truncation from the shares' top bits (PROTOCOLS.md, "Accepted departures") is exact to one
//! unit only for values `x` in `[-2^(k-1), 2^(k-1))`, `k = 62`: outside it the wrap bit is wrong
//! about half the time and the result is off by about `2^(64-f)`, silently. What is truncated
//! is a product at twice the fractional bits (or a sum of such products: a dot product), so
//! the window bounds products, not operands: two operands of `2^45` (the whole encodable range
//! at `f = 16`) multiply to `2^90` and break it. Hence an *operand limit* on what enters the
//! computation from outside (client inputs, dataset values, imported weights and biases):
//! `|x_fix| <= 2^OPERAND_BITS` with `OPERAND_BITS = (k - 1 - ACCUMULATION_BITS) / 2 = 24`.
//! A product of two operands is then at most `2^48`, and a dot product of up to
//! `2^ACCUMULATION_BITS = 4096` of them at most `2^60`, half the window (the other half for a
//! bias and rounding). In real terms the limit is `2^(24 - f)`: **±256 at `f = 16`**. Real data
//! and weights stay far inside (MNIST pixels are in `[0, 1]`, even unscaled in `[0, 255]`;
//! He-uniform initial weights are below `sqrt(6) < 2.5`; trained weights of Networks A-D stayed
//! below 0.61 in every run we looked at); values that could break a single product are refused.
//!
//! The limit covers one product of two operands and dot products of up to 4096 terms at the
//! limit. Deeper computations (a layer's outputs feed the next) are bounded per model where a
//! model is imported (`dyad_online::nn::window`: worst case `|w|_1` per output times the input
//! bound, layer by layer; Networks A-D trained to 90-91% on 3,000 digits kept 7.7, 5.0, 3.1
//! and 8.7 bits of the window for inputs anywhere within ±256), and a plaintext fixed-point run
//! reports the largest magnitude any truncation saw ([`Headroom`]; 17 bits of headroom on
//! those networks, where the exp's squarings at `2^44` dominate). A smaller limit would buy
//! the worst case more room (4 bits for 16.0) at the price of refusing unscaled pixels; 256
//! keeps every bundled network inside with room to spare.

use std::fmt;

use crate::Z64;

/// `k`: every encoded value must satisfy `|x_fix| < 2^(k-1)`, which is what makes truncation
/// exact up to one unit (PROTOCOLS.md).
pub const K: u32 = 62;

/// The largest magnitude an encoded value may have: `2^(k-1) - 1`.
pub const MAX_MAGNITUDE: i64 = (1 << (K - 1)) - 1;

/// `log2` of the truncation window's half-width: truncation inputs must lie in
/// `[-2^WINDOW_BITS, 2^WINDOW_BITS)` (see the module's doc).
pub const WINDOW_BITS: u32 = K - 1;

/// `log2` of how many products of two operands at the limit a dot product may sum while
/// staying in half the window (see the module's doc): 4096, more than any layer of the bundled
/// networks has inputs (784 at most).
pub const ACCUMULATION_BITS: u32 = 12;

/// `log2` of the operand limit in fixed point (see the module's doc): 24.
pub const OPERAND_BITS: u32 = (WINDOW_BITS - ACCUMULATION_BITS) / 2;

/// The operand limit in fixed point: encoders of outside values refuse `|x_fix|` beyond it.
pub const MAX_OPERAND: i64 = 1 << OPERAND_BITS;

/// Why a value cannot enter the computation as an operand.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum EncodeError {
    /// NaN or an infinity.
    #[error("{value} is not a finite number")]
    NotFinite {
        /// The value.
        value: f64,
    },
    /// Beyond the operand limit.
    #[error(
        "{value} is beyond the fixed-point operand limit of ±{limit} (2^{bits} units of 2^-{f}): \
         products of such values can leave the truncation window [-2^61, 2^61) and come out \
         silently wrong (PROTOCOLS.md, \"Accepted departures\")",
        bits = OPERAND_BITS
    )]
    BeyondLimit {
        /// The value.
        value: f64,
        /// The limit in real terms, `2^(OPERAND_BITS - f)`.
        limit: f64,
        /// The fractional bits.
        f: u32,
    },
}

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

    /// Encodes `x`, rounding to nearest; `None` if not representable (`|x_fix| > 2^(k-1) - 1`)
    /// or not finite. For the protocols' own public constants; values from outside go through
    /// [`FixedPoint::encode_operand`].
    pub fn encode(self, x: f64) -> Option<Z64> {
        let scaled = (x * self.one() as f64).round();
        (scaled.is_finite() && scaled.abs() <= MAX_MAGNITUDE as f64)
            .then(|| Z64::from_signed(scaled as i64))
    }

    /// Encodes a value from outside (an input, a dataset value, a weight), rounding to
    /// nearest; refuses it beyond the operand limit `2^(OPERAND_BITS - f)` (see the module's
    /// doc), so that no product of such values leaves the truncation window.
    pub fn encode_operand(self, x: f64) -> Result<Z64, EncodeError> {
        let scaled = (x * self.one() as f64).round();
        if !scaled.is_finite() {
            return Err(EncodeError::NotFinite { value: x });
        }
        if scaled.abs() > MAX_OPERAND as f64 {
            return Err(EncodeError::BeyondLimit {
                value: x,
                limit: self.operand_limit(),
                f: self.f,
            });
        }
        Ok(Z64::from_signed(scaled as i64))
    }

    /// The operand limit in real terms: `2^(OPERAND_BITS - f)` (256 at `f = 16`).
    pub fn operand_limit(self) -> f64 {
        self.decode(Z64::from_signed(MAX_OPERAND))
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

/// The largest magnitude truncations saw (or could see, in a worst case), against the window:
/// the headroom is `WINDOW_BITS - log2(largest)` bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Headroom {
    largest: u128,
}

impl Headroom {
    /// Notes a value about to be truncated (a ring element read as two's complement).
    pub fn see(&mut self, x: Z64) {
        self.see_magnitude(u128::from(x.signed().unsigned_abs()));
    }

    /// Notes the magnitude of a value about to be truncated.
    pub fn see_magnitude(&mut self, magnitude: u128) {
        self.largest = self.largest.max(magnitude);
    }

    /// The largest magnitude seen.
    pub fn largest(self) -> u128 {
        self.largest
    }

    /// `WINDOW_BITS - log2(largest)`: negative once outside the window, infinite if nothing
    /// was seen.
    pub fn bits(self) -> f64 {
        f64::from(WINDOW_BITS) - (self.largest as f64).log2()
    }

    /// Whether every value seen was inside the window (`|x| < 2^WINDOW_BITS`).
    pub fn inside(self) -> bool {
        self.largest < 1 << WINDOW_BITS
    }
}

impl fmt::Display for Headroom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.largest {
            0 => write!(f, "no truncation"),
            largest => write!(
                f,
                "largest truncated magnitude 2^{:.1}, headroom {:.1} bits of the window 2^{WINDOW_BITS}",
                (largest as f64).log2(),
                self.bits()
            ),
        }
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

    #[test]
    fn the_operand_limit_keeps_products_and_dot_products_inside_the_window() {
        assert_eq!(OPERAND_BITS, 24);
        // Two operands at the limit, 2^ACCUMULATION_BITS times: half the window.
        let dot = (1u128 << ACCUMULATION_BITS) * (MAX_OPERAND as u128).pow(2);
        assert_eq!(dot, 1 << (WINDOW_BITS - 1));
        let fp = FixedPoint::default();
        assert_eq!(fp.operand_limit(), 256.0);
        assert_eq!(FixedPoint { f: 20 }.operand_limit(), 16.0);
    }

    #[test]
    fn operands_just_inside_the_limit_are_encoded_and_just_beyond_refused() {
        for fp in [FixedPoint::default(), FixedPoint { f: 20 }] {
            let limit = fp.operand_limit();
            for inside in [limit, -limit, limit - fp.ulp(), 0.0, 1.0] {
                let x = fp.encode_operand(inside).expect("inside the limit");
                assert_eq!(fp.decode(x), inside);
            }
            for beyond in [limit + fp.ulp(), -limit - fp.ulp(), 1e300] {
                let err = fp.encode_operand(beyond).expect_err("beyond the limit");
                let text = err.to_string();
                assert!(
                    text.contains(&beyond.to_string()) && text.contains(&format!("±{limit}")),
                    "{text}"
                );
            }
            assert!(matches!(
                fp.encode_operand(f64::INFINITY),
                Err(EncodeError::NotFinite { .. })
            ));
            assert!(fp.encode_operand(f64::NAN).is_err());
        }
    }

    #[test]
    fn headroom_is_counted_against_the_window() {
        let mut h = Headroom::default();
        assert_eq!(h.to_string(), "no truncation");
        h.see(Z64::from_signed(-(1 << 40)));
        h.see(Z64::from_signed(1 << 20));
        assert_eq!(h.largest(), 1 << 40);
        assert_eq!(h.bits(), 21.0);
        assert!(h.inside());
        h.see_magnitude(1 << 61);
        assert_eq!(h.bits(), 0.0);
        assert!(!h.inside());
    }
}
