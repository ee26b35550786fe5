//! The worst-case noise of one SIMD reply, and the flooding that hides it.
//!
//! E's plaintext and V's plaintext have `N` coefficients each, V's lifted to
//! `[-(p+1)/2, (p+1)/2]`. At every coefficient the product collects `N` terms of E's encoding
//! rounding (at most 1/2 each) times V's coefficients, and `N` terms of E's encryption error
//! (at most 21) times them; the re-randomisation adds at most `21·(2N + 1)`. So
//! `|noise| <= N·(p+1)/2·(1/2 + 21) + 21·(2N + 1) =: B` for every input, and
//! V floods with `2^phi >= 2^40·B` as for matrix products ([`crate::he_product::noise`]): each
//! decrypted coefficient's noise is within statistical distance `2^-41` of the flooding alone.
//! For `p = 40961`, `B < 2^31` and `phi = 71`, inside the setting's budget.

use super::slots::SLOTS;
use crate::rlwe::params::{ERROR_BOUND, FLOOD_SECURITY_BITS};

/// The worst-case noise bound `B` for the prime `p`.
pub fn product_noise_bound(p: u32) -> u128 {
    let e = u128::from(ERROR_BOUND);
    let b = u128::from(p).div_ceil(2) + 1;
    // N·b·(1/2 + 21) = N·b·(1 + 2·21)/2.
    (SLOTS as u128 * b * (1 + 2 * e)).div_ceil(2) + e * (2 * SLOTS as u128 + 1)
}

/// The flooding exponent for the prime `p`: the least `phi` with `2^phi >= 2^40·B`.
pub fn flood_bits(p: u32) -> u32 {
    let bound = product_noise_bound(p);
    128 - (bound - 1).leading_zeros() + FLOOD_SECURITY_BITS
}
