//! The online runtime's source of correlated randomness: its own stockpile.
//!
//! Both parties must consume the two halves of the same items. P0 leads: it takes the lowest
//! available items of a stream from its stockpile and announces their tags to P1 over a
//! channel of the party link; P1 takes exactly those from its own stockpile. Items are taken
//! in batches of several requests' worth and buffered, so a protocol step rarely waits on the
//! store. Every Take is acknowledged as soon as its reply has arrived.
//!
//! A party may run several stockpiles, its shards ([`dyad_store::shard`]: lane `L` on shard
//! `L mod S`). P0 takes each batch from one shard, trying them in rotation per kind so that
//! consumption spreads evenly, and names the shard in its announcement; P1 takes the same
//! items from its shard of that number, which holds the same lanes.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use dyad_link::{Channel, PartyId, Terms};
use dyad_randomness::{Batch, Items, Kind, Randomness, RandomnessError, TagRange, Tags};

use crate::announcement::Announcement;
use dyad_store_client::shard::shard_of;
use dyad_store_client::{MAX_MESSAGE_BYTES, Retry, StoreClient, StoreClientError, Taken};
use dyad_vocabulary::{Pool, Stream};

/// The shard of `shards` an announcement of `ranges` names, if this party has it and it holds
/// every announced lane: taking from any other would pair items of different lanes or ask a
/// stockpile for items it can never hold.
fn announced_shard(
    shard: u32,
    ranges: &[TagRange],
    shards: usize,
) -> Result<usize, MisannouncedShard> {
    let index = shard as usize;
    if index >= shards {
        return Err(MisannouncedShard::Missing { shard, shards });
    }
    match ranges.iter().find(|r| shard_of(r.lane, shards) != index) {
        Some(r) => Err(MisannouncedShard::OtherLane {
            lane: r.lane,
            shard,
            home: shard_of(r.lane, shards),
            shards,
        }),
        None => Ok(index),
    }
}

/// An announcement naming a shard this party cannot take the items from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum MisannouncedShard {
    /// This party has fewer shards.
    #[error("the peer took items from its stockpile shard {shard}; this party has {shards}")]
    Missing {
        /// The shard announced.
        shard: u32,
        /// This party's shards.
        shards: usize,
    },
    /// An announced lane lives on another shard.
    #[error(
        "the peer announced items of lane {lane} from shard {shard}, but lane {lane} lives on \
         shard {home} (lane mod {shards})"
    )]
    OtherLane {
        /// The lane.
        lane: u32,
        /// The shard announced.
        shard: u32,
        /// The lane's shard.
        home: usize,
        /// This party's shards.
        shards: usize,
    },
}

