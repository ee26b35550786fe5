//! Tags: which items of which stream a batch holds.

use std::fmt;
use std::ops::Range;

use crate::Kind;

/// Consecutive items of one lane of a stream. A lane is one offline worker pair's
/// numbering; several pairs feeding the same stream use different lanes, so a tag is
/// `(stream, lane, seq)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagRange {
    /// The lane.
    pub lane: u32,
    /// Sequence numbers within the lane.
    pub seqs: Range<u64>,
}

impl TagRange {
    /// Items `first .. first + count` of `lane`.
    pub fn new(lane: u32, first: u64, count: u64) -> TagRange {
        TagRange {
            lane,
            seqs: first..first + count,
        }
    }

    /// Items `first .. first + count` of `lane`, or `None` past the last sequence number (for
    /// ranges read off the wire).
    pub fn checked(lane: u32, first: u64, count: u64) -> Option<TagRange> {
        Some(TagRange {
            lane,
            seqs: first..first.checked_add(count)?,
        })
    }

    /// How many items the range covers.
    pub fn count(&self) -> u64 {
        self.seqs.end.saturating_sub(self.seqs.start)
    }
}

/// Which items of which stream a batch holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tags {
    /// The stream.
    pub kind: Kind,
    /// The items, as disjoint ranges in the order the items appear in the batch.
    pub ranges: Vec<TagRange>,
}

impl Tags {
    /// One contiguous range of `count` items of lane 0 starting at `first`.
    pub fn contiguous(kind: Kind, first: u64, count: u64) -> Tags {
        Tags {
            kind,
            ranges: vec![TagRange::new(0, first, count)],
        }
    }

    /// How many items the tags cover.
    pub fn count(&self) -> u64 {
        self.ranges.iter().map(TagRange::count).sum()
    }
}

impl fmt::Display for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        for (i, r) in self.ranges.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(
                f,
                "{sep}lane {} items {}..{}",
                r.lane, r.seqs.start, r.seqs.end
            )?;
        }
        Ok(())
    }
}

/// A party's half of some items, with the tags they were stored under.
#[derive(Debug, Clone)]
pub struct Batch<T> {
    /// Which items these are.
    pub tags: Tags,
    /// This party's shares, in the layout of [`super::items`].
    pub items: T,
}
