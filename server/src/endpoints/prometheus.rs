//! The Prometheus text format: single samples, labelled families, histograms and the party
//! link's counters, as every process's metrics page writes them.

/// A Prometheus histogram: counts of observations at most each bucket's bound, their sum and
/// their number.
pub struct Histogram {
    bounds: &'static [f64],
    state: std::sync::Mutex<(Vec<u64>, f64, u64)>,
}

impl Histogram {
    /// A histogram with these ascending bucket bounds (`+Inf` is implied).
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            state: std::sync::Mutex::new((vec![0; bounds.len()], 0.0, 0)),
        }
    }

    /// Records one observation.
    pub fn observe(&self, v: f64) {
        if let Ok(mut s) = self.state.lock() {
            for (count, &bound) in s.0.iter_mut().zip(self.bounds) {
                if v <= bound {
                    *count += 1;
                }
            }
            s.1 += v;
            s.2 += 1;
        }
    }

    /// The Prometheus text of this histogram as `name`.
    pub fn render(&self, name: &str, help: &str) -> String {
        let (buckets, sum, count) = self
            .state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|_| (vec![0; self.bounds.len()], 0.0, 0));
        let mut out = format!("# HELP {name} {help}\n# TYPE {name} histogram\n");
        for (bound, n) in self.bounds.iter().zip(buckets) {
            out += &format!("{name}_bucket{{le=\"{bound}\"}} {n}\n");
        }
        out += &format!(
            "{name}_bucket{{le=\"+Inf\"}} {count}\n{name}_sum {sum}\n{name}_count {count}\n"
        );
        out
    }
}

/// One metric without labels as Prometheus text.
pub fn single(name: &str, kind: &str, help: &str, value: f64) -> String {
    format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n")
}

/// One labelled metric family as Prometheus text: `label="key"` per entry.
pub fn family<'a>(
    name: &str,
    kind: &str,
    help: &str,
    label: &str,
    values: impl IntoIterator<Item = (&'a str, f64)>,
) -> String {
    let mut out = format!("# HELP {name} {help}\n# TYPE {name} {kind}\n");
    for (key, value) in values {
        out += &format!("{name}{{{label}=\"{key}\"}} {value}\n");
    }
    out
}

/// The party link's traffic and rounds, prefixed `prefix` (e.g. `dyad_serve`).
pub fn link(prefix: &str, c: dyad_link::LinkCounters) -> String {
    single(
        &format!("{prefix}_link_sent_bytes_total"),
        "counter",
        "Bytes sent to the other server",
        c.bytes_sent as f64,
    ) + &single(
        &format!("{prefix}_link_received_bytes_total"),
        "counter",
        "Bytes received from the other server",
        c.bytes_received as f64,
    ) + &single(
        &format!("{prefix}_link_rounds_total"),
        "counter",
        "Message flights waited for",
        c.rounds as f64,
    )
}
