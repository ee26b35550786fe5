//! A minimal HTTP endpoint for Prometheus metrics (`/metrics`, or any other path) and the
//! health checks of orchestrators (`/healthz`, `/readyz`; see [`crate::health`]).
//!
//! A process given `--metrics ADDR` and `--health ADDR` serves both from one endpoint when the
//! two addresses are the same, and from two otherwise ([`endpoints`]).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::health::Health;

/// Renders the metrics page.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

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
    stockpile: &dyad_server::Stockpile,
    health: Option<(SocketAddr, Arc<Health>)>,
) -> anyhow::Result<()> {
    if metrics.is_some() {
        stock.poll(stockpile.addresses.clone(), stockpile.token.clone());
    }
    endpoints(metrics.map(|a| (a, render)), health).await
}

/// Starts the endpoints a process was asked for: the metrics `render` on `metrics`, the
/// health checks of `health` on `health_addr`, on one endpoint if the addresses are the same.
pub async fn endpoints(
    metrics: Option<(SocketAddr, Render)>,
    health: Option<(SocketAddr, Arc<Health>)>,
) -> anyhow::Result<()> {
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
async fn serve_pages(addr: SocketAddr, pages: Pages) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot serve HTTP on {addr}"))?;
    let local = listener.local_addr()?;
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

/// How long [`scrape`] waits for an endpoint.
const SCRAPE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Fetches the Prometheus text of the endpoint on `addr` (HTTP headers included: they never
/// look like a sample).
pub async fn scrape(addr: &str) -> anyhow::Result<String> {
    let fetch = async {
        let mut socket = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot reach the metrics on {addr}"))?;
        socket
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: dyad\r\n\r\n")
            .await?;
        let mut page = String::new();
        socket.read_to_string(&mut page).await?;
        anyhow::Ok(page)
    };
    tokio::time::timeout(SCRAPE_TIMEOUT, fetch)
        .await
        .with_context(|| format!("the metrics on {addr} did not answer"))?
}

/// The value of the unlabelled sample `name` in Prometheus text.
pub fn sample(page: &str, name: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

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
