//! Plaintexts of `Z_t` (`t = 2^64` or a prime) in `R_Q`.
//!
//! The encrypted party's message enters as `round(Q·m / t)` (SecretFlow-SPU's `ModulusUpAt`):
//! with `Delta = Q/t` not an integer, `round(Delta·m)` differs from `Delta·m` by at most 1/2,
//! so the product with the peer's plaintext `b` carries an error of `|b|/2` per term — whereas
//! `floor(Delta)·m` would make it `m·b·frac(Delta)`, far beyond the noise budget. The
//! product's `Delta·(a·b)` then reduces correctly: `a·b = m + t·w` over the integers and
//! `Delta·t·w = Q·w ≡ 0 (mod Q)`.
//!
//! The multiplying party's plaintext enters unscaled, lifted to its centred representative in
//! `[-t/2, t/2)` so that it multiplies the noise by at most `t/2`.

use super::params::context;
use super::rns::RnsPoly;
use super::setting::{Plain, Setting};

impl Setting {
    /// The encrypting party's plaintext with the coefficients `(power, m)` (`m < t`, powers
    /// below `N`, each at most once; the rest zero): `round(Q·m / t)` at each (coefficient
    /// domain, the setting's limbs).
    pub fn scaled(&self, message: &[(usize, u64)]) -> RnsPoly {
        let constants = self.constants();
        let low = |m: u64| -> u64 {
            // round((Q mod t)·m / t): the product is at most (t - 1)^2, below 2^128 - 2^65 + 2,
            // so adding t/2 does not overflow, and the quotient is below t. For a prime
            // t < 2^16 it all fits in 64 bits (a 128-bit division is ten times slower).
            match self.plain {
                Plain::Ring64 => {
                    let product = u128::from(constants.q_mod_t) * u128::from(m);
                    ((product + (1 << 63)) >> 64) as u64
                }
                Plain::Prime(t) => (constants.q_mod_t * m + u64::from(t / 2)) / u64::from(t),
            }
        };
        let lows: Vec<u64> = message.iter().map(|&(_, m)| low(m)).collect();
        let mut poly = RnsPoly::zero(self.degree, self.limbs);
        for ((limb, q), &high) in poly
            .limbs_mut()
            .zip(&context().moduli)
            .zip(&constants.q_over_t)
        {
            for (&(power, m), &low) in message.iter().zip(&lows) {
                let high = q.mul(high, q.reduce(m));
                limb[power] = q.reduce(u64::from(high) + u64::from(q.reduce(low)));
            }
        }
        poly
    }

    /// The multiplying party's plaintext with the coefficients `(power, b)` (`b < t`), each
    /// lifted to `[-t/2, t/2)` (coefficient domain, the setting's limbs).
    pub fn centered(&self, plain: &[(usize, u64)]) -> RnsPoly {
        let lift = |b: u64| -> i64 {
            match self.plain {
                Plain::Ring64 => b as i64,
                Plain::Prime(t) if b >= u64::from(t / 2) => b as i64 - i64::from(t),
                Plain::Prime(_) => b as i64,
            }
        };
        let mut poly = RnsPoly::zero(self.degree, self.limbs);
        for (limb, q) in poly.limbs_mut().zip(&context().moduli) {
            for &(power, b) in plain {
                limb[power] = q.reduce_signed(lift(b));
            }
        }
        poly
    }
}
