//! E's message: the `c0` of fresh encryptions of its plaintexts (NTT domain), their uniform
//! parts travelling as one seed (ciphertext `t` has `c1 = sample::uniform(seed, t)`).

use super::ciphertext::Ciphertext;
use super::rns::RnsPoly;
use super::sample::{self, Seed};
use super::setting::Setting;
use super::wire;
use crate::OfflineError;
use crate::bit_packing::{BitReader, BitWriter};

/// The wire form: the seed, then every `c0`.
pub fn write(seed: &Seed, c0s: &[RnsPoly]) -> Vec<u8> {
    let bits = c0s
        .first()
        .map_or(0, |c| wire::poly_bits(c.basis(), c.limbs()));
    let mut writer = BitWriter::with_capacity(c0s.len() * bits);
    for c0 in c0s {
        wire::put_poly(&mut writer, c0);
    }
    let mut bytes = seed.to_vec();
    bytes.extend(writer.into_bytes());
    bytes
}

/// Reads `count` ciphertexts of `setting`, expanding their uniform parts.
pub fn read(
    message: &[u8],
    count: usize,
    setting: &Setting,
) -> Result<Vec<Ciphertext>, OfflineError> {
    let (basis, limbs) = (setting.basis(), setting.limbs());
    let expected = 32 + (count * wire::poly_bits(basis, limbs)).div_ceil(8);
    if message.len() != expected {
        return Err(OfflineError::Peer(format!(
            "{} bytes of ciphertexts, expected {expected}",
            message.len()
        )));
    }
    let seed: Seed = message[..32].try_into().expect("32 bytes");
    let mut reader = BitReader::new(&message[32..]);
    (0..count)
        .map(|t| {
            let c0 = wire::get_poly(&mut reader, basis, limbs)?;
            let c1 = sample::uniform(&seed, t as u64, basis, limbs);
            Ok(Ciphertext { c0, c1 })
        })
        .collect()
}
