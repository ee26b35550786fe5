//! The online runtime's source of correlated randomness: its own stockpile.
//!
//! Both parties must consume the two halves of the same items. P0 leads: it takes the lowest
//! available items of a stream from its stockpile and announces their tags to P1 over a
//! channel of the party link; P1 takes exactly those from its own stockpile. Items are taken
//! in batches of several requests' worth and buffered, so a protocol step rarely waits on the
//! store. Every Take is acknowledged as soon as its reply has arrived.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use dyad_link::{Channel, PartyId};
use dyad_online::Prime;
use dyad_online::bytes::{Reader, put_string};
use dyad_online::randomness::{
    Batch, BitTriples, Codec, ComparisonBits, ComparisonMasks, DaBits, ElementwiseTriples, Kind,
    MatrixTriple, ModpTriples, Randomness, RandomnessError, ScaledModpTriples, TagRange, Tags,
};
use tonic::{Code, Status};

use dyad_store::MAX_WAIT;
use dyad_store::client::{StoreClient, Taken};
use dyad_store::db::{ItemRange, MAX_MESSAGE_BYTES};
use dyad_vocabulary::{Pool, Stream};

/// How the two runtimes coordinate: what P0 took, or why it could not.
enum Announcement {
    Took {
        stream: String,
        ranges: Vec<ItemRange>,
    },
    Failed {
        stream: String,
        reason: String,
    },
}

impl Announcement {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Announcement::Took { stream, ranges } => {
                out.push(0);
                put_string(&mut out, stream);
                out.extend_from_slice(&(ranges.len() as u32).to_le_bytes());
                for r in ranges {
                    out.extend_from_slice(&r.lane.to_le_bytes());
                    out.extend_from_slice(&r.first.to_le_bytes());
                    out.extend_from_slice(&r.count.to_le_bytes());
                }
            }
            Announcement::Failed { stream, reason } => {
                out.push(1);
                put_string(&mut out, stream);
                put_string(&mut out, reason);
            }
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Announcement> {
        let mut r = Reader::new(bytes);
        let tag = r.u8().ok()?;
        let stream = r.string().ok()??;
        let announcement = match tag {
            0 => {
                let n = r.u32().ok()? as usize;
                let mut ranges = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    ranges.push(ItemRange {
                        lane: r.u32().ok()?,
                        first: r.u64().ok()?,
                        count: r.u64().ok()?,
                    });
                }
                Announcement::Took { stream, ranges }
            }
            1 => Announcement::Failed {
                stream,
                reason: r.string().ok()??,
            },
            _ => return None,
        };
        r.is_empty().then_some(announcement)
    }
}

/// Records of one stream taken but not yet used, with their tags.
#[derive(Default)]
struct Buffer {
    records: VecDeque<u8>,
    tags: VecDeque<TagRange>,
}

impl Buffer {
    fn items(&self) -> u64 {
        self.tags.iter().map(TagRange::count).sum()
    }

    fn push(&mut self, taken: &Taken) {
        self.records.extend(taken.payload.iter());
        self.tags.extend(
            taken
                .ranges
                .iter()
                .map(|r| TagRange::new(r.lane, r.first, r.count)),
        );
    }

    /// The first `n` items' records and tags.
    fn pop(&mut self, n: u64, item_bytes: usize) -> (Vec<u8>, Vec<TagRange>) {
        let records: Vec<u8> = self.records.drain(..n as usize * item_bytes).collect();
        let mut tags = Vec::new();
        let mut left = n;
        while left > 0 {
            let front = self.tags.front_mut().expect("the buffer holds n items");
            let k = front.count().min(left);
            tags.push(TagRange::new(front.lane, front.seqs.start, k));
            front.seqs.start += k;
            if front.count() == 0 {
                self.tags.pop_front();
            }
            left -= k;
        }
        (records, tags)
    }
}

/// At most this many bytes of one kind are taken ahead of need.
pub const PREFETCH_BYTES: u64 = 2 << 20;

