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

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use dyad_online::randomness::Kind;
use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions};

use crate::keys;

/// Records of one Put are split into chunks of about this size, so a Take reads little more
/// than it hands out.
const CHUNK_BYTES: u64 = 1 << 20;
/// The most bytes one Put may carry or one Take may return.
pub const MAX_MESSAGE_BYTES: u64 = 256 << 20;

/// A raw RocksDB entry.
type KeyValue = (Box<[u8]>, Box<[u8]>);

const CHUNKS: &str = "chunks";
const META: &str = "meta";

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

/// Consecutive items of one lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemRange {
    /// The lane.
    pub lane: u32,
    /// The first item's sequence number.
    pub first: u64,
    /// How many items.
    pub count: u64,
}

impl ItemRange {
    fn end(&self) -> u64 {
        self.first + self.count
    }
}

/// Items handed out under a lease.
#[derive(Debug)]
pub struct Taken {
    /// Acknowledge with [`Db::ack`].
    pub lease: u64,
    /// Size of one record.
    pub item_bytes: u32,
    /// The items' tags, in payload order.
    pub ranges: Vec<ItemRange>,
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

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    put: u64,
    taken: u64,
    discarded: u64,
    in_flight: u64,
}

#[derive(Debug, Clone, Copy)]
struct Chunk {
    count: u64,
    /// How many items at the front are gone (handed out or discarded).
    gone: u64,
}

#[derive(Debug, Default)]
struct Lane {
    /// One past the last committed item.
    next: u64,
    /// Chunks with items left, by first item.
    chunks: BTreeMap<u64, Chunk>,
}

impl Lane {
    fn available(&self) -> u64 {
        self.chunks.values().map(|c| c.count - c.gone).sum()
    }

    fn lowest_available(&self) -> u64 {
        self.chunks
            .iter()
            .next()
            .map_or(self.next, |(first, c)| first + c.gone)
    }
}

#[derive(Debug)]
struct Stream {
    item_bytes: u32,
    counters: Counters,
    lanes: BTreeMap<u32, Lane>,
}

impl Stream {
    fn available(&self) -> u64 {
        self.lanes.values().map(Lane::available).sum()
    }
}

#[derive(Debug)]
struct Lease {
    stream: String,
    count: u64,
    expires: Instant,
}

/// `count` items of the chunk `(lane, chunk_first)`, starting `offset` items into it.
#[derive(Debug, Clone, Copy)]
struct Pick {
    lane: u32,
    chunk_first: u64,
    offset: u64,
    count: u64,
}

/// One step of a hand-out, applied in order: items leave a chunk from its front.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// Hand the items out.
    Take(Pick),
    /// Discard the items: their other halves can no longer be paired.
    Discard(Pick),
}

/// An open stockpile.
pub struct Db {
    db: DB,
    party: u8,
    budget: Budget,
    write: WriteOptions,
    lease_ttl: Duration,
    streams: BTreeMap<String, Stream>,
    leases: HashMap<u64, Lease>,
    next_lease: u64,
    stored_bytes: u64,
}

