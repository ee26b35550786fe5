//! The offline worker: one process per server, paired with the peer's, generating the plan's
//! streams into the two stockpiles until told to stop.
//!
//! P0 leads. Each round it picks the stream whose stock is lowest relative to the plan
//! (`available / target`) and tells P1 which items to make (`stream`, `first`, `count`); both
//! generate their halves together; P1 puts its half into its stockpile and reports (how many
//! items it stored, how much its stockpile can still take); only then does P0 put its own half
//! under the same tags. Batches are cut to fit below both stockpiles' high-water marks; when
//! either is at its mark, or every stream is stocked, the pair waits.
//!
//! At start the two workers compare plans (they must match) and bring each lane in line: if a
//! crash left one stockpile with a batch the other lacks, that batch is unpairable, so the
//! stockpile that has it discards it and both continue after it. Tags are never reused.
//!
//! # Why P0 puts last
//!
//! Every item is "both halves of the same item" (PROTOCOLS.md: "carries the same tag at both
//! parties, and is never served twice"): P0's runtime takes the lowest items *its* stockpile
//! holds and names them to P1's runtime, whose stockpile hands out exactly those
//! (`TakeExact`) and discards its own leftovers below them as unpairable. So an item only
//! P0's stockpile holds stalls the job (P1's `TakeExact` can never be met: it waits out the
//! job's stock wait, or fails once an alignment has skipped that number at P1), while an item
//! only P1's holds costs nothing: P0's runtime never names it, and it is discarded by the next
//! alignment or by the first `TakeExact` that names a later item of its lane. Putting P0's half
//! only after P1 confirmed its own Put keeps, per lane and stream, **everything P0's stockpile
//! holds a subset of what P1's holds** at every instant, whatever fails when:
//!
//! - P1 dies, or its stockpile refuses, before or during its Put: a Put is one atomic write,
//!   so P1 holds the whole batch or nothing; P0 has not put and never will (it puts only on
//!   P1's report, which a dead P1 does not send). Nothing orphaned, or an orphan at P1 (the
//!   write landed, the reply did not).
//! - P1 stored the batch and dies, or the link breaks, before P0 reads the report: orphan at P1.
//! - P0 read the report and dies (or its stockpile stays down past the retries) before its
//!   own Put lands: orphan at P1.
//! - P0's Put landed: both hold the batch.
//!
//! Realignment at the next pairing ([`Worker::start`], also after a lost link in
//! `crate::resume`) reads each lane's `next` at both stockpiles: `low` at P0, `high >= low` at
//! P1. P1's stockpile discards its untaken items in `low..high` (none can have been handed
//! out: P0's runtime never named them, P0 never held them), P0's skips to `high`, and both
//! continue at `high`. P0's items are all below `low`, so an alignment never takes from P1
//! an item P0 holds, and no number is put twice: **no item is served twice and none that P0
//! holds goes missing at P1, so no job stalls on one**. (A stockpile from an older build may
//! still hold a batch only at P0; the same alignment discards it there.)

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dyad_link::{
    AgreementError, Channel, Disagreement, LinkError, PartyId, PartyLink, Terms, TermsError,
};
use dyad_proto::stockpile::InventoryReply;
use dyad_randomness::Kind;
use dyad_store_client::{Retry, StoreClient, StoreClientError};
use dyad_vocabulary::{Pool, Stream};
use tokio::sync::watch;

use crate::control::{Decision, Report};
use crate::{Generator, MatrixTripleMethod, OfflineError, batch_items};
use dyad_randomness::Plan;

