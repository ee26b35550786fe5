//! Stream names: a kind of correlated randomness, in a pool.
//!
//! A pool is a set of streams of its own in the same stockpiles, for one consumer. Two
//! consumers cannot draw on one stream: P1's stockpile hands out exactly the items P0's names
//! and discards the lower leftovers of each lane as unpairable, which the other consumer's P1
//! may still need. So a training job and `dyad serve` sharing a stockpile pair each take from a
//! pool of their own (`--pool train`, `--pool serve`), stocked by a worker pair started with
//! the same `--pool`. The default pool's streams are named by their kind alone (`dabit`);
//! a named pool's by `pool:kind` (`serve:dabit`).

use std::fmt;
use std::str::FromStr;

use crate::kind::{Kind, UnknownKind};

/// The most characters in a pool's name.
const MAX_POOL_NAME: usize = 32;

/// A pool of streams: the default one, or a named one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pool(String);

impl Pool {
    /// Whether this is the default pool.
    pub fn is_default(&self) -> bool {
        self.0.is_empty()
    }

    /// The pool's name: empty for the default pool (as a Prometheus label value, where empty
    /// means absent).
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// A name that is no pool's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is no pool name: up to {MAX_POOL_NAME} lowercase letters, digits and dashes")]
pub struct PoolNameError(pub String);

impl FromStr for Pool {
    type Err = PoolNameError;

    /// A name of 1 to 32 lowercase letters, digits and dashes, or the empty string for the
    /// default pool.
    fn from_str(s: &str) -> Result<Pool, PoolNameError> {
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        match s.len() <= MAX_POOL_NAME && s.chars().all(allowed) {
            true => Ok(Pool(s.to_owned())),
            false => Err(PoolNameError(s.to_owned())),
        }
    }
}

impl fmt::Display for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.is_default() {
            true => write!(f, "the default pool"),
            false => write!(f, "pool {}", self.0),
        }
    }
}

/// A stream: a kind in a pool. Its name is what the stockpile files items under.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Stream {
    /// The pool.
    pub pool: Pool,
    /// The kind.
    pub kind: Kind,
}

impl Stream {
    /// `kind` in `pool`.
    pub fn new(pool: &Pool, kind: Kind) -> Stream {
        Stream {
            pool: pool.clone(),
            kind,
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pool.is_default() {
            true => write!(f, "{}", self.kind),
            false => write!(f, "{}:{}", self.pool.0, self.kind),
        }
    }
}

/// A name that is no stream's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// `:kind`, which would be a second name for `kind`.
    #[error("{0:?} names no stream: an empty pool name")]
    EmptyPool(String),
    /// The pool's name is malformed.
    #[error(transparent)]
    Pool(#[from] PoolNameError),
    /// The kind is unknown.
    #[error(transparent)]
    Kind(#[from] UnknownKind),
}

impl FromStr for Stream {
    type Err = StreamError;

    fn from_str(s: &str) -> Result<Stream, StreamError> {
        let (pool, kind) = match s.split_once(':') {
            // "`:dabit`" would be a second name for `dabit`.
            Some(("", _)) => return Err(StreamError::EmptyPool(s.to_owned())),
            Some((pool, kind)) => (pool.parse()?, kind),
            None => (Pool::default(), s),
        };
        Ok(Stream {
            pool,
            kind: kind.parse()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Prime;

    #[test]
    fn stream_names_round_trip_in_every_pool() {
        let serve: Pool = "serve".parse().expect("a name");
        for pool in [Pool::default(), serve] {
            for kind in [
                Kind::DaBit,
                Kind::MatrixTriple { m: 2, n: 3, k: 4 },
                Kind::ComparisonMask { p: Prime::P40961 },
            ] {
                let stream = Stream::new(&pool, kind);
                assert_eq!(stream.to_string().parse::<Stream>(), Ok(stream));
            }
        }
        assert_eq!(
            "serve:comparison-mask/p40961"
                .parse::<Stream>()
                .map(|s| s.to_string()),
            Ok("serve:comparison-mask/p40961".into())
        );
        assert_eq!(
            "dabit".parse::<Stream>().map(|s| s.pool),
            Ok(Pool::default())
        );
    }

    #[test]
    fn bad_pools_and_kinds_are_refused() {
        for bad in [
            ":dabit",
            "Serve:dabit",
            "a b:dabit",
            "serve:",
            "serve:nothing",
            "x:y:dabit",
            &format!("{}:dabit", "p".repeat(33)),
        ] {
            assert!(bad.parse::<Stream>().is_err(), "{bad:?}");
        }
    }
}
