//! Re-randomising a product with a fresh public-key encryption of zero.
//!
//! After the multiplying party V has accumulated `sum_j ct_j·b_j`, the part `c1 = sum_j
//! c1_j·b_j` is a known-to-E combination of E's uniform polynomials and would reveal every
//! `b_j`. Adding `(p0·u + e1, p1·u + e2)` for a fresh ternary `u` and errors `e1, e2` makes
//! `c1` pseudorandom (RLWE with secret `u`), and adds `e_pk·u + e1 + e2·s` to the noise, at
//! most `ERROR_BOUND·(2N + 1)` in magnitude.

use rand::CryptoRng;

use super::ciphertext::Ciphertext;
use super::keys::PublicKey;
use super::rns::RnsPoly;
use super::sample;

/// The product `ct` (NTT domain), re-randomised under the encrypting party's public key (over
/// the ciphertext's limbs) and returned in the coefficient domain.
pub fn rerandomize(public: &PublicKey, mut ct: Ciphertext, rng: &mut impl CryptoRng) -> Ciphertext {
    debug_assert!(
        public.p0.basis() == ct.c0.basis(),
        "a key of the ciphertext's setting"
    );
    let degree = ct.c0.degree();
    let mut u = RnsPoly::zero(ct.c0.basis(), ct.c0.limbs());
    u.add_small(&sample::ternary(rng, degree));
    u.to_ntt();
    ct.c0.mul_accumulate(&public.p0, &u);
    ct.c1.mul_accumulate(&public.p1, &u);
    ct.c0.to_coefficients();
    ct.c1.to_coefficients();
    ct.c0.add_small(&sample::centered_binomial(rng, degree));
    ct.c1.add_small(&sample::centered_binomial(rng, degree));
    ct
}
