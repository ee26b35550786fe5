//! What a training job's metrics endpoint (`dyad train --metrics`) exposes: steps done and to do, the time per step, the online
//! cost so far (seconds, of which getting randomness; bytes and rounds), the last revealed
//! test accuracy and the step it was revealed at, and the stock of each stream in this
//! server's stockpile.

use std::sync::Mutex;

use super::{Point, Stats};
use crate::endpoints::StockLevels;
use crate::endpoints::prometheus::{Histogram, single};

/// Seconds per SGD step (an evaluation's time counts in the step after it).
const STEP_BOUNDS: &[f64] = &[0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];

/// Updated by the training session, read by the metrics endpoint.
pub struct TrainMetrics {
    step_seconds: Histogram,
    state: Mutex<Snapshot>,
    /// Items available per stream, polled from the stockpile.
    pub stock: StockLevels,
}

#[derive(Default, Clone, Copy)]
struct Snapshot {
    step: u64,
    total_steps: u64,
    stats: Stats,
    last: Option<Point>,
}

impl TrainMetrics {
    /// Metrics of a job of `total_steps` steps.
    pub fn new(total_steps: u64) -> TrainMetrics {
        TrainMetrics {
            step_seconds: Histogram::new(STEP_BOUNDS),
            state: Mutex::new(Snapshot {
                total_steps,
                ..Snapshot::default()
            }),
            stock: StockLevels::default(),
        }
    }

    /// The run stands at step `step` (which took `seconds`, if a step was just done rather
    /// than an evaluation); the run's cost so far and its latest evaluation.
    pub fn step(&self, step: u64, seconds: Option<f64>, stats: Stats, last: Option<Point>) {
        if let Some(seconds) = seconds {
            self.step_seconds.observe(seconds);
        }
        if let Ok(mut s) = self.state.lock() {
            s.step = step;
            s.stats = stats;
            s.last = last;
        }
    }

    /// The Prometheus text.
    pub fn render(&self) -> String {
        let s = self.state.lock().map(|s| *s).unwrap_or_default();
        let mut out = single("dyad_train_steps", "gauge", "SGD steps done", s.step as f64);
        out += &single(
            "dyad_train_total_steps",
            "gauge",
            "SGD steps of the whole job",
            s.total_steps as f64,
        );
        out += &self
            .step_seconds
            .render("dyad_train_step_seconds", "Seconds per SGD step");
        for (name, help, value) in [
            (
                "dyad_train_online_seconds_total",
                "Seconds of the online phase",
                s.stats.seconds,
            ),
            (
                "dyad_train_randomness_seconds_total",
                "Of those, seconds getting correlated randomness",
                s.stats.store_seconds,
            ),
            (
                "dyad_train_link_sent_bytes_total",
                "Bytes sent to the other server",
                s.stats.bytes_sent as f64,
            ),
            (
                "dyad_train_link_received_bytes_total",
                "Bytes received from the other server",
                s.stats.bytes_received as f64,
            ),
            (
                "dyad_train_link_rounds_total",
                "Message flights waited for",
                s.stats.rounds as f64,
            ),
        ] {
            out += &single(name, "counter", help, value);
        }
        if let Some(p) = s.last {
            out += &single(
                "dyad_train_test_accuracy",
                "gauge",
                "Test accuracy revealed at the latest evaluation",
                p.accuracy,
            );
            out += &single(
                "dyad_train_test_accuracy_step",
                "gauge",
                "SGD steps done at the latest evaluation",
                p.step as f64,
            );
        }
        out += &self.stock.render("dyad_train_stock");
        out
    }
}
