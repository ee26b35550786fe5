//! The relay over real loopback sockets: flows forward both ways, a flow keeps its route, the
//! flow limit and unknown routes are answered, and party links run through it.

use std::net::SocketAddr;
use std::time::Duration;

use dyad_link::relay::ask::ask_route;
use dyad_link::relay::{Relay, RelayConfig, Routes};
use dyad_link::{LinkConfig, LinkError, Listener, PartyId, PeerPin, connect, generate_identity};
use tokio::net::UdpSocket;
use tokio::time::Instant;

const PATIENCE: Duration = Duration::from_secs(10);

/// A UDP echo server on loopback.
async fn echo() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let _ = socket.send_to(&buf[..n], from).await;
        }
    });
    addr
}

/// A relay with `routes` and at most `max_flows` flows, running in the background.
async fn relay(routes: &[String], max_flows: usize) -> SocketAddr {
    let routes = Routes::new(routes.iter().map(|r| r.parse().expect(r)).collect()).expect("ok");
    let relay = Relay::bind(RelayConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        routes,
        max_flows,
        idle: Duration::from_secs(60),
    })
    .await
    .expect("bind");
    let addr = relay.local_addr().expect("addr");
    tokio::spawn(relay.run(std::future::pending()));
    addr
}

async fn ask(socket: &UdpSocket, relay: SocketAddr, route: &str) -> Result<(), LinkError> {
    let deadline = Instant::now() + Duration::from_secs(2);
    let route = route.parse().expect("a route name");
    ask_route(socket, relay, &route, deadline, Duration::from_secs(2)).await
}

#[tokio::test]
async fn flows_forward_both_ways_and_keep_their_route() {
    let target = echo().await;
    let relay = relay(&[format!("echo/{{lane}}={target}")], 2).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    ask(&client, relay, "echo/1").await.expect("opened");
    client.send_to(b"\x40quic", relay).await.expect("send");
    let mut buf = [0u8; 64];
    let (n, from) = tokio::time::timeout(PATIENCE, client.recv_from(&mut buf))
        .await
        .expect("echoed")
        .expect("recv");
    assert_eq!((&buf[..n], from), (&b"\x40quic"[..], relay));

    // Asking again for the same route is answered; for another route it is not granted.
    ask(&client, relay, "echo/1").await.expect("still open");
    let e = ask(&client, relay, "echo/2")
        .await
        .expect_err("a flow keeps its route");
    assert!(e.to_string().contains("another route"), "{e}");

    // An unknown route is final at once; past the flow limit a dialler is told to wait.
    let other = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let e = ask(&other, relay, "nowhere").await.expect_err("unknown");
    assert!(matches!(e, LinkError::UnknownRoute { .. }), "{e}");
    ask(&other, relay, "echo/2").await.expect("the second flow");
    let third = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let e = ask(&third, relay, "echo/3")
        .await
        .expect_err("over the limit");
    assert!(e.to_string().contains("limit of 2 flows"), "{e}");
}

#[tokio::test]
async fn a_party_link_runs_through_the_relay() -> Result<(), LinkError> {
    let id0 = generate_identity(PartyId::P0)?;
    let id1 = generate_identity(PartyId::P1)?;
    let timeout = Duration::from_secs(20);
    let listener = Listener::bind(LinkConfig {
        party: PartyId::P0,
        addr: "localhost:0".parse().expect("addr"),
        route: None,
        identity: id0.clone(),
        peer: PeerPin {
            cert_pem: id1.cert_pem.clone(),
        },
        timeout,
    })
    .await?;
    let p0_addr = listener.local_addr()?;
    let relay = relay(&[format!("train=localhost:{}", p0_addr.port())], 8).await;
    let p1 = connect(LinkConfig {
        party: PartyId::P1,
        addr: format!("localhost:{}", relay.port()).parse().expect("addr"),
        route: Some("train".parse().expect("name")),
        identity: id1,
        peer: PeerPin {
            cert_pem: id0.cert_pem,
        },
        timeout,
    });
    let (p0, p1) = tokio::join!(listener.accept(), p1);
    let (mut p0, mut p1) = (p0?, p1?);
    assert_eq!(p1.peer_addr(), relay);
    let (mut c0, mut c1) = tokio::try_join!(p0.channel(), p1.channel())?;
    let big = vec![3u8; 1 << 20];
    let (r0, r1) = tokio::try_join!(c0.exchange(b"hello"), c1.exchange(&big))?;
    assert_eq!((r0, r1), (big, b"hello".to_vec()));
    tokio::try_join!(p0.close(), p1.close())?;
    Ok(())
}
