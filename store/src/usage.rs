//! How fast each stream is used, and how long its stock lasts at that rate: the figures an
//! autoscaler needs to add offline workers before a job runs dry (issue 27), as Prometheus
//! text.
//!
//! The rate of use is the growth of `put - available` (items taken, discarded or in flight)
//! over a sliding window of samples, so a job that takes in bursts shows its mean rate.
//! `dyad_store_stock_seconds{pool,kind}` is the available items over that rate, and
//! `dyad_store_stock_seconds_min` the least of it over the streams in use: the one number to
//! scale the worker StatefulSet on. A stream not in use lasts "forever", written as
//! [`STOCK_SECONDS_CAP`] (a finite number: autoscalers compute with it).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::time::{Duration, Instant};

use dyad_vocabulary::Stream;

use crate::db::StreamReport;

/// The stock in seconds written for a stream not in use, and the most written for any: one
/// day.
pub const STOCK_SECONDS_CAP: f64 = 86_400.0;

/// How far back the rate of use looks.
pub const WINDOW: Duration = Duration::from_secs(60);

/// One stream's counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    available: u64,
    put: u64,
    taken: u64,
}

impl Counts {
    /// Items no longer available: taken, discarded or in flight.
    fn used(&self) -> u64 {
        self.put.saturating_sub(self.available)
    }
}

/// A metric family per stream: its name, type, help and value from the stream's counts and
/// rate of use.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Counts, f64) -> f64,
);

/// Samples of every stream's counters over the last [`WINDOW`].
#[derive(Debug, Default)]
pub struct UsageWindow {
    samples: VecDeque<(Instant, BTreeMap<String, Counts>)>,
}

impl UsageWindow {
    /// Records the inventory as it stood at `at`, forgetting samples older than the window
    /// (but always keeping one before the newest, to measure a rate against).
    pub fn record(&mut self, at: Instant, inventory: &[StreamReport]) {
        let counts = inventory
            .iter()
            .map(|s| {
                let c = Counts {
                    available: s.available,
                    put: s.put,
                    taken: s.taken,
                };
                (s.stream.clone(), c)
            })
            .collect();
        self.samples.push_back((at, counts));
        while self.samples.len() > 2
            && self
                .samples
                .get(1)
                .is_some_and(|(t, _)| at.duration_since(*t) >= WINDOW)
        {
            self.samples.pop_front();
        }
    }

    /// Items used per second by each stream over the window, with its latest counts.
    fn rates(&self) -> BTreeMap<&str, (Counts, f64)> {
        let (Some((first_at, first)), Some((last_at, last))) =
            (self.samples.front(), self.samples.back())
        else {
            return BTreeMap::new();
        };
        let seconds = last_at.duration_since(*first_at).as_secs_f64();
        last.iter()
            .map(|(name, now)| {
                let before = first.get(name).map_or(0, Counts::used);
                let rate = match seconds > 0.0 {
                    true => now.used().saturating_sub(before) as f64 / seconds,
                    false => 0.0,
                };
                (name.as_str(), (*now, rate))
            })
            .collect()
    }

