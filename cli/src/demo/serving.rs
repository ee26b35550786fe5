//! The demo's serving part: the model the two servers just trained stays secret-shared; each
//! server loads its own share into `dyad serve`, and a client predicts held-out digits over
//! MPC, one request at a time, printing the accuracy and the latency.

use std::path::Path;
use std::time::{Duration, Instant};

use dyad_client::Client;
use dyad_online::protocols::Comparison;
use dyad_orchestrate::command::{self, Link, Store};
use dyad_orchestrate::{ProcessId, Processes, readiness};
use dyad_proto::inference::Output;
use ndarray::Array2;

/// Held-out digits the demo predicts over MPC (the offline plan stocks this many requests).
pub const REQUESTS: usize = 16;

/// Where the two servers run.
pub struct Setup<'a> {
    /// The demo's working directory (logs).
    pub dir: &'a Path,
    /// The certificates directory of both parties.
    pub certs: &'a Path,
    /// Each server's stockpile.
    pub stores: [Store<'a>; 2],
    /// Each server's trained model share.
    pub models: [&'a Path; 2],
    /// The servers' link (P0 listens).
    pub link: &'a str,
    /// Each server's client endpoint.
    pub clients: [&'a str; 2],
    /// The comparison the training job used, which the serving plan was made for.
    pub comparison: Comparison,
}

/// Starts both servers on the trained shares, predicts the first [`REQUESTS`] of `images`,
/// prints what it measured, and stops the servers. `finished` are the children that have
/// exited as they should (the training jobs); any other exit is an error.
pub async fn serve_and_predict(
    children: &mut Processes,
    finished: &[ProcessId],
    setup: &Setup<'_>,
    images: &Array2<f64>,
    labels: &[u8],
) -> anyhow::Result<()> {
    let mut servers = Vec::new();
    for i in 0..2 {
        let link = Link {
            party: i,
            certs: setup.certs,
            addr: setup.link,
        };
        let model = setup.models[i];
        let args = command::serve(
            &link,
            &setup.stores[i],
            model,
            setup.clients[i],
            60,
            setup.comparison,
        )?;
        let log = setup.dir.join(format!("serve{i}.log"));
        servers.push((children.spawn(&format!("server {i}"), &args, &log)?, log));
    }
    for (_, log) in &servers {
        readiness::log_says(children, finished, log, "; serving").await?;
    }

    let addrs = setup.clients.map(str::to_owned);
    let endpoints = crate::predict::servers(&addrs, setup.certs, [None, None])?;
    let mut client = Client::connect(endpoints, Duration::from_secs(60)).await?;
    let n = REQUESTS.min(images.nrows());
    let (mut right, mut latencies) = (0, Vec::with_capacity(n));
    let mut classes = Vec::with_capacity(n);
    for (row, &label) in images.rows().into_iter().zip(labels).take(n) {
        let start = Instant::now();
        let prediction = client
            .predict(row.as_slice().expect("contiguous"), Output::Class)
            .await?;
        latencies.push(start.elapsed());
        right += usize::from(prediction.class() == usize::from(label));
        classes.push(prediction.class().to_string());
    }
    println!(
        "serving: both servers loaded their share of the trained model; {n} held-out digits \
         predicted over MPC (only the class revealed): {} — {right}/{n} right",
        classes.join(" ")
    );
    crate::predict::print_latency(
        "serving latency per request (sequential, end to end)",
        &mut latencies,
    );
    for (index, _) in servers {
        children.stop(index, Duration::from_secs(30)).await?;
    }
    Ok(())
}
