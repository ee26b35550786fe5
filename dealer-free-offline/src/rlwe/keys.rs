//! A party's key pair of one setting: a ternary secret `s` and the public key
//! `(p0, p1) = (-p1·s + e, p1)` with `p1` expanded from a seed, both over the setting's own
//! modulus (PROTOCOLS.md: a key made for one setting is never sent at another's). The public
//! key lets the peer make fresh encryptions of zero to re-randomise its replies.

use rand::CryptoRng;

use super::rns::RnsPoly;
use super::sample::{self, Seed};
use super::setting::Setting;
use super::wire;
use crate::OfflineError;
use crate::bit_packing::{BitReader, BitWriter};

/// The secret key, kept in the NTT domain (all it is used for is products).
pub struct SecretKey {
    s: RnsPoly,
}

impl SecretKey {
    /// A fresh uniform ternary secret of `setting`.
    pub fn generate(rng: &mut impl CryptoRng, setting: &Setting) -> SecretKey {
        let basis = setting.basis();
        let mut s = RnsPoly::zero(basis, basis.len());
        s.add_small(&sample::ternary(rng, basis.degree()));
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
    /// The public key of `secret`, at the secret's modulus.
    pub fn generate(secret: &SecretKey, rng: &mut impl CryptoRng) -> PublicKey {
        let basis = secret.ntt().basis();
        let seed = sample::seed(rng);
        let p1 = sample::uniform(&seed, 0, basis, basis.len());
        let mut p0 = RnsPoly::zero(basis, basis.len());
        p0.add_small(&sample::centered_binomial(rng, basis.degree()));
        p0.to_ntt();
        let mut p1s = RnsPoly::zero(basis, basis.len());
        p1s.mul_accumulate(&p1, secret.ntt());
        p0.sub_assign(&p1s);
        PublicKey { seed, p0, p1 }
    }

    /// The wire form: the seed of `p1`, then `p0`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let basis = self.p0.basis();
        let mut writer = BitWriter::with_capacity(wire::poly_bits(basis, basis.len()));
        wire::put_poly(&mut writer, &self.p0);
        let mut bytes = self.seed.to_vec();
        bytes.extend(writer.into_bytes());
        bytes
    }

    /// Reads the wire form of a key of `setting`.
    pub fn from_bytes(bytes: &[u8], setting: &Setting) -> Result<PublicKey, OfflineError> {
        let basis = setting.basis();
        let expected = 32 + wire::poly_bits(basis, basis.len()).div_ceil(8);
        if bytes.len() != expected {
            return Err(OfflineError::Peer(format!(
                "a public key of {} bytes, expected {expected}",
                bytes.len()
            )));
        }
        let seed: Seed = bytes[..32].try_into().expect("32 bytes");
        let p0 = wire::get_poly(&mut BitReader::new(&bytes[32..]), basis, basis.len())?;
        Ok(PublicKey {
            seed,
            p0,
            p1: sample::uniform(&seed, 0, basis, basis.len()),
        })
    }
}
