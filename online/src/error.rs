//! Errors of the online protocols.

use dyad_link::{AgreementError, Disagreement, LinkError};

use crate::randomness::{RandomnessError, RecordError, Reused};

/// Why a protocol run failed. None of these leave a party in a state where it could reuse
/// randomness: a failed run consumed whatever it had taken.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The party link failed.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The correlated-randomness source could not supply what the protocol needs.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// The source handed out an item that was already used.
    #[error(transparent)]
    Reused(#[from] Reused),
    /// The source handed out a batch of the wrong size or shape.
    #[error("malformed correlated randomness ({kind}): {detail}")]
    MalformedRandomness {
        /// The stream it came from.
        kind: String,
        /// What is wrong with it.
        detail: RecordError,
    },
    /// The two parties consumed different correlated randomness: their stockpiles disagree.
    #[error(
        "the parties are using different correlated randomness ({0}, and the peer's record of \
         consumed tags differs); stopping: their stockpiles disagree"
    )]
    Disagreement(String),
    /// The peer sent a message that does not fit the protocol step.
    #[error("the peer sent a malformed message: {0}")]
    Peer(String),
    /// The two parties are configured differently.
    #[error("the parties disagree on the protocol configuration:\n  {0}")]
    Mismatch(Disagreement),
    /// A weight-bound mask was offered other weights (see [`crate::protocols::WeightMasks`]).
    #[error("refusing to reuse a weight-bound mask: {0}")]
    MaskRebinding(String),
    /// The caller passed operands of incompatible shapes.
    #[error("shape error: {0}")]
    Shape(String),
}

impl From<AgreementError> for ProtocolError {
    fn from(error: AgreementError) -> Self {
        match error {
            AgreementError::Link(e) => ProtocolError::Link(e),
            AgreementError::Unreadable(e) => ProtocolError::Peer(e.to_string()),
            AgreementError::Differ(d) => ProtocolError::Mismatch(d),
        }
    }
}

/// A name that is none of an option's choices (`--checkzero`, `--exp`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {option} {name:?} ({choices})")]
pub struct UnknownChoice {
    /// What was being chosen.
    pub option: &'static str,
    /// The name given.
    pub name: String,
    /// The choices, for the message.
    pub choices: &'static str,
}
