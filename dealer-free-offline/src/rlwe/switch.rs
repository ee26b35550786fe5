//! Switching a reply down from `Q` to `2^k`, and decrypting it there.
//!
//! `round(2^k·c/Q)` needs no big integers: by the CRT, `c/Q ≡ sum_i y_i/q_i (mod 1)` with
//! `y_i = c_i·(Q/q_i)^-1 mod q_i`, so `2^k·c/Q ≡ sum_i y_i·(2^k/q_i) (mod 2^k)`. Each `2^k/q_i`
//! is kept with 64 fractional bits (`floor(2^(k+64)/q_i)`), so the six truncations together
//! move the sum by less than `6·2^31/2^64 < 2^-30`: the switched value is within
//! `1/2 + 2^-30` of `2^k·c/Q`.
//!
//! The decrypting party E computes `c0' + c1'·s` modulo `2^k`. The product `c1'·s` is computed
//! exactly over the integers in the first [`DECRYPT_LIMBS`] primes (its coefficients are below
//! `N·2^k = 2^93` in magnitude, their product is `2^124`) and reconstructed by Garner's
//! algorithm at the coefficients that hold results; then `round(x / 2^(k-64)) mod 2^64` is the
//! message (see [`super::params::decryption_is_exact`] for the noise condition).

use super::keys::SecretKey;
use super::params::{DECRYPT_LIMBS, N, PRIMES, SWITCHED_BITS, context};
use super::rns::RnsPoly;

const SWITCHED_MASK: u128 = (1 << SWITCHED_BITS) - 1;

/// `a·b mod q` for a fixed `b` with `b_shoup = floor(b·2^32/q)` (Shoup): no division.
#[inline]
fn mul_shoup(a: u32, b: u32, b_shoup: u32, q: u32) -> u32 {
    let estimate = ((u64::from(a) * u64::from(b_shoup)) >> 32) as u32;
    let r = a.wrapping_mul(b).wrapping_sub(estimate.wrapping_mul(q));
    if r >= q { r - q } else { r }
}

/// Shoup's companion of `b` for [`mul_shoup`].
fn shoup(b: u32, q: u32) -> u32 {
    ((u64::from(b) << 32) / u64::from(q)) as u32
}

/// `round(2^k·c/Q) mod 2^k` of the coefficients `at` of `poly` (coefficient domain, all limbs).
pub fn switch_at(poly: &RnsPoly, at: &[usize]) -> Vec<u128> {
    let c = context();
    let mut high = vec![0u128; at.len()];
    let mut low = vec![0u128; at.len()];
    for (i, &q) in PRIMES.iter().enumerate() {
        let (inverse, weight) = (c.crt_inverse[i], c.switch_weight[i]);
        let inverse_shoup = shoup(inverse, q);
        let limb = poly.limb(i);
        for ((h, l), &j) in high.iter_mut().zip(low.iter_mut()).zip(at) {
            let y = u128::from(mul_shoup(limb[j], inverse, inverse_shoup, q));
            // y < 2^31 and the weight's high half < 2^50, its low half < 2^64: six terms of
            // each fit in 128 bits.
            *h += y * u128::from(weight.0);
            *l += y * u128::from(weight.1);
        }
    }
    high.iter()
        .zip(&low)
        .map(|(h, l)| (h + ((l + (1 << 63)) >> 64)) & SWITCHED_MASK)
        .collect()
}

/// `round(2^k·c/Q) mod 2^k` of every coefficient of `poly` (coefficient domain, all limbs).
pub fn switch_all(poly: &RnsPoly) -> Vec<u128> {
    let every: Vec<usize> = (0..N).collect();
    switch_at(poly, &every)
}

/// The message of a decrypted coefficient: `round(x / 2^(k-64)) mod 2^64`.
pub fn decode(x: u128) -> u64 {
    let scale = SWITCHED_BITS - 64;
    ((x + (1 << (scale - 1))) >> scale) as u64
}

/// E's decryption of a switched reply: `x_j = c0'_j + (c1'·s)_j mod 2^k` for each `(j, c0'_j)`
/// of `c0`; `c1` holds all `N` coefficients of `c1'`. [`decode`] turns `x_j` into the message.
pub fn decrypt(secret: &SecretKey, c1: &[u128], c0: &[(usize, u128)]) -> Vec<u128> {
    debug_assert_eq!(c1.len(), N);
    let mut product = RnsPoly::zero(DECRYPT_LIMBS);
    for (limb, q) in product.limbs_mut().zip(&context().moduli) {
        for (r, &v) in limb.iter_mut().zip(c1) {
            *r = q.reduce_wide(v);
        }
    }
    product.to_ntt();
    let mut c1s = RnsPoly::zero(DECRYPT_LIMBS);
    // `s` has more limbs; the product uses the first DECRYPT_LIMBS.
    c1s.mul_accumulate(&product, secret.ntt());
    c1s.to_coefficients();
    c0.iter()
        .map(|&(j, c0)| {
            let residues = std::array::from_fn(|i| c1s.limb(i)[j]);
            c0.wrapping_add(crt(residues) as u128) & SWITCHED_MASK
        })
        .collect()
}

/// The integer in `(-P/2, P/2]` with these residues modulo the first [`DECRYPT_LIMBS`] primes
/// (product `P ~ 2^124`), by Garner's mixed-radix reconstruction.
pub(crate) fn crt(residues: [u32; DECRYPT_LIMBS]) -> i128 {
    let context = context();
    // x = v_0 + v_1·q_0 + v_2·q_0·q_1 + ..., each digit v_i below q_i.
    let mut digits = [0u64; DECRYPT_LIMBS];
    for i in 0..DECRYPT_LIMBS {
        let q = u64::from(PRIMES[i]);
        let (mut partial, mut radix) = (0u64, 1u64);
        for (d, &p) in digits[..i].iter().zip(&PRIMES) {
            partial = (partial + d * radix) % q;
            radix = radix * u64::from(p) % q;
        }
        digits[i] =
            (u64::from(residues[i]) + q - partial) % q * u64::from(context.garner_inverse[i]) % q;
    }
    let mut x = 0u128;
    for (d, &p) in digits.iter().zip(&PRIMES[..DECRYPT_LIMBS]).rev() {
        x = x * u128::from(p) + u128::from(*d);
    }
    let modulus: u128 = PRIMES[..DECRYPT_LIMBS]
        .iter()
        .map(|&p| u128::from(p))
        .product();
    if x > modulus / 2 {
        x as i128 - modulus as i128
    } else {
        x as i128
    }
}
