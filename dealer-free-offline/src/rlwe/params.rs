//! The RLWE parameters and the constants derived from them once per process.
//!
//! See the module documentation of [`crate::rlwe`] for the security argument.

use std::sync::OnceLock;

use tfhe_ntt::prime32::Plan;

use super::modulus::Modulus;

/// The ring degrees in use (see [`super::setting`]): `N = 8192` for matrix products, `4096` for
/// SIMD products.
pub const DEGREES: [usize; 2] = [4096, 8192];

/// The largest degree.
pub const MAX_DEGREE: usize = 8192;

/// The ciphertext modulus `Q`, as its RNS primes: the six largest primes below `2^31` that are
/// `1 mod 2·8192` (the NTT of degree `N` needs a `2N`-th root of unity, so they serve both
/// degrees). `log2 Q = 185.998`.
pub const PRIMES: [u32; 6] = [
    2147352577, 2147205121, 2147074049, 2146959361, 2146713601, 2146418689,
];

/// How many RNS limbs a full ciphertext has.
pub const LIMBS: usize = PRIMES.len();

/// Bits per residue on the wire (every prime is below `2^31`).
pub const RESIDUE_BITS: u32 = 31;

/// The centred binomial parameter of the errors: `|e| <= ERROR_BOUND`.
pub const ERROR_BOUND: u64 = 21;

/// Statistical security of the noise flooding: the flooding noise is at least `2^40` times the
/// worst-case product noise (PROTOCOLS.md, "Matrix triples by RLWE").
pub const FLOOD_SECURITY_BITS: u32 = 40;

/// The NTT plans and the constants of the RNS arithmetic, computed once.
pub struct Context {
    /// One negacyclic NTT plan per prime, for each of [`DEGREES`].
    plans: Vec<Vec<Plan>>,
    /// Each prime with its reduction constant.
    pub moduli: [Modulus; LIMBS],
    /// For Garner's reconstruction: `(q_0···q_{j-1})^-1 mod q_j`.
    pub garner_inverse: [u32; LIMBS],
}

impl Context {
    /// The plans of degree `degree` (one of [`DEGREES`]), one per prime.
    pub fn plans(&self, degree: usize) -> &[Plan] {
        let at = DEGREES
            .iter()
            .position(|&n| n == degree)
            .expect("a degree of DEGREES");
        &self.plans[at]
    }
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
        let plans = DEGREES
            .iter()
            .map(|&n| {
                PRIMES
                    .iter()
                    .map(|&p| Plan::try_new(n, p).expect("every prime is NTT-friendly for n"))
                    .collect()
            })
            .collect();
        let garner_inverse = std::array::from_fn(|j| {
            let q = u64::from(PRIMES[j]);
            let before = PRIMES[..j]
                .iter()
                .fold(1u64, |acc, &p| acc * (u64::from(p) % q) % q);
            inv_mod(before, q) as u32
        });
        Context {
            plans,
            moduli: PRIMES.map(Modulus::new),
            garner_inverse,
        }
    }
}
