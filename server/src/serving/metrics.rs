//! What a server's metrics endpoint (`dyad serve --metrics`) exposes: request latency and outcomes, batch sizes, the party
//! link's traffic and rounds, and the stock of each stream in this server's stockpile.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use dyad_link::LinkMeter;

use crate::endpoints::StockLevels;
use crate::endpoints::prometheus::{Histogram, family, link};

/// Seconds from a request's arrival to its answer.
const LATENCY_BOUNDS: &[f64] = &[0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0];
/// Requests evaluated together.
const BATCH_BOUNDS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// Shared by the gRPC service (requests) and the evaluation loop (batches, link).
pub struct ServeMetrics {
    latency: Histogram,
    batch: Histogram,
    /// Answered requests by gRPC status (`OK`, `INVALID_ARGUMENT`, ...).
    outcomes: Mutex<BTreeMap<String, u64>>,
    /// The current session's link (its counters restart when the servers reconnect).
    link: Mutex<Option<LinkMeter>>,
    /// Items available per stream, polled from the stockpile.
    pub stock: StockLevels,
}

impl Default for ServeMetrics {
    fn default() -> Self {
        ServeMetrics {
            latency: Histogram::new(LATENCY_BOUNDS),
            batch: Histogram::new(BATCH_BOUNDS),
            outcomes: Mutex::default(),
            link: Mutex::default(),
            stock: StockLevels::default(),
        }
    }
}

impl ServeMetrics {
    /// A request answered after `elapsed` with gRPC status `code`.
    pub fn request(&self, elapsed: Duration, code: tonic::Code) {
        self.latency.observe(elapsed.as_secs_f64());
        if let Ok(mut o) = self.outcomes.lock() {
            *o.entry(format!("{code:?}")).or_default() += 1;
        }
    }

    /// A batch of `size` requests evaluated together.
    pub fn batch(&self, size: usize) {
        self.batch.observe(size as f64);
    }

    /// The link of a new session with the other server.
    pub fn session(&self, meter: LinkMeter) {
        if let Ok(mut l) = self.link.lock() {
            *l = Some(meter);
        }
    }

    /// The Prometheus text.
    pub fn render(&self) -> String {
        let mut out = self.latency.render(
            "dyad_serve_request_seconds",
            "Seconds from a request's arrival to its answer",
        );
        out += &self.batch.render(
            "dyad_serve_batch_size",
            "Requests evaluated together under MPC",
        );
        let outcomes = self.outcomes.lock().map(|o| o.clone()).unwrap_or_default();
        out += &family(
            "dyad_serve_requests_total",
            "counter",
            "Answered requests by gRPC status",
            "status",
            outcomes.iter().map(|(k, v)| (k.as_str(), *v as f64)),
        );
        out += &self.stock.render("dyad_serve_stock");
        if let Some(meter) = self.link.lock().ok().and_then(|l| l.clone()) {
            out += &link("dyad_serve", meter.counters());
        }
        out
    }
}
