//! Secure training: one server's side of a job (Ge et al. §6). Both servers run it with the
//! same [`Job`]; each reads only its own share of the data and draws correlated randomness
//! only from its own source. They agree on the job before starting, checkpoint after every
//! step, and after a lost link resume from the latest checkpoint both hold. Only the test
//! accuracy (and, if the job says so, each epoch's mean training loss) is ever revealed.
//!
//! - [`job`]: what both servers must agree on, and the check that they do.
//! - [`runner`]: the epochs, steps and evaluations, on any backend (the plaintext reference
//!   runs the same loop).
//! - [`session`]: one connected stretch over the party link; [`train`] strings sessions
//!   together across reconnects.
//! - [`checkpoint`]: the checkpoints and the agreement on where to resume.

pub mod checkpoint;
pub mod curve;
mod error;
pub mod job;
mod metrics;
pub mod reference;
pub mod runner;
pub mod schedule;
pub mod session;
mod stock_monitor;

use dyad_link::PartyLink;
use dyad_online::Z64;
use tokio::sync::watch;

pub use error::TrainingError;
pub use job::Job;
pub use metrics::TrainMetrics;
pub use runner::{Ended, Flow, Hooks, Point, State, Stats};
pub use session::{Observer, Setup};
pub use stock_monitor::StockMonitor;

use crate::RandomnessSource;

/// How a job run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every step is done; the state holds the trained model's share and the curve.
    Finished(State<Z64>),
    /// A stop signal ended the run; the latest checkpoint (after step `after`, if the run got
    /// that far) is where the same job resumes.
    Stopped {
        /// The last step checkpointed.
        after: Option<u64>,
    },
}

/// Runs the job with the other server until it is done or `stop` is raised, reconnecting and
/// resuming whenever the link breaks.
pub async fn train<S: RandomnessSource>(
    mut link: PartyLink,
    setup: &Setup<S>,
    observer: &mut dyn Observer,
    stop: &watch::Receiver<bool>,
) -> Result<Outcome, TrainingError> {
    loop {
        match session::run(&mut link, setup, observer, stop).await {
            Ok((Ended::Finished, state)) => {
                link.close().await?;
                return Ok(Outcome::Finished(state));
            }
            // No goodbye: the peer is mid-step and learns of the stop from the link.
            Ok((Ended::Stopped, state)) => {
                return Ok(Outcome::Stopped {
                    after: Some(state.step),
                });
            }
            Err(e) if e.peer_lost() => {
                observer.peer_lost(&e.root_cause());
                let mut stop = stop.clone();
                link = tokio::select! {
                    link = link.reconnect() => link?,
                    _ = stop.changed() => return Ok(Outcome::Stopped { after: None }),
                };
            }
            Err(e) => return Err(e),
        }
    }
}
