//! What each of the two servers runs with the other: the jobs that compute on secret shares
//! (Ge et al. §5-§6) and the seams they need, kept apart from the `dyad` binary so that any
//! front end, or an in-process test, can drive them. The binary parses arguments and prints;
//! this crate does the work and reports events.
//!
//! - [`serving`]: the secure-inference engine, which pairs requests with the other server and
//!   evaluates them in batches.
//! - [`training`]: a training job's runner, sessions, agreement and checkpoints.
//! - [`RandomnessSource`]: where a session's correlated randomness comes from; in production
//!   [`Stockpile`], which opens a [`StockpileRandomness`] on this server's stockpile, in step
//!   with the other server's.
//! - The share files the servers hold: [`model_file`] and [`dataset_share`], written through
//!   [`files`] so that a crash never leaves a torn file.
//! - [`load_network`]: a network by name or from a description file.
//! - [`datasets`]: plaintext datasets and a client's inputs (MNIST IDX and CSV, PNG), and the
//!   data owner's split of one into the two servers' shares.
//! - [`dataset_store`] and [`dataset_service`]: the datasets owners upload, by name, and the
//!   gRPC service they upload with.
//! - [`onnx`]: a plaintext model exported by PyTorch, read as a Dyad model.
//! - [`endpoints`]: the metrics and health endpoints every long-running process serves.
//! - [`peer_lost`]: telling a broken link (reconnect and resume) from other failures.

pub mod announcement;
pub mod dataset_service;
pub mod dataset_share;
pub mod dataset_store;
pub mod datasets;
pub mod endpoints;
pub mod files;
pub mod model_file;
pub mod network_source;
pub mod onnx;
pub mod peer_lost;
pub mod randomness_source;
pub mod serving;
pub mod stockpile_randomness;
pub mod training;
mod training_batches;

pub use dataset_share::DatasetShare;
pub use network_source::load_network;
pub use randomness_source::{RandomnessSource, Stockpile};
pub use stockpile_randomness::StockpileRandomness;
pub use training_batches::Examples;
