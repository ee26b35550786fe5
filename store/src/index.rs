//! The stockpile's in-memory index: streams, their lanes and chunks, and the counters, apart
//! from RocksDB.
//!
//! Every operation is planned as a [`Delta`] from the current index (pure, no I/O); the
//! storage engine writes the delta in one batch, and only after the write succeeds applies it
//! to the index. Memory never runs ahead of disk: a failed write (a full disk, say) leaves the
//! index as it was, so later operations see exactly what is on disk.

use std::collections::BTreeMap;

/// A stream's lifetime counters: `put = taken + discarded + in_flight + available`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// Items ever put.
    pub put: u64,
    /// Items handed out and acknowledged.
    pub taken: u64,
    /// Items handed out unacknowledged, or discarded as unpairable.
    pub discarded: u64,
    /// Items handed out, acknowledgement pending.
    pub in_flight: u64,
}

/// A run of records stored together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Items in the chunk.
    pub count: u64,
    /// How many items at the front are gone (handed out or discarded).
    pub gone: u64,
}

/// One worker pair's numbering of a stream.
#[derive(Debug, Default, Clone)]
pub struct Lane {
    /// One past the last committed item.
    pub next: u64,
    /// Chunks with items left, by first item.
    pub chunks: BTreeMap<u64, Chunk>,
}

impl Lane {
    /// Items left in the lane.
    pub fn available(&self) -> u64 {
        self.chunks.values().map(|c| c.count - c.gone).sum()
    }

    /// The lowest-numbered item not yet gone.
    pub fn lowest_available(&self) -> u64 {
        self.chunks
            .iter()
            .next()
            .map_or(self.next, |(first, c)| first + c.gone)
    }
}

/// One stream's entry in the index: its record size, counters and lanes (the stream's name
/// and kind are `dyad_vocabulary::Stream`).
#[derive(Debug, Clone)]
pub struct StreamEntry {
    /// Size of one record.
    pub item_bytes: u32,
    /// Lifetime counters.
    pub counters: Counters,
    /// Lanes by number.
    pub lanes: BTreeMap<u32, Lane>,
}

impl StreamEntry {
    /// Items left in every lane.
    pub fn available(&self) -> u64 {
        self.lanes.values().map(Lane::available).sum()
    }
}

/// `count` items of the chunk `(lane, chunk_first)`, starting `offset` items into it.
#[derive(Debug, Clone, Copy)]
pub struct Pick {
    /// The lane.
    pub lane: u32,
    /// The chunk's first item.
    pub chunk_first: u64,
    /// Where in the chunk the items start (its `gone`).
    pub offset: u64,
    /// How many items.
    pub count: u64,
}

/// One step of a hand-out, applied in order: items leave a chunk from its front.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    /// Hand the items out.
    Take(Pick),
    /// Discard the items: their other halves can no longer be paired.
    Discard(Pick),
}

/// A chunk's state after a change: `None` when its last item is gone (its records are
/// deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkUpdate {
    /// The lane.
    pub lane: u32,
    /// The chunk's first item.
    pub first: u64,
    /// Its new state.
    pub chunk: Option<Chunk>,
}

/// A planned change of one stream: the new values of everything it touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    /// The stream.
    pub stream: String,
    /// Its record size.
    pub item_bytes: u32,
    /// Its counters afterwards.
    pub counters: Counters,
    /// Lanes whose `next` changes, with the new value.
    pub lanes: Vec<(u32, u64)>,
    /// Chunks that change.
    pub chunks: Vec<ChunkUpdate>,
    /// Change of the bytes of available items, across all streams.
    pub stored_bytes: i128,
}

/// How a settled lease ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The reply arrived.
    Taken,
    /// It did not, or nobody knows: the items are lost.
    Discarded,
}

/// The index of every stream.
#[derive(Debug, Default, Clone)]
pub struct Index {
    streams: BTreeMap<String, StreamEntry>,
    stored_bytes: u64,
}

impl Index {
    /// A stream, if it exists.
    pub fn stream(&self, name: &str) -> Option<&StreamEntry> {
        self.streams.get(name)
    }

    /// Every stream, by name.
    pub fn streams(&self) -> impl Iterator<Item = (&String, &StreamEntry)> {
        self.streams.iter()
    }

    /// Bytes of available items.
    pub fn stored_bytes(&self) -> u64 {
        self.stored_bytes
    }

    /// A lane's `next` (0 for a lane never written).
    pub fn lane_next(&self, name: &str, lane: u32) -> u64 {
        self.streams
            .get(name)
            .and_then(|s| s.lanes.get(&lane))
            .map_or(0, |l| l.next)
    }

    /// Loads the state found on disk: a stream's counters.
    pub fn load_stream(&mut self, name: &str, item_bytes: u32, counters: Counters) {
        self.stream_entry(name, item_bytes).counters = counters;
    }