/// A party's correlated randomness, pulled from its own stockpile.
pub struct StockpileRandomness {
    party: PartyId,
    client: StoreClient,
    coordination: Channel,
    buffers: HashMap<Kind, Buffer>,
    wait: Duration,
    prefetch: u64,
    in_store: Duration,
    /// The pool whose streams it takes from.
    pool: Pool,
}

impl StockpileRandomness {
    /// Uses the stockpile behind `client`, which must be `party`'s, and coordinates with the
    /// peer over `coordination` (a channel of the party link opened for this purpose by both
    /// parties). A request waits up to `wait` in all for the offline workers to supply what
    /// it needs (longer than one Take may wait: it asks again).
    pub async fn new(
        party: PartyId,
        mut client: StoreClient,
        coordination: Channel,
        wait: Duration,
    ) -> Result<StockpileRandomness, String> {
        let inventory = client
            .inventory()
            .await
            .map_err(|e| format!("the stockpile at {}: {}", client.addr(), e.message()))?;
        if inventory.party as usize != party.index() {
            return Err(format!(
                "the stockpile at {} is P{}'s; this is {party}",
                client.addr(),
                inventory.party
            ));
        }
        Ok(StockpileRandomness {
            party,
            client,
            coordination,
            buffers: HashMap::new(),
            wait,
            prefetch: 4,
            in_store: Duration::ZERO,
            pool: Pool::default(),
        })
    }

    /// Take from the streams of `pool` rather than the default pool's.
    pub fn in_pool(mut self, pool: Pool) -> StockpileRandomness {
        self.pool = pool;
        self
    }

    /// The name of `kind`'s stream in this job's pool.
    fn stream(&self, kind: Kind) -> String {
        Stream::new(&self.pool, kind).to_string()
    }

    /// Take `factor` requests' worth at a time (default 4), up to [`PREFETCH_BYTES`] per take
    /// beyond what is needed: fewer store round trips, at the price of what is left unused
    /// when a job ends. Matrix triples are taken as needed, one per product.
    pub fn with_prefetch(mut self, factor: u64) -> StockpileRandomness {
        self.prefetch = factor.max(1);
        self
    }

    async fn take<T: Codec>(&mut self, kind: Kind, n: usize) -> Result<Batch<T>, RandomnessError> {
        let n = n as u64;
        let started = Instant::now();
        while self.buffers.get(&kind).map_or(0, Buffer::items) < n {
            match self.party {
                PartyId::P0 => self.lead(kind, n).await?,
                PartyId::P1 => self.follow(kind).await?,
            }
        }
        self.in_store += started.elapsed();
        let buffer = self.buffers.get_mut(&kind).expect("filled above");
        let (records, ranges) = buffer.pop(n, kind.item_bytes());
        let items = T::decode(kind, &records).map_err(|e| {
            RandomnessError::Source(format!("malformed {kind} records in the stockpile: {e}"))
        })?;
        Ok(Batch {
            tags: Tags { kind, ranges },
            items,
        })
    }

    /// P0: takes from the stockpile and tells P1 what it took (or why it could not).
    async fn lead(&mut self, kind: Kind, n: u64) -> Result<(), RandomnessError> {
        let stream = self.stream(kind);
        let per_take = (MAX_MESSAGE_BYTES / kind.item_bytes() as u64).max(1);
        // A matrix triple is sized for one product (in serving, for 64 requests already):
        // taking more ahead saves little and loses them when the job ends.
        let ahead = match kind {
            Kind::MatrixTriple { .. } => 1,
            _ => (PREFETCH_BYTES / kind.item_bytes() as u64).max(1),
        };
        let want = n
            .saturating_mul(self.prefetch)
            .min(per_take)
            .min(ahead)
            .max(n);
        let mut patience = Patience::new(self.wait);
        let result = loop {
            match self
                .client
                .take_up_to(&stream, n, want, patience.next())
                .await
            {
                Err(s) if patience.again(&s, self.client.addr()).await => {}
                done => break done,
            }
        };
        let announcement = match &result {
            Ok(taken) => Announcement::Took {
                stream: stream.clone(),
                ranges: taken.ranges.clone(),
            },
            Err(status) => Announcement::Failed {
                stream: stream.clone(),
                reason: status.message().to_owned(),
            },
        };
        self.coordination.send(&announcement.encode()).await?;
        let taken = result.map_err(|s| from_status(&stream, &s))?;
        self.accept(kind, taken)
    }

