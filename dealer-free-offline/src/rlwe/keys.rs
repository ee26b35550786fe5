//! A party's key pair: a ternary secret `s` and the public key `(p0, p1) = (-p1·s + e, p1)`
//! with `p1` expanded from a seed. The public key lets the peer make fresh encryptions of zero
//! to re-randomise its replies; it is sent once per session.

use rand::CryptoRng;

use super::params::LIMBS;
use super::rns::RnsPoly;
use super::sample::{self, Seed};
use super::wire;
use crate::OfflineError;
use crate::bits::{BitReader, BitWriter};

/// The secret key, kept in the NTT domain (all it is used for is products).
pub struct SecretKey {
    s: RnsPoly,
}

impl SecretKey {
    /// A fresh uniform ternary secret of `R` for `N = degree`.
    pub fn generate(rng: &mut impl CryptoRng, degree: usize) -> SecretKey {
        let mut s = RnsPoly::zero(degree, LIMBS);
        s.add_small(&sample::ternary(rng, degree));
        s.to_ntt();
        SecretKey { s }
    }

    /// `s` in the NTT domain, all limbs.
    pub fn ntt(&self) -> &RnsPoly {
        &self.s
    }
}

/// A public key, both parts in the NTT domain.
pub struct PublicKey {
    seed: Seed,
    /// `-p1·s + e`.
    pub p0: RnsPoly,
    /// Uniform, expanded from `seed`.
    pub p1: RnsPoly,
}

impl PublicKey {
    /// The public key of `secret`.
    pub fn generate(secret: &SecretKey, rng: &mut impl CryptoRng) -> PublicKey {
        let degree = secret.ntt().degree();
        let seed = sample::seed(rng);
        let p1 = sample::uniform(&seed, 0, degree, LIMBS);
        let mut p0 = RnsPoly::zero(degree, LIMBS);
        p0.add_small(&sample::centered_binomial(rng, degree));
        p0.to_ntt();
        let mut p1s = RnsPoly::zero(degree, LIMBS);
        p1s.mul_accumulate(&p1, secret.ntt());
        p0.sub_assign(&p1s);
        PublicKey { seed, p0, p1 }
    }

    /// The wire form: the seed of `p1`, then `p0`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut writer = BitWriter::with_capacity(wire::poly_bits(self.p0.degree(), LIMBS));
        wire::put_poly(&mut writer, &self.p0);
        let mut bytes = self.seed.to_vec();
        bytes.extend(writer.into_bytes());
        bytes
    }

    /// Reads the wire form of a key of degree `degree`.
    pub fn from_bytes(bytes: &[u8], degree: usize) -> Result<PublicKey, OfflineError> {
        let expected = 32 + wire::poly_bits(degree, LIMBS).div_ceil(8);
        if bytes.len() != expected {
            return Err(OfflineError::Peer(format!(
                "a public key of {} bytes, expected {expected}",
                bytes.len()
            )));
        }
        let seed: Seed = bytes[..32].try_into().expect("32 bytes");
        let p0 = wire::get_poly(&mut BitReader::new(&bytes[32..]), degree, LIMBS)?;
        Ok(PublicKey {
            seed,
            p0,
            p1: sample::uniform(&seed, 0, degree, LIMBS),
        })
    }
}
