//! The worst-case noise of one SIMD reply, and the flooding that hides it.
//!
//! E's plaintexts and V's plaintexts have `N` coefficients each, V's lifted to
//! `[-(p+1)/2, (p+1)/2]`. At every coefficient one product collects `N` terms of E's encoding
//! rounding (at most 1/2 each) times V's coefficients, and `N` terms of E's encryption error
//! (at most 21) times them; a reply sums [`PRODUCTS`] such products, and the
//! re-randomisation adds at most `21·(2N + 1)`. So
//! `|noise| <= 2·N·(p+1)/2·(1/2 + 21) + 21·(2N + 1) =: B` for every input, and
//! V floods with `2^phi >= 2^(40 + 20)·B` as for matrix products ([`crate::he_product::noise`]):
//! each decrypted coefficient's noise is within statistical distance `2^-61` of the flooding
//! alone, and the `2^20` coefficients one key serves within `2^-41`. For `p = 40961`,
//! `B < 2^32` and `phi = 92`, the most the setting's modulus decrypts exactly.

use super::slots::SLOTS;
use crate::rlwe::params::ERROR_BOUND;
use crate::rlwe::setting::Setting;

/// Plaintext-ciphertext products summed in one reply (E's `x` by V's `y`, E's `y` by V's `x`).
pub const PRODUCTS: u128 = 2;

/// The worst-case noise bound `B` of a reply for the prime `p`.
pub fn reply_noise_bound(p: u32) -> u128 {
    let e = u128::from(ERROR_BOUND);
    let b = u128::from(p).div_ceil(2) + 1;
    // N·b·(1/2 + 21) = N·b·(1 + 2·21)/2 per product.
    PRODUCTS * (SLOTS as u128 * b * (1 + 2 * e)).div_ceil(2) + e * (2 * SLOTS as u128 + 1)
}

/// The flooding exponent for the prime `p`: the least `phi` with `2^phi >= 2^(40 + 20)·B`.
pub fn flood_bits(p: u32) -> u32 {
    Setting::simd(p).flood_bits(reply_noise_bound(p))
}
