//! The dialling side of a route: the preamble sent, and sent again with backoff, from the
//! socket the QUIC client then uses, until the relay answers.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::preamble::{Answer, Request, RouteName, Status};
use crate::LinkError;

/// The first wait for an answer; it doubles up to [`LONGEST_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(200);
const LONGEST_WAIT: Duration = Duration::from_secs(3);

/// Asks the relay at `relay` for `route` from `socket`, until it opens the flow (`Ok`), says
/// it has no such route ([`LinkError::UnknownRoute`], at once) or `deadline` passes
/// ([`LinkError::RelayUnanswered`], with the relay's last word).
pub async fn ask_route(
    socket: &UdpSocket,
    relay: SocketAddr,
    route: &RouteName,
    deadline: Instant,
    timeout: Duration,
) -> Result<(), LinkError> {
    let request = Request {
        nonce: rand::random(),
        route: route.clone(),
    };
    let datagram = request.encode();
    let mut wait = FIRST_WAIT;
    let mut last_word = "it never answered (is it running, and is this its address?)".to_owned();
    let mut buf = [0u8; 512];
    loop {
        if Instant::now() >= deadline {
            return Err(LinkError::RelayUnanswered {
                relay,
                route: route.to_string(),
                timeout,
                detail: last_word,
            });
        }
        // A send can fail while the network comes up (no route to the relay yet): that is
        // one more unanswered attempt.
        if let Err(e) = socket.send_to(&datagram, relay).await {
            last_word = format!("cannot send to it: {e}");
        }
        let until = deadline.min(Instant::now() + wait);
        while let Ok(received) = tokio::time::timeout_at(until, socket.recv_from(&mut buf)).await {
            let Ok((n, from)) = received else {
                // An ICMP error surfaced on the socket: nobody listens there yet.
                continue;
            };
            let answer = match Answer::parse(&buf[..n]) {
                Ok(a) if from == relay && a.nonce == request.nonce => a,
                _ => continue,
            };
            match answer.status {
                Status::Open => return Ok(()),
                Status::UnknownRoute => {
                    return Err(LinkError::UnknownRoute {
                        relay,
                        route: route.to_string(),
                    });
                }
                Status::Unavailable(why) => {
                    tracing::debug!("the relay at {relay} cannot open {route} yet: {why}");
                    last_word = format!("it answered that it cannot open the route yet: {why}");
                    tokio::time::sleep_until(until).await;
                    break;
                }
            }
        }
        wait = (wait * 2).min(LONGEST_WAIT);
    }
}
