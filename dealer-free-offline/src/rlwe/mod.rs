//! Ring-LWE encryption with a `2^64` or prime plaintext modulus, for the one-sided
//! homomorphic products of Cheetah (Huang et al., USENIX Security 2022) as SecretFlow-SPU
//! scales them to `Z_{2^64}`, and for SIMD products over `Z_p`.
//!
//! Only what the offline phase needs: a party encrypts its own plaintext polynomials under its
//! own secret key ([`encrypt`]), the peer multiplies them by its plaintext polynomials in the
//! NTT domain ([`rns`]), re-randomises the product with a public-key encryption of zero
//! ([`rerandomize`]), floods the noise, switches the modulus down to `2^k` ([`switch`]) and
//! sends it back for decryption.
//!
//! # Parameters and their security
//!
//! * Rings `R_Q = Z_Q[X]/(X^N + 1)`, one modulus per kind of product ([`setting::Setting`]):
//!   `N = 8192` with the seven primes of [`params::MATRIX_PRIMES`] (`log2 Q = 217.0`) for
//!   matrix products, `N = 4096` with the four of [`params::SIMD_PRIMES`] (`log2 Q = 109.0`)
//!   for SIMD products over `Z_p`. Every prime is below `2^31` and `1 mod 2N` (so
//!   `tfhe-ntt`'s 32-bit negacyclic NTT applies, its fastest path on AVX2 machines).
//! * Secret: uniform ternary, one per setting. Errors: centred binomial with `eta = 21`,
//!   standard deviation `sqrt(21/2) = 3.24` and support `[-21, 21]` (the bound the worst-case
//!   noise analysis uses).
//! * The Homomorphic Encryption Standard (Albrecht et al., 2018, Table 1, uniform ternary
//!   secret, error `sigma ~ 3.2`) gives `log2 Q <= 218` at `N = 8192` and `<= 109` at
//!   `N = 4096` for 128-bit classical security; every key, encryption of zero and ciphertext
//!   is at its own setting's modulus ([`basis`], [`keys`]), inside the table (tested).
//!   Responses switched down to `2^k` have smaller moduli, which only makes RLWE harder.
//! * Flooding: 40 bits of statistical security over the whole lifetime of a key pair, by
//!   flooding `40 + c` bits over each reply's worst case and rotating keys after `2^c` result
//!   coefficients ([`setting`], [`crate::he_session`]).
//! * The uniform part of every fresh ciphertext is expanded from a 256-bit seed with ChaCha20
//!   (the standard seeded-`a` optimisation: `a` is public and uniform either way).

pub mod accumulator;
pub mod basis;
pub mod ciphertext;
pub mod fresh;
pub mod keys;
pub mod modulus;
pub mod params;
pub mod reply;
pub mod rerandomize;
pub mod rns;
pub mod sample;
mod scale;
pub mod setting;
pub mod strided;
pub mod switch;
pub mod wire;

mod encrypt;
pub use encrypt::encrypt;

#[cfg(test)]
mod tests;
