//! The HTTP endpoints of a long-running process: Prometheus metrics (`/metrics`, or any other
//! path) and the health checks of orchestrators (`/healthz`, `/readyz`; see [`Health`]).
//! Every `dyad` service (stockpile, offline worker, training job, server, relay) serves them
//! the same way, so they live here rather than in each command.
//!
//! A process given `--metrics ADDR` and `--health ADDR` serves both from one endpoint when the
//! two addresses are the same, and from two otherwise ([`endpoints`]).

mod health;
mod probe;
pub mod prometheus;
mod scrape;
mod stock_levels;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use health::Health;
pub use probe::{ProbeError, probe};
pub use scrape::{ScrapeError, sample, scrape};
pub use stock_levels::StockLevels;

/// Renders the metrics page.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// An endpoint that could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot serve HTTP on {addr}: {source}")]
pub struct EndpointError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// Why it could not be bound.
    #[source]
    pub source: std::io::Error,
}

/// What one endpoint serves.
#[derive(Clone, Default)]
struct Pages {
    metrics: Option<Render>,
    health: Option<Arc<Health>>,
}

impl Pages {
    /// The status line and body for a request of `path`.
    fn answer(&self, path: &str) -> (&'static str, String) {
        const NOT_FOUND: &str = "404 Not Found";
        let path = path.split('?').next().unwrap_or(path);
        match (path, &self.health, &self.metrics) {
            ("/healthz", Some(h), _) => h.liveness(),
            ("/readyz", Some(h), _) => h.readiness(),
            ("/healthz" | "/readyz", None, _) => {
                (NOT_FOUND, "no health checks here: see --health\n".into())
            }
            (_, _, Some(render)) => ("200 OK", render()),
            (_, _, None) => (
                NOT_FOUND,
                "this endpoint serves /healthz and /readyz\n".into(),
            ),
        }
    }
}

/// A job's endpoints (training or serving): its metrics, rendered by `render`, with the stock
/// gauges of `stock` kept up to date from the party's `stockpile` while metrics are served, and
/// its `health` checks.
pub async fn job_endpoints(
    metrics: Option<SocketAddr>,
    render: Render,
    stock: &StockLevels,
    stockpile: &crate::Stockpile,
    health: Option<(SocketAddr, Arc<Health>)>,
) -> Result<(), EndpointError> {
    if metrics.is_some() {
        stock.poll(stockpile.addresses.clone(), stockpile.token.clone());
    }
    endpoints(metrics.map(|a| (a, render)), health).await
}

/// Starts the endpoints a process was asked for: the metrics `render` on `metrics`, the
/// health checks of `health` on `health_addr`, on one endpoint if the addresses are the same.
/// Each endpoint's address is announced on standard error (the port may have been 0).
pub async fn endpoints(
    metrics: Option<(SocketAddr, Render)>,
    health: Option<(SocketAddr, Arc<Health>)>,
) -> Result<(), EndpointError> {
    let mut servers: Vec<(SocketAddr, Pages)> = Vec::new();
    if let Some((addr, render)) = metrics {
        servers.push((
            addr,
            Pages {
                metrics: Some(render),
                health: None,
            },
        ));
    }
    if let Some((addr, checks)) = health {
        match servers.iter_mut().find(|(a, _)| *a == addr) {
            Some((_, pages)) => pages.health = Some(checks),
            None => servers.push((
                addr,
                Pages {
                    metrics: None,
                    health: Some(checks),
                },
            )),
        }
    }
    for (addr, pages) in servers {
        let what = match (&pages.metrics, &pages.health) {
            (Some(_), Some(_)) => "metrics and health checks",
            (Some(_), None) => "metrics",
            _ => "health checks",
        };
        let at = serve_pages(addr, pages).await?;
        eprintln!("{what} on http://{at} (/metrics, /healthz, /readyz as asked)");
    }
    Ok(())
}

/// Serves `pages` on `addr`, in the background.
async fn serve_pages(addr: SocketAddr, pages: Pages) -> Result<SocketAddr, EndpointError> {
    let failed = |source| EndpointError { addr, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(failed)?;
    let local = listener.local_addr().map_err(failed)?;
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let pages = pages.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 1024];
                let n = socket.read(&mut request).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&request[..n]);
                let path = head.split_whitespace().nth(1).unwrap_or("/");
                let (status, body) = pages.answer(path);
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(body.as_bytes()).await;
            });
        }
    });
    Ok(local)
}