/// The two jobs agree on how many shards their stockpiles have before anything is taken: P1
/// takes each batch from the shard of the number P0 took it from, which must hold the same
/// lanes at both parties.
async fn agree_on_shards(coordination: &mut Channel, shards: usize) -> Result<(), RandomnessError> {
    let terms = Terms::new().hinted(
        "stockpile shards",
        shards,
        " (--store lists them): both parties must run the same number (lane L lives on shard \
         L mod S at both)",
    );
    Ok(coordination.agree(&terms).await?)
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
        self.tags.extend(taken.ranges.iter().cloned());
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

/// How long one Take may wait for a dry shard, in the sweeps after the first, when a party has
/// several: long enough not to poll busily, short enough that a shard another lane is filling
/// is asked again soon.
const SHARD_WAIT: Duration = Duration::from_millis(500);

/// A party's correlated randomness, pulled from its own stockpile (one or several shards).
pub struct StockpileRandomness {
    party: PartyId,
    /// The party's stockpiles, shard 0 first (at least one).
    shards: Vec<StoreClient>,
    /// P0: per kind, the shard its next Take asks first (one after the last that served it).
    rotation: HashMap<Kind, usize>,
    coordination: Channel,
    buffers: HashMap<Kind, Buffer>,
    wait: Duration,
    prefetch: u64,
    in_store: Duration,
    /// The pool whose streams it takes from.
    pool: Pool,
}

impl StockpileRandomness {
    /// Uses the stockpiles behind `shards` (shard 0 first), which must all be `party`'s, and
    /// coordinates with the peer over `coordination` (a channel of the party link opened for
    /// this purpose by both parties), first agreeing that both have as many shards. A request
    /// waits up to `wait` in all for the offline workers to supply what it needs (longer than
    /// one Take may wait: it asks again).
    pub async fn new(
        party: PartyId,
        mut shards: Vec<StoreClient>,
        mut coordination: Channel,
        wait: Duration,
    ) -> Result<StockpileRandomness, RandomnessError> {
        if shards.is_empty() {
            return Err(RandomnessError::Source("no stockpile to take from".into()));
        }
        agree_on_shards(&mut coordination, shards.len()).await?;
        for client in &mut shards {
            let inventory = client.inventory().await.map_err(|e| {
                RandomnessError::Source(format!(
                    "the stockpile at {}: {}",
                    client.addr(),
                    e.message()
                ))
            })?;
            if inventory.party as usize != party.index() {
                return Err(RandomnessError::Source(format!(
                    "the stockpile at {} is P{}'s; this is {party}",
                    client.addr(),
                    inventory.party
                )));
            }
        }
        Ok(StockpileRandomness {
            party,
            shards,
            rotation: HashMap::new(),
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
        let result = self.take_from_any(kind, &stream, n, want).await;
        let announcement = match &result {
            Ok((shard, taken)) => Announcement::Took {
                stream: stream.clone(),
                shard: *shard as u32,
                ranges: taken.ranges.clone(),
            },
            Err(error) => Announcement::Failed {
                stream: stream.clone(),
                reason: error.message(),
            },
        };
        self.coordination.send(&announcement.encode()).await?;
        let (shard, taken) = result.map_err(|e| from_store(&stream, &e))?;
        self.rotation.insert(kind, (shard + 1) % self.shards.len());
        self.accept(kind, shard, taken)
    }

    /// P0: one Take of at least `n` and up to `want` items of `stream` from a single shard, and
    /// which shard served it. It sweeps the shards in rotation from `kind`'s next one: a shard
    /// that is dry or unreachable passes the turn to the next, and only when a whole sweep
    /// failed does the [`Retry`] policy decide whether to sweep again (after a pause if the last
    /// shard was unreachable). The first sweep does not wait (whichever shard holds the items serves
    /// them at once); later ones wait all the time left with one shard, and at most
    /// [`SHARD_WAIT`] per shard with several, so that a dry shard does not hold up a job
    /// another can serve.
    async fn take_from_any(
        &mut self,
        kind: Kind,
        stream: &str,
        n: u64,
        want: u64,
    ) -> Result<(usize, Taken), StoreClientError> {
        let count = self.shards.len();
        let first = self.rotation.get(&kind).copied().unwrap_or(0);
        let mut retry = Retry::takes(self.wait);
        let mut first_sweep = true;
        loop {
            let mut refused = None;
            for shard in (first..first + count).map(|i| i % count) {
                let wait = match (first_sweep, count) {
                    (true, _) => Duration::ZERO,
                    (false, 1) => retry.remaining(),
                    (false, _) => retry.remaining().min(SHARD_WAIT),
                };
                match self.shards[shard].take_up_to(stream, n, want, wait).await {
                    Ok(taken) => return Ok((shard, taken)),
                    Err(e) if e.is_retryable() => refused = Some(e),
                    Err(e) => return Err(e),
                }
            }
            if let Some(error) = refused
                && !retry.again(&error).await
            {
                return Err(error);
            }
            first_sweep = false;
        }
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
            Some(Announcement::Took {
                stream,
                shard,
                ranges,
            }) => {
                let shard = announced_shard(shard, &ranges, self.shards.len())
                    .map_err(|e| RandomnessError::Source(e.to_string()))?;
                let client = &mut self.shards[shard];
                let mut retry = Retry::takes(self.wait);
                let taken = loop {
                    match client.take_exact(&stream, &ranges, retry.remaining()).await {
                        Err(e) if retry.again(&e).await => {}
                        done => break done,
                    }
                }
                .map_err(|e| from_store(&stream, &e))?;
                if taken.ranges != ranges {
                    return Err(RandomnessError::Source(format!(
                        "the stockpile at {} returned other {stream} items than those named",
                        client.addr()
                    )));
                }
                self.accept(kind, shard, taken)
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

    /// Checks a Take's reply, acknowledges it to the shard that leased it and buffers its
    /// records.
    fn accept(&mut self, kind: Kind, shard: usize, taken: Taken) -> Result<(), RandomnessError> {
        let mut client = self.shards[shard].clone();
        let lease = taken.lease;
        tokio::spawn(async move {
            if let Err(e) = client.ack(lease).await {
                tracing::warn!(
                    "acknowledging lease {lease} failed ({}): its items count as discarded",
                    e.message()
                );
            }
        });
        let count: u64 = taken.ranges.iter().map(TagRange::count).sum();
        let expected = (count as usize).saturating_mul(kind.item_bytes());
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

/// A stockpile's failure as the protocols see it: a dry stream, or a source that failed.
fn from_store(stream: &str, error: &StoreClientError) -> RandomnessError {
    match error.is_exhausted() {
        true => RandomnessError::Exhausted {
            kind: stream.to_owned(),
            detail: error.message(),
        },
        false => RandomnessError::Source(error.to_string()),
    }
}

impl Randomness for StockpileRandomness {
    /// Time spent getting items: waiting on the stockpile and on the peer's announcements.
    fn time_waiting(&self) -> Duration {
        self.in_store
    }

    async fn take_kind(&mut self, kind: Kind, n: usize) -> Result<Batch<Items>, RandomnessError> {
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
        let items = Items::decode(kind, &records).map_err(|e| {
            RandomnessError::Source(format!("malformed {kind} records in the stockpile: {e}"))
        })?;
        Ok(Batch {
            tags: Tags { kind, ranges },
            items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(lane: u32) -> TagRange {
        TagRange::new(lane, 7, 3)
    }

    /// P1 takes an announced batch only from a shard it has that holds every announced lane.
    #[test]
    fn an_announced_lane_must_live_on_the_announced_shard() {
        assert_eq!(announced_shard(0, &[range(0)], 1), Ok(0));
        assert_eq!(announced_shard(1, &[range(1), range(3)], 2), Ok(1));
        assert_eq!(announced_shard(2, &[range(5)], 3), Ok(2));
        let misplaced = announced_shard(0, &[range(2), range(3)], 2)
            .expect_err("lane 3")
            .to_string();
        assert!(misplaced.contains("lane 3 lives on shard 1"), "{misplaced}");
        let missing = announced_shard(2, &[range(0)], 2)
            .expect_err("no shard 2")
            .to_string();
        assert!(missing.contains("this party has 2"), "{missing}");
    }
}
