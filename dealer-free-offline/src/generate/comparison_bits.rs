//! Masks of the bitwise comparison (`dyad_randomness::ComparisonBits`): what
//! `CheckZeroVariant::Bits` consumes per compared element, made by COTs and one garbled circuit.
//!
//! - **The mask's bits.** `r = s XOR c` (`s` from P0, `c` from P1) is XOR-shared as it stands;
//!   one COT per bit position makes its ring shares (as for the CheckZero masks, but without a
//!   `Z_p` field or a flip bit), and a one-bit field of the same COT makes the cross terms of
//!   each two-bit digit's product `r_{2d+1}·r_{2d}` ([`Term::Cross`]): 64 COTs per mask.
//! - **`alpha`** from the batch's wrap circuit ([`Generator::wrap_shares`]).
//! - **The AND triples** of the comparison's tree, 31 per mask, each a "double" triple
//!   `(u; v_lt, v_eq; u·v_lt, u·v_eq)`. With `u = u0 XOR u1` and so on,
//!   `u·v = u0·v0 XOR u1·v1 XOR u0·v1 XOR u1·v0`: the first two are local, and each cross
//!   term comes from one random OT with no correction at all (the sender's `v`s are bits of
//!   its two keys' XOR, the receiver's choice is its `u`; ALSZ13's OT-based AND triples).
//!   One random OT each way per triple, both directions at once: 62 per mask.
//!
//! 64 COTs and 62 random OTs in all, against the CheckZero variant's 65 COTs plus 62 mod-p
//! triples and a scaled one by homomorphic encryption.

use dyad_randomness::ComparisonBits;
use dyad_randomness::Z64;
use dyad_randomness::items::{BITS, MERGES, digit_products};
use ndarray::Array1;
use rand::RngExt;

use super::Generator;
use super::shared_bits::Term;
use crate::OfflineError;
use crate::cot::Field;

impl Generator {
    /// This party's half of `n` masks of the bitwise comparison.
    pub async fn comparison_bits(&mut self, n: usize) -> Result<ComparisonBits, OfflineError> {
        // P0's s or P1's c, one word per mask.
        let mine: Vec<u64> = (0..n).map(|_| self.rng.random()).collect();
        // Each direction's sums of the ring shares and XORs of the cross terms; then each
        // party's own product of each digit's bits.
        let mut sums = [
            (vec![0u64; n], vec![0u32; n]),
            (vec![0u64; n], vec![0u32; n]),
        ];
        let [sent, received] = &mut sums;
        let add = |(r, digit_and): &mut (Vec<u64>, Vec<u32>), i: usize, j: usize, s: &[u64]| {
            r[i] = r[i].wrapping_add(s[0] << j);
            digit_and[i] ^= (s[1] as u32) << (j / 2);
        };
        self.random_bits(
            &mine,
            BITS,
            |j| {
                vec![
                    (Field::Ring(64 - j as u32), Term::Bit),
                    (Field::Ring(1), Term::Cross(j ^ 1)),
                ]
            },
            |i, j, s| add(sent, i, j, s),
            |i, j, s| add(received, i, j, s),
        )
        .await?;
        let [(r_sent, and_sent), (r_received, and_received)] = sums;
        let r: Vec<u64> = r_sent
            .iter()
            .zip(&r_received)
            .map(|(a, b)| a.wrapping_add(*b))
            .collect();
        let digit_and: Vec<u32> = (0..n)
            .map(|i| digit_products(mine[i]) ^ and_sent[i] ^ and_received[i])
            .collect();
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
    ///
    /// One random OT each way per slot, with no correction: in the OT this party receives,
    /// its choice is its `u` and it gets `y = m_u`; in the one it sends, it holds `m0, m1` and
    /// takes `v = m0 XOR m1` and `x = m0` (two bits of each key: `lt`, `eq`). Then
    /// `u_peer·v = x XOR y_peer`, so `w = u·v XOR x XOR y` is this party's share of
    /// `(u0 XOR u1)·(v0 XOR v1)`.
    async fn double_and_triples(&mut self, n: usize) -> Result<DoubleAndTriples, OfflineError> {
        let slots = (1u32 << MERGES) - 1;
        let u: Vec<u32> = (0..n).map(|_| self.rng.random::<u32>() & slots).collect();
        // OT `k` is slot `k % MERGES` of mask `k / MERGES`.
        let choices: Vec<bool> = (0..n * MERGES)
            .map(|k| u[k / MERGES] >> (k % MERGES) & 1 == 1)
            .collect();
        let mut t = DoubleAndTriples {
            u,
            v_lt: vec![0; n],
            v_eq: vec![0; n],
            w_lt: vec![0; n],
            w_eq: vec![0; n],
        };
        // OT `k`'s mask, the `lt` and `eq` bits (bits 0 and 1) of a key word, and its slot.
        let at = |k: usize, w: u64| (k / MERGES, (w & 1) as u32, (w >> 1 & 1) as u32, k % MERGES);
        let mut y = (vec![0u32; n], vec![0u32; n]);
        let (v_lt, v_eq, w_lt, w_eq) = (&mut t.v_lt, &mut t.v_eq, &mut t.w_lt, &mut t.w_eq);
        let send = self.cots.sender.random_send(n * MERGES, |k, [m0, m1]| {
            let (i, x_lt, x_eq, slot) = at(k, m0.low());
            let (_, d_lt, d_eq, _) = at(k, m0.low() ^ m1.low());
            v_lt[i] |= d_lt << slot;
            v_eq[i] |= d_eq << slot;
            w_lt[i] |= x_lt << slot;
            w_eq[i] |= x_eq << slot;
        });
        let receive = self.cots.receiver.random_receive(&choices, |k, key| {
            let (i, y_lt, y_eq, slot) = at(k, key.low());
            y.0[i] |= y_lt << slot;
            y.1[i] |= y_eq << slot;
        });
        let (s, r) = tokio::join!(send, receive);
        s?;
        r?;
        // w = u·v XOR x XOR y.
        for i in 0..n {
            t.w_lt[i] ^= y.0[i] ^ (t.u[i] & t.v_lt[i]);
            t.w_eq[i] ^= y.1[i] ^ (t.u[i] & t.v_eq[i]);
        }
        Ok(t)
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
