//! Why a training job stopped with an error, and the one way to ask whether the peer was lost
//! (a broken link is worth reconnecting and resuming; anything else would only happen again).

use dyad_link::{AgreementError, Disagreement, LinkError, TermsError};
use dyad_online::ProtocolError;
use dyad_randomness::RandomnessError;

use crate::files::FileError;
use crate::peer_lost::{link_lost, protocol_lost_peer};

/// A failed training job.
#[derive(Debug, thiserror::Error)]
pub enum TrainingError {
    /// The job cannot run as described (its sizes, rates or network).
    #[error("{0}")]
    InvalidJob(String),
    /// The job's network cannot be laid out or tallied.
    #[error(transparent)]
    Network(#[from] dyad_online::ModelError),
    /// The two servers were given different jobs: each difference, named.
    #[error("the peer's training job is not the same as this one; refusing to start:\n  {0}")]
    Disagreement(Disagreement),
    /// The peer's job description cannot be read.
    #[error("the peer's job description cannot be read: {0}")]
    Unreadable(#[from] TermsError),
    /// The peer sent something this server cannot read.
    #[error("the peer sent {0}")]
    Peer(&'static str),
    /// The party link failed.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// A protocol failed.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The source of correlated randomness failed.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// A checkpoint could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
}

impl From<AgreementError> for TrainingError {
    fn from(error: AgreementError) -> Self {
        match error {
            AgreementError::Link(e) => TrainingError::Link(e),
            AgreementError::Unreadable(e) => TrainingError::Unreadable(e),
            AgreementError::Differ(d) => TrainingError::Disagreement(d),
        }
    }
}

impl TrainingError {
    /// Whether the link to the peer broke, directly or inside a protocol or the randomness
    /// sources' coordination: the job reconnects and resumes from the latest checkpoint both
    /// hold.
    pub fn peer_lost(&self) -> bool {
        match self {
            TrainingError::Link(e) | TrainingError::Randomness(RandomnessError::Link(e)) => {
                link_lost(e)
            }
            TrainingError::Protocol(e) => protocol_lost_peer(e),
            _ => false,
        }
    }

    /// The innermost cause's message (what a progress display shows for a lost peer).
    pub fn root_cause(&self) -> String {
        let mut cause: &dyn std::error::Error = self;
        while let Some(next) = cause.source() {
            cause = next;
        }
        cause.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_broken_link_is_a_lost_peer() {
        let broken = || LinkError::Disconnected("reset".into());
        assert!(TrainingError::Link(broken()).peer_lost());
        assert!(TrainingError::Randomness(RandomnessError::Link(broken())).peer_lost());
        assert!(TrainingError::Protocol(ProtocolError::Link(broken())).peer_lost());
        assert!(!TrainingError::Peer("nonsense").peer_lost());
        assert!(!TrainingError::Disagreement(Disagreement(Vec::new())).peer_lost());
        assert!(!TrainingError::InvalidJob("batch 3".into()).peer_lost());
    }
}
