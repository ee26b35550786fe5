//! The distributions of the scheme: uniform ternary secrets, centred binomial errors,
//! uniform ring elements expanded from a seed, and flooding noise.

use rand::{CryptoRng, Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::params::{ERROR_BOUND, PRIMES};
use super::rns::RnsPoly;

/// A seed from which both parties expand the same uniform polynomials.
pub type Seed = [u8; 32];

/// A fresh seed.
pub fn seed(rng: &mut impl CryptoRng) -> Seed {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    seed
}

/// `n` coefficients uniform in `{-1, 0, 1}` (rejection sampling on bytes: 255 = 3·85).
pub fn ternary(rng: &mut impl CryptoRng, n: usize) -> Vec<i8> {
    let mut out = Vec::with_capacity(n);
    let mut bytes = [0u8; 64];
    while out.len() < n {
        rng.fill_bytes(&mut bytes);
        for &b in &bytes {
            if b < 255 && out.len() < n {
                out.push((b % 3) as i8 - 1);
            }
        }
    }
    out
}

/// `n` coefficients from the centred binomial distribution with `eta = ERROR_BOUND`: the
/// difference of the weights of two `eta`-bit halves of a random word. Variance `eta/2`, and
/// every value lies in `[-eta, eta]`.
pub fn centered_binomial(rng: &mut impl CryptoRng, n: usize) -> Vec<i8> {
    const ETA: u32 = ERROR_BOUND as u32;
    const HALF: u64 = (1 << ETA) - 1;
    (0..n)
        .map(|_| {
            let w = rng.next_u64();
            ((w & HALF).count_ones() as i8) - (((w >> ETA) & HALF).count_ones() as i8)
        })
        .collect()
}

/// The uniform polynomial number `stream` of `seed`, of degree below `degree`, over the first
/// `limbs` primes, directly in the NTT domain (the NTT is a bijection per prime, so this is
/// uniform in both domains).
/// Rejection sampling on 31-bit words: every prime is within `2^21` of `2^31`, so fewer than
/// one draw in 2,000 is rejected.
pub fn uniform(seed: &Seed, stream: u64, degree: usize, limbs: usize) -> RnsPoly {
    let mut rng = ChaCha20Rng::from_seed(*seed);
    rng.set_stream(stream);
    let mut poly = RnsPoly::zero(degree, limbs);
    for (limb, &q) in poly.limbs_mut().zip(&PRIMES) {
        for r in limb.iter_mut() {
            *r = loop {
                let v = rng.next_u32() & 0x7fff_ffff;
                if v < q {
                    break v;
                }
            };
        }
    }
    poly
}

/// A value uniform in `[0, t)` for `t < 2^32` (rejection sampling on the next power of two).
pub fn below(rng: &mut impl CryptoRng, t: u32) -> u64 {
    let mask = u32::MAX >> (t - 1).leading_zeros();
    loop {
        let v = rng.next_u32() & mask;
        if v < t {
            return u64::from(v);
        }
    }
}

/// An integer uniform in `[-2^bits, 2^bits)`, `bits <= 126`.
pub fn flood(rng: &mut impl CryptoRng, bits: u32) -> i128 {
    debug_assert!(bits <= 126);
    let word = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
    (word & ((2u128 << bits) - 1)) as i128 - (1i128 << bits)
}
