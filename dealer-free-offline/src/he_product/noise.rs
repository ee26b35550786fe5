//! The worst-case noise of one reply, and the flooding that hides it.
//!
//! A reply ciphertext is `sum_j ct_j·b_j` over the `g` inner blocks it accumulates, plus a
//! public-key encryption of zero. Write E's fresh ciphertexts as
//! `c0_j + c1_j·s = round(Delta·a_j) + e_j = Delta·a_j + eps_j + e_j` with `|eps| <= 1/2`
//! (only where `a_j` has a coefficient) and `|e| <= 21`, and V's plaintexts `b_j` with
//! coefficients in `[-2^63, 2^63]` and at most `d1·d2` of them non-zero. At a coefficient that
//! holds a result:
//!
//! * `eps_j·b_j` collects exactly the `d1` terms of the block's inner product (the encoding
//!   puts every other pair of coefficients elsewhere): at most `d1·2^62`;
//! * `e_j·b_j` collects one term per non-zero coefficient of `b_j`: at most `d1·d2·21·2^63`;
//! * the encryption of zero adds `e_pk·u + e1 + e2·s` with ternary `u, s`: at most
//!   `21·(2N + 1)`.
//!
//! So `|noise| <= g·d1·(2^62 + 21·d2·2^63) + 21·(2N + 1) =: B` for every input (entries of
//! `2^63` with every error at `±21`, signs aligned, would reach it). V adds flooding noise
//! uniform in `[-2^phi, 2^phi)` with `2^phi >= 2^(40 + 24)·B` ([`Setting::flood_bits`]), so
//! each decrypted coefficient's noise is within statistical distance
//! `B / 2^(phi+1) <= 2^-65` of the flooding alone, whatever `B`'s matrix, and the `2^24`
//! result coefficients one key serves add up to at most `2^-41` (PROTOCOLS.md: 40 bits per key
//! lifetime; [`crate::he_session`] rotates the keys). Decryption stays exact while
//! `phi <= max_flood_bits()` (151 for [`Setting::MATRIX`]); the block shape keeps `g` small
//! enough for that.
//!
//! The flooding hides `B` from an E that follows the protocol (semi-honest, as everywhere in
//! Dyad): it relies on E's ciphertexts carrying errors of at most 21.

use std::sync::LazyLock;

use super::SETTING;
use crate::rlwe::params::ERROR_BOUND;
#[cfg(doc)]
use crate::rlwe::setting::Setting;

/// The worst-case noise bound `B` of a reply accumulating `g` blocks of `d1 x d2`.
/// (Saturating: a bound beyond `2^128` is far past any budget.)
pub fn product_noise_bound(g: usize, d1: usize, d2: usize) -> u128 {
    let (g, d1, d2) = (g as u128, d1 as u128, d2 as u128);
    let e = u128::from(ERROR_BOUND);
    let per_term = (1u128 << 62) + e * d2 * (1 << 63);
    g.saturating_mul(d1)
        .saturating_mul(per_term)
        .saturating_add(SETTING.rerandomization_noise())
}

/// The flooding exponent `phi` for a reply: the least with `2^phi >= 2^(40 + 24)·B`.
pub fn flood_bits(g: usize, d1: usize, d2: usize) -> u32 {
    SETTING.flood_bits(product_noise_bound(g, d1, d2))
}

/// [`Setting::max_flood_bits`] of the matrix setting, worked out once: the search over it
/// (128 tries, each with a `log2`) ran for every candidate block shape of every triple, 3% of a
/// matrix triple's instructions.
static MAX_FLOOD_BITS: LazyLock<u32> = LazyLock::new(|| SETTING.max_flood_bits());

/// The most inner blocks of `d1 x d2` one reply may accumulate and still decrypt exactly.
pub fn max_blocks_per_reply(d1: usize, d2: usize) -> usize {
    let limit = *MAX_FLOOD_BITS;
    if flood_bits(1, d1, d2) > limit {
        return 0;
    }
    // flood_bits grows with g; the largest feasible g is found by doubling then bisection.
    let (mut ok, mut bad) = (1usize, 2usize);
    while flood_bits(bad, d1, d2) <= limit {
        ok = bad;
        bad *= 2;
    }
    while bad - ok > 1 {
        let mid = ok + (bad - ok) / 2;
        if flood_bits(mid, d1, d2) <= limit {
            ok = mid;
        } else {
            bad = mid;
        }
    }
    ok
}
