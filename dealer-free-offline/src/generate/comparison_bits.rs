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
        let t = self.double_and_triples(n).await?;
        Ok(ComparisonBits {
            r,
            r_xor: mine.into(),
            digit_and: digit_and.into(),
            alpha: alpha.into(),
            u: t.u.into(),
            v_lt: t.v_lt.into(),
            v_eq: t.v_eq.into(),
            w_lt: t.w_lt.into(),
            w_eq: t.w_eq.into(),
        })
    }

    /// This party's XOR shares of the [`MERGES`] double AND triples of each of `n` masks, one
    /// word per mask and field (bit `t` is slot `t`).
    async fn double_and_triples(&mut self, n: usize) -> Result<DoubleAndTriples, OfflineError> {
        let slots = (1u32 << MERGES) - 1;
        let mut random =
            || -> Vec<u32> { (0..n).map(|_| self.rng.random::<u32>() & slots).collect() };
        let (u, v_lt, v_eq) = (random(), random(), random());
        // COT `k` is slot `k % MERGES` of mask `k / MERGES`.
        let at = |k: usize| (k / MERGES, k % MERGES);
        let bit = |w: &[u32], k: usize| {
            let (i, t) = at(k);
            u64::from(w[i] >> t & 1)
        };
        let field = Field::Ring(1);
        let groups = [Group::new(n * MERGES, vec![field, field])];
        // Sent: the peer's u times my (v_lt, v_eq); received: my u times the peer's.
        let (mut sent, mut received) = (
            [vec![0u32; n], vec![0u32; n]],
            [vec![0u32; n], vec![0u32; n]],
        );
        let keep = |out: &mut [Vec<u32>; 2], k: usize, s: &[u64]| {
            let (i, t) = at(k);
            out[0][i] |= (s[0] as u32) << t;
            out[1][i] |= (s[1] as u32) << t;
        };
        let send = self.cots.sender.send(
            &groups,
            |_, k, d| {
                d[0] = bit(&v_lt, k);
                d[1] = bit(&v_eq, k);
            },
            |_, k, s| keep(&mut sent, k, s),
        );
        let receive = self.cots.receiver.receive(
            &groups,
            |_, k| bit(&u, k) == 1,
            |_, k, s| keep(&mut received, k, s),
        );
        let (s, r) = tokio::join!(send, receive);
        s?;
        r?;
        let w = |q: usize, v: &[u32]| -> Vec<u32> {
            (0..n)
                .map(|i| (u[i] & v[i]) ^ sent[q][i] ^ received[q][i])
                .collect()
        };
        Ok(DoubleAndTriples {
            w_lt: w(0, &v_lt),
            w_eq: w(1, &v_eq),
            u,
            v_lt,
            v_eq,
        })
    }
}

/// XOR shares of AND triples with a common left input, `w_lt = u·v_lt` and `w_eq = u·v_eq`,
/// bitwise: one word per mask, bit `t` for slot `t`.
struct DoubleAndTriples {
    u: Vec<u32>,
    v_lt: Vec<u32>,
    v_eq: Vec<u32>,
    w_lt: Vec<u32>,
    w_eq: Vec<u32>,
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
