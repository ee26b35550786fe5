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
    let (basis, limbs) = (message.basis(), message.limbs());
    message.add_small(&sample::centered_binomial(rng, basis.degree()));
    message.to_ntt();
    let c1 = sample::uniform(seed, stream, basis, limbs);
    let mut c1s = RnsPoly::zero(basis, limbs);
    c1s.mul_accumulate(&c1, secret.ntt());
    message.sub_assign(&c1s);
    message
}
