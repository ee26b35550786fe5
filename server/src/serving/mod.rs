//! Secure inference: one server's side of the endpoint. Clients send each server its share of
//! an input; the two engines agree on batches of requests both hold and evaluate the network
//! on them with the party link and this server's randomness (Ge et al. §5, with the weights'
//! triples bound once per session, `dyad_online::protocols::WeightMasks`). A request costs no
//! randomness until both servers have it, so one that reaches only one server simply expires.

mod access;
mod engine;
mod grpc;
pub mod messages;
mod metrics;
mod refusal;
mod requests;

use dyad_link::{AgreementError, Disagreement, LinkError, TermsError};
use dyad_online::ProtocolError;
use dyad_randomness::RandomnessError;

pub use access::{Access, ClientListError, Clients, MIN_TOKEN_CHARS, Quota};
pub use engine::{Engine, Model, ServingEvent};
pub use grpc::{Service, status_of};
pub use metrics::ServeMetrics;
pub use refusal::Refusal;
pub use requests::{Answer, Output, Pending, Reply, Requests};

use crate::peer_lost::{link_lost, protocol_lost_peer};

/// Why serving stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The two servers hold shares of different models.
    #[error("the other server serves another model; refusing to serve:\n  {0}")]
    ModelMismatch(Disagreement),
    /// The other server's model description cannot be read.
    #[error("the other server's model description cannot be read: {0}")]
    Unreadable(#[from] TermsError),
    /// The other server sent something that is not a batch message.
    #[error("the other server sent a malformed {0}")]
    Malformed(&'static str),
    /// The party link failed.
    #[error("the link to the other server: {0}")]
    Link(#[from] LinkError),
    /// The runtime could not start (the servers disagree on its configuration, say).
    #[error("the runtime: {0}")]
    Protocol(#[from] ProtocolError),
    /// This server's randomness could not be opened.
    #[error("this server's correlated randomness: {0}")]
    Randomness(#[from] RandomnessError),
    /// An evaluation failed for a reason that would recur.
    #[error("an evaluation failed: {0}")]
    Evaluation(ProtocolError),
}

impl From<AgreementError> for ServeError {
    fn from(error: AgreementError) -> Self {
        match error {
            AgreementError::Link(e) => ServeError::Link(e),
            AgreementError::Unreadable(e) => ServeError::Unreadable(e),
            AgreementError::Differ(d) => ServeError::ModelMismatch(d),
        }
    }
}

impl ServeError {
    /// Whether the link to the other server broke (the engine reconnects), rather than a
    /// refusal or a fault that would happen again.
    pub fn peer_lost(&self) -> bool {
        match self {
            ServeError::Link(e) => link_lost(e),
            ServeError::Protocol(e) | ServeError::Evaluation(e) => protocol_lost_peer(e),
            ServeError::Randomness(RandomnessError::Link(e)) => link_lost(e),
            _ => false,
        }
    }
}
