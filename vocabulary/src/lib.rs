//! The vocabulary every Dyad crate shares and that does no I/O: the ring `Z_{2^64}` and the
//! fixed-point format. The online runtime computes with them and the client encodes its
//! inputs with the same encoder (issue 11: they used to disagree on the range).

pub mod fixed;
mod z64;

pub use fixed::FixedPoint;
pub use z64::Z64;
