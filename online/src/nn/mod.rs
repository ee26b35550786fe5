//! Neural networks over three backends: secure (on shares, between the two parties), plaintext
//! fixed point (the reference each secure run must match), and plaintext floating point with
//! the same approximations (the accuracy yardstick); and a fourth that computes nothing and
//! tallies the secure backend's demand ([`Tally`]). Layers and the training step are written
//! once, against [`Backend`].

pub mod adam;
mod backend;
mod graph;
mod im2col;
mod layers;
pub mod optimizer;
mod params;
mod plain_fixed;
mod plain_float;
mod profile;
mod secure;
mod tally;
mod train;
pub mod window;

pub use adam::{Adam, AdamStep, GRADIENT_BOUND, InverseSqrt};
pub use backend::Backend;
pub use layers::Cache;
pub use optimizer::{Optimizer, OptimizerError, Rule, Schedule};
pub use params::{Init, LayerParams, Params};
pub use plain_fixed::PlainFixed;
pub use plain_float::PlainFloat;
pub use profile::{Mark, OpCost, Profile};
pub use secure::Secure;
pub use tally::Tally;
pub use train::{Hyper, StepResult, evaluate, predict, train_step};

#[cfg(test)]
mod tests;
