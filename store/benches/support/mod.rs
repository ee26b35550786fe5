//! What the store's benches share: a stockpile served over gRPC on loopback.

use std::time::Duration;

use dyad_store::{Budget, StoreConfig, serve};

/// The benches' stockpile token.
pub const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A stockpile serving on loopback until [`BenchStore::close`].
pub struct BenchStore {
    /// Its `host:port`.
    pub addr: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl BenchStore {
    /// Opens a stockpile in `dir` (a disk budget far above what a bench puts) and serves it.
    pub async fn start(dir: &std::path::Path) -> BenchStore {
        let config = StoreConfig {
            party: 0,
            data_dir: dir.to_owned(),
            token: TOKEN.into(),
            budget: Budget {
                budget_bytes: 1 << 36,
                high_water_bytes: 1 << 35,
            },
            lease_ttl: Duration::from_secs(600),
            drop_retired: false,
            audit: false,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            serve(config, listener, shutdown).await.expect("serves");
        });
        BenchStore { addr, stop, task }
    }

    /// Stops serving and closes the database.
    pub async fn close(self) {
        let _ = self.stop.send(());
        self.task.await.expect("the stockpile closed");
    }
}
