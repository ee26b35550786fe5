//! The RLWE parameters and the constants derived from them once per process.
//!
//! See the module documentation of [`crate::rlwe`] for the security argument.

use std::sync::OnceLock;

use tfhe_ntt::prime32::Plan;

use super::modulus::Modulus;

/// The ring degree `N`.
pub const N: usize = 8192;

/// The ciphertext modulus `Q`, as its RNS primes: the six largest primes below `2^31` that are
/// `1 mod 2N` (the NTT needs a `2N`-th root of unity). `log2 Q = 185.998`.
pub const PRIMES: [u32; 6] = [
    2147352577, 2147205121, 2147074049, 2146959361, 2146713601, 2146418689,
];

/// How many RNS limbs a full ciphertext has.
pub const LIMBS: usize = PRIMES.len();

/// Bits per residue on the wire (every prime is below `2^31`).
pub const RESIDUE_BITS: u32 = 31;

/// The modulus responses are switched down to is `2^SWITCHED_BITS`. Decryption at `2^k`
/// adds the rounding error of every coefficient of `c1` times the ternary secret (at most
/// `N/2 + 1`) and of `c0` (at most 1) to the scaled noise; the sum must stay below the
/// decryption margin `2^(k-65)`, which `k = 80` allows with room for the flooding (see
/// [`max_flood_bits`]).
pub const SWITCHED_BITS: u32 = 80;

/// The limbs E multiplies the switched `c1` by its secret in: their product (`2^124`) exceeds
/// twice the largest coefficient of `c1'·s` (`c1'` below `2^k`, ternary `s`: `N·2^k = 2^93`),
/// so the product is exact.
pub const DECRYPT_LIMBS: usize = 4;

/// The centred binomial parameter of the errors: `|e| <= ERROR_BOUND`.
pub const ERROR_BOUND: u64 = 21;

/// Statistical security of the noise flooding: the flooding noise is at least `2^40` times the
/// worst-case product noise (PROTOCOLS.md, "Matrix triples by RLWE").
pub const FLOOD_SECURITY_BITS: u32 = 40;

/// `log2 Q`.
pub fn log2_q() -> f64 {
    PRIMES.iter().map(|&p| f64::from(p).log2()).sum()
}

/// Whether decryption at `2^k` is exact when the flooding noise is at most `2^flood_bits` and
/// the product noise at most `2^(flood_bits - 40)`: with `x = c0' + c1'·s` the decrypted
/// value is `2^(k-64)·m + (2^k/Q)·(noise + flood) + rounding`, and `round(x / 2^(k-64))` is
/// `m` while the last two terms stay below `2^(k-65)` in magnitude. The rounding of the
/// switch is at most `1/2 + 2^-30` per coefficient (see [`crate::rlwe::switch`]): `N/2 + 1`
/// through `c1'·s` with `|s|_1 <= N`, and 1 more through `c0'`.
pub fn decryption_is_exact(flood_bits: u32) -> bool {
    let k = f64::from(SWITCHED_BITS);
    let noise = (f64::from(flood_bits) + k - log2_q()).exp2()
        * (1.0 + f64::from(FLOOD_SECURITY_BITS).exp2().recip());
    let rounding = (N / 2 + 2) as f64;
    noise + rounding < (k - 65.0).exp2()
}

/// The largest flooding noise (`2^bits`) with which decryption stays exact (120 for these
/// parameters): the product noise of one response may be at most `2^(bits - 40)`.
pub fn max_flood_bits() -> u32 {
    (0..128)
        .take_while(|&bits| decryption_is_exact(bits))
        .last()
        .unwrap_or(0)
}

/// The NTT plans and the constants of the RNS arithmetic, computed once.
pub struct Context {
    /// One negacyclic NTT plan per prime.
    pub plans: Vec<Plan>,
    /// Each prime with its reduction constant.
    pub moduli: [Modulus; LIMBS],
    /// `Q mod 2^64`: `round(Q·m/2^64)` is `floor(Q/2^64)·m + round((Q mod 2^64)·m / 2^64)`.
    pub q_low: u64,
    /// `floor(Q / 2^64) mod q_i`, per prime.
    pub q_high_mod: [u32; LIMBS],
    /// `(Q/q_i)^-1 mod q_i`, per prime (CRT).
    pub crt_inverse: [u32; LIMBS],
    /// `floor(2^(k+64) / q_i)` split into its high and low 64-bit halves: the fractional CRT
    /// `2^k·c/Q = sum_i y_i·2^k/q_i (mod 2^k)` with 64 fractional bits.
    pub switch_weight: [(u64, u64); LIMBS],
    /// For the Garner reconstruction over [`DECRYPT_LIMBS`] primes: `(q_0···q_{j-1})^-1 mod q_j`.
    pub garner_inverse: [u32; DECRYPT_LIMBS],
}

/// The process-wide [`Context`].
pub fn context() -> &'static Context {
    static CONTEXT: OnceLock<Context> = OnceLock::new();
    CONTEXT.get_or_init(Context::new)
}

/// `a^e mod p`.
pub(crate) fn pow_mod(a: u64, mut e: u64, p: u64) -> u64 {
    let (mut base, mut acc) = (a % p, 1u64);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc * base % p;
        }
        base = base * base % p;
        e >>= 1;
    }
    acc
}

/// `a^-1 mod p` for a prime `p`.
pub(crate) fn inv_mod(a: u64, p: u64) -> u64 {
    pow_mod(a, p - 2, p)
}

impl Context {
    fn new() -> Context {
        let plans = PRIMES
            .iter()
            .map(|&p| Plan::try_new(N, p).expect("every prime is NTT-friendly for N"))
            .collect();
        let q_low = PRIMES
            .iter()
            .fold(1u64, |acc, &p| acc.wrapping_mul(u64::from(p)));
        let mut q_high_mod = [0u32; LIMBS];
        let mut crt_inverse = [0u32; LIMBS];
        let mut switch_weight = [(0, 0); LIMBS];
        for (i, &q) in PRIMES.iter().enumerate() {
            let q = u64::from(q);
            // Q ≡ 0 (mod q), so floor(Q/2^64) ≡ -(Q mod 2^64)·2^-64 (mod q).
            let two64 = ((1u128 << 64) % u128::from(q)) as u64;
            let low = q_low % q;
            q_high_mod[i] = ((q - low) % q * inv_mod(two64, q) % q) as u32;
            let others = PRIMES
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .fold(1u64, |acc, (_, &p)| acc * (u64::from(p) % q) % q);
            crt_inverse[i] = inv_mod(others, q) as u32;
            // floor(2^(k+64)/q) = floor(2^k/q)·2^64 + floor((2^k mod q)·2^64 / q).
            let k = 1u128 << SWITCHED_BITS;
            let (whole, rest) = (k / u128::from(q), k % u128::from(q));
            let weight = (whole << 64) + (rest << 64) / u128::from(q);
            switch_weight[i] = ((weight >> 64) as u64, weight as u64);
        }
        let mut garner_inverse = [0u32; DECRYPT_LIMBS];
        for (j, inverse) in garner_inverse.iter_mut().enumerate() {
            let q = u64::from(PRIMES[j]);
            let before = PRIMES[..j]
                .iter()
                .fold(1u64, |acc, &p| acc * (u64::from(p) % q) % q);
            *inverse = inv_mod(before, q) as u32;
        }
        Context {
            plans,
            moduli: PRIMES.map(Modulus::new),
            q_low,
            q_high_mod,
            crt_inverse,
            switch_weight,
            garner_inverse,
        }
    }
}
