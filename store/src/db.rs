//! The stockpile's storage engine: items as fixed-size records in RocksDB, handed out at most
//! once, with counters that always add up.
//!
//! Every operation ends in one atomic RocksDB write batch that changes the data and the
//! counters together, so after a crash (even `kill -9` between any two instructions) the
//! store is exactly as after the last completed operation. Puts and hand-outs are synced to
//! disk before they return; settling a lease is not (see [`Db::ack`]). So:
//!
//! - a Put's batch is wholly present or absent;
//! - a Take moves its items into a *lease* in the same write that makes the hand-out durable,
//!   before the reply leaves; [`Db::ack`] turns the lease into `taken`; a lease that is never
//!   acknowledged (lost reply, crashed client, crashed store) turns into `discarded`. Handed-out
//!   items are never available again;
//! - `put = taken + discarded + in_flight + available` for every stream, at all times.
//!
//! Within a lane, items are only ever handed out or discarded from the front, so each chunk
//! needs just a count of how many of its items are gone.
//!
//! The in-memory [`Index`] follows the disk, never leads it: each operation plans its change
//! as a [`crate::index::Delta`], writes it, and applies it only once the write succeeded. A
//! failed write (a full disk: reported as retryable) changes nothing; RocksDB then refuses
//! writes until reopened, which the next operation does, reloading the index from disk.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dyad_vocabulary::{Stream, StreamError, TagRange};
use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions};

use crate::audit::{Entry, Fate, StreamAudit};
use crate::index::{Chunk, ChunkUpdate, Counters, Delta, Index, Op, Pick, Settled};
use crate::keys;
use dyad_store_client::MAX_MESSAGE_BYTES;

/// Records of one Put are split into chunks of about this size, so a Take reads little more
/// than it hands out.
const CHUNK_BYTES: u64 = 1 << 20;

/// A raw RocksDB entry.
type KeyValue = (Box<[u8]>, Box<[u8]>);

const CHUNKS: &str = "chunks";
const META: &str = "meta";
const AUDIT: &str = "audit";

/// Why an operation was refused; each maps to one gRPC status code.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request is malformed (INVALID_ARGUMENT).
    #[error("{0}")]
    InvalidArgument(String),
    /// The request does not fit the store's state (FAILED_PRECONDITION).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Not enough room or items (RESOURCE_EXHAUSTED).
    #[error("{0}")]
    ResourceExhausted(String),
    /// The named lease does not exist (NOT_FOUND).
    #[error("{0}")]
    NotFound(String),
    /// RocksDB failed (INTERNAL).
    #[error("storage failure: {0}")]
    Storage(String),
}

fn storage(e: rocksdb::Error) -> StoreError {
    StoreError::Storage(e.to_string())
}

/// Items handed out under a lease.
#[derive(Debug)]
pub struct Taken {
    /// Acknowledge with [`Db::ack`].
    pub lease: u64,
    /// Size of one record.
    pub item_bytes: u32,
    /// The items' tags, in payload order.
    pub ranges: Vec<TagRange>,
    /// The records, concatenated.
    pub payload: Vec<u8>,
}

/// What a Put did.
#[derive(Debug, PartialEq, Eq)]
pub struct PutOutcome {
    /// The batch had been committed before; nothing was added.
    pub already_present: bool,
    /// The store is above its high-water mark.
    pub pause: bool,
    /// Bytes of available items now.
    pub stored_bytes: u64,
}

/// One stream's line of the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamReport {
    /// The stream's name.
    pub stream: String,
    /// Size of one record.
    pub item_bytes: u32,
    /// Items available.
    pub available: u64,
    /// Bytes of the available items.
    pub bytes: u64,
    /// Items ever put.
    pub put: u64,
    /// Items handed out and acknowledged.
    pub taken: u64,
    /// Items handed out unacknowledged, or discarded as unpairable.
    pub discarded: u64,
    /// Items handed out, acknowledgement pending.
    pub in_flight: u64,
}

/// Disk limits.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Puts beyond this many bytes of available items fail.
    pub budget_bytes: u64,
    /// Above this, Put replies tell workers to pause.
    pub high_water_bytes: u64,
}

#[derive(Debug)]
struct Lease {
    stream: String,
    count: u64,
    expires: Instant,
}

/// An open stockpile.
pub struct Db {
    /// `None` only between a failed write's reopening attempts.
    db: Option<DB>,
    path: PathBuf,
    party: u8,
    budget: Budget,
    write: WriteOptions,
    lease_ttl: Duration,
    index: Index,
    leases: HashMap<u64, Lease>,
    next_lease: u64,
    /// A write failed: RocksDB refuses further writes until it is reopened.
    failed: bool,
    /// Streams set aside at open: of kinds this version does not know, or of an earlier record
    /// layout.
    retired: Retired,
    /// The next ledger record's number, once the ledger ([`crate::audit`]) is on.
    next_audit: Option<u64>,
}