/// Why a worker stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The party link failed.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Generating failed.
    #[error(transparent)]
    Offline(#[from] OfflineError),
    /// The two workers run different plans, lanes, builds or options.
    #[error("the peer's worker disagrees:\n  {0}")]
    Terms(Disagreement),
    /// The peer's hello cannot be read.
    #[error("the peer's worker sent an unreadable hello: {0}")]
    Hello(#[from] TermsError),
    /// The two workers number a stream's batches differently.
    #[error("the peer's worker disagrees: {0}")]
    Disagreement(String),
    /// This party's stockpile refused or failed (after the retries).
    #[error(transparent)]
    Store(#[from] StoreClientError),
    /// The stockpile belongs to the other party.
    #[error("the stockpile at {addr} is P{owner}'s; this worker is P{worker}")]
    WrongStockpile {
        /// Its address.
        addr: String,
        /// The party it belongs to.
        owner: u32,
        /// This worker's party.
        worker: usize,
    },
    /// The peer sent something this worker cannot read.
    #[error("the peer's worker sent a malformed message: {0}")]
    Peer(String),
}

impl From<AgreementError> for WorkerError {
    fn from(error: AgreementError) -> Self {
        match error {
            AgreementError::Link(e) => WorkerError::Link(e),
            AgreementError::Unreadable(e) => WorkerError::Hello(e),
            AgreementError::Differ(d) => WorkerError::Terms(d),
        }
    }
}

/// How long a worker keeps calling its stockpile while it is unreachable, restarting or full
/// before giving up: at P0 the peer's half of the batch is stored under the same tags already,
/// and at P1 the round waits on it, so a stockpile restart pauses the pair rather than ending
/// it.
const STORE_PATIENCE: Duration = Duration::from_secs(600);

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This pair's lane: its own numbering of every stream (distinct per pair).
    pub lane: u32,
    /// How many stockpiles (shards) each party runs: the pair's store is its lane's shard
    /// ([`dyad_store_client::shard`]), and both workers must count alike for it to be the same one.
    pub shards: usize,
    /// The pool of streams it stocks: the consumer's (see [`dyad_vocabulary::stream`]).
    pub pool: Pool,
    /// What to keep in stock.
    pub plan: Plan,
    /// How long to wait before looking again when nothing is needed or a store is full.
    pub idle: Duration,
    /// How matrix triples are made (both workers must agree).
    pub matrix_method: MatrixTripleMethod,
}

/// What a worker has produced, per stream: for logs and the metrics endpoint.
#[derive(Debug, Clone, Default)]
pub struct StreamProgress {
    /// Items generated and stored.
    pub items: u64,
    /// Record bytes stored (this party's half).
    pub bytes: u64,
    /// Time spent generating and storing them.
    pub seconds: f64,
    /// Items available in this party's stockpile at the last look.
    pub stock: u64,
    /// The plan's target.
    pub target: u64,
}

/// Progress of a worker, shared with whoever reports it.
#[derive(Debug, Default)]
pub struct Progress {
    /// Per stream: the worker's pool and one kind each. Keyed by [`Stream`], not by a name
    /// made at each use, so that every figure of a stream lands in one entry (issue 26: the
    /// pooled name in one place and the bare kind in another split a pooled stream's figures
    /// over two rows).
    pub streams: Mutex<BTreeMap<Stream, StreamProgress>>,
}

impl Progress {
    /// The Prometheus text exposition of the progress: one sample per metric and stream,
    /// labelled by `pool` (empty for the default pool) and `kind`, so that rows of one kind can
    /// be summed across pools and one pool's selected, as Prometheus labels are meant to be.
    pub fn prometheus(&self) -> String {
        let streams = self.streams.lock().map(|s| s.clone()).unwrap_or_default();
        let mut out = String::new();
        for (name, help) in [
            ("dyad_offline_items_total", "Items generated and stored"),
            (
                "dyad_offline_bytes_total",
                "Record bytes stored by this party",
            ),
            (
                "dyad_offline_seconds_total",
                "Seconds spent generating and storing",
            ),
            (
                "dyad_offline_stock",
                "Items available in this party's stockpile",
            ),
            ("dyad_offline_target", "Items the plan keeps in stock"),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {}\n",
                if name.ends_with("_total") {
                    "counter"
                } else {
                    "gauge"
                }
            ));
            for (stream, p) in &streams {
                let value = match name {
                    "dyad_offline_items_total" => p.items as f64,
                    "dyad_offline_bytes_total" => p.bytes as f64,
                    "dyad_offline_seconds_total" => p.seconds,
                    "dyad_offline_stock" => p.stock as f64,
                    _ => p.target as f64,
                };
                out.push_str(&format!(
                    "{name}{{pool=\"{}\",kind=\"{}\"}} {value}\n",
                    stream.pool.name(),
                    stream.kind
                ));
            }
        }
        out
    }
}