    /// Loads a lane's `next`.
    pub fn load_lane(&mut self, name: &str, item_bytes: u32, lane: u32, next: u64) {
        self.stream_entry(name, item_bytes)
            .lanes
            .entry(lane)
            .or_default()
            .next = next;
    }

    /// Loads a chunk.
    pub fn load_chunk(&mut self, name: &str, item_bytes: u32, lane: u32, first: u64, chunk: Chunk) {
        self.stream_entry(name, item_bytes)
            .lanes
            .entry(lane)
            .or_default()
            .chunks
            .insert(first, chunk);
    }

    /// Recomputes the stored bytes after loading.
    pub fn finish_loading(&mut self) {
        self.stored_bytes = self
            .streams
            .values()
            .map(|s| s.available() * u64::from(s.item_bytes))
            .sum();
    }

    fn stream_entry(&mut self, name: &str, item_bytes: u32) -> &mut StreamEntry {
        self.streams
            .entry(name.to_owned())
            .or_insert_with(|| StreamEntry {
                item_bytes,
                counters: Counters::default(),
                lanes: BTreeMap::new(),
            })
    }

    fn counters(&self, name: &str) -> Counters {
        self.streams
            .get(name)
            .map_or_else(Counters::default, |s| s.counters)
    }

    fn chunk(&self, name: &str, lane: u32, first: u64) -> Option<Chunk> {
        self.streams
            .get(name)?
            .lanes
            .get(&lane)?
            .chunks
            .get(&first)
            .copied()
    }

    /// Plans a Put of chunks of `counts` items each, consecutive from `first` in `lane`.
    pub fn plan_put(
        &self,
        name: &str,
        item_bytes: u32,
        lane: u32,
        first: u64,
        counts: &[u64],
    ) -> Delta {
        let mut chunks = Vec::with_capacity(counts.len());
        let mut at = first;
        for &count in counts {
            chunks.push(ChunkUpdate {
                lane,
                first: at,
                chunk: Some(Chunk { count, gone: 0 }),
            });
            at += count;
        }
        let total = at - first;
        let mut counters = self.counters(name);
        counters.put += total;
        Delta {
            stream: name.to_owned(),
            item_bytes,
            counters,
            lanes: vec![(lane, at)],
            chunks,
            stored_bytes: i128::from(total) * i128::from(item_bytes),
        }
    }

    /// Plans a hand-out: the taken items go in flight, the discarded are counted as such.
    /// The picks must follow the chunks' fronts, in order (as the engine chooses them).
    pub fn plan_hand_out(&self, name: &str, ops: &[Op]) -> Delta {
        let item_bytes = self.streams.get(name).map_or(0, |s| s.item_bytes);
        let mut counters = self.counters(name);
        let mut chunks: Vec<ChunkUpdate> = Vec::new();
        let mut gone = 0u64;
        for Op::Take(p) | Op::Discard(p) in ops {
            // A chunk may appear in several consecutive picks: continue from its last update.
            let current = match chunks.last() {
                Some(u) if u.lane == p.lane && u.first == p.chunk_first => u.chunk,
                _ => self.chunk(name, p.lane, p.chunk_first),
            };
            let Some(mut chunk) = current else {
                continue;
            };
            debug_assert_eq!(chunk.gone, p.offset, "items leave a chunk from its front");
            chunk.gone += p.count;
            let update = ChunkUpdate {
                lane: p.lane,
                first: p.chunk_first,
                chunk: (chunk.gone < chunk.count).then_some(chunk),
            };
            match chunks.last_mut() {
                Some(u) if u.lane == p.lane && u.first == p.chunk_first => *u = update,
                _ => chunks.push(update),
            }
            gone += p.count;
        }
        for op in ops {
            match op {
                Op::Take(p) => counters.in_flight += p.count,
                Op::Discard(p) => counters.discarded += p.count,
            }
        }
        Delta {
            stream: name.to_owned(),
            item_bytes,
            counters,
            lanes: Vec::new(),
            chunks,
            stored_bytes: -i128::from(gone) * i128::from(item_bytes),
        }
    }

    /// Plans the settlement of a lease of `count` items of `name`.
    pub fn plan_settle(&self, name: &str, count: u64, outcome: Settled) -> Delta {
        let item_bytes = self.streams.get(name).map_or(0, |s| s.item_bytes);
        let mut counters = self.counters(name);
        counters.in_flight = counters.in_flight.saturating_sub(count);
        match outcome {
            Settled::Taken => counters.taken += count,
            Settled::Discarded => counters.discarded += count,
        }
        Delta {
            stream: name.to_owned(),
            item_bytes,
            counters,
            lanes: Vec::new(),
            chunks: Vec::new(),
            stored_bytes: 0,
        }
    }

