//! One UDP port for every party link: a relay in party 0's network that forwards each
//! dialler's datagrams to the process its route names.
//!
//! Cross-organisation deployments want party 0 to open a single port to party 1, yet party 0
//! runs many listeners: every offline lane's worker, the training job, the serving pair. Party
//! 1's processes dial the relay instead (`--peer RELAY --route NAME`). Before its QUIC
//! handshake, a dialler sends a route preamble ([`preamble`]) from the very UDP socket its QUIC
//! client then uses, retried with backoff until the relay answers ([`ask`]); the relay opens a
//! flow for that source address, with a UDP socket of its own towards the route's target
//! (resolved by DNS when the flow starts), and from then on copies datagrams both ways
//! unchanged ([`forward`]). Flows idle for longer than the link's idle timeout are closed, and
//! their number is bounded. A link that breaks (the relay restarted, a flow expired) is
//! dialled anew by [`crate::PartyLink::reconnect`], which sends the preamble again.
//!
//! **Why the relay is no party to the link's security.** The relay never terminates QUIC or
//! TLS: it holds no key or certificate and reads nothing past a flow's preamble. The TLS 1.3
//! handshake with mutual authentication and pinned certificates runs end to end between the
//! two parties' processes, and every QUIC packet after it is encrypted and authenticated
//! with keys only those two processes hold. So the relay can do exactly what any router
//! between the parties can already do: drop, delay, duplicate or misdirect datagrams. A
//! dropped or delayed datagram is what QUIC recovers from; a modified one fails
//! authentication; a misdirected flow (a wrong route, or anyone who reaches the port asking for
//! a route) meets a process that pins the other party's certificate, so its handshake fails as
//! an impostor's does today when it reaches party 0's port directly. The preamble itself is
//! unauthenticated and carries nothing secret: a route name; a flow keeps its route until it
//! expires, so a preamble forged with a dialler's source address cannot send the dialler's
//! flow elsewhere. What the relay adds to party 0's
//! exposure is a place to open flows, which is bounded (`max_flows`), expires, answers each
//! request with fewer bytes than it received (no amplification) and logs what it refuses at a
//! limited rate.

pub mod ask;
pub mod forward;
pub mod preamble;
pub mod routes;

pub use forward::{MIN_IDLE, Relay, RelayConfig, RelayStats};
pub use preamble::{RouteName, RouteNameError};
pub use routes::{Route, RouteError, Routes};
