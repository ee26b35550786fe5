//! daBits (PROTOCOLS.md, kind 4): a random bit XOR-shared as `(s, c)` and, by one COT, shared
//! in `Z_{2^64}` as well.

use dyad_link::PartyId;
use dyad_randomness::DaBits;
use dyad_randomness::Z64;
use ndarray::Array1;
use rand::RngExt;

use super::Generator;
use crate::OfflineError;
use crate::cot::{Field, Group};

impl Generator {
    /// This party's half of `n` daBits.
    pub async fn dabits(&mut self, n: usize) -> Result<DaBits, OfflineError> {
        let mine: Vec<bool> = (0..n).map(|_| self.rng.random()).collect();
        let field = Field::Ring(64);
        let groups = [Group::new(n, vec![field])];
        let shares = self
            .cot_from_p0(
                &groups,
                |_, i, d| d[0] = if mine[i] { u64::MAX } else { 1 }, // 1 - 2s
                |_, i| mine[i],
            )
            .await?;
        let ring = (0..n)
            .map(|i| {
                let cot = shares.get(0, i)[0];
                Z64(match self.party {
                    PartyId::P0 => field.add(u64::from(mine[i]), cot),
                    PartyId::P1 => cot,
                })
            })
            .collect();
        Ok(DaBits {
            xor: mine.iter().map(|&b| u8::from(b)).collect::<Array1<u8>>(),
            ring,
        })
    }
}
