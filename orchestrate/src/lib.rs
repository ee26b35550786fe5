//! Running a pair of Dyad servers as processes: what `dyad demo` does on one machine, and what
//! the Compose and Kubernetes deployments start as containers and pods. Each process is a run
//! of the `dyad` binary with the flags of its [`command`]; this crate starts them
//! ([`Processes`]), waits until they answer ([`readiness`]), watches them for early exits,
//! stops them, and reads what the offline workers produced ([`OfflineRates`]). It prints
//! nothing: the caller decides what to show.

pub mod command;
mod error;
pub mod lane;
mod offline_rates;
mod ports;
mod processes;
pub mod readiness;
mod training_progress;
mod workdir;

pub use error::OrchestrateError;
pub use offline_rates::OfflineRates;
pub use ports::Ports;
pub use processes::{ProcessId, Processes};
pub use training_progress::TrainingProgress;
pub use workdir::fresh_dir;
