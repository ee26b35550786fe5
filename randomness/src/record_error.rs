//! Why stored records of correlated randomness, or a batch made from them, cannot be used: the
//! codec's and the layouts' one error type. The store client, the runtime and the audits map it
//! at their edges; nothing below them formats a message.

use super::Kind;
use dyad_vocabulary::fp::NotInField;

/// A malformed record or batch of correlated randomness.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A matrix triple whose `U` and `V` are more words than one key expands to
    /// ([`crate::MAX_SHARE_WORDS`]): before keys, the record itself carried them, and the
    /// message size bounded them.
    #[error("a {m}x{n}x{k} matrix triple's U and V exceed the {max} words a key expands to")]
    Expansion {
        /// Rows of `U`.
        m: usize,
        /// Columns of `U`, rows of `V`.
        n: usize,
        /// Columns of `V`.
        k: usize,
        /// The bound.
        max: usize,
    },
    /// The bytes are not a whole number of the kind's records.
    #[error("{bytes} bytes is not a whole number of {size}-byte {kind} records")]
    Length {
        /// The kind read.
        kind: Kind,
        /// The bytes given.
        bytes: usize,
        /// One record's size.
        size: usize,
    },
    /// The records were read as a layout of another kind.
    #[error("{kind} records are not {layout}")]
    WrongKind {
        /// The kind named.
        kind: Kind,
        /// The layout they were read as.
        layout: &'static str,
    },
    /// A byte that must be 0 or 1 is not.
    #[error("{0} is not a bit")]
    NotABit(u8),
    /// A `Z_p` element out of range.
    #[error(transparent)]
    Field(#[from] NotInField),
    /// One of a batch's arrays has the wrong number of elements.
    #[error("`{array}` holds {len} elements, expected {expected}")]
    Count {
        /// The array.
        array: &'static str,
        /// Its elements.
        len: usize,
        /// The batch's size.
        expected: usize,
    },
    /// A matrix of a batch (or a matrix triple) has the wrong shape.
    #[error("`{array}` has shape {got:?}, expected {expected:?}")]
    Shape {
        /// The array.
        array: &'static str,
        /// Its shape.
        got: (usize, usize),
        /// The shape asked for.
        expected: (usize, usize),
    },
    /// A batch's tags name another number of items than it holds.
    #[error("tagged {tagged} items, expected {expected}")]
    Tagged {
        /// Items its tags name.
        tagged: u64,
        /// Items asked for.
        expected: u64,
    },
    /// An array holds a value outside its range.
    #[error("`{array}` holds {what}")]
    Value {
        /// The array.
        array: &'static str,
        /// What is wrong with the value.
        what: &'static str,
    },
}
