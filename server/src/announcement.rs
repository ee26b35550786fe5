//! What P0's runtime tells P1's about the correlated randomness it took
//! ([`crate::StockpileRandomness`]): public so that the libFuzzer target `peer_messages`
//! reaches its parser.

use dyad_online::bytes::{Reader, put_string};
use dyad_randomness::TagRange;

/// How the two runtimes coordinate: what P0 took (from which of its shards), or why it could
/// not.
#[derive(Debug, PartialEq)]
pub enum Announcement {
    /// P0 took `ranges` of `stream` from its shard `shard`; P1 takes the same.
    Took {
        /// The stream's name.
        stream: String,
        /// The shard P0 took from.
        shard: u32,
        /// The items, by lane.
        ranges: Vec<TagRange>,
    },
    /// P0 could not take from `stream`.
    Failed {
        /// The stream's name.
        stream: String,
        /// Why.
        reason: String,
    },
}

impl Announcement {
    /// The message's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Announcement::Took {
                stream,
                shard,
                ranges,
            } => {
                out.push(0);
                put_string(&mut out, stream);
                out.extend_from_slice(&shard.to_le_bytes());
                out.extend_from_slice(&(ranges.len() as u32).to_le_bytes());
                for r in ranges {
                    out.extend_from_slice(&r.lane.to_le_bytes());
                    out.extend_from_slice(&r.seqs.start.to_le_bytes());
                    out.extend_from_slice(&r.count().to_le_bytes());
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

    /// Reads an announcement; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<Announcement> {
        let mut r = Reader::new(bytes);
        let tag = r.u8().ok()?;
        let stream = r.string().ok()??;
        let announcement = match tag {
            0 => {
                let shard = r.u32().ok()?;
                let n = r.u32().ok()? as usize;
                let mut ranges = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    let (lane, first, count) = (r.u32().ok()?, r.u64().ok()?, r.u64().ok()?);
                    ranges.push(TagRange::checked(lane, first, count)?);
                }
                Announcement::Took {
                    stream,
                    shard,
                    ranges,
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What P0 announces to P1, from hostile bytes (issue 13): read or refused, never a panic.
    #[test]
    fn announcements_of_any_bytes_are_read_or_refused() {
        let took = Announcement::Took {
            stream: "comparison-bits".into(),
            shard: 1,
            ranges: vec![TagRange::new(0, 5, 32), TagRange::new(1, 0, 1)],
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

    /// The shard P0 took from reaches P1 as it was sent.
    #[test]
    fn an_announcement_carries_its_shard() {
        for shard in [0, 1, 5, u32::MAX] {
            let took = Announcement::Took {
                stream: "serve:dabit".into(),
                shard,
                ranges: vec![TagRange::new(5, 7, 3), TagRange::new(11, 7, 3)],
            };
            assert_eq!(Announcement::decode(&took.encode()), Some(took));
        }
    }
}
