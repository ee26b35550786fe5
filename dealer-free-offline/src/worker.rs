//! The offline worker: one process per server, paired with the peer's, generating the plan's
//! streams into the two stockpiles until told to stop.
//!
//! P0 leads. Each round it picks the stream whose stock is lowest relative to the plan
//! (`available / target`) and tells P1 which items to make (`stream`, `first`, `count`); both
//! generate their halves together, put them into their own stockpiles under the same tags, and
//! P1 reports how much its stockpile can still take. Batches are cut to fit below both
//! stockpiles' high-water marks; when either is at its mark, or every stream is stocked, the
//! pair waits.
//!
//! At start the two workers compare plans (they must match) and bring each lane in line: if a
//! crash left one stockpile with a batch the other lacks, that batch is unpairable, so the
//! stockpile that has it discards it and both continue after it. Tags are never reused.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dyad_link::{Channel, LinkError, PartyId, PartyLink};
use dyad_online::randomness::Kind;
use dyad_store::StoreClient;
use dyad_vocabulary::{Pool, Stream};
use tokio::sync::watch;

use crate::{Generator, MatrixTripleMethod, OfflineError, Plan, batch_items};

/// Why a worker stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The party link failed.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Generating failed.
    #[error(transparent)]
    Offline(#[from] OfflineError),
    /// The two workers run different plans or lanes.
    #[error("the peer's worker disagrees: {0}")]
    Disagreement(String),
    /// This party's stockpile refused or failed.
    #[error("the stockpile at {addr}: {detail}")]
    Store {
        /// Its address.
        addr: String,
        /// What happened.
        detail: String,
    },
    /// The peer sent something this worker cannot read.
    #[error("the peer's worker sent a malformed message: {0}")]
    Peer(String),
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This pair's lane: its own numbering of every stream (distinct per pair).
    pub lane: u32,
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
    /// Per stream.
    pub streams: Mutex<BTreeMap<String, StreamProgress>>,
}

impl Progress {
    /// The Prometheus text exposition of the progress.
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
                out.push_str(&format!("{name}{{stream=\"{stream}\"}} {value}\n"));
            }
        }
        out
    }
}

/// The revision of what the generators exchange and how they read it. Two workers of a pair
/// must run the same: builds that differ here can exchange messages of the same sizes and store
/// shares that do not fit together, so the hello carries it and a mismatch is refused. Bump it
/// with every such change: 2, COT keys no longer hashed again; 3, COTs in extension calls of at
/// most 2^17 OTs; 4, `Z_p` COT fields from key words by multiplication instead of division.
pub const GENERATION_REVISION: u32 = 4;

/// How long a stop waits for the round in progress before abandoning it.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// P0's word for the next round.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Generate {
        stream: String,
        first: u64,
        count: u64,
    },
    Wait {
        millis: u32,
    },
    Stop,
}

/// P1's word after a round.
#[derive(Debug, PartialEq, Eq)]
struct Report {
    /// Bytes P1's stockpile can take before its high-water mark (0: pause).
    headroom: u64,
    stopping: bool,
}

impl Report {
    fn encode(&self) -> Vec<u8> {
        let mut out = self.headroom.to_le_bytes().to_vec();
        out.push(u8::from(self.stopping));
        out
    }

    fn decode(bytes: &[u8]) -> Option<Report> {
        match bytes {
            [headroom @ .., stopping @ (0 | 1)] if headroom.len() == 8 => Some(Report {
                headroom: u64::from_le_bytes(headroom.try_into().ok()?),
                stopping: *stopping == 1,
            }),
            _ => None,
        }
    }
}

impl Decision {
    fn encode(&self) -> Vec<u8> {
        match self {
            Decision::Generate {
                stream,
                first,
                count,
            } => {
                let mut out = vec![0];
                out.extend_from_slice(&first.to_le_bytes());
                out.extend_from_slice(&count.to_le_bytes());
                out.extend_from_slice(stream.as_bytes());
                out
            }
            Decision::Wait { millis } => {
                let mut out = vec![1];
                out.extend_from_slice(&millis.to_le_bytes());
                out
            }
            Decision::Stop => vec![2],
        }
    }

