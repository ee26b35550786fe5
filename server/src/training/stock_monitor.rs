//! How many SGD steps' worth of randomness a job's stockpile holds: the figure `dyad train`
//! and the demo show beside the progress bar, to tell a job waiting on the offline phase from
//! one that is not.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dyad_randomness::Demand;
use dyad_store_client::StoreClient;
use dyad_vocabulary::{Pool, Stream};

/// Watches the stockpile: how many SGD steps' worth of each stream it holds over all its
/// shards (the least).
pub struct StockMonitor {
    steps: Arc<Mutex<Option<f64>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StockMonitor {
    /// Polls the inventories of `shards` (a stockpile's, one client each) every few seconds
    /// against one step's `demand`, in `pool`.
    pub fn start(mut shards: Vec<StoreClient>, demand: Demand, pool: Pool) -> StockMonitor {
        let steps = Arc::new(Mutex::new(None));
        let shared = steps.clone();
        let task = tokio::spawn(async move {
            loop {
                let mut inventories = Vec::with_capacity(shards.len());
                for client in &mut shards {
                    if let Ok(inventory) = client.inventory().await {
                        inventories.push(inventory);
                    }
                }
                // A level only when every shard answered: a missing one would read as dry.
                if inventories.len() == shards.len() {
                    let available = |stream: &str| -> u64 {
                        inventories
                            .iter()
                            .flat_map(|i| &i.streams)
                            .filter(|s| s.stream == stream)
                            .map(|s| s.available)
                            .sum()
                    };
                    let level = demand
                        .0
                        .iter()
                        .map(|(kind, need)| {
                            let stream = Stream::new(&pool, *kind).to_string();
                            available(&stream) as f64 / *need as f64
                        })
                        .fold(f64::INFINITY, f64::min);
                    if let Ok(mut steps) = shared.lock() {
                        *steps = Some(level);
                    }
                }
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        });
        StockMonitor { steps, task }
    }

    /// Steps' worth of randomness held, once the first poll answered.
    pub fn steps(&self) -> Option<f64> {
        self.steps.lock().ok().and_then(|s| *s)
    }
}

impl Drop for StockMonitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}
