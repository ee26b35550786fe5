//! Symmetric encryption of the encrypting party's messages, with the uniform part from a seed.

use rand::CryptoRng;

use super::keys::SecretKey;
use super::rns::RnsPoly;
use super::sample::{self, Seed};

/// The `c0` of a fresh encryption `(c0, c1) = (-c1·s + e + message, c1)` in the NTT domain,
/// where `c1 = sample::uniform(seed, stream)` (the peer expands it from the seed) and `message`
/// is already scaled into `R_Q` (coefficient domain, over the limbs of its setting; see
/// [`super::setting::Setting::scaled`]).
pub fn encrypt(
    secret: &SecretKey,
    mut message: RnsPoly,
    seed: &Seed,
    stream: u64,
    rng: &mut impl CryptoRng,
) -> RnsPoly {
    let degree = message.degree();
    message.add_small(&sample::centered_binomial(rng, degree));
    message.to_ntt();
    let limbs = message.limbs();
    let c1 = sample::uniform(seed, stream, degree, limbs);
    let mut c1s = RnsPoly::zero(degree, limbs);
    c1s.mul_accumulate(&c1, secret.ntt());
    message.sub_assign(&c1s);
    message
}
