//! The distributions of the scheme: uniform ternary secrets, centred binomial errors,
//! uniform ring elements expanded from a seed, and flooding noise.

use rand::{CryptoRng, Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::basis::Basis;
use super::params::ERROR_BOUND;
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

/// The uniform polynomial number `stream` of `seed`, over the first `limbs` primes of `basis`,
/// directly in the NTT domain (the NTT is a bijection per prime, so this is uniform in both
/// domains). Rejection sampling on words of each prime's width: every 31-bit prime is within
/// `2^21` of `2^31` (fewer than one draw in 2,000 rejected), and `65537` takes half of its
/// 17-bit words.
pub fn uniform(seed: &Seed, stream: u64, basis: &'static Basis, limbs: usize) -> RnsPoly {
    let mut rng = ChaCha20Rng::from_seed(*seed);
    rng.set_stream(stream);
    let mut poly = RnsPoly::zero(basis, limbs);
    for (limb, &q) in poly.limbs_mut().zip(basis.primes()) {
        let mask = u32::MAX >> (q - 1).leading_zeros();
        for r in limb.iter_mut() {
            *r = loop {
                let v = rng.next_u32() & mask;
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

/// An integer uniform in `[-2^bits, 2^bits)`, `bits <= 190`, as a 192-bit two's-complement
/// number (least significant word first): `bits + 1` uniform bits less `2^bits`.
pub fn flood(rng: &mut impl CryptoRng, bits: u32) -> [u64; 3] {
    debug_assert!(bits <= super::setting::MAX_FLOOD_SAMPLE_BITS);
    let mut words = [rng.next_u64(), rng.next_u64(), rng.next_u64()];
    // Keep the low `bits + 1` bits: a uniform value in [0, 2^(bits+1)).
    for (i, word) in words.iter_mut().enumerate() {
        let low = (bits + 1).saturating_sub(64 * i as u32);
        if low < 64 {
            *word &= (1u64 << low) - 1;
        }
    }
    // Subtract 2^bits: word bits/64 loses 2^(bits mod 64), borrowing upward.
    let (at, bit) = ((bits / 64) as usize, bits % 64);
    let mut borrow = 1u64 << bit;
    for word in &mut words[at..] {
        let (difference, under) = word.overflowing_sub(borrow);
        *word = difference;
        borrow = u64::from(under);
    }
    words
}
