//! The stockpile: each server's RocksDB store of tagged correlated randomness, the gRPC
//! service its processes use, and the client through which the offline workers fill it and
//! the servers' jobs (`dyad-server`'s `StockpileRandomness`) pull from it.
//!
//! The store itself knows bytes and tags, not cryptography: a stream's items are fixed-size
//! records (the size follows from the stream's name), numbered per lane by the offline worker
//! pair that made them. See [`db`] for the storage guarantees, and [`usage`] for the rates of
//! use and seconds of stock an autoscaler reads.

pub mod audit;
pub mod db;
pub mod index;
mod keys;

pub mod auth;
pub mod client;
pub mod server;
mod service;
pub mod shard;
pub mod usage;

pub use client::StoreClient;
pub use db::{Budget, ItemRange};
pub use server::{Opened, StoreConfig, open, serve};
pub use service::MAX_WAIT;
