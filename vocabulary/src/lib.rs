//! The vocabulary every Dyad crate shares and that does no I/O: the ring `Z_{2^64}`, the field
//! `Z_p` of the comparison, the fixed-point format, and the kinds and tags that name correlated
//! randomness. The online runtime computes with them, the stockpile sizes its records by
//! [`Kind`] without knowing any cryptography, and the client encodes its inputs with the same
//! encoder as the servers (issue 11: they used to disagree on the range).

pub mod fixed;
pub mod fp;
pub mod kind;
pub mod stream;
pub mod tags;
mod z64;

pub use fixed::FixedPoint;
pub use fp::{Fp, Prime, PrimeError};
pub use kind::{Kind, UnknownKind};
pub use stream::{Pool, PoolNameError, Stream, StreamError};
pub use tags::{Batch, TagRange, Tags};
pub use z64::Z64;
