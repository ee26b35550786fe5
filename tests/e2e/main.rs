//! End-to-end tests: the real `dyad` binary, several processes, talking over loopback.

mod cli;
mod compose;
mod datasets;
mod deployment;
#[path = "../environment.rs"]
mod environment;
mod kill_sweep;
mod link;
mod netns;
mod offline;
mod partition;
mod pools;
mod relay;
mod serving;
mod shards;
mod soak;
mod store_cli;
mod store_crash;
mod support;
mod training;
