//! Why a served request got no answer. The engine knows nothing of gRPC: the service edge
//! (the `dyad` binary's `Inference` service) turns each refusal into its status code.

use std::time::Duration;

/// Why a request was not answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A request with this id is already waiting (a client reused an id too soon).
    #[error("request id {0} is already waiting for an answer")]
    Duplicate(String),
    /// The other server never got the request (or never asked this one about it).
    #[error(
        "{other} did not receive request {id} within {timeout:?}; send each request to both servers"
    )]
    NotPaired {
        /// The request.
        id: String,
        /// Which server missed it, as the client knows them ("server 0").
        other: &'static str,
        /// How long it waited.
        timeout: Duration,
    },
    /// The two servers were asked for different outputs under one id.
    #[error("the two servers were asked for different outputs for request {0}")]
    OutputMismatch(String),
    /// This server's stockpile ran dry during the evaluation; serving goes on.
    #[error(
        "this server's stockpile has run dry ({0}); the offline workers refill it, retry later"
    )]
    StockpileDry(String),
    /// The link to the other server broke.
    #[error("the other server is unreachable ({0}); retry once it is back")]
    PeerUnreachable(String),
    /// This server is stopping.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The caller presented no token, or one no client holds.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The client has used up its quota for now.
    #[error("client {client} is over its quota of {per_minute} requests per minute; retry later")]
    OverQuota {
        /// The client, by name or address.
        client: String,
        /// Its quota.
        per_minute: u32,
    },
    /// The evaluation failed for another reason.
    #[error("the evaluation failed: {0}")]
    Failed(String),
}