/// The revision of what the generators exchange and how they read it. Two workers of a pair
/// must run the same: builds that differ here can exchange messages of the same sizes and store
/// shares that do not fit together, so the hello carries it and a mismatch is refused. Bump it
/// with every such change: 2, COT keys no longer hashed again; 3, COTs in extension calls of at
/// most 2^17 OTs; 4, `Z_p` COT fields from key words by multiplication instead of division;
/// 5, P1's report confirms its Put before P0 puts (it carries the items stored); 6, matrix
/// triples in the strided coefficient encoding (`he_product/encoding.rs`), and the hello names
/// the parties' stockpile shards (so that a build without them is told to upgrade, not that
/// its plan differs); 7, a matrix triple's record holds the key of `U_i, V_i` in their place
/// (`dyad_randomness::ShareSeed`).
pub const GENERATION_REVISION: u32 = 7;

/// How long a stop waits for the round in progress before abandoning it.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// One party's half of a generated batch, not yet stored.
struct Half {
    kind: Kind,
    first: u64,
    count: u64,
    records: Bytes,
    started: Instant,
}

/// One pair's worker at one party.
pub struct Worker {
    party: PartyId,
    control: Channel,
    generator: Generator,
    store: StoreClient,
    config: WorkerConfig,
    /// Each plan stream's next item in this lane.
    next: BTreeMap<Kind, u64>,
    progress: Arc<Progress>,
}

impl Worker {
    /// Connects the worker to its peer over `link` and to its stockpile; checks that both run
    /// the same plan and lane, and brings every lane of the plan in line.
    pub async fn start(
        link: &mut PartyLink,
        mut store: StoreClient,
        config: WorkerConfig,
        progress: Arc<Progress>,
    ) -> Result<Worker, WorkerError> {
        let party = link.party();
        let mut control = link.channel().await?;
        let hello = hello(
            GENERATION_REVISION,
            config.lane,
            config.matrix_method,
            &config.pool,
            config.shards,
            &config.plan,
        );
        control.agree(&hello).await?;
        let inventory = store.inventory().await?;
        if inventory.party as usize != party.index() {
            return Err(WorkerError::WrongStockpile {
                addr: store.addr().to_owned(),
                owner: inventory.party,
                worker: party.index(),
            });
        }
        let mut generator = Generator::new(link).await?;
        generator.set_matrix_method(config.matrix_method);
        let mut worker = Worker {
            party,
            control,
            generator,
            store,
            config,
            next: BTreeMap::new(),
            progress,
        };
        worker.align_lanes().await?;
        Ok(worker)
    }

    /// Exchanges every plan stream's `next` with the peer and aligns the lanes.
    async fn align_lanes(&mut self) -> Result<(), WorkerError> {
        let lane = self.config.lane;
        let mut mine = Vec::new();
        for kind in self.config.plan.0.keys() {
            let status = self.store.lane_status(&self.stream(*kind), lane).await?;
            mine.push(status.next);
        }
        let bytes: Vec<u8> = mine.iter().flat_map(|n| n.to_le_bytes()).collect();
        let theirs = self.control.exchange(&bytes).await?;
        if theirs.len() != bytes.len() {
            return Err(WorkerError::Peer("lane positions of another plan".into()));
        }
        let kinds: Vec<Kind> = self.config.plan.0.keys().copied().collect();
        for (i, kind) in kinds.into_iter().enumerate() {
            let peer = u64::from_le_bytes(theirs[i * 8..(i + 1) * 8].try_into().expect("8 bytes"));
            let (low, high) = (mine[i].min(peer), mine[i].max(peer));
            if low != high {
                let reply = self
                    .store
                    .align(&self.stream(kind), lane, low, high)
                    .await?;
                tracing::warn!(
                    "{kind} lane {lane}: the stockpiles disagreed after a crash (items {low}..{high} \
                     at one of them only); discarded {} here, both continue at {high}",
                    reply.discarded
                );
            }
            self.next.insert(kind, high);
        }
        Ok(())
    }