    /// The Prometheus text: per stream (labelled `pool`, empty for the default pool, and
    /// `kind`, as the offline worker's metrics) the available items, the items put and taken,
    /// the rate of use and the seconds of stock; then the least seconds of stock of the
    /// streams in use.
    pub fn prometheus(&self) -> String {
        let rates = self.rates();
        let labelled: Vec<(String, Counts, f64)> = rates
            .iter()
            .map(|(name, (counts, rate))| {
                // The store holds only streams it could parse; a name it could not is shown
                // whole as its kind.
                let labels = match name.parse::<Stream>() {
                    Ok(s) => format!("pool=\"{}\",kind=\"{}\"", s.pool.name(), s.kind),
                    Err(_) => format!("pool=\"\",kind=\"{name}\""),
                };
                (labels, *counts, *rate)
            })
            .collect();
        let stock_seconds = |c: &Counts, rate: f64| match rate > 0.0 {
            true => (c.available as f64 / rate).min(STOCK_SECONDS_CAP),
            false => STOCK_SECONDS_CAP,
        };
        let mut out = String::new();
        let families: [Family; 4] = [
            (
                "dyad_store_available_items",
                "gauge",
                "Items available",
                |c, _| c.available as f64,
            ),
            (
                "dyad_store_put_items_total",
                "counter",
                "Items ever put",
                |c, _| c.put as f64,
            ),
            (
                "dyad_store_taken_items_total",
                "counter",
                "Items handed out and acknowledged",
                |c, _| c.taken as f64,
            ),
            (
                "dyad_store_use_rate",
                "gauge",
                "Items used (taken, discarded or in flight) per second over the last minute",
                |_, rate| rate,
            ),
        ];
        for (name, kind, help, value) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, counts, rate) in &labelled {
                let _ = writeln!(out, "{name}{{{labels}}} {}", value(counts, *rate));
            }
        }
        let name = "dyad_store_stock_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Seconds the available items last at the current rate of use \
             ({STOCK_SECONDS_CAP} when not in use)\n# TYPE {name} gauge"
        );
        for (labels, counts, rate) in &labelled {
            let _ = writeln!(out, "{name}{{{labels}}} {}", stock_seconds(counts, *rate));
        }
        let least = labelled
            .iter()
            .filter(|(_, _, rate)| *rate > 0.0)
            .map(|(_, c, rate)| stock_seconds(c, *rate))
            .fold(STOCK_SECONDS_CAP, f64::min);
        let _ = writeln!(
            out,
            "# HELP {name}_min The least seconds of stock of the streams in use \
             ({STOCK_SECONDS_CAP} when none is): what the offline workers scale on\n\
             # TYPE {name}_min gauge\n{name}_min {least}"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(stream: &str, available: u64, put: u64, taken: u64) -> StreamReport {
        StreamReport {
            stream: stream.into(),
            item_bytes: 8,
            available,
            bytes: available * 8,
            put,
            taken,
            discarded: put - available - taken,
            in_flight: 0,
        }
    }

    fn sample(page: &str, series: &str) -> f64 {
        page.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in {page}"))
    }

    #[test]
    fn stock_lasts_the_available_items_over_the_rate_of_use() {
        let mut window = UsageWindow::default();
        let t0 = Instant::now();
        window.record(
            t0,
            &[
                report("dabit", 1000, 1000, 0),
                report("serve:comparison-bits", 50, 50, 0),
            ],
        );
        // Ten seconds on: 200 dabits used (150 taken, 50 discarded), 100 more put; the
        // serving pool's stream untouched.
        window.record(
            t0 + Duration::from_secs(10),
            &[
                report("dabit", 900, 1100, 150),
                report("serve:comparison-bits", 50, 50, 0),
            ],
        );
        let page = window.prometheus();
        let dabit = "{pool=\"\",kind=\"dabit\"}";
        let bits = "{pool=\"serve\",kind=\"comparison-bits\"}";
        assert_eq!(
            sample(&page, &format!("dyad_store_available_items{dabit}")),
            900.0
        );
        assert_eq!(
            sample(&page, &format!("dyad_store_put_items_total{dabit}")),
            1100.0
        );
        assert_eq!(
            sample(&page, &format!("dyad_store_taken_items_total{dabit}")),
            150.0
        );
        assert_eq!(sample(&page, &format!("dyad_store_use_rate{dabit}")), 20.0);
        assert_eq!(
            sample(&page, &format!("dyad_store_stock_seconds{dabit}")),
            45.0
        );
        assert_eq!(sample(&page, &format!("dyad_store_use_rate{bits}")), 0.0);
        let idle = sample(&page, &format!("dyad_store_stock_seconds{bits}"));
        assert_eq!(idle, STOCK_SECONDS_CAP);
        assert_eq!(sample(&page, "dyad_store_stock_seconds_min"), 45.0);
    }

    #[test]
    fn the_window_slides_and_an_idle_stockpile_lasts_the_cap() {
        let mut window = UsageWindow::default();
        assert_eq!(
            sample(&window.prometheus(), "dyad_store_stock_seconds_min"),
            STOCK_SECONDS_CAP
        );
        let t0 = Instant::now();
        // Used fast long ago, not at all within the last minute.
        window.record(t0, &[report("dabit", 1000, 1000, 0)]);
        window.record(
            t0 + Duration::from_secs(1),
            &[report("dabit", 0, 1000, 1000)],
        );
        for s in 2..=100 {
            window.record(
                t0 + Duration::from_secs(s),
                &[report("dabit", 0, 1000, 1000)],
            );
        }
        assert!(window.samples.len() <= 62, "{}", window.samples.len());
        let page = window.prometheus();
        assert_eq!(
            sample(&page, "dyad_store_use_rate{pool=\"\",kind=\"dabit\"}"),
            0.0
        );
        assert_eq!(
            sample(&page, "dyad_store_stock_seconds_min"),
            STOCK_SECONDS_CAP
        );
    }
}
