//! `dyad probe URL`: asks a health endpoint (`--health` of `dyad store`, `offline`, `train`,
//! `serve` and `relay`) and exits 0 only on `200 OK` (`dyad_server::endpoints::probe`).
//! Kubernetes probes the endpoints itself and needs none.

use std::time::Duration;

use anyhow::bail;

#[derive(clap::Args)]
pub struct Args {
    /// `http://HOST:PORT/PATH`, e.g. `http://127.0.0.1:8080/readyz`.
    url: String,
    /// Seconds to wait for the connection and for the answer.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(args.timeout.max(1));
    let (status, body) = dyad_server::endpoints::probe(&args.url, timeout)?;
    println!("{status} {}", body.trim());
    match status {
        200 => Ok(()),
        _ => bail!("{} answered {status}", args.url),
    }
}
