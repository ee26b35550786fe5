//! Switching a reply down from `Q` to `2^k`, and decrypting it there.
//!
//! `round(2^k·c/Q)` needs no big integers: by the CRT, `c/Q ≡ sum_i y_i/q_i (mod 1)` with
//! `y_i = c_i·(Q/q_i)^-1 mod q_i`, so `2^k·c/Q ≡ sum_i y_i·(2^k/q_i) (mod 2^k)`. Each `2^k/q_i`
//! is kept with 64 fractional bits (`floor(2^(k+64)/q_i)`), so the truncations together move
//! the sum by less than `7·2^31/2^64 < 2^-30`: the switched value is within `1/2 + 2^-30` of
//! `2^k·c/Q`.
//!
//! The decrypting party E computes `c0' + c1'·s` modulo `2^k`. The product `c1'·s` is computed
//! exactly over the integers in the first [`Setting::decrypt_limbs`] primes (its coefficients
//! are below `N·2^k` in magnitude) and reconstructed by Garner's algorithm at the coefficients
//! that hold results; then `round(t·x / 2^k) mod t` is the message (see
//! [`Setting::decryption_is_exact`] for the noise condition).

use super::basis::Basis;
use super::keys::SecretKey;
use super::rns::RnsPoly;
use super::setting::{Plain, Setting};

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

impl Setting {
    fn switched_mask(&self) -> u128 {
        (1 << self.switched_bits) - 1
    }

    /// `round(2^k·c/Q) mod 2^k` of the coefficients `at` of `poly` (coefficient domain, the
    /// setting's limbs).
    pub fn switch_at(&self, poly: &RnsPoly, at: &[usize]) -> Vec<u128> {
        let constants = self.constants();
        let mut high = vec![0u128; at.len()];
        let mut low = vec![0u128; at.len()];
        for (i, &q) in self.basis().primes().iter().enumerate() {
            let (inverse, weight) = (constants.crt_inverse[i], constants.switch_weight[i]);
            let inverse_shoup = shoup(inverse, q);
            let limb = poly.limb(i);
            for ((h, l), &j) in high.iter_mut().zip(low.iter_mut()).zip(at) {
                let y = u128::from(mul_shoup(limb[j], inverse, inverse_shoup, q));
                // y < 2^31 and the weight's high half < 2^50, its low half < 2^64: seven
                // terms of each fit in 128 bits.
                *h += y * u128::from(weight.0);
                *l += y * u128::from(weight.1);
            }
        }
        let mask = self.switched_mask();
        high.iter()
            .zip(&low)
            .map(|(h, l)| (h + ((l + (1 << 63)) >> 64)) & mask)
            .collect()
    }

    /// `round(2^k·c/Q) mod 2^k` of every coefficient of `poly`.
    pub fn switch_all(&self, poly: &RnsPoly) -> Vec<u128> {
        let every: Vec<usize> = (0..poly.degree()).collect();
        self.switch_at(poly, &every)
    }

    /// The switched encoding `round(2^k·r/t) mod 2^k` of a plaintext value `r < t` (exact for
    /// `t = 2^64`).
    pub fn encode_switched(&self, r: u64) -> u128 {
        let k = self.switched_bits;
        match self.plain {
            Plain::Ring64 => u128::from(r) << (k - 64),
            // r < t < 2^16 and k <= 46 here keep this in 64 bits.
            Plain::Prime(t) => u128::from(((r << k) + u64::from(t / 2)) / u64::from(t)),
        }
    }

    /// The message of a decrypted coefficient: `round(t·x / 2^k) mod t`.
    pub fn decode(&self, x: u128) -> u64 {
        let k = self.switched_bits;
        match self.plain {
            Plain::Ring64 => ((x + (1 << (k - 65))) >> (k - 64)) as u64,
            Plain::Prime(t) => {
                let t = u128::from(t);
                (((x * t + (1 << (k - 1))) >> k) % t) as u64
            }
        }
    }

    /// E's decryption of a switched reply: `x_j = c0'_j + (c1'·s)_j mod 2^k` for each
    /// `(j, c0'_j)` of `c0`; `c1` holds all `N` coefficients of `c1'`, `secret` is of the
    /// setting's degree. [`Setting::decode`]
    /// turns `x_j` into the message.
    pub fn decrypt(&self, secret: &SecretKey, c1: &[u128], c0: &[(usize, u128)]) -> Vec<u128> {
        debug_assert_eq!(c1.len(), self.degree);
        let (basis, limbs) = (self.basis(), self.decrypt_limbs());
        let mut product = RnsPoly::zero(basis, limbs);
        for (limb, q) in product.limbs_mut().zip(basis.moduli()) {
            if self.switched_bits <= 64 {
                // One reduction instead of three (replies below 2^64, as the SIMD ones).
                for (r, &v) in limb.iter_mut().zip(c1) {
                    *r = q.reduce(v as u64);
                }
            } else {
                for (r, &v) in limb.iter_mut().zip(c1) {
                    *r = q.reduce_wide(v);
                }
            }
        }
        product.to_ntt();
        let mut c1s = RnsPoly::zero(basis, limbs);
        // `s` has more limbs; the product uses the first `limbs`.
        c1s.mul_accumulate(&product, secret.ntt());
        c1s.to_coefficients();
        let mask = self.switched_mask();
        c0.iter()
            .map(|&(j, c0)| {
                let mut residues = [0u32; 4];
                for (i, r) in residues[..limbs].iter_mut().enumerate() {
                    *r = c1s.limb(i)[j];
                }
                c0.wrapping_add(crt(basis, &residues[..limbs]) as u128) & mask
            })
            .collect()
    }
}

/// The integer in `(-P/2, P/2]` with these residues modulo the first `residues.len()` primes
/// of `basis` (product `P`, at most four primes so that it fits), by Garner's mixed-radix
/// reconstruction.
pub(crate) fn crt(basis: &Basis, residues: &[u32]) -> i128 {
    debug_assert!(residues.len() <= 4);
    // x = v_0 + v_1·q_0 + v_2·q_0·q_1 + ..., each digit v_i below q_i.
    let mut digits = [0u32; 4];
    for (i, &residue) in residues.iter().enumerate() {
        let q = &basis.moduli()[i];
        let (mut partial, mut radix) = (0u32, 1u32);
        for (&d, &p) in digits[..i].iter().zip(basis.primes()) {
            partial = q.reduce(u64::from(partial) + u64::from(q.mul(d, radix)));
            radix = q.mul(radix, q.reduce(u64::from(p)));
        }
        let difference = q.reduce(u64::from(residue) + q.q() - u64::from(partial));
        digits[i] = q.mul(difference, basis.garner_inverse()[i]);
    }
    let primes = &basis.primes()[..residues.len()];
    let mut x = 0u128;
    for (&d, &p) in digits.iter().zip(primes).rev() {
        x = x * u128::from(p) + u128::from(d);
    }
    let modulus: u128 = primes.iter().map(|&p| u128::from(p)).product();
    if x > modulus / 2 {
        x as i128 - modulus as i128
    } else {
        x as i128
    }
}