    fn decode(bytes: &[u8]) -> Option<Decision> {
        match bytes.split_first()? {
            (0, rest) if rest.len() > 16 => Some(Decision::Generate {
                first: u64::from_le_bytes(rest[..8].try_into().ok()?),
                count: u64::from_le_bytes(rest[8..16].try_into().ok()?),
                stream: String::from_utf8(rest[16..].to_vec()).ok()?,
            }),
            (1, rest) if rest.len() == 4 => Some(Decision::Wait {
                millis: u32::from_le_bytes(rest.try_into().ok()?),
            }),
            (2, []) => Some(Decision::Stop),
            _ => None,
        }
    }
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

fn store_error(store: &StoreClient, status: tonic::Status) -> WorkerError {
    WorkerError::Store {
        addr: store.addr().to_owned(),
        detail: status.message().to_owned(),
    }
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
            &config.plan.to_string(),
        );
        let theirs = control.exchange_for_agreement(&hello).await?;
        if theirs != hello {
            return Err(WorkerError::Disagreement(describe_difference(
                &hello, &theirs,
            )));
        }
        let inventory = store
            .inventory()
            .await
            .map_err(|s| store_error(&store, s))?;
        if inventory.party as usize != party.index() {
            return Err(WorkerError::Store {
                addr: store.addr().to_owned(),
                detail: format!(
                    "it is P{}'s stockpile; this worker is {party}",
                    inventory.party
                ),
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
            let status = self
                .store
                .lane_status(&self.stream(*kind), lane)
                .await
                .map_err(|s| store_error(&self.store, s))?;
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
                    .await
                    .map_err(|s| store_error(&self.store, s))?;
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
    /// stockpile is gone, a Put is waiting to be retried) is abandoned: its half-stored batch
    /// is one the next start's alignment discards, so stopping is always possible.
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
            match decision {
                Decision::Stop => return Ok(()),
                Decision::Wait { millis } => {
                    tokio::time::sleep(Duration::from_millis(u64::from(millis))).await;
                }
                Decision::Generate {
                    stream,
                    first,
                    count,
                } => {
                    self.round(&stream, first, count).await?;
                }
            }
            let bytes = self.control.recv().await?;
            let report = Report::decode(&bytes)
                .ok_or_else(|| WorkerError::Peer("an unreadable report".into()))?;
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
            match decision {
                Decision::Stop => return Ok(()),
                Decision::Wait { millis } => {
                    tokio::time::sleep(Duration::from_millis(u64::from(millis))).await;
                }
                Decision::Generate {
                    stream,
                    first,
                    count,
                } => self.round(&stream, first, count).await?,
            }
            let report = Report {
                headroom: self.headroom().await?,
                stopping: *stop.borrow(),
            };
            self.control.send(&report.encode()).await?;
        }
    }

    /// Bytes this party's stockpile takes before reaching its high-water mark.
    async fn headroom(&mut self) -> Result<u64, WorkerError> {
        let inventory = self.inventory().await?;
        Ok(inventory
            .high_water_bytes
            .saturating_sub(inventory.stored_bytes))
    }

    /// P0: the next round, from its stockpile's inventory and the peer's headroom.
    async fn decide(&mut self, peer_headroom: u64) -> Result<Decision, WorkerError> {
        let idle = Decision::Wait {
            millis: self.config.idle.as_millis().min(u128::from(u32::MAX)) as u32,
        };
        let inventory = self.inventory().await?;
        let available: BTreeMap<&str, u64> = inventory
            .streams
            .iter()
            .map(|s| (s.stream.as_str(), s.available))
            .collect();
        {
            let mut progress = self
                .progress
                .streams
                .lock()
                .map_err(|_| WorkerError::Peer("poisoned".into()))?;
            for (kind, target) in &self.config.plan.0 {
                let stream = self.stream(*kind);
                let entry = progress.entry(stream.clone()).or_default();
                entry.stock = available.get(stream.as_str()).copied().unwrap_or(0);
                entry.target = *target;
            }
        }
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
                let have = available
                    .get(self.stream(*kind).as_str())
                    .copied()
                    .unwrap_or(0);
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

    /// Both parties: generate `count` items of `stream` numbered from `first` and store them.
    async fn round(&mut self, stream: &str, first: u64, count: u64) -> Result<(), WorkerError> {
        let kind: Kind = stream.parse().map_err(WorkerError::Peer)?;
        let expected = self.next.get(&kind).copied();
        if expected != Some(first) {
            return Err(WorkerError::Disagreement(format!(
                "P0 numbers the next {stream} batch from {first}, this worker expected {expected:?}"
            )));
        }
        let started = Instant::now();
        let records = Bytes::from(self.generator.produce(kind, count as usize).await?);
        let bytes = records.len() as u64;
        self.put(&self.stream(kind), first, records).await?;
        self.next.insert(kind, first + count);
        let seconds = started.elapsed().as_secs_f64();
        if let Ok(mut progress) = self.progress.streams.lock() {
            let entry = progress.entry(stream.to_owned()).or_default();
            entry.items += count;
            entry.bytes += bytes;
            entry.seconds += seconds;
            entry.stock += count;
            tracing::info!(
                "{stream}: +{count} items in {seconds:.2} s ({:.0} items/s, {:.1} MB/s); stock {} of {}",
                count as f64 / seconds,
                bytes as f64 / seconds / 1e6,
                entry.stock,
                entry.target
            );
        }
        Ok(())
    }

    /// Puts a batch, retrying while the stockpile is unreachable or full: the peer has (or
    /// will have) the other half under the same tags, so this half must land.
    async fn put(
        &mut self,
        stream: &str,
        first: u64,
        records: Bytes,
    ) -> Result<dyad_proto::stockpile::PutReply, WorkerError> {
        let lane = self.config.lane;
        with_retries(&mut self.store, stream, async |store: &mut StoreClient| {
            store.put(stream, lane, first, records.clone()).await
        })
        .await
    }

    /// The name of `kind`'s stream in this pair's pool.
    fn stream(&self, kind: Kind) -> String {
        Stream::new(&self.config.pool, kind).to_string()
    }

    /// This party's stockpile inventory, retried as a Put is: a stockpile that restarts
    /// between rounds pauses the pair rather than ending it.
    async fn inventory(&mut self) -> Result<dyad_proto::stockpile::InventoryReply, WorkerError> {
        with_retries(
            &mut self.store,
            "inventory",
            async |store: &mut StoreClient| store.inventory().await,
        )
        .await
    }
}

/// Calls `store` with `call`, retrying up to 30 times (200 ms, doubling to 30 s) while it is
/// unreachable or full; `what` names the call in the log.
async fn with_retries<T>(
    store: &mut StoreClient,
    what: &str,
    mut call: impl AsyncFnMut(&mut StoreClient) -> Result<T, tonic::Status>,
) -> Result<T, WorkerError> {
    let mut delay = Duration::from_millis(200);
    for attempt in 0.. {
        match call(store).await {
            Ok(reply) => return Ok(reply),
            Err(status)
                if attempt < 30
                    && matches!(
                        status.code(),
                        tonic::Code::Unavailable
                            | tonic::Code::ResourceExhausted
                            | tonic::Code::Unknown
                    ) =>
            {
                tracing::warn!(
                    "{what}: the stockpile did not answer ({}); retrying in {delay:?}",
                    status.message()
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            Err(status) => return Err(store_error(store, status)),
        }
    }
    unreachable!("the loop returns")
}

/// What a worker says first: its lane, then as text its generation revision, its matrix-triple
/// method and its plan; both workers of a pair must say the same.
fn hello(revision: u32, lane: u32, method: MatrixTripleMethod, pool: &Pool, plan: &str) -> Vec<u8> {
    let mut hello = lane.to_le_bytes().to_vec();
    hello.extend_from_slice(
        format!("generation revision {revision}\nmatrix-triples {method}\nstocking {pool}\n{plan}")
            .as_bytes(),
    );
    hello
}

/// What differs between two hellos (lane, generation revision, matrix-triple method, pool,
/// then the plan text).
fn describe_difference(mine: &[u8], theirs: &[u8]) -> String {
    let lane = |h: &[u8]| {
        h.get(..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    if lane(mine) != lane(theirs) {
        return format!(
            "this worker is on lane {:?}, the peer on lane {:?}",
            lane(mine),
            lane(theirs)
        );
    }
    let text = |h: &[u8]| String::from_utf8_lossy(h.get(4..).unwrap_or_default()).into_owned();
    let (a, b) = (text(mine), text(theirs));
    let line = |t: &str, i: usize| t.lines().nth(i).unwrap_or_default().to_owned();
    if line(&a, 0) != line(&b, 0) {
        return format!(
            "this worker has `{}`, the peer `{}`: both workers of a pair must run the same \
             dyad build",
            line(&a, 0),
            line(&b, 0)
        );
    }
    if line(&a, 1) != line(&b, 1) {
        return format!(
            "this worker makes `{}` (--matrix-triples), the peer `{}`",
            line(&a, 1),
            line(&b, 1)
        );
    }
    if line(&a, 2) != line(&b, 2) {
        return format!(
            "this worker is `{}` (--pool), the peer `{}`",
            line(&a, 2),
            line(&b, 2)
        );
    }
    let first = a
        .lines()
        .zip(b.lines())
        .skip(3)
        .find(|(x, y)| x != y)
        .map(|(x, y)| format!("this plan has `{}`, the peer's `{}`", x.trim(), y.trim()))
        .unwrap_or_else(|| "the plans have different numbers of streams".into());
    format!("the plans differ: {first}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pair's control messages, and the hello that starts a pairing, from hostile bytes
    /// (issue 13): a value or a refusal, never a panic.
    #[test]
    fn control_messages_of_any_bytes_are_read_or_refused() {
        let seeds = vec![
            Decision::Generate {
                stream: "matrix-triple/2x3x4".into(),
                first: 7,
                count: 100,
            }
            .encode(),
            Decision::Wait { millis: 250 }.encode(),
            Decision::Stop.encode(),
            Report {
                headroom: 1 << 30,
                stopping: false,
            }
            .encode(),
        ];
        dyad_fuzz::bounded("control", &seeds, dyad_fuzz::TEST_ITERATIONS, |bytes| {
            let _ = Decision::decode(bytes);
            let _ = Report::decode(bytes);
        });
        let default = Pool::default();
        let mine = hello(
            2,
            0,
            MatrixTripleMethod::He,
            &default,
            "dabit 10\ndaBit 3\n",
        );
        dyad_fuzz::bounded(
            "hello",
            std::slice::from_ref(&mine),
            dyad_fuzz::TEST_ITERATIONS,
            |theirs| {
                let _ = describe_difference(&mine, theirs);
            },
        );
    }

    #[test]
    fn a_different_build_method_pool_or_plan_is_named() {
        let he = MatrixTripleMethod::He;
        let pool = Pool::default();
        let serve: Pool = "serve".parse().expect("a pool");
        let mine = hello(2, 0, he, &pool, "dabit 10\n");
        for (theirs, says) in [
            (hello(2, 1, he, &pool, "dabit 10\n"), "lane"),
            (hello(1, 0, he, &pool, "dabit 10\n"), "same dyad build"),
            (
                hello(2, 0, MatrixTripleMethod::Ot, &pool, "dabit 10\n"),
                "--matrix-triples",
            ),
            (hello(2, 0, he, &serve, "dabit 10\n"), "--pool"),
            (hello(2, 0, he, &pool, "dabit 11\n"), "the plans differ"),
        ] {
            let what = describe_difference(&mine, &theirs);
            assert!(what.contains(says), "{what:?} should say {says:?}");
        }
    }
}
