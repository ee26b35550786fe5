//! **Test support only** (`cfg(test)` or the `test-fixture` feature): two parties in one
//! process over a real loopback QUIC link, fed by the in-process randomness fixture (`dyad-testing`).

use std::sync::{Arc, Mutex};

use dyad_link::{PartyLink, loopback_pair};

use crate::randomness::*;
use dyad_randomness::Demand;

use crate::{Config, Party, Prime, ProtocolError};
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
        p: Prime,
        n: usize,
    ) -> Result<Batch<ComparisonMasks>, RandomnessError> {
        counted!(self, self.inner.comparison_masks(p, n))
    }
    async fn comparison_bits(
        &mut self,
        n: usize,
    ) -> Result<Batch<ComparisonBits>, RandomnessError> {
        counted!(self, self.inner.comparison_bits(n))
    }
    async fn dabits(&mut self, n: usize) -> Result<Batch<DaBits>, RandomnessError> {
        counted!(self, self.inner.dabits(n))
    }
    async fn bit_triples(&mut self, n: usize) -> Result<Batch<BitTriples>, RandomnessError> {
        counted!(self, self.inner.bit_triples(n))
    }
    async fn modp_triples(
        &mut self,
        p: Prime,
        n: usize,
    ) -> Result<Batch<ModpTriples>, RandomnessError> {
        counted!(self, self.inner.modp_triples(p, n))
    }
    async fn scaled_modp_triples(
        &mut self,
        p: Prime,
        n: usize,
    ) -> Result<Batch<ScaledModpTriples>, RandomnessError> {
        counted!(self, self.inner.scaled_modp_triples(p, n))
    }
}

/// One call to a randomness source, with its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `matrix_triple(m, n, k)`.
    MatrixTriple(usize, usize, usize),
    /// `elementwise_triples(n)`.
    ElementwiseTriples(usize),
    /// `comparison_masks(p, n)`.
    ComparisonMasks(Prime, usize),
    /// `comparison_bits(n)`.
    ComparisonBits(usize),
    /// `dabits(n)`.
    DaBits(usize),
    /// `bit_triples(n)`.
    BitTriples(usize),
    /// `modp_triples(p, n)`.
    ModpTriples(Prime, usize),
    /// `scaled_modp_triples(p, n)`.
    ScaledModpTriples(Prime, usize),
}

/// A batch generated ahead of time.
enum Ready {
    MatrixTriple(Batch<MatrixTriple>),
    ElementwiseTriples(Batch<ElementwiseTriples>),
    ComparisonMasks(Batch<ComparisonMasks>),
    ComparisonBits(Batch<ComparisonBits>),
    DaBits(Batch<DaBits>),
    BitTriples(Batch<BitTriples>),
    ModpTriples(Batch<ModpTriples>),
    ScaledModpTriples(Batch<ScaledModpTriples>),
}

/// The fixture with its work moved ahead of the clock, for benchmarks of the online phase
/// (as a prefetching stockpile client has the items ready). It first serves a computation from
/// the fixture while recording its requests; [`Prepared::prepare`] then generates fresh
/// batches for the same requests in the same order, and a rerun of the computation is served
/// from those without generating anything.
pub struct Prepared {
    source: Fixture,
    recorded: Vec<Request>,
    ready: std::collections::VecDeque<(Request, Ready)>,
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
            let ready = generate(&mut self.source, request).await?;
            self.ready.push_back((request, ready));
        }
        Ok(())
    }

    /// The prepared batch for `request`, or, with nothing prepared, a fresh one (recorded).
    async fn serve(&mut self, request: Request) -> Result<Ready, RandomnessError> {
        match self.ready.pop_front() {
            None => {
                self.recorded.push(request);
                generate(&mut self.source, request).await
            }
            Some((r, ready)) if r == request => Ok(ready),
            Some((r, _)) => Err(RandomnessError::Source(format!(
                "prepared for {r:?} but asked for {request:?}"
            ))),
        }
    }
}

/// The fixture's batch for `request`.
async fn generate(s: &mut Fixture, request: Request) -> Result<Ready, RandomnessError> {
    Ok(match request {
        Request::MatrixTriple(m, n, k) => Ready::MatrixTriple(s.matrix_triple(m, n, k).await?),
        Request::ElementwiseTriples(n) => {
            Ready::ElementwiseTriples(s.elementwise_triples(n).await?)
        }
        Request::ComparisonMasks(p, n) => Ready::ComparisonMasks(s.comparison_masks(p, n).await?),
        Request::ComparisonBits(n) => Ready::ComparisonBits(s.comparison_bits(n).await?),
        Request::DaBits(n) => Ready::DaBits(s.dabits(n).await?),
        Request::BitTriples(n) => Ready::BitTriples(s.bit_triples(n).await?),
        Request::ModpTriples(p, n) => Ready::ModpTriples(s.modp_triples(p, n).await?),
        Request::ScaledModpTriples(p, n) => {
            Ready::ScaledModpTriples(s.scaled_modp_triples(p, n).await?)
        }
    })
}

/// Serves `Request::$variant(args)` and unwraps the batch of that variant.
macro_rules! prepared {
    ($self:ident, $variant:ident $(, $arg:expr)*) => {{
        match $self.serve(Request::$variant($($arg),*)).await? {
            Ready::$variant(batch) => Ok(batch),
            _ => unreachable!("a request is served a batch of its own kind"),
        }
    }};
}

impl Randomness for Prepared {
    async fn matrix_triple(
        &mut self,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<Batch<MatrixTriple>, RandomnessError> {
        prepared!(self, MatrixTriple, m, n, k)
    }
    async fn elementwise_triples(
        &mut self,
        n: usize,
    ) -> Result<Batch<ElementwiseTriples>, RandomnessError> {
        prepared!(self, ElementwiseTriples, n)
    }
    async fn comparison_masks(
        &mut self,
        p: Prime,
        n: usize,
    ) -> Result<Batch<ComparisonMasks>, RandomnessError> {
        prepared!(self, ComparisonMasks, p, n)
    }
    async fn comparison_bits(
        &mut self,
        n: usize,
    ) -> Result<Batch<ComparisonBits>, RandomnessError> {
        prepared!(self, ComparisonBits, n)
    }
    async fn dabits(&mut self, n: usize) -> Result<Batch<DaBits>, RandomnessError> {
        prepared!(self, DaBits, n)
    }
    async fn bit_triples(&mut self, n: usize) -> Result<Batch<BitTriples>, RandomnessError> {
        prepared!(self, BitTriples, n)
    }
    async fn modp_triples(
        &mut self,
        p: Prime,
        n: usize,
    ) -> Result<Batch<ModpTriples>, RandomnessError> {
        prepared!(self, ModpTriples, p, n)
    }
    async fn scaled_modp_triples(
        &mut self,
        p: Prime,
        n: usize,
    ) -> Result<Batch<ScaledModpTriples>, RandomnessError> {
        prepared!(self, ScaledModpTriples, p, n)
    }
}
