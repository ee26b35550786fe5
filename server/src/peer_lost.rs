//! Telling a lost peer from other failures: a broken link is worth reconnecting and resuming,
//! while a refusal (another model, another job) or a fault would only happen again.

use dyad_link::LinkError;
use dyad_online::ProtocolError;
use dyad_randomness::RandomnessError;

/// Whether the link itself broke.
pub fn link_lost(e: &LinkError) -> bool {
    matches!(e, LinkError::Disconnected(_))
}

/// Whether a protocol failed because the link broke (directly or while the two randomness
/// sources coordinated).
pub fn protocol_lost_peer(e: &ProtocolError) -> bool {
    match e {
        ProtocolError::Link(l) | ProtocolError::Randomness(RandomnessError::Link(l)) => {
            link_lost(l)
        }
        _ => false,
    }
}
