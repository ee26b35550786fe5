//! The multiplying party's reply (PROTOCOLS.md, "V's reply", steps 2–4): flood the noise at
//! the coefficients that hold results, switch down to `2^k`, and mask out V's share.
//!
//! One deliberate difference in form from the spec's step (3): V subtracts its share `r` after
//! the switch, as its encoding `round(2^k·r/t)` at modulus `2^k` (exact, `2^(k-64)·r`, for
//! `t = 2^64`), rather than `round(Q·r/t)` before. E still decrypts `A·B - r` exactly.

use rand::CryptoRng;

use super::ciphertext::Ciphertext;
use super::sample;
use super::setting::{Plain, Setting};
use super::wire;
use crate::bits::BitWriter;

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

impl Reply {
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