/// Streams set aside at open because this version does not know their kind (an upgrade
/// retired it) or lays out their records differently: their names, and the metadata keys that
/// hold them.
#[derive(Debug, Default)]
struct Retired {
    names: BTreeSet<String>,
    meta_keys: Vec<Box<[u8]>>,
}

/// The revision of a stream's record layout, from its name's kind
/// ([`dyad_vocabulary::Kind::layout_revision`]); 0 for a name of no kind.
fn layout_of(stream: &str) -> u64 {
    stream
        .parse::<Stream>()
        .map_or(0, |s| u64::from(s.kind.layout_revision()))
}

/// A stream's metadata: its record size, its counters `[put, taken, discarded, in_flight]` and
/// the revision of its records' layout (1 where a version before revisions wrote it).
fn stream_fields(value: &[u8]) -> Option<(u64, [u64; 4], u64)> {
    let ([bytes, put, taken, discarded, in_flight], layout) = match value.len() {
        40 => (keys::decode_u64s::<5>(value)?, 1),
        _ => {
            let [bytes, put, taken, discarded, in_flight, layout] = keys::decode_u64s::<6>(value)?;
            ([bytes, put, taken, discarded, in_flight], layout)
        }
    };
    Some((bytes, [put, taken, discarded, in_flight], layout))
}

/// The streams of a kind this version knows whose records were written in another layout (an
/// upgrade changed the kind's record): another record size, or an earlier layout revision.
/// Reading them as today's records would give wrong items, so they are set aside like streams
/// of a retired kind.
fn relaid_streams(entries: &[KeyValue]) -> Result<BTreeSet<String>, StoreError> {
    let mut relaid = BTreeSet::new();
    for (key, value) in entries {
        let Some((&keys::STREAM, body)) = key.split_first() else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(body) else {
            continue;
        };
        let Ok(stream) = name.parse::<Stream>() else {
            continue;
        };
        let (bytes, _, layout) = stream_fields(value)
            .ok_or_else(|| StoreError::Storage("corrupt metadata: stream".into()))?;
        if bytes != stream.kind.item_bytes() as u64
            || layout < u64::from(stream.kind.layout_revision())
        {
            relaid.insert(name.to_owned());
        }
    }
    Ok(relaid)
}

/// The record size of a stream, from its name (a kind, perhaps in a pool); refuses names that
/// are no stream.
pub fn item_bytes_of(stream: &str) -> Result<u32, StoreError> {
    let parsed: Stream = stream
        .parse()
        .map_err(|e: StreamError| StoreError::InvalidArgument(e.to_string()))?;
    u32::try_from(parsed.kind.item_bytes())
        .ok()
        .filter(|&b| u64::from(b) <= MAX_MESSAGE_BYTES)
        .ok_or_else(|| {
            StoreError::InvalidArgument(format!(
                "one {stream} item is larger than a message may be ({MAX_MESSAGE_BYTES} bytes)"
            ))
        })
}

impl Db {
    /// Opens (or creates) the stockpile of `party` in `path`. Leases left open by a crash are
    /// resolved as discarded: whether their reply arrived is unknown, so their items must
    /// never be handed out again.
    pub fn open(
        path: &Path,
        party: u8,
        budget: Budget,
        lease_ttl: Duration,
    ) -> Result<Db, StoreError> {
        let mut write = WriteOptions::default();
        write.set_sync(true);
        let mut store = Db {
            db: Some(open_rocksdb(path)?),
            path: path.to_owned(),
            party,
            budget,
            write,
            lease_ttl,
            index: Index::default(),
            leases: HashMap::new(),
            next_lease: 1,
            failed: false,
            retired: Retired::default(),
            next_audit: None,
        };
        store.load()?;
        Ok(store)
    }

    /// Deletes the records of the streams set aside at open (of a kind this version does not
    /// know, or of an earlier record layout), with their ledger entries, in one synced write;
    /// returns their names. Nothing else changes: they were outside the index and the budget
    /// already. A stream of an earlier layout then fills anew under the same name, so the
    /// ledger must not keep the ranges of the records that were deleted.
    pub fn drop_retired(&mut self) -> Result<Vec<String>, StoreError> {
        self.recover()?;
        if self.retired.names.is_empty() {
            return Ok(Vec::new());
        }
        let mut batch = WriteBatch::default();
        for item in self
            .rocks()
            .iterator_cf(self.cf(AUDIT), rocksdb::IteratorMode::Start)
        {
            let (key, value) = item.map_err(storage)?;
            if Entry::decode(&value).is_some_and(|e| self.retired.names.contains(&e.stream)) {
                batch.delete_cf(self.cf(AUDIT), key);
            }
        }
        let (meta, chunks) = (self.cf(META), self.cf(CHUNKS));
        for key in &self.retired.meta_keys {
            batch.delete_cf(meta, key);
            // A chunk's metadata key is its records' key behind the tag.
            if let Some((&keys::CHUNK, records)) = key.split_first() {
                batch.delete_cf(chunks, records);
            }
        }
        self.commit(batch)?;
        Ok(std::mem::take(&mut self.retired)
            .names
            .into_iter()
            .collect())
    }

