//! Everything that can go wrong on the party link.

use std::net::SocketAddr;

/// An error of the party link. Each says what the operator can do about it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LinkError {
    /// A certificate or key could not be generated, read or parsed.
    #[error("certificate: {0}")]
    Certificate(String),
    /// The QUIC endpoint could not be set up (address in use, bad TLS material, ...).
    #[error("cannot set up the link endpoint: {0}")]
    Endpoint(String),
    /// The TLS handshake failed: one side did not present the certificate the other pins.
    #[error(
        "peer {addr} was refused: the TLS handshake failed ({detail}); it did not present the \
         pinned certificate, or it does not pin ours"
    )]
    PeerRejected {
        /// The peer's address.
        addr: SocketAddr,
        /// What the TLS layer reported.
        detail: String,
    },
    /// The peer completed the QUIC handshake but never said hello: usually its TLS layer
    /// refused our certificate and its alert was lost.
    #[error(
        "the peer at {addr} accepted the connection but sent no hello within {timeout:?}; it \
         may have refused the link (check that each side holds the other's pinned certificate)"
    )]
    NoHello {
        /// The peer's address.
        addr: SocketAddr,
        /// How long we waited.
        timeout: std::time::Duration,
    },
    /// The peer answered but is not the Dyad party we expected.
    #[error("the peer is not a matching Dyad party: {0}")]
    Protocol(String),
    /// The peer did not connect or answer in time.
    #[error("no answer from the peer within {0:?}")]
    Timeout(std::time::Duration),
    /// The connection broke while a message was in flight.
    #[error("the link to the peer broke: {0}")]
    Disconnected(String),
    /// A `host:port` did not resolve (yet: a service that is starting may not be in DNS).
    #[error("cannot resolve {addr}: {detail}")]
    Resolve {
        /// The address as given.
        addr: String,
        /// What the resolver said.
        detail: String,
    },
    /// The relay in front of the peer does not know the route this party asked for: a
    /// configuration error on one side or the other, so it is not retried.
    #[error(
        "the relay at {relay} knows no route {route:?}: compare this process's --route with the \
         relay's --route list"
    )]
    UnknownRoute {
        /// The relay's address.
        relay: SocketAddr,
        /// The route asked for.
        route: String,
    },
    /// The relay did not acknowledge the route in time, or kept answering that it could not
    /// open it.
    #[error("the relay at {relay} did not open route {route:?} within {timeout:?}: {detail}")]
    RelayUnanswered {
        /// The relay's address.
        relay: SocketAddr,
        /// The route asked for.
        route: String,
        /// How long we tried.
        timeout: std::time::Duration,
        /// The relay's last word, or that it never answered.
        detail: String,
    },
    /// The peer sent a frame larger than the limit.
    #[error("the peer sent a {0}-byte frame, over the {limit}-byte limit", limit = crate::MAX_FRAME_BYTES)]
    FrameTooLarge(u64),
}
