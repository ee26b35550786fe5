//! `eta = [r > x]` for the public `x` and the mask `r` whose bits are XOR-shared: the
//! comparison of [`super::CheckZeroVariant::Bits`], in place of step 2-3 of PROTOCOLS.md's MSB
//! (the `c[j]` and a CheckZero in `Z_p`).
//!
//! It is the millionaires' comparison of CrypTFlow2 (Rathee et al., CCS 2020) and Cheetah
//! (Huang et al., USENIX Security 2022) with its leaves made offline. Split `r` and `x` into 32
//! two-bit digits. For digit `d` with mask bits `(h, l)` and public bits `(X, Y)`:
//!
//! - `EQ_d = [r_d = x_d] = (h XOR !X)·(l XOR !Y) = hl XOR h·!Y XOR l·!X XOR !X·!Y`,
//! - `LT_d = [r_d > x_d] = h·!X XOR !Y·hl XOR !Y·!X·l`,
//!
//! linear in XOR shares of `h`, `l` and `hl`, which the mask carries
//! ([`ComparisonBits::digit_and`]): the leaves cost nothing online. Five levels then merge
//! neighbouring ranges, high `H` over low `L`:
//!
//! `LT = LT_H XOR EQ_H·LT_L`, `EQ = EQ_H·EQ_L`,
//!
//! both products with the common input `EQ_H`, so one "double" AND triple per merge: open
//! `EQ_H XOR u`, `LT_L XOR v_lt` and `EQ_L XOR v_eq` (3 bits each way), then
//! `a·b = w XOR D·v XOR E·u XOR D·E` (the last term at P0 only). After the fifth level, `LT`
//! of the whole word is `eta`, XOR-shared. What either party receives is its peer's shares
//! masked by fresh triple bits: uniform and independent of the secret.

use dyad_link::PartyId;

use crate::randomness::ComparisonBits;
use crate::randomness::items::MERGES;
use crate::{Party, ProtocolError, Z64};
use dyad_randomness::Randomness;

/// The digits of a 64-bit word, and the ranges of each level of the tree (32, 16, 8, 4, 2).
const DIGITS: u32 = 32;

/// This party's XOR shares of `eta[e] = [r[e] > x[e]]` for the opened `x` and the masks' `r`.
/// Five rounds.
pub(crate) async fn mask_exceeds<R: Randomness>(
    p: &mut Party<R>,
    x: &[Z64],
    masks: &ComparisonBits,
) -> Result<Vec<u8>, ProtocolError> {
    let p0 = p.id() == PartyId::P0;
    // Leaves: per element, bit d of `lt` / `eq` is this party's share of LT_d / EQ_d.
    let (mut lt, mut eq): (Vec<u32>, Vec<u32>) = x
        .iter()
        .enumerate()
        .map(|(e, x)| {
            let (not_x, not_y) = (!odd_bits(x.0), !even_bits(x.0));
            let (h, l) = (odd_bits(masks.r_xor[e]), even_bits(masks.r_xor[e]));
            let hl = masks.digit_and[e];
            let constant = match p0 {
                true => not_x & not_y,
                false => 0,
            };
            let lt = (h & not_x) ^ (not_y & hl) ^ (not_y & not_x & l);
            let eq = hl ^ (h & not_y) ^ (l & not_x) ^ constant;
            (lt, eq)
        })
        .unzip();

    let mut slot = 0; // the first triple slot of the level
    let mut ranges = DIGITS;
    while ranges > 1 {
        let merges = ranges / 2;
        let width = (1u32 << merges) - 1;
        let take = |w: u32| (w >> slot) & width;
        // This level's three masked inputs per element, `merges` bits each.
        let mut opened = Vec::with_capacity(x.len() * 3 * merges as usize);
        for e in 0..x.len() {
            let (eq_hi, lt_lo, eq_lo) = (
                odd_bits(u64::from(eq[e])),
                even_bits(u64::from(lt[e])),
                even_bits(u64::from(eq[e])),
            );
            for word in [
                eq_hi ^ take(masks.u[e]),
                lt_lo ^ take(masks.v_lt[e]),
                eq_lo ^ take(masks.v_eq[e]),
            ] {
                opened.extend((0..merges).map(|b| (word >> b & 1) as u8));
            }
        }
        let opened = p.open_bits(&opened).await?;
        let word = |e: usize, k: usize| {
            let bits = &opened[(3 * e + k) * merges as usize..][..merges as usize];
            bits.iter()
                .enumerate()
                .fold(0u32, |w, (b, &bit)| w | u32::from(bit) << b)
        };
        for e in 0..x.len() {
            let (d, e_lt, e_eq) = (word(e, 0), word(e, 1), word(e, 2));
            let (u, v_lt, v_eq) = (take(masks.u[e]), take(masks.v_lt[e]), take(masks.v_eq[e]));
            let de = |f: u32| if p0 { d & f } else { 0 };
            let eq_hi_lt_lo = take(masks.w_lt[e]) ^ (d & v_lt) ^ (e_lt & u) ^ de(e_lt);
            let eq_hi_eq_lo = take(masks.w_eq[e]) ^ (d & v_eq) ^ (e_eq & u) ^ de(e_eq);
            lt[e] = odd_bits(u64::from(lt[e])) ^ eq_hi_lt_lo;
            eq[e] = eq_hi_eq_lo;
        }
        slot += merges;
        ranges = merges;
    }
    debug_assert_eq!(slot as usize, MERGES);
    Ok(lt.into_iter().map(|w| (w & 1) as u8).collect())
}

/// Bits 0, 2, 4, ... of `w`, packed into the low 32 bits.
fn even_bits(w: u64) -> u32 {
    let mut w = w & 0x5555_5555_5555_5555;
    w = (w | w >> 1) & 0x3333_3333_3333_3333;
    w = (w | w >> 2) & 0x0f0f_0f0f_0f0f_0f0f;
    w = (w | w >> 4) & 0x00ff_00ff_00ff_00ff;
    w = (w | w >> 8) & 0x0000_ffff_0000_ffff;
    w = (w | w >> 16) & 0x0000_0000_ffff_ffff;
    w as u32
}

/// Bits 1, 3, 5, ... of `w`, packed into the low 32 bits.
fn odd_bits(w: u64) -> u32 {
    even_bits(w >> 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_and_odd_bits_unshuffle_a_word() {
        let w = 0xdead_beef_0123_4567u64;
        let (even, odd) = (even_bits(w), odd_bits(w));
        for d in 0..32 {
            assert_eq!(u64::from(even >> d & 1), w >> (2 * d) & 1);
            assert_eq!(u64::from(odd >> d & 1), w >> (2 * d + 1) & 1);
        }
    }
}
