//! The stock gauges of a job's metrics: items available per stream in its stockpile.

use super::prometheus::family;

/// Items available per stream in a stockpile (summed over its shards), kept up to date in the
/// background; shared by the metrics of `dyad serve` and `dyad train`.
#[derive(Clone, Default)]
pub struct StockLevels(std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>);

impl StockLevels {
    /// Polls the stockpile's shards at `addrs` once a second for as long as the process runs
    /// (an unreachable shard counts with its last levels and is tried again).
    pub fn poll(&self, addrs: Vec<String>, token: String) {
        let levels = self.0.clone();
        tokio::spawn(async move {
            let mut clients = vec![None; addrs.len()];
            let mut last = vec![std::collections::BTreeMap::<String, u64>::new(); addrs.len()];
            loop {
                for ((addr, client), shard) in addrs.iter().zip(&mut clients).zip(&mut last) {
                    if client.is_none() {
                        *client = dyad_store_client::StoreClient::connect(addr, &token)
                            .await
                            .ok();
                    }
                    if let Some(c) = client {
                        match c.inventory().await {
                            Ok(inventory) => {
                                *shard = inventory
                                    .streams
                                    .into_iter()
                                    .map(|st| (st.stream, st.available))
                                    .collect();
                            }
                            Err(_) => *client = None,
                        }
                    }
                }
                if let Ok(mut l) = levels.lock() {
                    l.clear();
                    for (stream, available) in last.iter().flatten() {
                        *l.entry(stream.clone()).or_default() += available;
                    }
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
    }

    /// The levels as the gauge family `name`, labelled by stream.
    pub fn render(&self, name: &str) -> String {
        let levels = self.0.lock().map(|l| l.clone()).unwrap_or_default();
        family(
            name,
            "gauge",
            "Items available in this server's stockpile, per stream",
            "stream",
            levels.iter().map(|(k, v)| (k.as_str(), *v as f64)),
        )
    }
}
