//! **Test support only** (`cfg(test)` or the `test-fixture` feature): two parties in one
//! process over a real loopback QUIC link, fed by the in-process randomness fixture (`dyad-testing`).

use std::sync::{Arc, Mutex};

use dyad_link::{PartyLink, loopback_pair};

use crate::randomness::*;
use dyad_randomness::Demand;

use crate::{Config, Party, ProtocolError};
use dyad_randomness::Randomness;
use dyad_testing::fixture::{self, Fixture};

/// Both parties, connected. Keep the value alive while the parties talk: it owns the links.
pub struct Pair<R = Fixture> {
    /// `[P0, P1]`.
    pub parties: [Party<R>; 2],
    /// The links the parties talk over; keep them alive while the parties are in use.
    pub links: [PartyLink; 2],
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
        links: [l0, l1],
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
}

impl Randomness for Counting {
    async fn take_kind(&mut self, kind: Kind, n: usize) -> Result<Batch<Items>, RandomnessError> {
        let batch = self.inner.take_kind(kind, n).await?;
        *self.taken.lock().expect("lock") += Demand::of(batch.tags.kind, batch.tags.count());
        Ok(batch)
    }
}

/// One call to a randomness source: the kind and the count.
pub type Request = (Kind, usize);

/// The fixture with its work moved ahead of the clock, for benchmarks of the online phase
/// (as a prefetching stockpile client has the items ready). It first serves a computation from
/// the fixture while recording its requests; [`Prepared::prepare`] then generates fresh
/// batches for the same requests in the same order, and a rerun of the computation is served
/// from those without generating anything.
pub struct Prepared {
    source: Fixture,
    recorded: Vec<Request>,
    ready: std::collections::VecDeque<(Request, Batch<Items>)>,
}

impl Prepared {
    /// Records while serving from `source`.
    pub fn new(source: Fixture) -> Prepared {
        Prepared {
            source,
            recorded: Vec::new(),
            ready: Default::default(),
        }
    }

    /// Forgets what was recorded so far: a warm-up whose requests the reruns do not repeat
    /// (serving's weight-bound triples are taken once for many requests).
    pub fn forget(&mut self) {
        self.recorded.clear();
    }

    /// Generates batches for everything recorded so far, `times` over (for as many reruns of
    /// the recorded computation); they serve the next requests.
    pub async fn prepare(&mut self, times: usize) -> Result<(), RandomnessError> {
        let recorded = std::mem::take(&mut self.recorded);
        for &request in recorded.iter().cycle().take(times * recorded.len()) {
            let (kind, n) = request;
            let ready = self.source.take_kind(kind, n).await?;
            self.ready.push_back((request, ready));
        }
        Ok(())
    }

    /// The prepared batch for `request`, or, with nothing prepared, a fresh one (recorded).
    async fn serve(&mut self, request: Request) -> Result<Batch<Items>, RandomnessError> {
        match self.ready.pop_front() {
            None => {
                self.recorded.push(request);
                self.source.take_kind(request.0, request.1).await
            }
            Some((r, ready)) if r == request => Ok(ready),
            Some((r, _)) => Err(RandomnessError::Source(format!(
                "prepared for {r:?} but asked for {request:?}"
            ))),
        }
    }
}

impl Randomness for Prepared {
    async fn take_kind(&mut self, kind: Kind, n: usize) -> Result<Batch<Items>, RandomnessError> {
        self.serve((kind, n)).await
    }
}
