//! Plaintexts of `Z_{2^64}` in `R_Q`.
//!
//! The encrypted party's message enters as `round(Q·m / 2^64)` (SecretFlow-SPU's
//! `ModulusUpAt`): with `Delta = Q/2^64` not an integer, `round(Delta·m)` differs from
//! `Delta·m` by at most 1/2, so the product with the peer's plaintext `b` carries an error of
//! `|b|/2` per term — whereas `floor(Delta)·m` would make it `m·b·frac(Delta)`, far beyond
//! the noise budget. The product's `Delta·(a·b)` then reduces correctly: `a·b = m + 2^64·w`
//! over the integers and `Delta·2^64·w = Q·w ≡ 0 (mod Q)`.
//!
//! The multiplying party's plaintext enters unscaled, lifted to its centred representative in
//! `[-2^63, 2^63)` so that it multiplies the noise by at most `2^63`.

use super::params::{PRIMES, context};
use super::rns::RnsPoly;

/// `round(Q·m / 2^64) mod q_i`.
#[inline]
fn scaled_residue(m: u64, i: usize) -> u32 {
    let c = context();
    let q = &c.moduli[i];
    // round(Q·m/2^64) = floor(Q/2^64)·m + round((Q mod 2^64)·m / 2^64); the product is at most
    // (2^64 - 1)^2 = 2^128 - 2^65 + 1, so adding 2^63 does not overflow, and the second term is
    // below 2^64.
    let low = ((u128::from(c.q_low) * u128::from(m) + (1 << 63)) >> 64) as u64;
    let high = q.mul(c.q_high_mod[i], q.reduce(m));
    q.reduce(u64::from(high) + u64::from(q.reduce(low)))
}

/// The encrypting party's plaintext with the coefficients `(power, m)` (powers below `N`,
/// each at most once; the rest zero): `round(Q·m / 2^64)` at each (coefficient domain, all
/// limbs).
pub fn scaled(message: &[(usize, u64)]) -> RnsPoly {
    let mut poly = RnsPoly::zero(PRIMES.len());
    for (i, limb) in poly.limbs_mut().enumerate() {
        for &(power, m) in message {
            limb[power] = scaled_residue(m, i);
        }
    }
    poly
}

/// The multiplying party's plaintext with the coefficients `(power, b)`, each lifted to
/// `[-2^63, 2^63)` (coefficient domain, all limbs).
pub fn centered(plain: &[(usize, u64)]) -> RnsPoly {
    let mut poly = RnsPoly::zero(PRIMES.len());
    for (limb, q) in poly.limbs_mut().zip(&context().moduli) {
        for &(power, b) in plain {
            limb[power] = q.reduce_signed(b as i64);
        }
    }
    poly
}
