//! **Test support only**: the in-process randomness fixture and the statistics of the view
//! tests. Crates reach this one through `[dev-dependencies]` (and the online crate's benchmarks
//! through its `test-fixture` feature); no binary links it, so the tests and the demo build the
//! libraries identically.

pub mod fixture;
pub mod stats;

pub use fixture::Fixture;
