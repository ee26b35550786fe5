//! Reading another process's metrics endpoint: what the demo's live view and offline-rate
//! measurement do with the endpoints of the processes it started.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long [`scrape`] waits for an endpoint.
const SCRAPE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A metrics endpoint that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// Nothing answered the connection.
    #[error("cannot reach the metrics on {addr}: {source}")]
    Connect {
        /// The endpoint.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The connection broke while the page was read.
    #[error("cannot read the metrics on {addr}: {source}")]
    Read {
        /// The endpoint.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The endpoint did not answer in time.
    #[error("the metrics on {0} did not answer")]
    Timeout(String),
}

/// Fetches the Prometheus text of the endpoint on `addr` (HTTP headers included: they never
/// look like a sample).
pub async fn scrape(addr: &str) -> Result<String, ScrapeError> {
    let read = |source| ScrapeError::Read {
        addr: addr.to_owned(),
        source,
    };
    let fetch = async {
        let mut socket = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|source| ScrapeError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        socket
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: dyad\r\n\r\n")
            .await
            .map_err(read)?;
        let mut page = String::new();
        socket.read_to_string(&mut page).await.map_err(read)?;
        Ok(page)
    };
    tokio::time::timeout(SCRAPE_TIMEOUT, fetch)
        .await
        .map_err(|_| ScrapeError::Timeout(addr.to_owned()))?
}

/// The value of the unlabelled sample `name` in Prometheus text.
pub fn sample(page: &str, name: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}