    fn rocks(&self) -> &DB {
        self.db
            .as_ref()
            .expect("open: every operation that reaches RocksDB recovers first")
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.rocks()
            .cf_handle(name)
            .expect("column families are created at open")
    }

    /// After a failed write RocksDB stays read-only (a full disk, say), so the next operation
    /// first reopens it and reloads the index from disk. Memory never ran ahead of disk (see
    /// [`crate::index`]); the open leases are lost with the handle and the reloaded store
    /// resolves them as discarded, so none of their items is handed out again.
    fn recover(&mut self) -> Result<(), StoreError> {
        if !self.failed {
            return Ok(());
        }
        // Close the old handle first: RocksDB allows one open handle per directory.
        self.db = None;
        self.db = Some(open_rocksdb(&self.path)?);
        self.leases.clear();
        self.failed = false;
        self.load()?;
        tracing::info!("the stockpile's storage accepts writes again");
        Ok(())
    }

    fn commit_with(&mut self, batch: WriteBatch, synced: bool) -> Result<(), StoreError> {
        let result = match synced {
            true => self.rocks().write_opt(batch, &self.write),
            false => self.rocks().write(batch),
        };
        result.map_err(|e| {
            self.failed = true;
            tracing::warn!("a stockpile write failed, nothing changed: {e}");
            match e.to_string().contains("No space left on device") {
                // Retryable: the store recovers once space returns.
                true => StoreError::ResourceExhausted(format!("the stockpile's disk is full: {e}")),
                false => storage(e),
            }
        })
    }

    fn commit(&mut self, batch: WriteBatch) -> Result<(), StoreError> {
        self.commit_with(batch, true)
    }

    /// A write that may be lost in an operating-system crash (never in a process crash: it is
    /// in the write-ahead log). Only for settling leases: a lost settlement leaves the lease,
    /// which the next start resolves as discarded, so nothing can be handed out twice.
    fn commit_unsynced(&mut self, batch: WriteBatch) -> Result<(), StoreError> {
        self.commit_with(batch, false)
    }

    /// Adds `delta`'s metadata (counters, lanes, chunk states; records of gone chunks deleted)
    /// to `batch`.
    fn write_delta(&self, batch: &mut WriteBatch, delta: &Delta) {
        let (meta, chunks) = (self.cf(META), self.cf(CHUNKS));
        let c = delta.counters;
        let mut fields = vec![
            u64::from(delta.item_bytes),
            c.put,
            c.taken,
            c.discarded,
            c.in_flight,
        ];
        // The first revision is written as before revisions were kept, so that a build from
        // before can still open a stockpile with no stream of a later layout.
        match layout_of(&delta.stream) {
            0 | 1 => {}
            layout => fields.push(layout),
        }
        let value = keys::encode_u64s(&fields);
        batch.put_cf(meta, keys::stream_key(&delta.stream), value);
        for &(lane, next) in &delta.lanes {
            batch.put_cf(
                meta,
                keys::lane_key(&delta.stream, lane),
                keys::encode_u64s(&[next]),
            );
        }
        for &ChunkUpdate { lane, first, chunk } in &delta.chunks {
            let key = keys::chunk_key(&delta.stream, lane, first);
            let meta_key = keys::meta_key(keys::CHUNK, &key);
            match chunk {
                Some(Chunk { count, gone }) => {
                    batch.put_cf(meta, meta_key, keys::encode_u64s(&[count, gone]))
                }
                None => {
                    batch.delete_cf(chunks, key);
                    batch.delete_cf(meta, meta_key);
                }
            }
        }
    }

