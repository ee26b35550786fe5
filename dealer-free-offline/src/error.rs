//! Errors of the offline generator.

use dyad_link::LinkError;

/// Why generating correlated randomness failed.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// The party link failed.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The OT extension failed.
    #[error("oblivious transfer failed: {0}")]
    Ot(String),
    /// A computation thread failed.
    #[error("a computation thread failed: {0}")]
    Compute(String),
    /// A request the generator cannot serve.
    #[error("{0}")]
    Unsupported(String),
    /// The peer sent a message that does not fit the protocol step.
    #[error("the peer sent a malformed message: {0}")]
    Peer(String),
}
