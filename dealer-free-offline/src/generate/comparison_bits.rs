//! Masks of the bitwise comparison (`dyad_online::randomness::ComparisonBits`): what
//! `CheckZeroVariant::Bits` consumes per compared element, made by COTs and one garbled circuit.
//!
//! - **The mask's bits.** `r = s XOR c` (`s` from P0, `c` from P1) is XOR-shared as it stands;
//!   one COT per bit position makes its ring shares (as for the CheckZero masks, but without a
//!   `Z_p` field or a flip bit), and a one-bit field of the same COT makes the cross terms of
//!   each two-bit digit's product `r_{2d+1}·r_{2d}` ([`Term::Cross`]): 64 COTs per mask.
//! - **`alpha`** from the batch's wrap circuit ([`Generator::wrap_shares`]).
//! - **The AND triples** of the comparison's tree, 31 per mask, each a "double" triple
//!   `(u; v_lt, v_eq; u·v_lt, u·v_eq)`. With `u = u0 XOR u1` and so on,
//!   `u·v = u0·v0 XOR u1·v1 XOR u0·v1 XOR u1·v0`: the first two are local, and each party
//!   receives the cross term of its own `u` with the peer's `v`s by one COT of two one-bit
//!   fields (choice its `u`, correlation the peer's `(v_lt, v_eq)`). One COT each way per
//!   triple, both directions at once: 62 per mask.
//!
//! 126 COTs in all, against the CheckZero variant's 65 COTs plus 62 mod-p triples and a
//! scaled one by homomorphic encryption.

use dyad_online::Z64;
use dyad_online::randomness::ComparisonBits;
use dyad_online::randomness::items::{BITS, MERGES};
use ndarray::Array1;
use rand::RngExt;

use super::Generator;
use super::bits::Term;
use crate::OfflineError;
use crate::cot::{Field, Group};

impl Generator {
    /// This party's half of `n` masks of the bitwise comparison.
    pub async fn comparison_bits(&mut self, n: usize) -> Result<ComparisonBits, OfflineError> {
        // P0's s or P1's c, one word per mask.
        let mine: Vec<u64> = (0..n).map(|_| self.rng.random()).collect();
        let shares = self
            .random_bits(&mine, BITS, |j| {
                vec![
                    (Field::Ring(64 - j as u32), Term::Bit),
                    (Field::Ring(1), Term::Cross(j ^ 1)),
                ]
            })
            .await?;
        let mut r = vec![0u64; n];
        // Each party's own product of each digit's bits, then the two cross terms.
        let mut digit_and: Vec<u32> = mine.iter().map(|&m| own_digit_and(m)).collect();
        for (j, bit_j) in shares.iter().enumerate() {
            for (i, share) in bit_j.chunks_exact(2).enumerate() {
                r[i] = r[i].wrapping_add(share[0] << j);
                digit_and[i] ^= (share[1] as u32) << (j / 2);
            }
        }
        let r: Array1<Z64> = r.into_iter().map(Z64).collect();
        let alpha = self.wrap_shares(&r, &mine).await?;
        let triples = self.double_and_triples(n * MERGES).await?;
        let slots = |v: &[bool]| -> Array1<u32> {
            v.chunks_exact(MERGES)
                .map(|t| t.iter().rev().fold(0u32, |w, &b| w << 1 | u32::from(b)))
                .collect()
        };
        Ok(ComparisonBits {
            r,
            r_xor: mine.into(),
            digit_and: digit_and.into(),
            alpha: alpha.into(),
            u: slots(&triples.u),
            v_lt: slots(&triples.v_lt),
            v_eq: slots(&triples.v_eq),
            w_lt: slots(&triples.w_lt),
            w_eq: slots(&triples.w_eq),
        })
    }

    /// This party's XOR shares of `n` double AND triples, one bit per triple and field.
    async fn double_and_triples(&mut self, n: usize) -> Result<DoubleAndTriples, OfflineError> {
        let mut random = || -> Vec<bool> { (0..n).map(|_| self.rng.random()).collect() };
        let (u, v_lt, v_eq) = (random(), random(), random());
        let bit = Field::Ring(1);
        let groups = [Group::new(n, vec![bit, bit])];
        // Sent: the peer's u times my (v_lt, v_eq); received: my u times the peer's.
        let (mut sent, mut received) = (vec![[0u64; 2]; n], vec![[0u64; 2]; n]);
        let send = self.cots.sender.send(
            &groups,
            |_, i, d| {
                d[0] = u64::from(v_lt[i]);
                d[1] = u64::from(v_eq[i]);
            },
            |_, i, s| sent[i].copy_from_slice(s),
        );
        let receive = self.cots.receiver.receive(
            &groups,
            |_, i| u[i],
            |_, i, s| received[i].copy_from_slice(s),
        );
        let (s, r) = tokio::join!(send, receive);
        s?;
        r?;
        let cross = |i: usize, q: usize| (sent[i][q] ^ received[i][q]) == 1;
        Ok(DoubleAndTriples {
            w_lt: (0..n).map(|i| (u[i] & v_lt[i]) ^ cross(i, 0)).collect(),
            w_eq: (0..n).map(|i| (u[i] & v_eq[i]) ^ cross(i, 1)).collect(),
            u,
            v_lt,
            v_eq,
        })
    }
}

/// XOR shares of AND triples with a common left input: `w_lt = u·v_lt`, `w_eq = u·v_eq`.
struct DoubleAndTriples {
    u: Vec<bool>,
    v_lt: Vec<bool>,
    v_eq: Vec<bool>,
    w_lt: Vec<bool>,
    w_eq: Vec<bool>,
}

/// `m_{2d+1} AND m_{2d}` at bit `d` of a party's own word: its local term of each digit's
/// product.
fn own_digit_and(m: u64) -> u32 {
    (0..BITS / 2)
        .map(|d| u32::from(m >> (2 * d + 1) & m >> (2 * d) & 1 == 1) << d)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_party_s_own_digit_products() {
        assert_eq!(own_digit_and(0), 0);
        assert_eq!(own_digit_and(u64::MAX), u32::MAX);
        assert_eq!(own_digit_and(0b11_01_10_11), 0b1001);
    }
}