    /// Rebuilds the in-memory index from `meta` and resolves leftover leases.
    fn load(&mut self) -> Result<(), StoreError> {
        let corrupt = |what: &str| StoreError::Storage(format!("corrupt metadata: {what}"));
        match self
            .rocks()
            .get_cf(self.cf(META), keys::PARTY)
            .map_err(storage)?
        {
            Some(p) if p.as_slice() != [self.party] => {
                return Err(StoreError::FailedPrecondition(format!(
                    "this data directory holds P{}'s stockpile, not P{}'s",
                    p.first().copied().unwrap_or(255),
                    self.party
                )));
            }
            Some(_) => {}
            None => {
                let mut batch = WriteBatch::default();
                batch.put_cf(self.cf(META), keys::PARTY, [self.party]);
                self.commit(batch)?;
            }
        }
        let mut stale_leases = Vec::new();
        let entries: Vec<KeyValue> = self
            .rocks()
            .iterator_cf(self.cf(META), rocksdb::IteratorMode::Start)
            .collect::<Result<_, _>>()
            .map_err(storage)?;
        let mut index = Index::default();
        let relaid = relaid_streams(&entries)?;
        // Streams of a kind this version no longer makes or takes (an upgrade retired it), or
        // whose records it lays out differently: left on disk as they are, outside the index
        // and the budget.
        let mut retired = Retired::default();
        let mut retired_lease: Option<u64> = None;
        let mut is_retired = |name: &str, key: &[u8]| {
            let gone = name.parse::<Stream>().is_err() || relaid.contains(name);
            if gone {
                retired.names.insert(name.to_owned());
                retired.meta_keys.push(key.into());
            }
            gone
        };
        for (key, value) in entries {
            let (tag, body) = key.split_first().ok_or_else(|| corrupt("empty key"))?;
            match *tag {
                keys::STREAM => {
                    let name = std::str::from_utf8(body).map_err(|_| corrupt("stream name"))?;
                    if is_retired(name, &key) {
                        continue;
                    }
                    let (item_bytes, [put, taken, discarded, in_flight], _) =
                        stream_fields(&value).ok_or_else(|| corrupt("stream"))?;
                    let counters = Counters {
                        put,
                        taken,
                        discarded,
                        in_flight,
                    };
                    index.load_stream(name, item_bytes as u32, counters);
                }
                keys::LANE => {
                    let (name, lane) = keys::parse_lane_key(body).ok_or_else(|| corrupt("lane"))?;
                    if is_retired(&name, &key) {
                        continue;
                    }
                    let [next] = keys::decode_u64s::<1>(&value).ok_or_else(|| corrupt("lane"))?;
                    index.load_lane(&name, item_bytes_of(&name)?, lane, next);
                }
                keys::CHUNK => {
                    let (name, lane, first) =
                        keys::parse_chunk_key(body).ok_or_else(|| corrupt("chunk key"))?;
                    if is_retired(&name, &key) {
                        continue;
                    }
                    let [count, gone] =
                        keys::decode_u64s::<2>(&value).ok_or_else(|| corrupt("chunk"))?;
                    let chunk = Chunk { count, gone };
                    index.load_chunk(&name, item_bytes_of(&name)?, lane, first, chunk);
                }
                keys::LEASE => {
                    let id = u64::from_be_bytes(body.try_into().map_err(|_| corrupt("lease"))?);
                    let (count, name) =
                        value.split_at_checked(8).ok_or_else(|| corrupt("lease"))?;
                    let count = u64::from_le_bytes(count.try_into().map_err(|_| corrupt("lease"))?);
                    let name = std::str::from_utf8(name).map_err(|_| corrupt("lease"))?;
                    if is_retired(name, &key) {
                        // Its id stays taken: new leases must not reuse a key still on disk.
                        retired_lease = retired_lease.max(Some(id));
                        continue;
                    }
                    stale_leases.push((id, name.to_owned(), count));
                }
                b'I' => {
                    let [next] =
                        keys::decode_u64s::<1>(&value).ok_or_else(|| corrupt("lease id"))?;
                    self.next_lease = next;
                }
                b'A' => {
                    let [next] =
                        keys::decode_u64s::<1>(&value).ok_or_else(|| corrupt("ledger number"))?;
                    self.next_audit = Some(next);
                }
                b'P' => {}
                _ => return Err(corrupt("unknown key")),
            }
        }
        for name in &retired.names {
            let why = match relaid.contains(name) {
                true => "holds records of an earlier layout (changed by an upgrade)",
                false => "is of no kind this version knows (retired by an upgrade?)",
            };
            tracing::warn!(
                "stream {name} {why}: its items stay on disk, unused and outside the budget; \
                 `dyad store --drop-retired` deletes them"
            );
        }
        self.retired = retired;
        if let Some(id) = retired_lease {
            self.next_lease = self.next_lease.max(id + 1);
        }
        index.finish_loading();
        self.index = index;
        // A lease that survived the process: its reply may or may not have arrived.
        if stale_leases.is_empty() {
            return Ok(());
        }
        let mut planned = self.index.clone();
        let mut deltas: Vec<Delta> = Vec::new();
        let mut batch = WriteBatch::default();
        for (id, name, count) in &stale_leases {
            if planned.stream(name).is_none() {
                return Err(corrupt("lease of an unknown stream"));
            }
            batch.delete_cf(self.cf(META), keys::lease_key(*id));
            let delta = planned.plan_settle(name, *count, Settled::Discarded);
            planned.apply(&delta);
            deltas.push(delta);
        }
        for d in &deltas {
            self.write_delta(&mut batch, d);
        }
        self.commit(batch)?;
        self.index = planned;
        Ok(())
    }