    /// Runs until `stop` turns true (at either party), then ends the round in progress and
    /// returns. A round that does not end within [`STOP_GRACE`] of the stop (the peer or the
    /// stockpile is gone, a Put is waiting to be retried) is abandoned: a batch stored at one
    /// stockpile only is at P1's (P0 puts last), and the next start's alignment discards it.
    pub async fn run(&mut self, stop: watch::Receiver<bool>) -> Result<(), WorkerError> {
        let mut stopped = stop.clone();
        let grace = async move {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(STOP_GRACE).await;
        };
        let party = self.party;
        let work = async {
            match party {
                PartyId::P0 => self.lead(stop).await,
                PartyId::P1 => self.follow(stop).await,
            }
        };
        tokio::select! {
            result = work => result,
            () = grace => {
                tracing::warn!(
                    "stopped without ending the round in progress (it did not end within \
                     {STOP_GRACE:?}); the next start aligns the lanes"
                );
                Ok(())
            }
        }
    }

    async fn lead(&mut self, stop: watch::Receiver<bool>) -> Result<(), WorkerError> {
        let mut peer_headroom = self.headroom().await?;
        loop {
            let decision = if *stop.borrow() {
                Decision::Stop
            } else {
                self.decide(peer_headroom).await?
            };
            self.control.send(&decision.encode()).await?;
            let report = match decision {
                Decision::Stop => return Ok(()),
                Decision::Wait { millis } => {
                    tokio::time::sleep(Duration::from_millis(u64::from(millis))).await;
                    self.report().await?
                }
                Decision::Generate {
                    stream,
                    first,
                    count,
                } => {
                    let half = self.generate(&stream, first, count).await?;
                    let report = self.report().await?;
                    // P1's half is stored: only now may P0's runtime see this one.
                    if report.stored != count {
                        return Err(WorkerError::Peer(format!(
                            "P1 reports {} items of {stream} stored, not the {count} made",
                            report.stored
                        )));
                    }
                    self.store(half).await?;
                    report
                }
            };
            peer_headroom = report.headroom;
            if report.stopping {
                self.control.send(&Decision::Stop.encode()).await?;
                return Ok(());
            }
        }
    }

    async fn follow(&mut self, stop: watch::Receiver<bool>) -> Result<(), WorkerError> {
        loop {
            let bytes = self.control.recv().await?;
            let decision = Decision::decode(&bytes)
                .ok_or_else(|| WorkerError::Peer("an unreadable decision".into()))?;
            let stored = match decision {
                Decision::Stop => return Ok(()),
                Decision::Wait { millis } => {
                    tokio::time::sleep(Duration::from_millis(u64::from(millis))).await;
                    0
                }
                Decision::Generate {
                    stream,
                    first,
                    count,
                } => {
                    let half = self.generate(&stream, first, count).await?;
                    self.store(half).await?;
                    count
                }
            };
            let report = Report {
                stored,
                headroom: self.headroom().await?,
                stopping: *stop.borrow(),
            };
            self.control.send(&report.encode()).await?;
        }
    }

    /// P0: P1's report on the round.
    async fn report(&mut self) -> Result<Report, WorkerError> {
        let bytes = self.control.recv().await?;
        Report::decode(&bytes).ok_or_else(|| WorkerError::Peer("an unreadable report".into()))
    }

