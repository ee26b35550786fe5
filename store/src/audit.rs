//! The stockpile's ledger (`dyad store --audit`): a record of every range of items that left a
//! lane — handed out, discarded unserved, or never put here (numbers an alignment skipped) —
//! written in the same RocksDB batch as the change it records, so it is exactly as durable as
//! the state it describes.
//!
//! [`verify`] checks, independently of the counters, the promise every consumer of correlated
//! randomness relies on (Ge et al.'s security argument needs each Beaver triple, mask and daBit
//! used once): each lane's numbers `0..next` are covered exactly once by the ledger and the
//! items still available. A number covered twice was served twice; one never covered was lost.
//! The kill sweep (issue 13) runs it after SIGKILLing every component of a deployment.
//!
//! The ledger grows by one small record per Take, and stays on once started; it is meant for
//! test deployments and audits, not for a stockpile serving for months.

use std::collections::BTreeMap;

use crate::index::{Index, Op};

/// What became of a range of items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Handed out under a lease (later taken, or discarded when unacknowledged).
    HandedOut,
    /// Discarded without being handed out: its other half can no longer be paired.
    Discarded,
    /// Numbers never put here: an alignment moved the lane past them.
    Skipped,
}

impl Fate {
    fn byte(self) -> u8 {
        match self {
            Fate::HandedOut => b'H',
            Fate::Discarded => b'D',
            Fate::Skipped => b'S',
        }
    }

    fn from_byte(b: u8) -> Option<Fate> {
        match b {
            b'H' => Some(Fate::HandedOut),
            b'D' => Some(Fate::Discarded),
            b'S' => Some(Fate::Skipped),
            _ => None,
        }
    }
}

/// One record of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The stream.
    pub stream: String,
    /// The lane.
    pub lane: u32,
    /// The first item.
    pub first: u64,
    /// How many items.
    pub count: u64,
    /// What became of them.
    pub fate: Fate,
}

impl Entry {
    /// The ledger's value: fate, lane, first, count, then the stream name.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(21 + self.stream.len());
        out.push(self.fate.byte());
        out.extend_from_slice(&self.lane.to_be_bytes());
        out.extend_from_slice(&self.first.to_be_bytes());
        out.extend_from_slice(&self.count.to_be_bytes());
        out.extend_from_slice(self.stream.as_bytes());
        out
    }

    /// Reads a record back; `None` if it is not one.
    pub fn decode(bytes: &[u8]) -> Option<Entry> {
        let (&fate, rest) = bytes.split_first()?;
        let (lane, rest) = rest.split_at_checked(4)?;
        let (first, rest) = rest.split_at_checked(8)?;
        let (count, stream) = rest.split_at_checked(8)?;
        Some(Entry {
            stream: std::str::from_utf8(stream).ok()?.to_owned(),
            lane: u32::from_be_bytes(lane.try_into().ok()?),
            first: u64::from_be_bytes(first.try_into().ok()?),
            count: u64::from_be_bytes(count.try_into().ok()?),
            fate: Fate::from_byte(fate)?,
        })
    }
}

/// The ledger records of a hand-out's steps.
pub fn entries_of(stream: &str, ops: &[Op]) -> Vec<Entry> {
    ops.iter()
        .map(|op| {
            let (p, fate) = match op {
                Op::Take(p) => (p, Fate::HandedOut),
                Op::Discard(p) => (p, Fate::Discarded),
            };
            Entry {
                stream: stream.to_owned(),
                lane: p.lane,
                first: p.chunk_first + p.offset,
                count: p.count,
                fate,
            }
        })
        .collect()
}

/// One stream's audit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamAudit {
    /// The stream.
    pub stream: String,
    /// Items the ledger says were handed out.
    pub handed_out: u64,
    /// Items the ledger says were discarded unserved.
    pub discarded: u64,
    /// Numbers the ledger says were never put here.
    pub skipped: u64,
    /// Items still available.
    pub available: u64,
    /// Items covered more than once: served (or discarded) twice. Must be 0.
    pub served_twice: u64,
    /// Numbers below a lane's `next` covered by nothing: lost. Must be 0.
    pub lost: u64,
    /// Where the ledger and the counters disagree, in words.
    pub problems: Vec<String>,
}

impl StreamAudit {
    /// Whether the stream passed.
    pub fn ok(&self) -> bool {
        self.served_twice == 0 && self.lost == 0 && self.problems.is_empty()
    }
}

