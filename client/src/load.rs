//! A load test of a deployment: several clients send requests for a while, as fast as answered
//! or paced to an offered rate, and the latencies and failures are collected. `dyad predict
//! --load` runs it; a capacity measurement can run it in process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dyad_proto::inference::Output;

use crate::{Client, ClientError, Server};

/// How to load the servers.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Concurrent clients, each waiting for its answer before its next request.
    pub clients: usize,
    /// Requests per second offered over all clients, spread evenly; `None`: each client sends
    /// again as soon as it has its answer.
    pub rate: Option<f64>,
    /// How long requests are sent.
    pub length: Duration,
    /// What each request asks for.
    pub output: Output,
}

/// What the load test measured.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// The latency of every request answered.
    pub latencies: Vec<Duration>,
    /// Every failed request's error.
    pub failures: Vec<ClientError>,
}

/// A load test that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// No clients.
    #[error("--clients must be at least 1")]
    NoClients,
    /// A rate that leaves some client without a request within the test.
    #[error(
        "--rate must be a positive number of requests per second, at least --clients per \
         --load seconds; got {0}"
    )]
    Rate(f64),
    /// A test too long to have an end.
    #[error("--load is too long a time")]
    TooLong,
    /// No inputs to send.
    #[error("no inputs to send")]
    NoInputs,
    /// A client could not connect.
    #[error(transparent)]
    Connect(#[from] ClientError),
}

impl Load {
    /// Each client's time between requests, if paced; refused unless every client gets at
    /// least one request within the test.
    pub fn pace(&self) -> Result<Option<Duration>, LoadError> {
        if self.clients == 0 {
            return Err(LoadError::NoClients);
        }
        let Some(rate) = self.rate else {
            return Ok(None);
        };
        let pace = Duration::try_from_secs_f64(self.clients as f64 / rate)
            .ok()
            .filter(|p| rate > 0.0 && *p <= self.length);
        pace.map(Some).ok_or(LoadError::Rate(rate))
    }
}

/// Runs `load` against `servers`: its clients send `inputs` round-robin until the time is up.
pub async fn run(
    servers: &[Server; 2],
    timeout: Duration,
    inputs: Vec<Vec<f64>>,
    load: Load,
) -> Result<LoadReport, LoadError> {
    let pace = load.pace()?;
    if inputs.is_empty() {
        return Err(LoadError::NoInputs);
    }
    let mut clients = Vec::new();
    for _ in 0..load.clients {
        clients.push(Client::connect(servers.clone(), timeout).await?);
    }
    let inputs = Arc::new(inputs);
    let start = Instant::now();
    let deadline = start.checked_add(load.length).ok_or(LoadError::TooLong)?;
    let mut tasks = Vec::new();
    for (c, mut client) in clients.into_iter().enumerate() {
        let inputs = inputs.clone();
        // Paced clients take turns: each starts a fraction of the pace after the previous.
        let mut next = start
            + pace.map_or(Duration::ZERO, |p| {
                p.mul_f64(c as f64 / load.clients as f64)
            });
        tasks.push(tokio::spawn(async move {
            let mut report = LoadReport::default();
            let mut k = c;
            while Instant::now() < deadline {
                if let Some(pace) = pace {
                    tokio::time::sleep_until(next.into()).await;
                    next += pace;
                    if Instant::now() >= deadline {
                        break;
                    }
                }
                let started = Instant::now();
                match client.predict(&inputs[k % inputs.len()], load.output).await {
                    Ok(_) => report.latencies.push(started.elapsed()),
                    Err(e) => report.failures.push(e),
                }
                k += 1;
            }
            report
        }));
    }
    let mut report = LoadReport::default();
    for task in tasks {
        // A client task that panicked has nothing to report.
        if let Ok(r) = task.await {
            report.latencies.extend(r.latencies);
            report.failures.extend(r.failures);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_test_pace_is_refused_unless_every_client_sends_within_the_test() {
        let load = |clients, rate| Load {
            clients,
            rate,
            length: Duration::from_secs(60),
            output: Output::Class,
        };
        assert_eq!(load(8, None).pace().expect("closed loop"), None);
        assert_eq!(
            load(8, Some(16.0)).pace().expect("paced"),
            Some(Duration::from_millis(500))
        );
        for rate in [0.0, -1.0, f64::NAN, 1e-300, 0.1] {
            let err = load(8, Some(rate)).pace().expect_err("refused");
            assert!(err.to_string().contains("--rate"), "{rate}: {err}");
        }
        assert!(load(0, None).pace().is_err());
    }
}