    /// Bytes this party's stockpile takes before reaching its high-water mark.
    async fn headroom(&mut self) -> Result<u64, WorkerError> {
        let inventory = self.inventory().await?;
        self.note_stock(&inventory);
        Ok(inventory
            .high_water_bytes
            .saturating_sub(inventory.stored_bytes))
    }

    /// Each plan stream's available items in `inventory`, noted with the plan's target in the
    /// progress (for the metrics, at both parties).
    fn note_stock(&self, inventory: &InventoryReply) -> BTreeMap<Kind, u64> {
        let available: BTreeMap<&str, u64> = inventory
            .streams
            .iter()
            .map(|s| (s.stream.as_str(), s.available))
            .collect();
        let stock: BTreeMap<Kind, u64> = self
            .config
            .plan
            .0
            .keys()
            .map(|kind| {
                let name = self.stream(*kind);
                (*kind, available.get(name.as_str()).copied().unwrap_or(0))
            })
            .collect();
        if let Ok(mut progress) = self.progress.streams.lock() {
            for (kind, target) in &self.config.plan.0 {
                let entry = progress
                    .entry(Stream::new(&self.config.pool, *kind))
                    .or_default();
                entry.stock = stock[kind];
                entry.target = *target;
            }
        }
        stock
    }

    /// P0: the next round, from its stockpile's inventory and the peer's headroom.
    async fn decide(&mut self, peer_headroom: u64) -> Result<Decision, WorkerError> {
        let idle = Decision::Wait {
            millis: self.config.idle.as_millis().min(u128::from(u32::MAX)) as u32,
        };
        let inventory = self.inventory().await?;
        let stock = self.note_stock(&inventory);
        let headroom = inventory
            .high_water_bytes
            .saturating_sub(inventory.stored_bytes)
            .min(peer_headroom);
        let lowest = self
            .config
            .plan
            .0
            .iter()
            .map(|(kind, target)| {
                let have = stock[kind];
                (
                    have as f64 / *target as f64,
                    *kind,
                    target.saturating_sub(have),
                )
            })
            .filter(|(ratio, _, _)| *ratio < 1.0)
            .min_by(|a, b| a.0.total_cmp(&b.0));
        // A batch must fit below the high-water mark at both stockpiles: above it, pause.
        Ok(match lowest {
            Some((_, kind, missing)) if headroom >= kind.item_bytes() as u64 => {
                Decision::Generate {
                    stream: kind.to_string(),
                    first: self.next[&kind],
                    count: missing
                        .min(batch_items(kind))
                        .min(headroom / kind.item_bytes() as u64)
                        .max(1),
                }
            }
            _ => idle,
        })
    }

    /// Both parties: this party's half of `count` fresh items of `stream` numbered from
    /// `first`.
    async fn generate(
        &mut self,
        stream: &str,
        first: u64,
        count: u64,
    ) -> Result<Half, WorkerError> {
        let kind: Kind = stream
            .parse()
            .map_err(|e: dyad_vocabulary::UnknownKind| WorkerError::Peer(e.to_string()))?;
        let expected = self.next.get(&kind).copied();
        if expected != Some(first) {
            return Err(WorkerError::Disagreement(format!(
                "P0 numbers the next {stream} batch from {first}, this worker expected {expected:?}"
            )));
        }
        let started = Instant::now();
        let records = Bytes::from(self.generator.produce(kind, count as usize).await?);
        Ok(Half {
            kind,
            first,
            count,
            records,
            started,
        })
    }

    /// Puts this party's half of a batch into its stockpile and counts it.
    async fn store(&mut self, half: Half) -> Result<(), WorkerError> {
        let Half {
            kind,
            first,
            count,
            records,
            started,
        } = half;
        let bytes = records.len() as u64;
        self.put(&self.stream(kind), first, records).await?;
        self.next.insert(kind, first + count);
        let seconds = started.elapsed().as_secs_f64();
        if let Ok(mut progress) = self.progress.streams.lock() {
            let entry = progress
                .entry(Stream::new(&self.config.pool, kind))
                .or_default();
            entry.items += count;
            entry.bytes += bytes;
            entry.seconds += seconds;
            entry.stock += count;
            tracing::info!(
                "{kind}: +{count} items in {seconds:.2} s ({:.0} items/s, {:.1} MB/s); stock {} of {}",
                count as f64 / seconds,
                bytes as f64 / seconds / 1e6,
                entry.stock,
                entry.target
            );
        }
        Ok(())
    }

