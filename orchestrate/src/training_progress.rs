//! How far a running training job is, read from its metrics endpoint (`dyad train
//! --metrics`): what the demo's progress bar shows, and what a deployment's watcher can read
//! without touching the job.

use dyad_server::endpoints::{sample, scrape};

use crate::OrchestrateError;

/// What a training job's metrics said last.
#[derive(Debug, Default, Clone, Copy)]
pub struct TrainingProgress {
    /// SGD steps done.
    pub step: u64,
    /// The latest evaluation: its step and test accuracy.
    pub evaluated: Option<(u64, f64)>,
    /// Online seconds, and of those seconds waiting for randomness.
    pub online: Option<(f64, f64)>,
}

impl TrainingProgress {
    /// Reads the job's endpoint at `addr` into `self`; a sample the page lacks keeps its last
    /// value.
    pub async fn update(&mut self, addr: &str) -> Result<(), OrchestrateError> {
        let page = scrape(addr).await?;
        let value = |name| sample(&page, name);
        self.step = value("dyad_train_steps").map_or(self.step, |s| s as u64);
        if let (Some(at), Some(accuracy)) = (
            value("dyad_train_test_accuracy_step"),
            value("dyad_train_test_accuracy"),
        ) {
            self.evaluated = Some((at as u64, accuracy));
        }
        if let (Some(online), Some(waiting)) = (
            value("dyad_train_online_seconds_total"),
            value("dyad_train_randomness_seconds_total"),
        ) {
            self.online = Some((online, waiting));
        }
        Ok(())
    }
}
