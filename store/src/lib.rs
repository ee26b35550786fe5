//! The stockpile: each server's RocksDB store of tagged correlated randomness and the gRPC
//! service its online runtime pulls from. Empty until the store issue fills it.
