//! Item types that know their kind: what lets [`crate::Randomness::take`] be one generic call
//! (`take::<DaBits>((), n)`) instead of one method per kind.

use crate::items::{
    BitTriples, ComparisonBits, ComparisonMasks, DaBits, ElementwiseTriples, Layout, MatrixTriple,
    ModpTriples, ScaledModpTriples,
};
use crate::{Codec, Kind, Prime, RecordError};

/// A batch layout of one kind of correlated randomness.
pub trait Item: Codec + Send + Sized + 'static {
    /// What names the stream beside the type: `()`, the comparison's prime, or a matrix
    /// triple's `(m, n, k)`.
    type Shape: Copy + Send + Sync + std::fmt::Debug + 'static;

    /// The kind (the stream) of items of `shape`.
    fn kind(shape: Self::Shape) -> Kind;

    /// Checks that a batch asked for as `take(shape, n)` holds exactly that: `n` well-formed
    /// elements, or for a matrix triple (`n` = 1) one triple of the shape.
    fn check(&self, shape: Self::Shape, n: usize) -> Result<(), RecordError>;

    /// This batch among the batches of every kind.
    fn into_items(self) -> Items;

    /// The batch of this type in `items`, if it holds one.
    fn from_items(items: Items) -> Option<Self>;
}

/// A batch of any kind: what a source that deals by [`Kind`] hands to the generic
/// [`crate::Randomness::take`], which unwraps the type asked for.
#[derive(Debug, Clone)]
pub enum Items {
    /// See [`MatrixTriple`].
    MatrixTriple(MatrixTriple),
    /// See [`ElementwiseTriples`].
    ElementwiseTriples(ElementwiseTriples),
    /// See [`ComparisonMasks`].
    ComparisonMasks(ComparisonMasks),
    /// See [`ComparisonBits`].
    ComparisonBits(ComparisonBits),
    /// See [`DaBits`].
    DaBits(DaBits),
    /// See [`BitTriples`].
    BitTriples(BitTriples),
    /// See [`ModpTriples`].
    ModpTriples(ModpTriples),
    /// See [`ScaledModpTriples`].
    ScaledModpTriples(ScaledModpTriples),
}

impl Items {
    /// Reads the records of `kind` as that kind's layout.
    pub fn decode(kind: Kind, bytes: &[u8]) -> Result<Items, RecordError> {
        Ok(match kind {
            Kind::MatrixTriple { .. } => Items::MatrixTriple(Codec::decode(kind, bytes)?),
            Kind::ElementwiseTriple => Items::ElementwiseTriples(Codec::decode(kind, bytes)?),
            Kind::ComparisonMask { .. } => Items::ComparisonMasks(Codec::decode(kind, bytes)?),
            Kind::ComparisonBits => Items::ComparisonBits(Codec::decode(kind, bytes)?),
            Kind::DaBit => Items::DaBits(Codec::decode(kind, bytes)?),
            Kind::BitTriple => Items::BitTriples(Codec::decode(kind, bytes)?),
            Kind::ModpTriple { .. } => Items::ModpTriples(Codec::decode(kind, bytes)?),
            Kind::ScaledModpTriple { .. } => Items::ScaledModpTriples(Codec::decode(kind, bytes)?),
        })
    }

    /// The records of the batch, whatever its kind.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Items::MatrixTriple(x) => x.encode(),
            Items::ElementwiseTriples(x) => x.encode(),
            Items::ComparisonMasks(x) => x.encode(),
            Items::ComparisonBits(x) => x.encode(),
            Items::DaBits(x) => x.encode(),
            Items::BitTriples(x) => x.encode(),
            Items::ModpTriples(x) => x.encode(),
            Items::ScaledModpTriples(x) => x.encode(),
        }
    }
}

/// [`Item`] for a layout whose stream has no shape, or only a prime.
macro_rules! item {
    ($type:ident, $shape:ty, |$s:ident| $kind:expr) => {
        impl Item for $type {
            type Shape = $shape;
            fn kind($s: $shape) -> Kind {
                $kind
            }
            fn check(&self, _: $shape, n: usize) -> Result<(), RecordError> {
                Layout::check(self, n)
            }
            fn into_items(self) -> Items {
                Items::$type(self)
            }
            fn from_items(items: Items) -> Option<Self> {
                match items {
                    Items::$type(x) => Some(x),
                    _ => None,
                }
            }
        }
    };
}

item!(ElementwiseTriples, (), |_s| Kind::ElementwiseTriple);
item!(ComparisonMasks, Prime, |p| Kind::ComparisonMask { p });
item!(ComparisonBits, (), |_s| Kind::ComparisonBits);
item!(DaBits, (), |_s| Kind::DaBit);
item!(BitTriples, (), |_s| Kind::BitTriple);
item!(ModpTriples, Prime, |p| Kind::ModpTriple { p });
item!(ScaledModpTriples, Prime, |p| Kind::ScaledModpTriple { p });

impl Item for MatrixTriple {
    /// `(m, n, k)`: `U` is `m x n`, `V` is `n x k`.
    type Shape = (usize, usize, usize);
    fn kind((m, n, k): Self::Shape) -> Kind {
        Kind::MatrixTriple { m, n, k }
    }
    fn check(&self, (m, n, k): Self::Shape, _: usize) -> Result<(), RecordError> {
        self.check_shape(m, n, k)
    }
    fn into_items(self) -> Items {
        Items::MatrixTriple(self)
    }
    fn from_items(items: Items) -> Option<Self> {
        match items {
            Items::MatrixTriple(x) => Some(x),
            _ => None,
        }
    }
}
