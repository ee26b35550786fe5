//! The RLWE parameters: the error distribution, the flooding security, and the ciphertext
//! moduli of the settings in use as their RNS primes.
//!
//! See the module documentation of [`crate::rlwe`] for the security argument.

/// The ciphertext modulus of matrix products ([`super::setting::Setting::MATRIX`], `N = 8192`):
/// the six largest primes below `2^31` that are `1 mod 2·8192` (the negacyclic NTT of degree
/// `N` needs a `2N`-th root of unity), and the largest after them that `tfhe-ntt` reduces on
/// its fast path (its single-step Barrett bound: the six primes between them take a generic
/// path in pointwise products, and one of them made matrix triples cost 1.47x the CPU). `log2 Q = 216.996`, inside the HE Standard's 218 for
/// `N = 8192`; the seventh prime (the six of December 2026 had `log2 Q = 186`) buys the 31 bits
/// of flooding that a key's lifetime budget needs (see [`super::setting`]).
pub const MATRIX_PRIMES: [u32; 7] = [
    2147352577, 2147205121, 2147074049, 2146959361, 2146713601, 2146418689, 2144894977,
];

/// The ciphertext modulus of SIMD products over `Z_p` ([`super::setting::Setting::simd`],
/// `N = 4096`): the three largest 31-bit primes that are `1 mod 2·4096`, and `65537 = 2^16 + 1`
/// (also `1 mod 8192`). `log2 Q = 108.9995`, inside the HE Standard's 109 for `N = 4096`: the
/// 16-bit prime is the most a fourth limb may add, and it is what a key's lifetime budget needs.
pub const SIMD_PRIMES: [u32; 4] = [2147352577, 2147205121, 2147074049, 65537];

/// The most primes a modulus has.
pub const MAX_LIMBS: usize = 7;

/// The centred binomial parameter of the errors: `|e| <= ERROR_BOUND`.
pub const ERROR_BOUND: u64 = 21;

/// Statistical security of the noise flooding: over the whole lifetime of a key pair, the
/// statistical distance of what its owner decrypts from the flooding alone is at most
/// `2^-40` (PROTOCOLS.md, "Matrix triples by RLWE").
pub const FLOOD_SECURITY_BITS: u32 = 40;

/// The largest `log2 Q` the Homomorphic Encryption Standard (Albrecht et al., 2018, Table 1)
/// allows for 128-bit classical security with a uniform ternary secret and error
/// `sigma ~ 3.2`, by ring degree; `None` for a degree outside the table.
pub fn he_standard_max_log2_q(degree: usize) -> Option<f64> {
    match degree {
        1024 => Some(27.0),
        2048 => Some(54.0),
        4096 => Some(109.0),
        8192 => Some(218.0),
        16384 => Some(438.0),
        32768 => Some(881.0),
        _ => None,
    }
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
