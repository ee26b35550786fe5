//! The demo's live view of training: a progress bar (see [`Progress`]: `indicatif` on a
//! terminal, a line every 30 s in a log) with the SGD steps done, the online rate and ETA,
//! the latest test accuracy revealed, how many steps' worth of randomness the stockpile holds,
//! the offline rate and the share of online time spent waiting for it; and a line for each
//! evaluation as it is revealed. It reads server 0's training metrics and stockpile and the
//! offline workers' metrics, so the two training jobs run exactly as they would without the
//! demo.

use std::path::Path;
use std::time::{Duration, Instant};

use dyad_server::training::{Job, Point, StockMonitor, curve};

use crate::train::Progress;

use dyad_orchestrate::{OfflineRates, TrainingProgress};

/// How often the endpoints are read.
const EVERY: Duration = Duration::from_secs(1);

/// The live view; dropping it leaves the bar's last state on the terminal.
pub struct Watch {
    progress: Progress,
    stock: StockMonitor,
    /// Server 0's `dyad train --metrics` endpoint.
    endpoint: String,
    /// Each worker pair's P0 metrics endpoint.
    workers: Vec<String>,
    started: Instant,
    polled: Option<Instant>,
    total: u64,
    per_epoch: u64,
    epochs: usize,
    training: TrainingProgress,
    /// Offline bytes generated so far.
    offline_bytes: f64,
    /// The steps whose evaluations were announced (a poll may miss one; the final curve fills
    /// it in).
    announced: std::collections::BTreeSet<u64>,
}

impl Watch {
    /// A view of `job` from now on (the offline workers have just started).
    pub fn new(job: &Job, stock: StockMonitor, endpoint: String, workers: Vec<String>) -> Watch {
        Watch {
            progress: Progress::new(0, job.total_steps()),
            stock,
            endpoint,
            workers,
            started: Instant::now(),
            polled: None,
            total: job.total_steps(),
            per_epoch: job.steps_per_epoch(),
            epochs: job.epochs,
            training: TrainingProgress::default(),
            offline_bytes: 0.0,
            announced: std::collections::BTreeSet::new(),
        }
    }

    /// Reads the endpoints and redraws, if a second has passed since the last time. An
    /// endpoint not up yet (or gone) keeps its last figures; it never fails the demo.
    pub async fn poll(&mut self) {
        if self.polled.is_some_and(|t| t.elapsed() < EVERY) {
            return;
        }
        self.polled = Some(Instant::now());
        let _ = self.training.update(&self.endpoint).await;
        if let Some((step, accuracy)) = self.training.evaluated {
            self.announce(step, accuracy);
        }
        let mut offline = OfflineRates::default();
        for worker in &self.workers {
            if let Ok(rates) = OfflineRates::scrape(worker).await {
                offline.add(&rates);
            }
        }
        self.offline_bytes = self.offline_bytes.max(offline.totals().0);
        self.redraw(self.training.step);
    }

    /// Shows the job as done, from server 0's final curve (the job exits right after its last
    /// evaluation, often before the next poll): its evaluations not yet announced, then the
    /// bar at the last step.
    pub fn finish(mut self, curve: &Path) {
        let points = std::fs::read_to_string(curve)
            .map(|text| curve::points(&text))
            .unwrap_or_default();
        for &Point { step, accuracy, .. } in &points {
            self.announce(step, accuracy);
            self.training.evaluated = Some((step, accuracy));
        }
        self.redraw(self.total);
    }

    /// Prints the evaluation at `step` unless it was.
    fn announce(&mut self, step: u64, accuracy: f64) {
        if !self.announced.insert(step) {
            return;
        }
        let epoch = step.div_ceil(self.per_epoch);
        let place = match step.is_multiple_of(self.per_epoch) {
            true => format!("end of epoch {epoch}/{}", self.epochs),
            false => format!("epoch {epoch}/{}", self.epochs),
        };
        self.progress.say(&format!(
            "step {step:>4}/{} ({place}): test accuracy {:.2}%, revealed under MPC",
            self.total,
            100.0 * accuracy
        ));
    }

    fn redraw(&mut self, step: u64) {
        let mut detail = Vec::new();
        if let Some((_, accuracy)) = self.training.evaluated {
            detail.push(format!("accuracy {:.1}%", 100.0 * accuracy));
        }
        if let Some(steps) = self.stock.steps() {
            detail.push(format!("stock {steps:.1} steps"));
        }
        let seconds = self.started.elapsed().as_secs_f64();
        detail.push(format!(
            "offline {:.1} MB/s",
            self.offline_bytes / 1e6 / seconds
        ));
        if let Some((online, waiting)) = self.training.online
            && online > 0.0
        {
            detail.push(format!(
                "{:.0}% of online time waiting for stock",
                100.0 * waiting / online
            ));
        }
        self.progress.update(step, &detail.join("  "));
    }
}
