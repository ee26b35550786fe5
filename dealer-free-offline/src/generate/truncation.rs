//! Truncation pairs (PROTOCOLS.md, kind 3): a uniform `r` built from 64 shared random bits,
//! with shares of `r`, of its top bit and of `(r mod 2^63) >> f`.
//!
//! Bit `j` is shared in `Z_{2^w}` with the smallest `w` every use needs: `r` weights it by
//! `2^j` (needs `64 - j` bits), `(r mod 2^63) >> f` by `2^(j-f)` (needs `64 - j + f`), and the
//! top bit is used alone (64 bits). The low bits could not be shared more cheaply without
//! leaking: every bit of `r` must be uniform and unknown to both parties, or the opened
//! `x + r` reveals low bits of `x`.

use dyad_link::PartyId;
use dyad_online::Z64;
use dyad_online::randomness::TruncationPairs;
use rand::RngExt;

use super::Generator;
use super::bits::{field_add, field_value};
use crate::OfflineError;
use crate::cot::{Field, Group};

/// The width bit `j` is shared with, for truncation by `f`.
fn width(j: u32, f: u32) -> u32 {
    match j {
        63 => 64,
        j if j >= f => 64 - j + f,
        j => 64 - j,
    }
}

/// Whether P0 sends the COT of bit `j` (P1 sends the others): both directions of the link,
/// and both parties' OT-extension roles, carry half the bits at once.
fn p0_sends(j: usize) -> bool {
    j % 2 == 0
}

impl Generator {
    /// This party's half of `n` truncation pairs for `f` fractional bits.
    ///
    /// Bit `j` is `r_j = a XOR b` for the sender's random bit `a` and the receiver's `b`:
    /// `r_j = a + b·(1 - 2a)`, so one COT (correlation `1 - 2a`, choice `b`) gives additive
    /// shares, to which the sender adds `a`.
    pub async fn truncation_pairs(
        &mut self,
        n: usize,
        f: u32,
    ) -> Result<TruncationPairs, OfflineError> {
        let mine: Vec<u64> = (0..n).map(|_| self.rng.random()).collect();
        let p0 = self.party == PartyId::P0;
        // This party's bits as sender, then as receiver, in ascending order.
        let (sending, receiving): (Vec<usize>, Vec<usize>) =
            (0..64).partition(|&j| p0_sends(j) == p0);
        let groups = |bits: &[usize]| -> Vec<Group> {
            bits.iter()
                .map(|&j| Group::new(n, vec![Field::Ring(width(j as u32, f))]))
                .collect()
        };
        let (sent_groups, received_groups) = (groups(&sending), groups(&receiving));
        let mut sent = vec![vec![0u64; n]; sending.len()];
        let mut received = vec![vec![0u64; n]; receiving.len()];
        let send = self.cots.sender.send(
            &sent_groups,
            |g, i, d| {
                let j = sending[g];
                d[0] = field_value(
                    Field::Ring(width(j as u32, f)),
                    1 - 2 * bit(mine[i], j) as i64,
                );
            },
            |g, i, s| sent[g][i] = s[0],
        );
        let receive = self.cots.receiver.receive(
            &received_groups,
            |g, i| bit(mine[i], receiving[g]) == 1,
            |g, i, s| received[g][i] = s[0],
        );
        let (s, r) = tokio::join!(send, receive);
        s?;
        r?;
        // Bit by bit over all pairs.
        let (mut r, mut r_msb, mut r_low) = (vec![0u64; n], vec![0u64; n], vec![0u64; n]);
        let bits = sending
            .iter()
            .zip(&sent)
            .map(|(&j, v)| (j, v, true))
            .chain(receiving.iter().zip(&received).map(|(&j, v)| (j, v, false)));
        for (j, cots, sender) in bits {
            let field = Field::Ring(width(j as u32, f));
            for (i, &cot) in cots.iter().enumerate() {
                let s = match sender {
                    true => field_add(field, bit(mine[i], j), cot),
                    false => cot,
                };
                r[i] = r[i].wrapping_add(s << j);
                if j >= f as usize && j < 63 {
                    r_low[i] = r_low[i].wrapping_add(s << (j - f as usize));
                }
                if j == 63 {
                    r_msb[i] = s;
                }
            }
        }
        let ring = |v: Vec<u64>| v.into_iter().map(Z64).collect();
        Ok(TruncationPairs {
            f,
            r: ring(r),
            r_msb: ring(r_msb),
            r_low: ring(r_low),
        })
    }
}

fn bit(v: u64, j: usize) -> u64 {
    (v >> j) & 1
}
