//! A worker that outlives its link. When the link to the peer breaks (the network between the
//! two servers was cut, or the peer's machine went away and came back), the worker waits for
//! the peer to return on the same endpoint, brings the lanes in line again ([`Worker::start`]
//! discards a batch only one stockpile took) and goes on generating, as a training job
//! resumes from its checkpoint. An operator running the pair for weeks should not have to
//! restart it after every network blip (issue 13).

use std::net::SocketAddr;
use std::sync::Arc;

use dyad_link::{LinkError, PartyLink};
use dyad_store_client::StoreClient;
use tokio::sync::watch;

use crate::OfflineError;
use crate::generate::rlwe_settings;
#[cfg(doc)]
use crate::rlwe::setting::Setting;
use crate::worker::{Progress, Worker, WorkerConfig, WorkerError};

/// What a resuming worker reports as it goes.
#[derive(Debug)]
pub enum WorkerEvent {
    /// Paired with the peer (at the start and after every reconnect) and generating.
    Paired {
        /// The peer's address.
        peer: SocketAddr,
        /// One line per RLWE setting the worker's plan uses ([`Setting::describe`]): its
        /// modulus, flooding and key budget, for the operator to check against the HE Standard.
        rlwe: Vec<String>,
    },
    /// The link broke; the worker waits for the peer to come back (up to the link's timeout).
    PeerLost {
        /// What broke.
        why: String,
    },
}

impl WorkerError {
    /// Whether the link to the peer broke, directly or under an oblivious transfer: the work
    /// can go on once the peer is back. Disagreements, stockpile refusals and malformed
    /// messages would only happen again, so they end the worker.
    pub fn peer_lost(&self) -> bool {
        let link_broke = |e: &LinkError| matches!(e, LinkError::Disconnected(_));
        match self {
            WorkerError::Link(e) | WorkerError::Offline(OfflineError::Link(e)) => link_broke(e),
            // CryProt reports a connection that closed under it as a failed OT; a live link
            // does not fail an OT in the semi-honest setting.
            WorkerError::Offline(OfflineError::Ot(_)) => true,
            _ => false,
        }
    }
}

/// Runs the worker with the peer until `stop` is raised, reconnecting and realigning whenever
/// the link breaks. Returns the link to close when it stopped while paired, or `None` when it
/// stopped while waiting for the peer.
pub async fn work(
    mut link: PartyLink,
    store: StoreClient,
    config: WorkerConfig,
    progress: Arc<Progress>,
    stop: watch::Receiver<bool>,
    report: &mut (dyn FnMut(WorkerEvent) + Send),
) -> Result<Option<PartyLink>, WorkerError> {
    loop {
        let outcome =
            match Worker::start(&mut link, store.clone(), config.clone(), progress.clone()).await {
                Ok(mut worker) => {
                    report(WorkerEvent::Paired {
                        peer: link.peer_addr(),
                        rlwe: rlwe_settings(config.plan.0.keys().copied(), config.matrix_method)
                            .into_iter()
                            .map(|(setting, flood)| setting.describe(flood))
                            .collect(),
                    });
                    worker.run(stop.clone()).await
                }
                Err(e) => Err(e),
            };
        match outcome {
            Ok(()) => return Ok(Some(link)),
            Err(e) if e.peer_lost() => {
                report(WorkerEvent::PeerLost { why: e.to_string() });
                let mut stopped = stop.clone();
                link = tokio::select! {
                    link = link.reconnect() => link?,
                    _ = stopped.wait_for(|s| *s) => return Ok(None),
                };
            }
            Err(e) => return Err(e),
        }
    }
}