    fn pause(&self) -> bool {
        self.index.stored_bytes() >= self.budget.high_water_bytes
    }

    /// Adds a batch of consecutive items of `lane`, starting at `first`.
    pub fn put(
        &mut self,
        name: &str,
        lane: u32,
        first: u64,
        payload: &[u8],
    ) -> Result<PutOutcome, StoreError> {
        self.recover()?;
        let item_bytes = self.record_size(name)?;
        let size = u64::from(item_bytes);
        let len = payload.len() as u64;
        if len == 0 || !len.is_multiple_of(size) {
            return Err(StoreError::InvalidArgument(format!(
                "a {name} batch must be a whole, nonzero number of {size}-byte records; got {len} bytes"
            )));
        }
        let count = len / size;
        let end = first
            .checked_add(count)
            .ok_or_else(|| StoreError::InvalidArgument("sequence numbers overflow".into()))?;
        let next = self.index.lane_next(name, lane);
        if end <= next {
            return Ok(PutOutcome {
                already_present: true,
                pause: self.pause(),
                stored_bytes: self.index.stored_bytes(),
            });
        }
        if first != next {
            return Err(StoreError::FailedPrecondition(format!(
                "{name} lane {lane}: the batch starts at item {first}, but the lane continues at {next}"
            )));
        }
        if self.index.stored_bytes() + len > self.budget.budget_bytes {
            return Err(StoreError::ResourceExhausted(format!(
                "the stockpile is full: {} of {} bytes used, the batch needs {len} more",
                self.index.stored_bytes(),
                self.budget.budget_bytes
            )));
        }
        let per_chunk = (CHUNK_BYTES / size).max(1);
        let pieces: Vec<&[u8]> = payload.chunks((per_chunk * size) as usize).collect();
        let counts: Vec<u64> = pieces.iter().map(|r| r.len() as u64 / size).collect();
        let delta = self.index.plan_put(name, item_bytes, lane, first, &counts);
        let mut batch = WriteBatch::default();
        for (update, records) in delta.chunks.iter().zip(&pieces) {
            let key = keys::chunk_key(name, lane, update.first);
            batch.put_cf(self.cf(CHUNKS), &key, records);
        }
        self.write_delta(&mut batch, &delta);
        self.commit(batch)?;
        self.index.apply(&delta);
        Ok(PutOutcome {
            already_present: false,
            pause: self.pause(),
            stored_bytes: self.index.stored_bytes(),
        })
    }

    /// The record size of `name`, refusing a stream of a known kind that was set aside at open
    /// for its records' earlier layout: they still hold the stream's chunk keys, so new records
    /// must wait until they are deleted.
    fn record_size(&self, name: &str) -> Result<u32, StoreError> {
        let item_bytes = item_bytes_of(name)?;
        if self.retired.names.contains(name) {
            return Err(StoreError::FailedPrecondition(format!(
                "stream {name} holds records of an earlier layout, set aside at open: \
                 `dyad store --drop-retired` deletes them, and the stream takes new ones"
            )));
        }
        Ok(item_bytes)
    }

    fn check_reply_size(&self, name: &str, count: u64) -> Result<u32, StoreError> {
        let item_bytes = self.record_size(name)?;
        if count == 0 {
            return Err(StoreError::InvalidArgument("asked for 0 items".into()));
        }
        match count.checked_mul(u64::from(item_bytes)) {
            Some(bytes) if bytes <= MAX_MESSAGE_BYTES => Ok(item_bytes),
            _ => Err(StoreError::InvalidArgument(format!(
                "{count} {name} items of {item_bytes} bytes exceed the {MAX_MESSAGE_BYTES}-byte \
                 limit of one reply; take fewer at a time"
            ))),
        }
    }