/// The record size of a stream, from its name; refuses names that are no kind.
pub fn item_bytes_of(stream: &str) -> Result<u32, StoreError> {
    let kind: Kind = stream.parse().map_err(StoreError::InvalidArgument)?;
    u32::try_from(kind.item_bytes())
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
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_max_background_jobs(2);
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
        ];
        let db = DB::open_cf_descriptors(&options, path, cfs).map_err(storage)?;
        let mut write = WriteOptions::default();
        write.set_sync(true);
        let mut store = Db {
            db,
            party,
            budget,
            write,
            lease_ttl,
            streams: BTreeMap::new(),
            leases: HashMap::new(),
            next_lease: 1,
            stored_bytes: 0,
        };
        store.load()?;
        Ok(store)
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("column families are created at open")
    }

    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.db.write_opt(batch, &self.write).map_err(storage)
    }

    /// A write that may be lost in an operating-system crash (never in a process crash: it is
    /// in the write-ahead log). Only for settling leases: a lost settlement leaves the lease,
    /// which the next start resolves as discarded, so nothing can be handed out twice.
    fn commit_unsynced(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.db.write(batch).map_err(storage)
    }

    /// Rebuilds the in-memory index from `meta` and resolves leftover leases.
    fn load(&mut self) -> Result<(), StoreError> {
        let corrupt = |what: &str| StoreError::Storage(format!("corrupt metadata: {what}"));
        let meta = self.cf(META);
        match self.db.get_cf(meta, keys::PARTY).map_err(storage)? {
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
                batch.put_cf(meta, keys::PARTY, [self.party]);
                self.commit(batch)?;
            }
        }
        let mut stale_leases = Vec::new();
        let entries: Vec<KeyValue> = self
            .db
            .iterator_cf(meta, rocksdb::IteratorMode::Start)
            .collect::<Result<_, _>>()
            .map_err(storage)?;
        for (key, value) in entries {
            let (tag, body) = key.split_first().ok_or_else(|| corrupt("empty key"))?;
            match *tag {
                keys::STREAM => {
                    let name = std::str::from_utf8(body).map_err(|_| corrupt("stream name"))?;
                    let [item_bytes, put, taken, discarded, in_flight] =
                        keys::decode_u64s::<5>(&value).ok_or_else(|| corrupt("stream"))?;
                    let stream = self.stream_mut(name, item_bytes as u32);
                    stream.counters = Counters {
                        put,
                        taken,
                        discarded,
                        in_flight,
                    };
                }
                keys::LANE => {
                    let (name, lane) = keys::parse_lane_key(body).ok_or_else(|| corrupt("lane"))?;
                    let [next] = keys::decode_u64s::<1>(&value).ok_or_else(|| corrupt("lane"))?;
                    self.lane_mut(&name, lane)?.next = next;
                }
                keys::CHUNK => {
                    let (name, lane, first) =
                        keys::parse_chunk_key(body).ok_or_else(|| corrupt("chunk key"))?;
                    let [count, gone] =
                        keys::decode_u64s::<2>(&value).ok_or_else(|| corrupt("chunk"))?;
                    self.lane_mut(&name, lane)?
                        .chunks
                        .insert(first, Chunk { count, gone });
                }
                keys::LEASE => {
                    let id = u64::from_be_bytes(body.try_into().map_err(|_| corrupt("lease"))?);
                    let (count, name) =
                        value.split_at_checked(8).ok_or_else(|| corrupt("lease"))?;
                    let count = u64::from_le_bytes(count.try_into().map_err(|_| corrupt("lease"))?);
                    let name = std::str::from_utf8(name).map_err(|_| corrupt("lease"))?;
                    stale_leases.push((id, name.to_owned(), count));
                }
                b'I' => {
                    let [next] =
                        keys::decode_u64s::<1>(&value).ok_or_else(|| corrupt("lease id"))?;
                    self.next_lease = next;
                }
                b'P' => {}
                _ => return Err(corrupt("unknown key")),
            }
        }
        self.stored_bytes = self
            .streams
            .values()
            .map(|s| s.available() * u64::from(s.item_bytes))
            .sum();
        // A lease that survived the process: its reply may or may not have arrived.
        let mut batch = WriteBatch::default();
        for (id, name, count) in &stale_leases {
            batch.delete_cf(self.cf(META), keys::lease_key(*id));
            let stream = self
                .streams
                .get_mut(name)
                .ok_or_else(|| corrupt("lease of an unknown stream"))?;
            stream.counters.in_flight = stream.counters.in_flight.saturating_sub(*count);
            stream.counters.discarded += count;
        }
        for name in stale_leases.iter().map(|(_, n, _)| n) {
            self.put_stream_meta(&mut batch, name);
        }
        if !stale_leases.is_empty() {
            self.commit(batch)?;
        }
        Ok(())
    }

    fn stream_mut(&mut self, name: &str, item_bytes: u32) -> &mut Stream {
        self.streams
            .entry(name.to_owned())
            .or_insert_with(|| Stream {
                item_bytes,
                counters: Counters::default(),
                lanes: BTreeMap::new(),
            })
    }

    fn lane_mut(&mut self, name: &str, lane: u32) -> Result<&mut Lane, StoreError> {
        let item_bytes = item_bytes_of(name)?;
        Ok(self
            .stream_mut(name, item_bytes)
            .lanes
            .entry(lane)
            .or_default())
    }

    fn put_stream_meta(&self, batch: &mut WriteBatch, name: &str) {
        if let Some(s) = self.streams.get(name) {
            let c = s.counters;
            let value = keys::encode_u64s(&[
                u64::from(s.item_bytes),
                c.put,
                c.taken,
                c.discarded,
                c.in_flight,
            ]);
            batch.put_cf(self.cf(META), keys::stream_key(name), value);
        }
    }

    fn pause(&self) -> bool {
        self.stored_bytes >= self.budget.high_water_bytes
    }

    /// Adds a batch of consecutive items of `lane`, starting at `first`.
    pub fn put(
        &mut self,
        name: &str,
        lane: u32,
        first: u64,
        payload: &[u8],
    ) -> Result<PutOutcome, StoreError> {
        let item_bytes = item_bytes_of(name)?;
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
        let next = self
            .streams
            .get(name)
            .and_then(|s| s.lanes.get(&lane))
            .map_or(0, |l| l.next);
        if end <= next {
            return Ok(PutOutcome {
                already_present: true,
                pause: self.pause(),
                stored_bytes: self.stored_bytes,
            });
        }
        if first != next {
            return Err(StoreError::FailedPrecondition(format!(
                "{name} lane {lane}: the batch starts at item {first}, but the lane continues at {next}"
            )));
        }
        if self.stored_bytes + len > self.budget.budget_bytes {
            return Err(StoreError::ResourceExhausted(format!(
                "the stockpile is full: {} of {} bytes used, the batch needs {len} more",
                self.stored_bytes, self.budget.budget_bytes
            )));
        }
        let per_chunk = (CHUNK_BYTES / size).max(1);
        let mut batch = WriteBatch::default();
        let mut chunks = Vec::new();
        let mut at = first;
        for records in payload.chunks((per_chunk * size) as usize) {
            let n = records.len() as u64 / size;
            let key = keys::chunk_key(name, lane, at);
            batch.put_cf(self.cf(CHUNKS), &key, records);
            batch.put_cf(
                self.cf(META),
                keys::meta_key(keys::CHUNK, &key),
                keys::encode_u64s(&[n, 0]),
            );
            chunks.push((at, n));
            at += n;
        }
        batch.put_cf(
            self.cf(META),
            keys::lane_key(name, lane),
            keys::encode_u64s(&[end]),
        );
        let lane_state = self.lane_mut(name, lane)?;
        lane_state.next = end;
        for (at, n) in chunks {
            lane_state.chunks.insert(at, Chunk { count: n, gone: 0 });
        }
        let stream = self.streams.get_mut(name).expect("created above");
        stream.counters.put += count;
        self.stored_bytes += len;
        self.put_stream_meta(&mut batch, name);
        self.commit(batch)?;
        Ok(PutOutcome {
            already_present: false,
            pause: self.pause(),
            stored_bytes: self.stored_bytes,
        })
    }

    fn check_reply_size(&self, name: &str, count: u64) -> Result<u32, StoreError> {
        let item_bytes = item_bytes_of(name)?;
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
        self.check_reply_size(name, at_most)?;
        if at_least == 0 || at_least > at_most {
            return Err(StoreError::InvalidArgument(format!(
                "asked for at least {at_least} and at most {at_most} items"
            )));
        }
        let Some(stream) = self.streams.get(name) else {
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
        ranges: &[ItemRange],
    ) -> Result<Option<Taken>, StoreError> {
        let total = ranges.iter().try_fold(0u64, |t, r| t.checked_add(r.count));
        let total = total.ok_or_else(|| StoreError::InvalidArgument("counts overflow".into()))?;
        self.check_reply_size(name, total)?;
        for (i, r) in ranges.iter().enumerate() {
            if r.count == 0 || r.first.checked_add(r.count).is_none() {
                return Err(StoreError::InvalidArgument(format!(
                    "range {i} is empty or overflows"
                )));
            }
            if i > 0 && (ranges[i - 1].lane, ranges[i - 1].end()) > (r.lane, r.first) {
                return Err(StoreError::InvalidArgument(
                    "ranges must be sorted by lane and item, without overlap".into(),
                ));
            }
        }
        let Some(stream) = self.streams.get(name) else {
            return Ok(None);
        };
        if ranges
            .iter()
            .any(|r| stream.lanes.get(&r.lane).is_none_or(|l| r.end() > l.next))
        {
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
                let mut need = r.first;
                while need < r.end() {
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
                        let to = (*end).min(r.end());
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
        let stream = self
            .streams
            .get(name)
            .expect("callers checked the stream exists");
        let size = u64::from(stream.item_bytes);
        let (mut count, mut discarded) = (0, 0);
        for op in ops {
            match op {
                Op::Take(p) => count += p.count,
                Op::Discard(p) => discarded += p.count,
            }
        }
        let mut payload = Vec::with_capacity((count * size) as usize);
        let mut ranges: Vec<ItemRange> = Vec::new();
        for p in ops.iter().filter_map(|op| match op {
            Op::Take(p) => Some(p),
            Op::Discard(_) => None,
        }) {
            let key = keys::chunk_key(name, p.lane, p.chunk_first);
            let records = self
                .db
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
                Some(last) if last.lane == p.lane && last.end() == first => last.count += p.count,
                _ => ranges.push(ItemRange {
                    lane: p.lane,
                    first,
                    count: p.count,
                }),
            }
        }

        // One write: chunks consumed, counters, and the lease.
        let mut batch = WriteBatch::default();
        let lease = self.next_lease;
        let stream = self.streams.get_mut(name).expect("checked above");
        for Op::Take(p) | Op::Discard(p) in ops {
            let lane = stream.lanes.get_mut(&p.lane).expect("picked from it");
            let chunk = lane.chunks.get_mut(&p.chunk_first).expect("picked from it");
            debug_assert_eq!(chunk.gone, p.offset, "items leave a chunk from its front");
            chunk.gone += p.count;
            let key = keys::chunk_key(name, p.lane, p.chunk_first);
            let meta_key = keys::meta_key(keys::CHUNK, &key);
            if chunk.gone == chunk.count {
                lane.chunks.remove(&p.chunk_first);
                batch.delete_cf(self.db.cf_handle(CHUNKS).expect("exists"), key);
                batch.delete_cf(self.db.cf_handle(META).expect("exists"), meta_key);
            } else {
                let value = keys::encode_u64s(&[chunk.count, chunk.gone]);
                batch.put_cf(self.db.cf_handle(META).expect("exists"), meta_key, value);
            }
        }
        stream.counters.discarded += discarded;
        stream.counters.in_flight += count;
        let item_bytes = stream.item_bytes;
        self.stored_bytes -= (count + discarded) * size;
        let mut lease_value = count.to_le_bytes().to_vec();
        lease_value.extend_from_slice(name.as_bytes());
        batch.put_cf(self.cf(META), keys::lease_key(lease), lease_value);
        batch.put_cf(
            self.cf(META),
            keys::NEXT_LEASE,
            keys::encode_u64s(&[lease + 1]),
        );
        self.put_stream_meta(&mut batch, name);
        self.commit(batch)?;
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
        let Some(l) = self.leases.remove(&lease) else {
            return Err(StoreError::NotFound(format!(
                "lease {lease} is unknown or expired (its items were counted as discarded)"
            )));
        };
        self.settle(&[(lease, l)], |c, n| c.taken += n)
    }

    /// Resolves the leases whose acknowledgement is overdue as discarded; returns how many.
    pub fn expire_leases(&mut self, now: Instant) -> Result<usize, StoreError> {
        let overdue: Vec<u64> = self
            .leases
            .iter()
            .filter(|(_, l)| l.expires <= now)
            .map(|(&id, _)| id)
            .collect();
        let leases: Vec<(u64, Lease)> = overdue
            .iter()
            .filter_map(|id| self.leases.remove(id).map(|l| (*id, l)))
            .collect();
        if !leases.is_empty() {
            self.settle(&leases, |c, n| c.discarded += n)?;
        }
        Ok(leases.len())
    }

    fn settle(
        &mut self,
        leases: &[(u64, Lease)],
        outcome: impl Fn(&mut Counters, u64),
    ) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for (id, lease) in leases {
            batch.delete_cf(self.cf(META), keys::lease_key(*id));
            if let Some(stream) = self.streams.get_mut(&lease.stream) {
                stream.counters.in_flight -= lease.count;
                outcome(&mut stream.counters, lease.count);
            }
        }
        for (_, lease) in leases {
            self.put_stream_meta(&mut batch, &lease.stream);
        }
        self.commit_unsynced(batch)
    }

    /// The inventory of every stream, sorted by name.
    pub fn inventory(&self) -> Vec<StreamReport> {
        self.streams
            .iter()
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
        self.stored_bytes
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
        item_bytes_of(name)?;
        Ok(self
            .streams
            .get(name)
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
        let size = u64::from(item_bytes_of(name)?);
        let state = self.lane_mut(name, lane)?;
        let mut discarded = 0;
        let mut changed = Vec::new();
        for (&first, chunk) in state.chunks.iter_mut() {
            if first + chunk.count <= keep_below {
                continue;
            }
            // Keep items below keep_below; those at the front may already be gone.
            let keep = keep_below.saturating_sub(first).max(chunk.gone);
            discarded += chunk.count - keep;
            chunk.count = keep;
            changed.push((first, *chunk));
        }
        state.chunks.retain(|_, c| c.count > c.gone);
        state.next = state.next.max(next);
        let new_next = state.next;
        let mut batch = WriteBatch::default();
        for (first, chunk) in changed {
            let key = keys::chunk_key(name, lane, first);
            let meta_key = keys::meta_key(keys::CHUNK, &key);
            if chunk.count == chunk.gone {
                batch.delete_cf(self.cf(CHUNKS), key);
                batch.delete_cf(self.cf(META), meta_key);
            } else {
                batch.put_cf(
                    self.cf(META),
                    meta_key,
                    keys::encode_u64s(&[chunk.count, chunk.gone]),
                );
            }
        }
        batch.put_cf(
            self.cf(META),
            keys::lane_key(name, lane),
            keys::encode_u64s(&[new_next]),
        );
        let stream = self.streams.get_mut(name).expect("created above");
        stream.counters.discarded += discarded;
        self.stored_bytes -= discarded * size;
        self.put_stream_meta(&mut batch, name);
        self.commit(batch)?;
        Ok((discarded, new_next))
    }
}

fn gone(name: &str, r: &ItemRange) -> StoreError {
    StoreError::FailedPrecondition(format!(
        "{name} lane {} items {}..{} were already handed out or discarded here",
        r.lane,
        r.first,
        r.end()
    ))
}
