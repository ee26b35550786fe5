//! The party link over real loopback QUIC: messages, counters, and certificate pinning.

use std::time::Duration;

use dyad_link::{
    LinkConfig, LinkError, Listener, PartyId, PeerPin, connect, generate_identity, loopback_pair,
};

#[tokio::test]
async fn exchange_send_recv_and_counters() -> Result<(), LinkError> {
    let (mut p0, mut p1) = loopback_pair().await?;
    assert_eq!(p0.common_seed(), p1.common_seed());
    let (mut c0, mut c1) = tokio::try_join!(p0.channel(), p1.channel())?;
    let before = c0.counters();
    let big = vec![7u8; 3 << 20];
    let (r0, r1) = tokio::try_join!(c0.exchange(&big), c1.exchange(b"hi"))?;
    assert_eq!(r0, b"hi");
    assert_eq!(r1, big);
    let ((), r1) = tokio::try_join!(c0.send(b"one way"), c1.recv())?;
    assert_eq!(r1, b"one way");
    let cost = c0.counters() - before;
    assert_eq!(cost.rounds, 2);
    assert_eq!(cost.bytes_sent, (8 + big.len() + 8 + 7) as u64);
    assert_eq!(cost.bytes_received, 8 + 2);
    assert_eq!(p1.counters().bytes_received, p0.counters().bytes_sent);
    tokio::try_join!(p0.close(), p1.close())?;
    Ok(())
}

/// Binds P0 with `p0_pin` as the only client it accepts and dials it as P1 presenting
/// `p1_identity` and pinning `p1_pin`.
async fn attempt(
    p0_identity: dyad_link::Identity,
    p0_pin: &dyad_link::Identity,
    p1_identity: dyad_link::Identity,
    p1_pin: &dyad_link::Identity,
) -> (Result<(), LinkError>, Result<(), LinkError>) {
    let timeout = Duration::from_secs(10);
    let listener = Listener::bind(LinkConfig {
        party: PartyId::P0,
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into(),
        route: None,
        identity: p0_identity,
        peer: PeerPin {
            cert_pem: p0_pin.cert_pem.clone(),
        },
        timeout,
    })
    .await
    .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let p1 = connect(LinkConfig {
        party: PartyId::P1,
        addr: addr.into(),
        route: None,
        identity: p1_identity,
        peer: PeerPin {
            cert_pem: p1_pin.cert_pem.clone(),
        },
        timeout,
    });
    let (r0, r1) = tokio::join!(listener.accept(), p1);
    (r0.map(|_| ()), r1.map(|_| ()))
}

#[tokio::test]
async fn p0_refuses_a_client_with_another_certificate() {
    let id0 = generate_identity(PartyId::P0).expect("id");
    let id1 = generate_identity(PartyId::P1).expect("id");
    let impostor = generate_identity(PartyId::P1).expect("id");
    let (r0, r1) = attempt(id0.clone(), &id1, impostor, &id0).await;
    let e0 = r0.expect_err("P0 must refuse the impostor");
    assert!(matches!(e0, LinkError::PeerRejected { .. }), "{e0}");
    assert!(e0.to_string().contains("pinned certificate"), "{e0}");
    let e1 = r1.expect_err("the impostor must not get a link");
    assert!(matches!(e1, LinkError::PeerRejected { .. }), "{e1}");
}

#[tokio::test]
async fn p1_refuses_a_server_with_another_certificate() {
    let id0 = generate_identity(PartyId::P0).expect("id");
    let id1 = generate_identity(PartyId::P1).expect("id");
    let impostor = generate_identity(PartyId::P0).expect("id");
    let (r0, r1) = attempt(impostor, &id1, id1.clone(), &id0).await;
    let e1 = r1.expect_err("P1 must refuse the impostor");
    assert!(matches!(e1, LinkError::PeerRejected { .. }), "{e1}");
    let e0 = r0.expect_err("the impostor must not get a link");
    assert!(matches!(e0, LinkError::PeerRejected { .. }), "{e0}");
}