    /// Hands out the lowest-numbered items of the stream: as many as are available up to
    /// `at_most`, or `None` if fewer than `at_least` are (nothing changes then).
    pub fn take(
        &mut self,
        name: &str,
        at_least: u64,
        at_most: u64,
    ) -> Result<Option<Taken>, StoreError> {
        self.recover()?;
        self.check_reply_size(name, at_most)?;
        if at_least == 0 || at_least > at_most {
            return Err(StoreError::InvalidArgument(format!(
                "asked for at least {at_least} and at most {at_most} items"
            )));
        }
        let Some(stream) = self.index.stream(name) else {
            return Ok(None);
        };
        let available = stream.available();
        if available < at_least {
            return Ok(None);
        }
        let count = available.min(at_most);
        let mut picks = Vec::new();
        let mut left = count;
        'lanes: for (&lane, state) in &stream.lanes {
            for (&chunk_first, chunk) in &state.chunks {
                if left == 0 {
                    break 'lanes;
                }
                let k = (chunk.count - chunk.gone).min(left);
                picks.push(Op::Take(Pick {
                    lane,
                    chunk_first,
                    offset: chunk.gone,
                    count: k,
                }));
                left -= k;
            }
        }
        self.hand_out(name, &picks).map(Some)
    }

    /// Hands out exactly the named items, discarding lower-numbered leftovers of the same
    /// lanes. `None` if some named item has not been put yet (nothing changes then).
    pub fn take_exact(
        &mut self,
        name: &str,
        ranges: &[TagRange],
    ) -> Result<Option<Taken>, StoreError> {
        let total = ranges
            .iter()
            .try_fold(0u64, |t, r| t.checked_add(r.count()));
        let total = total.ok_or_else(|| StoreError::InvalidArgument("counts overflow".into()))?;
        self.check_reply_size(name, total)?;
        for (i, r) in ranges.iter().enumerate() {
            if r.seqs.is_empty() {
                return Err(StoreError::InvalidArgument(format!("range {i} is empty")));
            }
            if i > 0 && (ranges[i - 1].lane, ranges[i - 1].seqs.end) > (r.lane, r.seqs.start) {
                return Err(StoreError::InvalidArgument(
                    "ranges must be sorted by lane and item, without overlap".into(),
                ));
            }
        }
        self.recover()?;
        let Some(stream) = self.index.stream(name) else {
            return Ok(None);
        };
        if ranges.iter().any(|r| {
            stream
                .lanes
                .get(&r.lane)
                .is_none_or(|l| r.seqs.end > l.next)
        }) {
            return Ok(None);
        }
        let mut ops = Vec::new();
        for (&lane, state) in &stream.lanes {
            // The lane's available items, front first: (chunk, first available, end).
            let mut segments: std::collections::VecDeque<(u64, u64, u64)> = state
                .chunks
                .iter()
                .map(|(&first, c)| (first, first + c.gone, first + c.count))
                .collect();
            for r in ranges.iter().filter(|r| r.lane == lane) {
                let mut need = r.seqs.start;
                while need < r.seqs.end {
                    let Some((chunk_first, start, end)) = segments.front_mut() else {
                        return Err(gone(name, r));
                    };
                    let pick = |from: u64, to: u64| Pick {
                        lane,
                        chunk_first: *chunk_first,
                        offset: from - *chunk_first,
                        count: to - from,
                    };
                    if *start > need {
                        return Err(gone(name, r));
                    }
                    // Items below the wanted one can never be paired: P0 is past them.
                    let below = (*end).min(need);
                    if *start < below {
                        ops.push(Op::Discard(pick(*start, below)));
                        *start = below;
                    }
                    if *start < *end {
                        let to = (*end).min(r.seqs.end);
                        ops.push(Op::Take(pick(need, to)));
                        need = to;
                        *start = to;
                    }
                    if *start == *end {
                        segments.pop_front();
                    }
                }
            }
        }
        self.hand_out(name, &ops).map(Some)
    }

    /// Commits a hand-out (and discards) as one write and returns the records.
    fn hand_out(&mut self, name: &str, ops: &[Op]) -> Result<Taken, StoreError> {
        let item_bytes = self
            .index
            .stream(name)
            .map(|s| s.item_bytes)
            .ok_or_else(|| StoreError::Storage(format!("no stream {name}")))?;
        let size = u64::from(item_bytes);
        let count: u64 = ops
            .iter()
            .map(|op| match op {
                Op::Take(p) => p.count,
                Op::Discard(_) => 0,
            })
            .sum();
        let mut payload = Vec::with_capacity((count * size) as usize);
        let mut ranges: Vec<TagRange> = Vec::new();
        for p in ops.iter().filter_map(|op| match op {
            Op::Take(p) => Some(p),
            Op::Discard(_) => None,
        }) {
            let key = keys::chunk_key(name, p.lane, p.chunk_first);
            let records = self
                .rocks()
                .get_pinned_cf(self.cf(CHUNKS), &key)
                .map_err(storage)?
                .ok_or_else(|| StoreError::Storage(format!("records of {name} chunk missing")))?;
            let from = (p.offset * size) as usize;
            let to = ((p.offset + p.count) * size) as usize;
            payload.extend_from_slice(records.get(from..to).ok_or_else(|| {
                StoreError::Storage(format!("records of {name} chunk are short"))
            })?);
            let first = p.chunk_first + p.offset;
            match ranges.last_mut() {
                Some(last) if last.lane == p.lane && last.seqs.end == first => {
                    last.seqs.end += p.count
                }
                _ => ranges.push(TagRange::new(p.lane, first, p.count)),
            }
        }

        // One write: chunks consumed, counters, and the lease; memory follows once it is on
        // disk.
        let delta = self.index.plan_hand_out(name, ops);
        let lease = self.next_lease;
        let mut batch = WriteBatch::default();
        self.write_delta(&mut batch, &delta);
        let mut lease_value = count.to_le_bytes().to_vec();
        lease_value.extend_from_slice(name.as_bytes());
        batch.put_cf(self.cf(META), keys::lease_key(lease), lease_value);
        batch.put_cf(
            self.cf(META),
            keys::NEXT_LEASE,
            keys::encode_u64s(&[lease + 1]),
        );
        let next_audit = self.record(&mut batch, || crate::audit::entries_of(name, ops));
        self.commit(batch)?;
        self.next_audit = next_audit;
        self.index.apply(&delta);
        self.next_lease = lease + 1;
        self.leases.insert(
            lease,
            Lease {
                stream: name.to_owned(),
                count,
                expires: Instant::now() + self.lease_ttl,
            },
        );
        Ok(Taken {
            lease,
            item_bytes,
            ranges,
            payload,
        })
    }

    /// Marks a lease's items as taken: their reply arrived. Not synced: if the machine loses
    /// this write, the lease is still there at the next start and its items count as
    /// discarded instead, never as available.
    pub fn ack(&mut self, lease: u64) -> Result<(), StoreError> {
        self.recover()?;
        if !self.leases.contains_key(&lease) {
            return Err(StoreError::NotFound(format!(
                "lease {lease} is unknown or expired (its items were counted as discarded)"
            )));
        }
        self.settle(&[lease], Settled::Taken)
    }

    /// Resolves the leases whose acknowledgement is overdue as discarded; returns how many.
    pub fn expire_leases(&mut self, now: Instant) -> Result<usize, StoreError> {
        self.recover()?;
        let overdue: Vec<u64> = self
            .leases
            .iter()
            .filter(|(_, l)| l.expires <= now)
            .map(|(&id, _)| id)
            .collect();
        if !overdue.is_empty() {
            self.settle(&overdue, Settled::Discarded)?;
        }
        Ok(overdue.len())
    }

    /// Settles open leases in one write; they leave memory once it is on disk.
    fn settle(&mut self, ids: &[u64], outcome: Settled) -> Result<(), StoreError> {
        let mut planned = self.index.clone();
        let mut deltas = Vec::with_capacity(ids.len());
        let mut batch = WriteBatch::default();
        for id in ids {
            let lease = &self.leases[id];
            let delta = planned.plan_settle(&lease.stream, lease.count, outcome);
            planned.apply(&delta);
            batch.delete_cf(self.cf(META), keys::lease_key(*id));
            deltas.push(delta);
        }
        for delta in &deltas {
            self.write_delta(&mut batch, delta);
        }
        self.commit_unsynced(batch)?;
        self.index = planned;
        for id in ids {
            self.leases.remove(id);
        }
        Ok(())
    }

    /// The inventory of every stream, sorted by name.
    pub fn inventory(&self) -> Vec<StreamReport> {
        self.index
            .streams()
            .map(|(name, s)| StreamReport {
                stream: name.clone(),
                item_bytes: s.item_bytes,
                available: s.available(),
                bytes: s.available() * u64::from(s.item_bytes),
                put: s.counters.put,
                taken: s.counters.taken,
                discarded: s.counters.discarded,
                in_flight: s.counters.in_flight,
            })
            .collect()
    }

    /// Bytes of available items.
    pub fn stored_bytes(&self) -> u64 {
        self.index.stored_bytes()
    }

    /// The disk limits.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// The party whose stockpile this is.
    pub fn party(&self) -> u8 {
        self.party
    }

    /// A lane's `next` and lowest available item.
    pub fn lane_status(&self, name: &str, lane: u32) -> Result<(u64, u64), StoreError> {
        self.record_size(name)?;
        Ok(self
            .index
            .stream(name)
            .and_then(|s| s.lanes.get(&lane))
            .map_or((0, 0), |l| (l.next, l.lowest_available())))
    }

    /// Discards the untaken items numbered `keep_below` and up and moves the lane's `next`
    /// to at least `next`. Returns the number discarded and the new `next`.
    pub fn align(
        &mut self,
        name: &str,
        lane: u32,
        keep_below: u64,
        next: u64,
    ) -> Result<(u64, u64), StoreError> {
        self.recover()?;
        let item_bytes = self.record_size(name)?;
        let (delta, spans) = self
            .index
            .plan_align(name, item_bytes, lane, keep_below, next);
        let old_next = self.index.lane_next(name, lane);
        let new_next = delta.lanes.first().map_or(next, |&(_, n)| n);
        let entries = || {
            let entry = |first: u64, count: u64, fate: Fate| Entry {
                stream: name.to_owned(),
                lane,
                first,
                count,
                fate,
            };
            let mut entries: Vec<Entry> = spans
                .iter()
                .map(|&(first, count)| entry(first, count, Fate::Discarded))
                .collect();
            if new_next > old_next {
                entries.push(entry(old_next, new_next - old_next, Fate::Skipped));
            }
            entries
        };
        let mut batch = WriteBatch::default();
        self.write_delta(&mut batch, &delta);
        let next_audit = self.record(&mut batch, entries);
        self.commit(batch)?;
        self.next_audit = next_audit;
        self.index.apply(&delta);
        Ok((spans.iter().map(|&(_, count)| count).sum(), new_next))
    }

    /// Turns the ledger ([`crate::audit`]) on, for good. It must cover the stockpile from its
    /// first item, so a stockpile that already holds items without one is refused.
    pub fn start_audit(&mut self) -> Result<(), StoreError> {
        self.recover()?;
        if self.next_audit.is_some() {
            return Ok(());
        }
        if self
            .index
            .streams()
            .any(|(_, s)| s.lanes.values().any(|l| l.next > 0))
        {
            return Err(StoreError::FailedPrecondition(
                "this stockpile holds items put before it had a ledger, which an audit could \
                 not account for; start the ledger with a new data directory"
                    .into(),
            ));
        }
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(META), keys::NEXT_AUDIT, keys::encode_u64s(&[0]));
        self.commit(batch)?;
        self.next_audit = Some(0);
        Ok(())
    }

    /// Adds the ledger records `entries` makes to `batch` if the ledger is on (only then are
    /// they made: a Take without a ledger pays nothing); returns the ledger's next number once
    /// `batch` is committed.
    fn record(&self, batch: &mut WriteBatch, entries: impl FnOnce() -> Vec<Entry>) -> Option<u64> {
        let mut next = self.next_audit?;
        for e in entries() {
            batch.put_cf(self.cf(AUDIT), next.to_be_bytes(), e.encode());
            next += 1;
        }
        batch.put_cf(self.cf(META), keys::NEXT_AUDIT, keys::encode_u64s(&[next]));
        Some(next)
    }

    /// Checks the ledger against the stockpile ([`crate::audit::verify`]); `None` if the
    /// stockpile has no ledger.
    pub fn audit(&mut self) -> Result<Option<Vec<StreamAudit>>, StoreError> {
        self.recover()?;
        if self.next_audit.is_none() {
            return Ok(None);
        }
        let mut entries = Vec::new();
        for item in self
            .rocks()
            .iterator_cf(self.cf(AUDIT), rocksdb::IteratorMode::Start)
        {
            let (_, value) = item.map_err(storage)?;
            entries.push(
                Entry::decode(&value).ok_or_else(|| {
                    StoreError::Storage("corrupt metadata: a ledger record".into())
                })?,
            );
        }
        Ok(Some(crate::audit::verify(&entries, &self.index)))
    }
}

