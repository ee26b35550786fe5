//! Shared random bits: `b = s XOR c` with `s` sampled by one party and `c` by the other, turned
//! into additive shares by correlated OT. Since `b = s + c·(1 - 2s)`, one COT from the holder of
//! `s` (correlation `1 - 2s`) to the other (choice `c`) gives the sender `-sigma` and the
//! receiver `sigma + c·(1 - 2s)`; the sender adds `s`. The comparison masks and daBits are
//! built this way; [`Generator::random_bits`] sends half of a batch's bit
//! positions each way, so both link directions and both parties' OT roles work at once.
//!
//! The same COT can carry a cross product as well: with correlation `s_k` (the sender's bit at
//! another position `k`) in a further field, the receiver's choice `c_j` makes shares of
//! `c_j·s_k`. The bitwise comparison's masks get the product of each two-bit digit this way
//! (`b_j·b_k = s_j·s_k + c_j·c_k + c_j·s_k + c_k·s_j`, the first two local), which is why
//! the positions go to the two directions in pairs.

use dyad_link::PartyId;

use super::Generator;
use crate::OfflineError;
use crate::cot::{Field, Group};

/// Whether P0 sends the COTs of bit position `j` in [`Generator::random_bits`] (P1 the others):
/// positions `2d` and `2d + 1` go the same way, so that a COT of one can carry a cross product
/// with the other.
fn p0_sends(j: usize) -> bool {
    (j / 2).is_multiple_of(2)
}

/// What one field of a bit position's COT shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Term {
    /// The bit `b_j = s_j XOR c_j` (correlation `1 - 2·s_j`; the sender adds `s_j`).
    Bit,
    /// The receiver's bit `j` times the sender's bit at position `k` (correlation `s_k`), where
    /// `k` goes the same way as `j` (see [`p0_sends`]).
    Cross(usize),
}

/// This party's COT outputs, flattened group by group, COT by COT, field by field.
pub(super) struct Shares {
    values: Vec<u64>,
    offsets: Vec<usize>,
    widths: Vec<usize>,
}

impl Shares {
    /// The fields of COT `i` of group `g`.
    pub(super) fn get(&self, g: usize, i: usize) -> &[u64] {
        let at = self.offsets[g] + i * self.widths[g];
        &self.values[at..at + self.widths[g]]
    }
}

impl Generator {
    /// Shares of `positions` random bits for each of `n` items: bit `j` of item `i` is the XOR
    /// of bit `j` of both parties' `mine[i]`, shared in each field of `terms(j)` (or, for a
    /// [`Term::Cross`] field, the cross term it names). The shares go to `sent(i, j, shares)`
    /// for the positions this party sends and to `received(i, j, shares)` for the others, as
    /// the OTs deliver them: a batch's shares all kept at once would be tens of MB.
    pub(super) async fn random_bits(
        &mut self,
        mine: &[u64],
        positions: usize,
        terms: impl Fn(usize) -> Vec<(Field, Term)>,
        mut sent: impl FnMut(usize, usize, &[u64]),
        mut received: impl FnMut(usize, usize, &[u64]),
    ) -> Result<(), OfflineError> {
        let n = mine.len();
        let p0 = self.party == PartyId::P0;
        let bit = |i: usize, j: usize| (mine[i] >> j) & 1;
        let (sending, receiving): (Vec<usize>, Vec<usize>) =
            (0..positions).partition(|&j| p0_sends(j) == p0);
        let groups = |bits: &[usize]| -> Vec<Group> {
            bits.iter()
                .map(|&j| Group::new(n, terms(j).into_iter().map(|(f, _)| f).collect()))
                .collect()
        };
        let (sent_groups, received_groups) = (groups(&sending), groups(&receiving));
        let sent_terms: Vec<Vec<(Field, Term)>> = sending.iter().map(|&j| terms(j)).collect();
        let mut own = Vec::new();
        let send =
            self.cots.sender.send(
                &sent_groups,
                |g, i, d| {
                    let j = sending[g];
                    for (d, (field, term)) in d.iter_mut().zip(&sent_terms[g]) {
                        *d = match *term {
                            Term::Bit => field.small(1 - 2 * bit(i, j) as i64),
                            Term::Cross(k) => bit(i, k),
                        };
                    }
                },
                |g, i, s| {
                    // The sender adds its own bit to a bit's share.
                    let j = sending[g];
                    own.clear();
                    own.extend(s.iter().zip(&sent_terms[g]).map(
                        |(&s, (field, term))| match term {
                            Term::Bit => field.add(bit(i, j), s),
                            Term::Cross(_) => s,
                        },
                    ));
                    sent(i, j, &own);
                },
            );
        let receive = self.cots.receiver.receive(
            &received_groups,
            |g, i| bit(i, receiving[g]) == 1,
            |g, i, s| received(i, receiving[g], s),
        );
        let (s, r) = tokio::join!(send, receive);
        s?;
        r?;
        Ok(())
    }

    /// Correlated OTs from P0 (sender; `delta` is called there) to P1 (receiver; `choice` is
    /// called there).
    pub(super) async fn cot_from_p0(
        &mut self,
        groups: &[Group],
        delta: impl FnMut(usize, usize, &mut [u64]),
        choice: impl FnMut(usize, usize) -> bool,
    ) -> Result<Shares, OfflineError> {
        let mut offsets = Vec::with_capacity(groups.len());
        let mut total = 0;
        for g in groups {
            offsets.push(total);
            total += g.count() * g.fields().len();
        }
        let widths: Vec<usize> = groups.iter().map(|g| g.fields().len()).collect();
        let mut values = vec![0u64; total];
        let mut store = |g: usize, i: usize, s: &[u64]| {
            let at = offsets[g] + i * widths[g];
            values[at..at + s.len()].copy_from_slice(s);
        };
        match self.party {
            PartyId::P0 => self.cots.sender.send(groups, delta, &mut store).await?,
            PartyId::P1 => {
                self.cots
                    .receiver
                    .receive(groups, choice, &mut store)
                    .await?
            }
        }
        Ok(Shares {
            values,
            offsets,
            widths,
        })
    }
}
