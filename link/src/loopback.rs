//! Both ends of a link in one process, over real loopback QUIC: for tests and benchmarks of
//! the protocols, which need a genuine link but no second process.

use std::time::Duration;

use crate::endpoint::Listener;
use crate::{LinkConfig, LinkError, PartyId, PartyLink, PeerPin, generate_identity};

/// Generates fresh certificates for both parties and connects `P0` and `P1` on 127.0.0.1.
pub async fn loopback_pair() -> Result<(PartyLink, PartyLink), LinkError> {
    let id0 = generate_identity(PartyId::P0)?;
    let id1 = generate_identity(PartyId::P1)?;
    let timeout = Duration::from_secs(20);
    let listener = Listener::bind(LinkConfig {
        party: PartyId::P0,
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into(),
        route: None,
        identity: id0.clone(),
        peer: PeerPin {
            cert_pem: id1.cert_pem.clone(),
        },
        timeout,
    })
    .await?;
    let addr = listener.local_addr()?;
    let p1 = crate::connect(LinkConfig {
        party: PartyId::P1,
        addr: addr.into(),
        route: None,
        identity: id1,
        peer: PeerPin {
            cert_pem: id0.cert_pem,
        },
        timeout,
    });
    let (p0, p1) = tokio::join!(listener.accept(), p1);
    Ok((p0?, p1?))
}
