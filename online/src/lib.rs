//! The online phase of Dyad: two servers compute on additive shares over `Z_{2^64}`,
//! consuming correlated randomness pulled from their stockpiles.
//!
//! - [`ring`], [`fp`], [`fixed`]: the ring `Z_{2^64}`, the field `Z_67`, fixed-point encoding.
//! - correlated randomness comes through `dyad_randomness::Randomness`, the one seam to the
//!   offline phase, in the layouts that crate defines.
//! - [`Party`]: one party's runtime (link channel, randomness, agreed configuration,
//!   use-once record).
//! - [`protocols`]: the protocols of `PROTOCOLS.md`, vectorised over whole tensors.
//! - [`reference`]: the same functions in plaintext fixed point, which the protocols must match.
//! - [`sharing`]: splitting secrets into shares and reconstructing them.

pub mod bytes;
pub mod cost;
pub mod fixed;
pub mod model;
pub mod nn;
pub mod protocols;
pub mod reference;
pub mod ring;
pub mod sharing;
#[cfg(any(test, feature = "test-fixture"))]
pub mod testing;
pub mod wire;

mod error;
#[cfg(test)]
mod hostile_bytes;
mod party;

/// The randomness contract, under the name the protocols' code uses for it.
use dyad_randomness as randomness;

pub use dyad_vocabulary::fp;
pub use error::{ProtocolError, UnknownChoice};
pub use fixed::FixedPoint;
pub use fp::{Fp, Prime};
pub use model::{ModelError, ParamsFileError};
pub use party::{Config, Party};
pub use ring::Z64;
