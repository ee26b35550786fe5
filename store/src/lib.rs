//! The stockpile: each server's RocksDB store of tagged correlated randomness and the gRPC
//! service its processes use. They reach it through `dyad-store-client`, which the offline
//! workers (filling it) and the servers' jobs (`dyad-server`'s `StockpileRandomness`, pulling
//! from it) depend on instead of this crate: only `dyad store` links RocksDB.
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
pub mod server;
mod service;
pub mod usage;

pub use db::Budget;
pub use server::{Opened, ServerError, StoreConfig, open, serve};