    /// Plans discarding the untaken items numbered `keep_below` and up in `lane` and moving
    /// its `next` to at least `next`. Returns the delta and the ranges `(first, count)` it
    /// discards.
    pub fn plan_align(
        &self,
        name: &str,
        item_bytes: u32,
        lane: u32,
        keep_below: u64,
        next: u64,
    ) -> (Delta, Vec<(u64, u64)>) {
        let state = self
            .streams
            .get(name)
            .and_then(|s| s.lanes.get(&lane))
            .cloned()
            .unwrap_or_default();
        let mut spans = Vec::new();
        let mut chunks = Vec::new();
        for (&first, chunk) in &state.chunks {
            if first + chunk.count <= keep_below {
                continue;
            }
            // Keep items below keep_below; those at the front may already be gone.
            let keep = keep_below.saturating_sub(first).max(chunk.gone);
            if chunk.count > keep {
                spans.push((first + keep, chunk.count - keep));
            }
            let kept = Chunk {
                count: keep,
                gone: chunk.gone,
            };
            chunks.push(ChunkUpdate {
                lane,
                first,
                chunk: (kept.count > kept.gone).then_some(kept),
            });
        }
        let discarded: u64 = spans.iter().map(|&(_, count)| count).sum();
        let mut counters = self.counters(name);
        counters.discarded += discarded;
        let delta = Delta {
            stream: name.to_owned(),
            item_bytes,
            counters,
            lanes: vec![(lane, state.next.max(next))],
            chunks,
            stored_bytes: -i128::from(discarded) * i128::from(item_bytes),
        };
        (delta, spans)
    }

    /// Applies a delta that has been written to disk.
    pub fn apply(&mut self, delta: &Delta) {
        let stream = self.stream_entry(&delta.stream, delta.item_bytes);
        stream.counters = delta.counters;
        for &(lane, next) in &delta.lanes {
            stream.lanes.entry(lane).or_default().next = next;
        }
        for update in &delta.chunks {
            let lane = stream.lanes.entry(update.lane).or_default();
            match update.chunk {
                Some(chunk) => {
                    lane.chunks.insert(update.first, chunk);
                }
                None => {
                    lane.chunks.remove(&update.first);
                }
            }
        }
        self.stored_bytes = (i128::from(self.stored_bytes) + delta.stored_bytes).max(0) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(lane: u32, chunk_first: u64, offset: u64, count: u64) -> Pick {
        Pick {
            lane,
            chunk_first,
            offset,
            count,
        }
    }

    /// `put = taken + discarded + in_flight + available` and the stored bytes match.
    fn consistent(index: &Index) {
        let mut bytes = 0;
        for (name, s) in index.streams() {
            let c = s.counters;
            assert_eq!(
                c.put,
                c.taken + c.discarded + c.in_flight + s.available(),
                "{name}"
            );
            bytes += s.available() * u64::from(s.item_bytes);
        }
        assert_eq!(bytes, index.stored_bytes());
    }

    #[test]
    fn planning_changes_nothing_until_applied() {
        let mut index = Index::default();
        let put = index.plan_put("dabit", 9, 0, 0, &[4, 4, 2]);
        assert_eq!(index.lane_next("dabit", 0), 0, "planned, not applied");
        assert!(index.stream("dabit").is_none());
        index.apply(&put);
        assert_eq!(index.lane_next("dabit", 0), 10);
        assert_eq!(index.stored_bytes(), 90);
        consistent(&index);

        // Take 5 (a whole chunk and one more), discard 2.
        let ops = [
            Op::Take(pick(0, 0, 0, 4)),
            Op::Take(pick(0, 4, 0, 1)),
            Op::Discard(pick(0, 4, 1, 2)),
        ];
        let before = index.clone();
        let hand_out = index.plan_hand_out("dabit", &ops);
        assert_eq!(
            index.stored_bytes(),
            before.stored_bytes(),
            "planned, not applied"
        );
        index.apply(&hand_out);
        let s = index.stream("dabit").expect("exists");
        assert_eq!(
            s.counters,
            Counters {
                put: 10,
                taken: 0,
                discarded: 2,
                in_flight: 5
            }
        );
        assert_eq!(s.lanes[&0].chunks.len(), 2, "the first chunk is gone");
        assert_eq!(s.lanes[&0].lowest_available(), 7);
        consistent(&index);

        index.apply(&index.plan_settle("dabit", 5, Settled::Taken));
        consistent(&index);
        let (align, discarded) = index.plan_align("dabit", 9, 0, 8, 20);
        assert_eq!(discarded, [(8, 2)]);
        index.apply(&align);
        assert_eq!(index.lane_next("dabit", 0), 20);
        assert_eq!(index.stream("dabit").expect("exists").available(), 1);
        consistent(&index);
    }
}
