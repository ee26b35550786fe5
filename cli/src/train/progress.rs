//! The progress display of a training job: steps, rate, ETA and how many steps the stockpile
//! holds. On a terminal it redraws one line; otherwise it prints a line now and then.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dyad_online::cost::Demand;
use dyad_store::StoreClient;

/// Watches the stockpile: how many SGD steps' worth of each stream it holds (the least).
pub struct StockMonitor {
    steps: Arc<Mutex<Option<f64>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StockMonitor {
    /// Polls `client`'s inventory every few seconds against one step's `demand`.
    pub fn start(mut client: StoreClient, demand: Demand) -> StockMonitor {
        let steps = Arc::new(Mutex::new(None));
        let shared = steps.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Ok(inventory) = client.inventory().await {
                    let available = |stream: &str| {
                        inventory
                            .streams
                            .iter()
                            .find(|s| s.stream == stream)
                            .map_or(0, |s| s.available)
                    };
                    let level = demand
                        .0
                        .iter()
                        .map(|(kind, need)| available(&kind.to_string()) as f64 / *need as f64)
                        .fold(f64::INFINITY, f64::min);
                    *shared.lock().expect("lock") = Some(level);
                }
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        });
        StockMonitor { steps, task }
    }

    fn steps(&self) -> Option<f64> {
        *self.steps.lock().expect("lock")
    }
}

impl Drop for StockMonitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The display.
pub struct Progress {
    total: u64,
    first: u64,
    started: Instant,
    last: Option<Instant>,
    /// The step last shown, so a log does not get the same line twice.
    shown: Option<u64>,
    terminal: bool,
    stock: Option<StockMonitor>,
}

/// How often a non-terminal gets a line.
const EVERY: Duration = Duration::from_secs(30);

impl Progress {
    /// A display for steps `first..total`.
    pub fn new(first: u64, total: u64, stock: Option<StockMonitor>) -> Progress {
        Progress {
            total,
            first,
            started: Instant::now(),
            last: None,
            shown: None,
            terminal: std::io::stderr().is_terminal(),
            stock,
        }
    }

    /// Shows that `step` steps are done (in epoch `epoch` of `epochs`).
    pub fn update(&mut self, step: u64, epoch: usize, epochs: usize) {
        let now = Instant::now();
        let due = self.last.is_none_or(|t| now - t >= EVERY) || step == self.total;
        if !self.terminal && (!due || self.shown == Some(step)) {
            return;
        }
        self.last = Some(now);
        self.shown = Some(step);
        let done = step.saturating_sub(self.first);
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = done as f64 / elapsed.max(1e-9);
        let eta = match rate > 0.0 {
            true => clock((self.total - step) as f64 / rate),
            false => "?".into(),
        };
        let width = 24;
        let filled = (width as u64 * step / self.total.max(1)) as usize;
        let bar = format!("{}{}", "#".repeat(filled), ".".repeat(width - filled));
        let stock = match self.stock.as_ref().and_then(StockMonitor::steps) {
            Some(s) => format!("  stock {s:.1} steps"),
            None => String::new(),
        };
        let line = format!(
            "epoch {}/{epochs} step {step}/{} [{bar}] {rate:.2} step/s  ETA {eta}{stock}",
            epoch.min(epochs),
            self.total
        );
        let mut err = std::io::stderr();
        let _ = match self.terminal {
            true => write!(err, "\r{line}\x1b[K"),
            false => writeln!(err, "{line}"),
        };
        let _ = err.flush();
    }

    /// Prints a message on its own line.
    pub fn say(&mut self, text: &str) {
        let mut err = std::io::stderr();
        let _ = match self.terminal {
            true => writeln!(err, "\r{text}\x1b[K"),
            false => writeln!(err, "{text}"),
        };
    }
}

/// `h:mm:ss` or `m:ss`.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s >= 3600 {
        true => format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60),
        false => format!("{}:{:02}", s / 60, s % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_read_naturally() {
        assert_eq!(clock(59.6), "1:00");
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(clock(-3.0), "0:00");
    }
}
