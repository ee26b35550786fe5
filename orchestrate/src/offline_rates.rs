//! What the offline worker pairs produced, read from each pair's `P0` metrics endpoint: the
//! demo's report of offline throughput, and a deployment's measurement of it.

use std::collections::BTreeMap;

use dyad_vocabulary::Stream;

use crate::OrchestrateError;

/// Per-stream totals and the link traffic of one worker.
#[derive(Debug, Default)]
pub struct OfflineRates {
    /// Stream (by its stockpile name) → (items, bytes stored, seconds generating).
    pub streams: BTreeMap<String, (f64, f64, f64)>,
    /// Bytes the worker's channels sent and received.
    pub link: (f64, f64),
}

impl OfflineRates {
    /// Scrapes a worker's Prometheus endpoint.
    pub async fn scrape(addr: &str) -> Result<OfflineRates, OrchestrateError> {
        let page = dyad_server::endpoints::scrape(addr).await?;
        Ok(OfflineRates::parse(&page))
    }

    /// Reads the metrics text.
    fn parse(page: &str) -> OfflineRates {
        let mut rates = OfflineRates::default();
        for line in page.lines().filter(|l| !l.starts_with('#')) {
            let Some((key, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = match key.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (key, ""),
            };
            match name {
                "dyad_offline_link_sent_bytes_total" => rates.link.0 = value,
                "dyad_offline_link_received_bytes_total" => rates.link.1 = value,
                _ => {
                    let Some(stream) = stream_of(labels) else {
                        continue;
                    };
                    let entry = rates.streams.entry(stream.to_string()).or_default();
                    match name {
                        "dyad_offline_items_total" => entry.0 = value,
                        "dyad_offline_bytes_total" => entry.1 = value,
                        "dyad_offline_seconds_total" => entry.2 = value,
                        _ => {}
                    }
                }
            }
        }
        rates
    }

    /// Adds another worker pair's totals (its seconds too: rates are then per pair).
    pub fn add(&mut self, other: &OfflineRates) {
        for (stream, v) in &other.streams {
            let entry = self.streams.entry(stream.clone()).or_default();
            *entry = (entry.0 + v.0, entry.1 + v.1, entry.2 + v.2);
        }
        self.link = (self.link.0 + other.link.0, self.link.1 + other.link.1);
    }

    /// Bytes stored in this party's stockpile, and the seconds spent generating.
    pub fn totals(&self) -> (f64, f64) {
        self.streams
            .values()
            .fold((0.0, 0.0), |(b, s), v| (b + v.1, s + v.2))
    }

    /// Multiply-accumulates per second of matrix-triple generation.
    pub fn matrix_macs_per_second(&self) -> Option<f64> {
        let (macs, seconds) = self
            .streams
            .iter()
            .filter_map(|(stream, v)| {
                let shape = stream.strip_prefix("matrix-triple/")?;
                let dims: Vec<f64> = shape.split('x').filter_map(|d| d.parse().ok()).collect();
                Some((v.0 * dims.iter().product::<f64>(), v.2))
            })
            .fold((0.0, 0.0), |(m, s), (mm, ss)| (m + mm, s + ss));
        (seconds > 0.0).then(|| macs / seconds)
    }

    /// Items per second of one stream.
    pub fn items_per_second(&self, stream: &str) -> Option<f64> {
        let v = self.streams.get(stream)?;
        (v.2 > 0.0).then(|| v.0 / v.2)
    }
}

/// The stream a worker's sample is about, from its `pool` and `kind` labels.
fn stream_of(labels: &str) -> Option<Stream> {
    let label = |name: &str| {
        labels.split(',').find_map(|pair| {
            let value = pair.strip_prefix(name)?.strip_prefix("=\"")?;
            value.strip_suffix('"')
        })
    };
    Some(Stream::new(
        &label("pool")?.parse().ok()?,
        label("kind")?.parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_workers_metrics() {
        let page = "# TYPE dyad_offline_items_total counter\n\
            dyad_offline_items_total{pool=\"\",kind=\"matrix-triple/2x3x4\"} 10\n\
            dyad_offline_bytes_total{pool=\"\",kind=\"matrix-triple/2x3x4\"} 500\n\
            dyad_offline_seconds_total{pool=\"\",kind=\"matrix-triple/2x3x4\"} 2\n\
            dyad_offline_items_total{pool=\"\",kind=\"comparison-mask\"} 300\n\
            dyad_offline_seconds_total{pool=\"\",kind=\"comparison-mask\"} 3\n\
            dyad_offline_items_total{pool=\"serve\",kind=\"dabit\"} 64\n\
            dyad_offline_seconds_total{pool=\"serve\",kind=\"dabit\"} 2\n\
            dyad_offline_link_sent_bytes_total 1000\n";
        let rates = OfflineRates::parse(page);
        assert_eq!(rates.matrix_macs_per_second(), Some(10.0 * 24.0 / 2.0));
        assert_eq!(rates.items_per_second("comparison-mask"), Some(100.0));
        assert_eq!(rates.items_per_second("serve:dabit"), Some(32.0));
        assert_eq!(rates.totals(), (500.0, 7.0));
        assert_eq!(rates.link, (1000.0, 0.0));
    }
}
