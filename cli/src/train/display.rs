//! What `dyad train` shows of a running job: the library's session reports to this
//! [`Observer`], which draws the progress bar, prints each revealed accuracy and feeds the
//! metrics endpoint.

use std::sync::Arc;

use dyad_online::Z64;
use dyad_server::training::checkpoint::Position;
use dyad_server::training::{Job, Observer, State, StockMonitor, TrainMetrics};

use super::progress::Progress;
use dyad_server::endpoints::Health;

/// The display of one training job across its sessions.
pub struct Display {
    network: String,
    epochs: usize,
    per_epoch: u64,
    total_steps: u64,
    stock: StockMonitor,
    metrics: Arc<TrainMetrics>,
    /// Ready while a session runs.
    health: Arc<Health>,
    /// Seconds the link waits for a lost peer, for the message that says so.
    peer_timeout: u64,
    /// The current session's bar.
    progress: Option<Progress>,
    /// Points of the curve already printed.
    reported: usize,
}

impl Display {
    /// A display for `job`.
    pub fn new(
        job: &Job,
        stock: StockMonitor,
        metrics: Arc<TrainMetrics>,
        health: Arc<Health>,
        peer_timeout: u64,
    ) -> Display {
        health.unmet("session", "waiting for the peer");
        Display {
            network: job.network.name.clone(),
            epochs: job.epochs,
            per_epoch: job.steps_per_epoch(),
            total_steps: job.total_steps(),
            stock,
            metrics,
            health,
            peer_timeout,
            progress: None,
            reported: 0,
        }
    }

    fn say(&self, text: &str) {
        match &self.progress {
            Some(p) => p.say(text),
            None => eprintln!("{text}"),
        }
    }
}

impl Observer for Display {
    fn started(&mut self, resume: Option<Position>, state: &State<Z64>) {
        self.progress = Some(Progress::new(state.step, self.total_steps));
        let at = format!("training with the peer from step {}", state.step);
        self.health.met("session", at);
        self.reported = state.curve.len();
        self.say(&match resume {
            Some((step, evaluations)) => format!(
                "resuming at step {step} ({evaluations} evaluations done), in agreement with the peer"
            ),
            None => format!(
                "training {} from the start, in agreement with the peer",
                self.network
            ),
        });
    }

    fn saved(&mut self, state: &State<Z64>, step_seconds: Option<f64>) {
        self.metrics.step(
            state.step,
            step_seconds,
            state.stats,
            state.curve.last().copied(),
        );
        for p in &state.curve[self.reported.min(state.curve.len())..] {
            let loss = p
                .loss
                .map(|l| format!(", mean training loss {l:.4}"))
                .unwrap_or_default();
            self.say(&format!(
                "{}: test accuracy {:.2}%{loss} (revealed under MPC)",
                p.place(self.per_epoch),
                100.0 * p.accuracy
            ));
        }
        self.reported = state.curve.len();
        let epoch = (state.step / self.per_epoch.max(1)) as usize + 1;
        let mut detail = format!("epoch {}/{}", epoch.min(self.epochs), self.epochs);
        if let Some(p) = state.curve.last() {
            detail += &format!("  test accuracy {:.1}%", 100.0 * p.accuracy);
        }
        if let Some(steps) = self.stock.steps() {
            detail += &format!("  stock {steps:.1} steps");
        }
        if let Some(progress) = &mut self.progress {
            progress.update(state.step, &detail);
        }
    }

    fn peer_lost(&mut self, why: &str) {
        // The bar of the broken session stays as it was; the next session draws its own.
        self.progress = None;
        let waiting = format!("lost the peer ({why}); waiting for it");
        self.health.unmet("session", waiting);
        eprintln!(
            "\nlost the peer ({why}); waiting up to {} s for it to come back, then resuming \
             from the latest checkpoint both servers hold",
            self.peer_timeout
        );
    }
}
