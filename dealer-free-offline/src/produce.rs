//! Producing one batch of a stream's items as store records.

use dyad_randomness::{Codec, Kind};

use crate::{Generator, OfflineError};

/// How many items of `kind` one batch holds: about four million OTs' worth of work, a few
/// seconds, so that a batch is a modest loss if a worker dies and progress shows often.
pub fn batch_items(kind: Kind) -> u64 {
    match kind {
        Kind::MatrixTriple { .. } => 1,
        Kind::ElementwiseTriple => 1 << 15,
        Kind::ComparisonMask { .. } => 1 << 14,
        Kind::ComparisonBits => 1 << 15,
        Kind::DaBit => 1 << 20,
        Kind::BitTriple => 1 << 19,
        Kind::ModpTriple { .. } => 1 << 18,
        Kind::ScaledModpTriple { .. } => 1 << 16,
    }
}

impl Generator {
    /// This party's records of `count` fresh items of `kind`.
    pub async fn produce(&mut self, kind: Kind, count: usize) -> Result<Vec<u8>, OfflineError> {
        Ok(match kind {
            Kind::MatrixTriple { m, n, k } => {
                let mut records = Vec::with_capacity(count * kind.item_bytes());
                for _ in 0..count {
                    records.extend(self.matrix_triple(m, n, k).await?.encode());
                }
                records
            }
            Kind::ElementwiseTriple => self.elementwise_triples(count).await?.encode(),
            Kind::ComparisonMask { p } => self.comparison_masks(p, count).await?.encode(),
            Kind::ComparisonBits => self.comparison_bits(count).await?.encode(),
            Kind::DaBit => self.dabits(count).await?.encode(),
            Kind::BitTriple => self.bit_triples(count).await?.encode(),
            Kind::ModpTriple { p } => self.modp_triples(p, count).await?.encode(),
            Kind::ScaledModpTriple { p } => self.scaled_modp_triples(p, count).await?.encode(),
        })
    }
}