    /// P1: takes exactly what P0 announces next.
    async fn follow(&mut self, kind: Kind) -> Result<(), RandomnessError> {
        let bytes = self.coordination.recv().await?;
        match Announcement::decode(&bytes) {
            // Both runtimes request the same kinds in the same order, and P1 reads an
            // announcement exactly when P0 made one: any other kind means the jobs diverged.
            Some(Announcement::Took { stream, .. }) if stream != self.stream(kind) => {
                Err(diverged(&stream, kind))
            }
            Some(Announcement::Took { stream, ranges }) => {
                let mut patience = Patience::new(self.wait);
                let taken = loop {
                    match self
                        .client
                        .take_exact(&stream, &ranges, patience.next())
                        .await
                    {
                        Err(s) if patience.again(&s, self.client.addr()).await => {}
                        done => break done,
                    }
                }
                .map_err(|s| from_status(&stream, &s))?;
                if taken.ranges != ranges {
                    return Err(RandomnessError::Source(format!(
                        "the stockpile at {} returned other {stream} items than those named",
                        self.client.addr()
                    )));
                }
                self.accept(kind, taken)
            }
            Some(Announcement::Failed { stream, .. }) if stream != self.stream(kind) => {
                Err(diverged(&stream, kind))
            }
            Some(Announcement::Failed { stream, reason }) => Err(RandomnessError::Exhausted {
                kind: stream,
                detail: format!("the peer's stockpile could not supply it: {reason}"),
            }),
            None => Err(RandomnessError::Source(format!(
                "the peer sent an unreadable announcement while this party waited for {kind}"
            ))),
        }
    }

    /// Checks a Take's reply, acknowledges it and buffers its records.
    fn accept(&mut self, kind: Kind, taken: Taken) -> Result<(), RandomnessError> {
        let mut client = self.client.clone();
        let lease = taken.lease;
        tokio::spawn(async move {
            if let Err(e) = client.ack(lease).await {
                tracing::warn!(
                    "acknowledging lease {lease} failed ({}): its items count as discarded",
                    e.message()
                );
            }
        });
        let count: u64 = taken.ranges.iter().map(|r| r.count).sum();
        let expected = count as usize * kind.item_bytes();
        if taken.item_bytes as usize != kind.item_bytes() || taken.payload.len() != expected {
            return Err(RandomnessError::Source(format!(
                "the stockpile returned {} bytes of {}-byte records for {count} {kind} items",
                taken.payload.len(),
                taken.item_bytes
            )));
        }
        self.buffers.entry(kind).or_default().push(&taken);
        Ok(())
    }
}

fn diverged(announced: &str, needed: Kind) -> RandomnessError {
    RandomnessError::Source(format!(
        "the two jobs diverged: the peer took {announced} where this party needs {needed} \
         (do both run the same model, batch size and data?)"
    ))
}

/// Waiting for items longer than one Take may ([`MAX_WAIT`]): Take again while the
/// stockpile lacks items, or cannot be reached (restarting, say), until the deadline.
///
/// Taking again after a lost reply is safe: the lost reply's items stay leased until their
/// lease expires and are then discarded, never handed out again. (If that happens to P1's
/// TakeExact, its retry finds the named items gone and the job stops with that error.)
struct Patience {
    deadline: Instant,
    /// The pause before the next attempt after a transport failure; it doubles up to 2 s.
    backoff: Duration,
}

impl Patience {
    fn new(wait: Duration) -> Patience {
        Patience {
            deadline: Instant::now() + wait,
            backoff: Duration::from_millis(100),
        }
    }

