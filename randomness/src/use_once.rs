//! The record of consumed tags that makes a second use of an item an error.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use super::{Kind, Tags};

/// Every tag this party has consumed, per stream and lane, as coalesced ranges: sequential
/// consumption costs one entry per lane however long a job runs.
#[derive(Debug, Default)]
pub struct UseOnce {
    consumed: HashMap<(Kind, u32), BTreeMap<u64, u64>>,
}

/// A tag that was already consumed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "item {seq} of lane {lane} of stream {kind} was already used; correlated randomness must \
     never be reused"
)]
pub struct Reused {
    /// The stream.
    pub kind: Kind,
    /// The lane.
    pub lane: u32,
    /// The first sequence number found used twice.
    pub seq: u64,
}

impl UseOnce {
    /// Records `tags` as consumed, or fails (recording nothing) if any was consumed before or
    /// appears twice in `tags`.
    pub fn consume(&mut self, tags: &Tags) -> Result<(), Reused> {
        for (i, r) in tags.ranges.iter().enumerate() {
            let earlier_in_batch = tags.ranges[..i]
                .iter()
                .find(|e| e.lane == r.lane && overlaps(&e.seqs, &r.seqs));
            let consumed = self.consumed.get(&(tags.kind, r.lane));
            if let Some(seq) = earlier_in_batch
                .map(|e| e.seqs.start.max(r.seqs.start))
                .or_else(|| consumed.and_then(|c| first_overlap(c, &r.seqs)))
            {
                return Err(Reused {
                    kind: tags.kind,
                    lane: r.lane,
                    seq,
                });
            }
        }
        for r in tags.ranges.iter().filter(|r| r.count() > 0) {
            let lane = self.consumed.entry((tags.kind, r.lane)).or_default();
            insert(lane, r.seqs.clone());
        }
        Ok(())
    }
}

fn overlaps(a: &Range<u64>, b: &Range<u64>) -> bool {
    a.start < b.end && b.start < a.end
}

/// The first consumed sequence number inside `r`, if any.
fn first_overlap(ranges: &BTreeMap<u64, u64>, r: &Range<u64>) -> Option<u64> {
    if r.start >= r.end {
        return None;
    }
    // The range starting at or before r.start may reach into r.
    if let Some((_, &end)) = ranges.range(..=r.start).next_back()
        && end > r.start
    {
        return Some(r.start);
    }
    ranges.range(r.start..r.end).next().map(|(&start, _)| start)
}

/// Inserts a range known to be disjoint from the others, merging with touching neighbours.
fn insert(ranges: &mut BTreeMap<u64, u64>, r: Range<u64>) {
    let (mut start, mut end) = (r.start, r.end);
    if let Some((&s, &e)) = ranges.range(..=start).next_back()
        && e == start
    {
        start = s;
        ranges.remove(&s);
    }
    if let Some(&e) = ranges.get(&end) {
        ranges.remove(&end);
        end = e;
    }
    ranges.insert(start, end);
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    fn tags(ranges: &[Range<u64>]) -> Tags {
        Tags {
            kind: Kind::ComparisonMask {
                p: crate::Prime::P67,
            },
            ranges: ranges
                .iter()
                .map(|r| crate::TagRange {
                    lane: 0,
                    seqs: r.clone(),
                })
                .collect(),
        }
    }

    #[test]
    fn sequential_use_coalesces_and_reuse_is_refused() {
        let mut used = UseOnce::default();
        for i in 0..100 {
            used.consume(&tags(&[i * 10..i * 10 + 10])).expect("fresh");
        }
        assert_eq!(
            used.consumed[&(
                Kind::ComparisonMask {
                    p: crate::Prime::P67
                },
                0
            )]
                .len(),
            1
        );
        let err = used.consume(&tags(&[995..1005])).expect_err("995 was used");
        assert_eq!(err.seq, 995);
        // A refused batch records nothing: 1000..1005 are still fresh.
        used.consume(&tags(&[1000..1005])).expect("fresh");
        assert_eq!(used.consume(&tags(&[3..4])).expect_err("used").seq, 3);
    }

    #[test]
    fn gaps_overlaps_and_duplicates_within_a_batch() {
        let mut used = UseOnce::default();
        used.consume(&tags(&[10..20, 40..50])).expect("fresh");
        used.consume(&tags(&[20..40])).expect("the gap is fresh");
        assert_eq!(
            used.consumed[&(
                Kind::ComparisonMask {
                    p: crate::Prime::P67
                },
                0
            )]
                .len(),
            1
        );
        assert_eq!(used.consume(&tags(&[5..11])).expect_err("overlap").seq, 10);
        assert_eq!(
            used.consume(&tags(&[60..70, 65..66]))
                .expect_err("twice in one batch")
                .seq,
            65
        );
        // Other streams are independent.
        used.consume(&Tags::contiguous(Kind::DaBit, 10, 5))
            .expect("fresh");
    }
}
