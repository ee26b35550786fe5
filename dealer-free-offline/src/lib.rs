//! The dealer-free offline phase: the two servers generate every kind of correlated
//! randomness the online protocols consume, with oblivious transfer and garbled circuits and
//! no third party, and put each server's half into its own stockpile.

mod bit_packing;
pub mod control;
pub mod cot;
mod error;
pub mod garble;
pub mod generate;
pub mod gilboa;
pub mod he_product;
pub mod he_session;
mod produce;
pub mod resume;
pub mod rlwe;
pub mod simd_product;
pub mod worker;

pub use error::OfflineError;
pub use generate::{Generator, MatrixTripleMethod, rlwe_settings};
pub use produce::batch_items;
