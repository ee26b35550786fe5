//! The party link: the one channel over which the two Dyad servers talk.
//!
//! Both servers run QUIC (via `cryprot-net` on `s2n-quic`) with TLS 1.3 and mutual
//! authentication. Each party has its own self-signed certificate and trusts exactly one
//! certificate, its peer's: that is the pin. A peer presenting any other certificate fails the
//! handshake, and [`connect`] reports it as [`LinkError::PeerRejected`] on both sides.
//!
//! On top of the connection, a [`Channel`] carries length-prefixed protocol messages and
//! counts what it moves ([`LinkCounters`]): bytes each way and message rounds, so every
//! protocol can report its communication. OT and garbling code that needs raw
//! `cryprot-net` streams gets a [`cryprot_net::Connection`] from [`PartyLink::sub_connection`].
//!
//! Addresses are `host:port` ([`Address`]), resolved each time they are used, so service names
//! of Compose and Kubernetes work. Party 1 may dial party 0 through a [`relay`], which gives
//! every party link of a deployment one UDP port.

mod address;
mod agreement;
mod certs;
mod channel;
mod counters;
mod endpoint;
mod error;
mod loopback;
mod party_id;
pub mod relay;
mod udp_buffers;

pub use address::{Address, AddressError};
pub use agreement::{AgreementError, Difference, Disagreement, Terms, TermsError};
pub use certs::{Identity, PeerPin, generate_identity, server_name};
pub use channel::{Channel, MAX_FRAME_BYTES};
pub use counters::{LinkCounters, LinkMeter};
pub use endpoint::{LinkConfig, Listener, PartyLink, connect};
pub use error::LinkError;
pub use loopback::loopback_pair;
pub use party_id::PartyId;
