//! A client of the stockpile (`dyad store`): what a server's offline workers, jobs and tools
//! need to reach their own stockpile, without its RocksDB engine.
//!
//! - [`StoreClient`]: the gRPC stub with the store's token attached; every call fails with a
//!   [`StoreClientError`] that says whether trying again may help ([`StoreClientError::is_retryable`]).
//! - [`Retry`]: the one policy for trying again (backoff, deadline), used by the workers' Puts
//!   and the jobs' Takes alike.
//! - [`token`]: the token files; [`shard`]: which of a party's stockpiles holds a lane.
//! - [`MAX_MESSAGE_BYTES`] and [`MAX_WAIT`]: the limits client and service share.
//!
//! Items are named by [`dyad_vocabulary::TagRange`], the one range type from the store's
//! records to the protocols' batches.

mod client;
mod error;
mod retry;
pub mod shard;
pub mod token;

use std::time::Duration;

pub use client::{StoreClient, Taken};
pub use error::StoreClientError;
pub use retry::Retry;

/// The most bytes one Put may carry or one Take may return.
pub const MAX_MESSAGE_BYTES: u64 = 256 << 20;

/// The longest one Take may wait for items at the stockpile (longer waits take again, [`Retry`]).
pub const MAX_WAIT: Duration = Duration::from_secs(600);