    /// Puts a batch, retrying while the stockpile is unreachable or full: at P0 the peer's half
    /// is stored under the same tags already, and at P1 the round is waiting on it.
    async fn put(
        &mut self,
        stream: &str,
        first: u64,
        records: Bytes,
    ) -> Result<dyad_proto::stockpile::PutReply, WorkerError> {
        let lane = self.config.lane;
        let put = Retry::calls(STORE_PATIENCE)
            .run(&mut self.store, async |store: &mut StoreClient| {
                store.put(stream, lane, first, records.clone()).await
            })
            .await;
        Ok(put?)
    }

    /// The name of `kind`'s stream in this pair's pool.
    fn stream(&self, kind: Kind) -> String {
        Stream::new(&self.config.pool, kind).to_string()
    }

    /// This party's stockpile inventory, retried as a Put is: a stockpile that restarts
    /// between rounds pauses the pair rather than ending it.
    async fn inventory(&mut self) -> Result<InventoryReply, WorkerError> {
        let inventory = Retry::calls(STORE_PATIENCE)
            .run(&mut self.store, async |store: &mut StoreClient| {
                store.inventory().await
            })
            .await;
        Ok(inventory?)
    }
}

/// What a worker tells its peer before pairing, which must be the same at both: the lane, the
/// generation revision, the matrix-triple method, the pool, the shard count and the plan.
fn hello(
    revision: u32,
    lane: u32,
    method: MatrixTripleMethod,
    pool: &Pool,
    shards: usize,
    plan: &Plan,
) -> Terms {
    let terms = Terms::new()
        .term("lane", lane)
        .hinted(
            "generation revision",
            revision,
            ": both workers of a pair must run the same dyad build",
        )
        .hinted("matrix-triples", method, " (--matrix-triples)")
        .hinted("stocking", pool, " (--pool)")
        .hinted(
            "stockpile shards",
            shards,
            " (--store lists them): both parties must run as many, lane L on shard L mod S",
        );
    plan.0.iter().fold(terms, |terms, (kind, target)| {
        terms.hinted(&format!("plan {kind}"), target, " (--plan)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_different_build_method_pool_shard_count_or_plan_is_named() {
        let he = MatrixTripleMethod::He;
        let pool = Pool::default();
        let serve: Pool = "serve".parse().expect("a pool");
        let plan = |text: &str| Plan::parse(text).expect("a plan");
        let mine = hello(2, 0, he, &pool, 2, &plan("dabit 10\n"));
        for (theirs, says) in [
            (hello(2, 1, he, &pool, 2, &plan("dabit 10\n")), "lane"),
            (
                hello(1, 0, he, &pool, 2, &plan("dabit 10\n")),
                "same dyad build",
            ),
            (
                hello(2, 0, MatrixTripleMethod::Ot, &pool, 2, &plan("dabit 10\n")),
                "--matrix-triples",
            ),
            (hello(2, 0, he, &serve, 2, &plan("dabit 10\n")), "--pool"),
            (
                hello(2, 0, he, &pool, 1, &plan("dabit 10\n")),
                "stockpile shards: this server has `2`, the peer `1` (--store",
            ),
            (
                hello(2, 0, he, &pool, 2, &plan("dabit 11\n")),
                "plan dabit: this server has `10`, the peer `11`",
            ),
        ] {
            let theirs = Terms::decode(&theirs.encode()).expect("reads");
            let what: Vec<String> = mine
                .differences(&theirs)
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(what.len(), 1, "{what:?}");
            assert!(what[0].contains(says), "{what:?} should say {says:?}");
        }
    }
}
