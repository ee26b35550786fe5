//! The dealer-free offline phase: the two servers generate every kind of correlated
//! randomness the online protocols consume, with oblivious transfer and garbled circuits and
//! no third party, and put each server's half into its own stockpile.

mod bits;
pub mod cot;
pub mod cross;
mod error;
pub mod garble;
pub mod generate;
pub mod plan;
mod produce;
pub mod worker;

pub use error::OfflineError;
pub use generate::Generator;
pub use plan::Plan;
pub use produce::batch_items;