/// Checks the ledger against the index: per lane, ledger ranges and available items tile
/// `0..next` exactly; per stream, the ledger agrees with the counters. Streams outside the
/// index (set aside at open) are not audited.
pub fn verify(entries: &[Entry], index: &Index) -> Vec<StreamAudit> {
    // (stream, lane) -> ranges (first, end) covering it.
    let mut cover: BTreeMap<(&str, u32), Vec<(u64, u64)>> = BTreeMap::new();
    // Streams outside the index are skipped below, so every key borrows the index's names.
    let mut audits: BTreeMap<&str, StreamAudit> = BTreeMap::new();
    for (name, stream) in index.streams() {
        let audit = audits.entry(name).or_default();
        audit.stream = name.clone();
        audit.available = stream.available();
        for (&lane, state) in &stream.lanes {
            let ranges = cover.entry((name, lane)).or_default();
            for (&first, chunk) in &state.chunks {
                ranges.push((first + chunk.gone, first + chunk.count));
            }
        }
    }
    for e in entries {
        let Some((&name, _)) = audits.get_key_value(e.stream.as_str()) else {
            continue;
        };
        let audit = audits.get_mut(name).expect("just found");
        match e.fate {
            Fate::HandedOut => audit.handed_out += e.count,
            Fate::Discarded => audit.discarded += e.count,
            Fate::Skipped => audit.skipped += e.count,
        }
        cover
            .entry((name, e.lane))
            .or_default()
            .push((e.first, e.first.saturating_add(e.count)));
    }
    for ((name, lane), mut ranges) in cover {
        let next = index.lane_next(name, lane);
        let audit = audits
            .get_mut(name)
            .expect("every covered stream is audited");
        ranges.sort_unstable();
        let mut reached = 0u64;
        for (first, end) in ranges {
            if first > reached {
                audit.lost += first - reached;
            }
            audit.served_twice += end.min(reached).saturating_sub(first);
            reached = reached.max(end);
        }
        match reached.cmp(&next) {
            std::cmp::Ordering::Less => audit.lost += next - reached,
            std::cmp::Ordering::Greater => audit.problems.push(format!(
                "lane {lane}: the ledger reaches item {reached}, past the lane's end {next}"
            )),
            std::cmp::Ordering::Equal => {}
        }
    }
    for (name, audit) in &mut audits {
        let Some(stream) = index.stream(name) else {
            continue;
        };
        let c = stream.counters;
        let lane_ends: u64 = stream.lanes.values().map(|l| l.next).sum();
        if audit.handed_out + audit.discarded + audit.available != c.put {
            audit.problems.push(format!(
                "handed out {} + discarded {} + available {} != put {}",
                audit.handed_out, audit.discarded, audit.available, c.put
            ));
        }
        if audit.handed_out + audit.discarded != c.taken + c.discarded + c.in_flight {
            audit.problems.push(format!(
                "the ledger's {} items gone disagree with taken {} + discarded {} + in flight {}",
                audit.handed_out + audit.discarded,
                c.taken,
                c.discarded,
                c.in_flight
            ));
        }
        if c.put + audit.skipped != lane_ends {
            audit.problems.push(format!(
                "put {} + skipped {} != the lanes' ends {lane_ends}",
                c.put, audit.skipped
            ));
        }
    }
    audits.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{Chunk, Counters};

    fn entry(lane: u32, first: u64, count: u64, fate: Fate) -> Entry {
        Entry {
            stream: "dabit".into(),
            lane,
            first,
            count,
            fate,
        }
    }

    /// A dabit stream whose lane 0 ends at 100 with items 60..100 available, 40 handed out
    /// and 20 discarded before them.
    fn index() -> Index {
        let mut index = Index::default();
        let counters = Counters {
            put: 100,
            taken: 30,
            discarded: 30,
            in_flight: 0,
        };
        index.load_stream("dabit", 9, counters);
        index.load_lane("dabit", 9, 0, 100);
        index.load_chunk(
            "dabit",
            9,
            0,
            50,
            Chunk {
                count: 50,
                gone: 10,
            },
        );
        index.finish_loading();
        index
    }

    fn sound() -> Vec<Entry> {
        vec![
            entry(0, 0, 30, Fate::HandedOut),
            entry(0, 30, 20, Fate::Discarded),
            entry(0, 50, 10, Fate::HandedOut),
        ]
    }

    #[test]
    fn records_round_trip_and_garbage_is_refused() {
        for e in sound() {
            assert_eq!(Entry::decode(&e.encode()), Some(e));
        }
        assert_eq!(Entry::decode(b""), None);
        assert_eq!(Entry::decode(b"X0000"), None);
        let mut bad = sound()[0].encode();
        bad[0] = b'Q';
        assert_eq!(Entry::decode(&bad), None);
    }

    #[test]
    fn a_ledger_that_tiles_every_lane_passes() {
        let [audit] = verify(&sound(), &index()).try_into().expect("one stream");
        assert!(audit.ok(), "{audit:?}");
        assert_eq!((audit.handed_out, audit.discarded), (40, 20));
        assert_eq!(audit.available, 40);
    }

    #[test]
    fn an_item_served_twice_is_counted() {
        let mut entries = sound();
        entries.push(entry(0, 25, 10, Fate::HandedOut));
        let [audit] = verify(&entries, &index()).try_into().expect("one stream");
        assert_eq!(audit.served_twice, 10);
        assert!(!audit.ok());
        // A hand-out of items still listed as available is served twice too.
        let mut entries = sound();
        entries.push(entry(0, 95, 5, Fate::HandedOut));
        let [audit] = verify(&entries, &index()).try_into().expect("one stream");
        assert_eq!(audit.served_twice, 5);
    }

    #[test]
    fn an_item_nothing_accounts_for_is_lost() {
        let mut entries = sound();
        entries.remove(1);
        let [audit] = verify(&entries, &index()).try_into().expect("one stream");
        assert_eq!(audit.lost, 20);
        assert!(!audit.problems.is_empty(), "the counters disagree as well");
    }

    #[test]
    fn skipped_numbers_cover_the_lane_but_not_the_counters() {
        let mut index = Index::default();
        let counters = Counters {
            put: 10,
            taken: 10,
            ..Counters::default()
        };
        index.load_stream("dabit", 9, counters);
        index.load_lane("dabit", 9, 3, 25);
        index.finish_loading();
        let entries = [
            entry(3, 0, 15, Fate::Skipped),
            entry(3, 15, 10, Fate::HandedOut),
        ];
        let [audit] = verify(&entries, &index).try_into().expect("one stream");
        assert!(audit.ok(), "{audit:?}");
        let [audit] = verify(&entries[1..], &index)
            .try_into()
            .expect("one stream");
        assert_eq!(audit.lost, 15);
    }
}
