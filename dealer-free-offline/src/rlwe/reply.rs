//! The multiplying party's reply (PROTOCOLS.md, "V's reply", steps 2–4): flood the noise at
//! the coefficients that hold results, switch down to `2^k`, and mask out V's share.
//!
//! One deliberate difference in form from the spec's step (3): V subtracts its share `r` after
//! the switch, as its encoding `round(2^k·r/t)` at modulus `2^k` (exact, `2^(k-64)·r`, for
//! `t = 2^64`), rather than `round(Q·r/t)` before. E still decrypts `A·B - r` exactly.

use rand::CryptoRng;

use super::ciphertext::Ciphertext;
use super::keys::SecretKey;
use super::sample;
use super::setting::{Plain, Setting};
use super::wire;
use crate::OfflineError;
use crate::bit_packing::{BitReader, BitWriter};

/// A reply to one product: `c1'` (all `N` coefficients) and `c0'` at the results, and V's
/// share `r` of each result.
pub struct Reply {
    /// `c1` switched to `2^k`.
    pub c1: Vec<u128>,
    /// `c0` switched to `2^k` at the result coefficients, with the mask subtracted.
    pub c0: Vec<u128>,
    /// V's share of each result, uniform in `Z_t`.
    pub r: Vec<u64>,
}

/// A switched reply as E reads it: `c1'`, and `(j, c0'_j)` at the result coefficients.
pub type Switched = (Vec<u128>, Vec<(usize, u128)>);

impl Reply {
    /// The size of the wire form of a reply with `results` result coefficients.
    pub fn bytes(setting: &Setting, results: usize) -> usize {
        ((setting.degree + results) * setting.switched_bits as usize).div_ceil(8)
    }

    /// Reads the wire form of a reply whose results sit at the coefficients `at`: `c1'`, and
    /// `(j, c0'_j)` for each `j` of `at`, as [`Setting::decrypt`] takes them.
    pub fn read(setting: &Setting, bytes: &[u8], at: &[usize]) -> Result<Switched, OfflineError> {
        if bytes.len() != Reply::bytes(setting, at.len()) {
            return Err(OfflineError::Peer(format!(
                "a reply of {} bytes, expected {}",
                bytes.len(),
                Reply::bytes(setting, at.len())
            )));
        }
        let bits = setting.switched_bits;
        let mut reader = BitReader::new(bytes);
        let c1 = (0..setting.degree)
            .map(|_| wire::get_switched(&mut reader, bits))
            .collect::<Result<Vec<_>, _>>()?;
        let c0 = at
            .iter()
            .map(|&j| Ok((j, wire::get_switched(&mut reader, bits)?)))
            .collect::<Result<Vec<_>, OfflineError>>()?;
        Ok((c1, c0))
    }

    /// The wire form: `c1'` then the result coefficients of `c0'`, `k` bits each.
    pub fn write(&self, setting: &Setting, out: &mut Vec<u8>) {
        let bits = setting.switched_bits;
        let mut writer = BitWriter::with_capacity((self.c1.len() + self.c0.len()) * bits as usize);
        for &v in self.c1.iter().chain(&self.c0) {
            wire::put_switched(&mut writer, v, bits);
        }
        out.extend(writer.into_bytes());
    }
}

/// Finishes a re-randomised product (coefficient domain) into a reply: add flooding noise
/// uniform in `[-2^flood_bits, 2^flood_bits)` at the result coefficients `at`, switch to `2^k`,
/// and subtract the encoding of a fresh uniform `r` per result, so that E decrypts `m - r`.
pub fn finish(
    setting: &Setting,
    mut ct: Ciphertext,
    at: &[usize],
    flood_bits: u32,
    rng: &mut impl CryptoRng,
) -> Reply {
    for &j in at {
        ct.c0.add_at(j, sample::flood(rng, flood_bits));
    }
    let c1 = setting.switch_all(&ct.c1);
    let r: Vec<u64> = at
        .iter()
        .map(|_| match setting.plain {
            Plain::Ring64 => rng.next_u64(),
            Plain::Prime(t) => sample::below(rng, t),
        })
        .collect();
    let mask = (1u128 << setting.switched_bits) - 1;
    let c0 = setting
        .switch_at(&ct.c0, at)
        .into_iter()
        .zip(&r)
        .map(|(c, &r)| c.wrapping_sub(setting.encode_switched(r)) & mask)
        .collect();
    Reply { c1, c0, r }
}

impl Setting {
    /// E's side of a reply: the messages `round(t·x/2^k) mod t` at the result coefficients
    /// `at` (where V subtracted its share, so these are E's shares).
    pub fn open_reply(
        &self,
        secret: &SecretKey,
        bytes: &[u8],
        at: &[usize],
    ) -> Result<Vec<u64>, OfflineError> {
        let (c1, c0) = Reply::read(self, bytes, at)?;
        Ok(self
            .decrypt(secret, &c1, &c0)
            .into_iter()
            .map(|x| self.decode(x))
            .collect())
    }
}

/// Cuts a message holding replies of the given sizes into its pieces.
pub fn split<'a>(message: &'a [u8], sizes: &[usize]) -> Result<Vec<&'a [u8]>, OfflineError> {
    let total: usize = sizes.iter().sum();
    if message.len() != total {
        return Err(OfflineError::Peer(format!(
            "a reply message of {} bytes, expected {total}",
            message.len()
        )));
    }
    let mut rest = message;
    Ok(sizes
        .iter()
        .map(|&size| {
            let (piece, tail) = rest.split_at(size);
            rest = tail;
            piece
        })
        .collect())
}
