//! Shared random bits: `b = s XOR c` with `s` sampled by P0 and `c` by P1, turned into
//! additive shares by correlated OT. Since `b = s + c·(1 - 2s)`, one COT from P0 (correlation
//! `1 - 2s`) to P1 (choice `c`) gives P0 `-sigma` and P1 `sigma + c·(1 - 2s)`; P0 adds `s`.
//! The comparison masks, truncation pairs and daBits are all built this way.

use dyad_link::PartyId;

use super::Generator;
use crate::OfflineError;
use crate::cot::{Field, Group};

/// `v mod` the field's modulus, for a small signed value.
pub(super) fn field_value(field: Field, v: i64) -> u64 {
    match field {
        Field::Ring(64) => v as u64,
        Field::Ring(w) => (v as u64) & ((1 << w) - 1),
        Field::Modp(p) => v.rem_euclid(i64::from(p)) as u64,
    }
}

/// `a + b` in the field.
pub(super) fn field_add(field: Field, a: u64, b: u64) -> u64 {
    match field {
        Field::Ring(w) => field_value(Field::Ring(w), a.wrapping_add(b) as i64),
        Field::Modp(p) => (a + b) % u64::from(p),
    }
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