    /// How long the next Take may wait.
    fn next(&self) -> Duration {
        self.deadline
            .saturating_duration_since(Instant::now())
            .min(MAX_WAIT)
    }

    /// Whether to Take again after `status`; waits first if the stockpile was unreachable.
    async fn again(&mut self, status: &Status, store: &str) -> bool {
        if Instant::now() >= self.deadline {
            return false;
        }
        match status.code() {
            Code::ResourceExhausted => true,
            // The store's own refusals have other codes; these come from the connection.
            Code::Unavailable | Code::Unknown => {
                tracing::warn!(
                    "the stockpile at {store} is unreachable ({}); trying again",
                    status.message()
                );
                tokio::time::sleep(self.backoff.min(self.next())).await;
                self.backoff = (self.backoff * 2).min(Duration::from_secs(2));
                true
            }
            _ => false,
        }
    }
}

fn from_status(stream: &str, status: &Status) -> RandomnessError {
    match status.code() {
        Code::ResourceExhausted => RandomnessError::Exhausted {
            kind: stream.to_owned(),
            detail: status.message().to_owned(),
        },
        code => RandomnessError::Source(format!("stockpile ({code:?}): {}", status.message())),
    }
}

impl Randomness for StockpileRandomness {
    /// Time spent getting items: waiting on the stockpile and on the peer's announcements.
    fn time_waiting(&self) -> Duration {
        self.in_store
    }

    async fn matrix_triple(
        &mut self,
        m: usize,
        n: usize,
        k: usize,
    ) -> Result<Batch<MatrixTriple>, RandomnessError> {
        self.take(Kind::MatrixTriple { m, n, k }, 1).await
    }

    async fn elementwise_triples(
        &mut self,
        n: usize,
    ) -> Result<Batch<ElementwiseTriples>, RandomnessError> {
        self.take(Kind::ElementwiseTriple, n).await
    }

    async fn comparison_masks(
        &mut self,
        p: Prime,
        n: usize,
    ) -> Result<Batch<ComparisonMasks>, RandomnessError> {
        self.take(Kind::ComparisonMask { p }, n).await
    }

    async fn dabits(&mut self, n: usize) -> Result<Batch<DaBits>, RandomnessError> {
        self.take(Kind::DaBit, n).await
    }

    async fn bit_triples(&mut self, n: usize) -> Result<Batch<BitTriples>, RandomnessError> {
        self.take(Kind::BitTriple, n).await
    }

    async fn comparison_bits(
        &mut self,
        n: usize,
    ) -> Result<Batch<ComparisonBits>, RandomnessError> {
        self.take(Kind::ComparisonBits, n).await
    }

    async fn modp_triples(
        &mut self,
        p: Prime,
        n: usize,
    ) -> Result<Batch<ModpTriples>, RandomnessError> {
        self.take(Kind::ModpTriple { p }, n).await
    }

    async fn scaled_modp_triples(
        &mut self,
        p: Prime,
        n: usize,
    ) -> Result<Batch<ScaledModpTriples>, RandomnessError> {
        self.take(Kind::ScaledModpTriple { p }, n).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What P0 announces to P1, from hostile bytes (issue 13): read or refused, never a panic.
    #[test]
    fn announcements_of_any_bytes_are_read_or_refused() {
        let took = Announcement::Took {
            stream: "comparison-bits".into(),
            ranges: vec![
                ItemRange {
                    lane: 0,
                    first: 5,
                    count: 32,
                },
                ItemRange {
                    lane: 1,
                    first: 0,
                    count: 1,
                },
            ],
        };
        let failed = Announcement::Failed {
            stream: "dabit".into(),
            reason: "dry".into(),
        };
        let seeds = [took.encode(), failed.encode()];
        for seed in &seeds {
            assert!(Announcement::decode(seed).is_some(), "the seeds decode");
        }
        dyad_fuzz::bounded(
            "announcement",
            &seeds,
            dyad_fuzz::TEST_ITERATIONS,
            |bytes| {
                let _ = Announcement::decode(bytes);
            },
        );
    }
}