/// The most write-ahead log a stockpile keeps (see [`open_rocksdb`]).
const WAL_LIMIT_BYTES: u64 = 128 << 20;

/// Opens the RocksDB of a stockpile (creating it if missing).
fn open_rocksdb(path: &Path) -> Result<DB, StoreError> {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    options.set_max_background_jobs(2);
    // A write-ahead log file is deleted only once every column family has flushed what it
    // holds; the small metadata family would otherwise keep every log alive, and the soak
    // (issue 13) saw the logs grow by the whole stream of Puts. Past this total, RocksDB
    // flushes the families holding the oldest log, so the logs stay near one memtable.
    options.set_max_total_wal_size(WAL_LIMIT_BYTES);
    let mut chunk_options = Options::default();
    // Records are uniformly random: compression cannot shrink them. Large values go to
    // blob files so compaction does not rewrite them.
    chunk_options.set_compression_type(rocksdb::DBCompressionType::None);
    chunk_options.set_enable_blob_files(true);
    chunk_options.set_min_blob_size(4096);
    chunk_options.set_blob_compression_type(rocksdb::DBCompressionType::None);
    chunk_options.set_enable_blob_gc(true);
    let cfs = vec![
        ColumnFamilyDescriptor::new(CHUNKS, chunk_options),
        ColumnFamilyDescriptor::new(META, Options::default()),
        ColumnFamilyDescriptor::new(AUDIT, Options::default()),
    ];
    DB::open_cf_descriptors(&options, path, cfs).map_err(storage)
}

fn gone(name: &str, r: &TagRange) -> StoreError {
    StoreError::FailedPrecondition(format!(
        "{name} lane {} items {}..{} were already handed out or discarded here",
        r.lane, r.seqs.start, r.seqs.end
    ))
}
