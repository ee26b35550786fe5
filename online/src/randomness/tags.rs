//! Kinds, streams and tags of correlated randomness.

use std::fmt;
use std::ops::Range;

/// What a batch of correlated randomness is. The kind with its shape names a stream; the
/// offline worker pair numbers the items of each stream `0, 1, 2, ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A matrix triple of shape `(m, n, k)`; one item per triple.
    MatrixTriple {
        /// Rows of `U` and `Z`.
        m: usize,
        /// Columns of `U`, rows of `V`.
        n: usize,
        /// Columns of `V` and `Z`.
        k: usize,
    },
    /// Elementwise triples; one item per element.
    ElementwiseTriple,
    /// Comparison masks; one item per compared element.
    ComparisonMask,
    /// Truncation pairs for `f` fractional bits; one item per element.
    TruncationPair {
        /// Fractional bits the pair truncates by.
        f: u32,
    },
    /// Shared random bits in both XOR and ring form; one item per bit.
    DaBit,
    /// Beaver triples over `Z_67`; one item per triple.
    ModpTriple,
    /// Scaled Beaver triples over `Z_67`; one item per triple.
    ScaledModpTriple,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::MatrixTriple { m, n, k } => write!(f, "matrix-triple/{m}x{n}x{k}"),
            Kind::ElementwiseTriple => write!(f, "elementwise-triple"),
            Kind::ComparisonMask => write!(f, "comparison-mask"),
            Kind::TruncationPair { f: bits } => write!(f, "truncation-pair/f{bits}"),
            Kind::DaBit => write!(f, "dabit"),
            Kind::ModpTriple => write!(f, "modp-triple"),
            Kind::ScaledModpTriple => write!(f, "scaled-modp-triple"),
        }
    }
}

/// Which items of which stream a batch holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tags {
    /// The stream.
    pub kind: Kind,
    /// Sequence numbers, as disjoint ranges in the order the items appear in the batch.
    pub ranges: Vec<Range<u64>>,
}

impl Tags {
    /// One contiguous range of `count` items starting at `first`.
    pub fn contiguous(kind: Kind, first: u64, count: u64) -> Tags {
        Tags {
            kind,
            ranges: std::iter::once(first..first + count).collect(),
        }
    }

    /// How many items the tags cover.
    pub fn count(&self) -> u64 {
        self.ranges
            .iter()
            .map(|r| r.end.saturating_sub(r.start))
            .sum()
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
