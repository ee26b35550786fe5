//! **Test support only** (`cfg(test)` or the `test-fixture` feature): two parties in one
//! process over a real loopback QUIC link, fed by the in-process randomness fixture.

use std::sync::{Arc, Mutex};

use dyad_link::{PartyLink, loopback_pair};

use crate::cost::Demand;
use crate::randomness::*;

use crate::randomness::fixture::{self, Fixture};
use crate::{Config, Party, ProtocolError, Randomness};

/// Both parties, connected. Keep the value alive while the parties talk: it owns the links.
pub struct Pair<R = Fixture> {
    /// `[P0, P1]`.
    pub parties: [Party<R>; 2],
    _links: [PartyLink; 2],
}

/// Connects two parties on loopback with fixture randomness from `seed`.
pub async fn pair(config: Config, seed: u64) -> Result<Pair, ProtocolError> {
    pair_with([config, config], fixture::pair(seed)).await
}

/// Connects two parties on loopback with the given configurations and sources.
pub async fn pair_with<R: Randomness>(
    configs: [Config; 2],
    sources: [R; 2],
) -> Result<Pair<R>, ProtocolError> {
    let (mut l0, mut l1) = loopback_pair().await?;
    let [r0, r1] = sources;
    let (p0, p1) = tokio::try_join!(
        Party::new(&mut l0, r0, configs[0]),
        Party::new(&mut l1, r1, configs[1])
    )?;
    Ok(Pair {
        parties: [p0, p1],
        _links: [l0, l1],
    })
}

/// The fixture, recording how many items of each kind it hands out.
pub struct Counting {
    inner: Fixture,
    taken: Arc<Mutex<Demand>>,
}

impl Counting {
    /// Counts what `inner` hands out into `taken`.
    pub fn new(inner: Fixture, taken: Arc<Mutex<Demand>>) -> Counting {
        Counting { inner, taken }
    }

    fn record<T>(&self, batch: &Batch<T>) {
        *self.taken.lock().expect("lock") += Demand::of(batch.tags.kind, batch.tags.count());
    }
}

macro_rules! counted {
    ($self:ident, $call:expr) => {{
        let batch = $call.await?;
        $self.record(&batch);
        Ok(batch)
    }};
}

impl Randomness for Counting {
    async fn matrix_triple(
        &mut self,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<Batch<MatrixTriple>, RandomnessError> {
        counted!(self, self.inner.matrix_triple(m, n, k))
    }
    async fn elementwise_triples(
        &mut self,
        n: usize,
    ) -> Result<Batch<ElementwiseTriples>, RandomnessError> {
        counted!(self, self.inner.elementwise_triples(n))
    }
    async fn comparison_masks(
        &mut self,
        n: usize,
    ) -> Result<Batch<ComparisonMasks>, RandomnessError> {
        counted!(self, self.inner.comparison_masks(n))
    }
    async fn truncation_pairs(
        &mut self,
        n: usize,
        f: u32,
    ) -> Result<Batch<TruncationPairs>, RandomnessError> {
        counted!(self, self.inner.truncation_pairs(n, f))
    }
    async fn dabits(&mut self, n: usize) -> Result<Batch<DaBits>, RandomnessError> {
        counted!(self, self.inner.dabits(n))
    }
    async fn modp_triples(&mut self, n: usize) -> Result<Batch<ModpTriples>, RandomnessError> {
        counted!(self, self.inner.modp_triples(n))
    }
    async fn scaled_modp_triples(
        &mut self,
        n: usize,
    ) -> Result<Batch<ScaledModpTriples>, RandomnessError> {
        counted!(self, self.inner.scaled_modp_triples(n))
    }
}
