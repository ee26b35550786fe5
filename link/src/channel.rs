//! A counted, framed message channel between the two parties.
//!
//! Frames are an 8-byte little-endian length followed by the payload. Every call is one
//! flight: [`Channel::exchange`] sends and receives at once (both parties call it), while
//! [`Channel::send`] and [`Channel::recv`] pair up for one-way messages. Each call counts one
//! round at this party, so a protocol's round count is the number of flights it waits for.

use std::sync::Arc;
use std::time::Instant;

use cryprot_net::{ReceiveStreamBytes, SendStreamBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::LinkError;
use crate::counters::{LinkCounters, SharedCounters};

/// The largest frame a party accepts (1 GiB): a corrupt length cannot make it allocate more.
pub const MAX_FRAME_BYTES: u64 = 1 << 30;

const HEADER: usize = 8;

/// How long a party that refuses to go on waits for its last message to reach the peer.
const REFUSAL_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// One ordered message stream to the peer. Both parties must open their channels in the same
/// order (see [`crate::PartyLink::channel`]) and then issue matching calls.
pub struct Channel {
    send: SendStreamBytes,
    recv: ReceiveStreamBytes,
    counters: Arc<SharedCounters>,
    /// Copies of received frames, while recording (see [`Channel::record_received`]).
    transcript: Option<Vec<Vec<u8>>>,
}

impl Channel {
    pub(crate) fn new(
        send: SendStreamBytes,
        recv: ReceiveStreamBytes,
        counters: Arc<SharedCounters>,
    ) -> Channel {
        Channel {
            send,
            recv,
            counters,
            transcript: None,
        }
    }

    /// Starts keeping a copy of every frame this party receives: its view of the protocol,
    /// for audits and for tests that the view is independent of the secrets.
    pub fn record_received(&mut self) {
        self.transcript = Some(Vec::new());
    }

    /// The frames received since [`Channel::record_received`], in order; stops recording.
    pub fn take_received(&mut self) -> Vec<Vec<u8>> {
        self.transcript.take().unwrap_or_default()
    }

    fn received(&mut self, frame: &[u8]) {
        self.counters.received(HEADER + frame.len());
        if let Some(transcript) = &mut self.transcript {
            transcript.push(frame.to_vec());
        }
    }

    /// Sends `out` and receives the peer's message of the same flight, concurrently (so two
    /// large messages cannot deadlock on flow control). One round.
    pub async fn exchange(&mut self, out: &[u8]) -> Result<Vec<u8>, LinkError> {
        self.counters.round();
        let start = Instant::now();
        let (sent, received) =
            tokio::join!(write_frame(&mut self.send, out), read_frame(&mut self.recv));
        self.counters.waited(start.elapsed());
        sent?;
        let received = received?;
        self.counters.sent(HEADER + out.len());
        self.received(&received);
        Ok(received)
    }

    /// [`Channel::exchange`] of descriptions that must be equal ([`Channel::agree`]). When they
    /// differ both sides are about to give up; each first waits (briefly) until the peer has
    /// received its description, so that both can say what differs instead of one of them
    /// seeing the link drop.
    pub(crate) async fn exchange_for_agreement(
        &mut self,
        mine: &[u8],
    ) -> Result<Vec<u8>, LinkError> {
        let theirs = self.exchange(mine).await?;
        if theirs != mine {
            let _ = tokio::time::timeout(REFUSAL_GRACE, self.wait_delivered()).await;
        }
        Ok(theirs)
    }

    /// Sends `out` to the peer, which calls [`Channel::recv`]. One round.
    pub async fn send(&mut self, out: &[u8]) -> Result<(), LinkError> {
        self.counters.round();
        let start = Instant::now();
        let sent = write_frame(&mut self.send, out).await;
        self.counters.waited(start.elapsed());
        sent?;
        self.counters.sent(HEADER + out.len());
        Ok(())
    }

    /// Waits until the peer's QUIC stack has acknowledged everything sent on this channel, or
    /// the connection has closed.
    pub(crate) async fn wait_delivered(&mut self) {
        let _ = self.send.flush().await;
    }

    /// Receives the message the peer sent with [`Channel::send`]. One round.
    pub async fn recv(&mut self) -> Result<Vec<u8>, LinkError> {
        self.counters.round();
        let start = Instant::now();
        let received = read_frame(&mut self.recv).await;
        self.counters.waited(start.elapsed());
        let received = received?;
        self.received(&received);
        Ok(received)
    }

    /// What the whole link (all its channels) has moved so far.
    pub fn counters(&self) -> LinkCounters {
        self.counters.snapshot()
    }
}

fn broken(e: std::io::Error) -> LinkError {
    LinkError::Disconnected(e.to_string())
}

async fn write_frame(send: &mut SendStreamBytes, payload: &[u8]) -> Result<(), LinkError> {
    let header = (payload.len() as u64).to_le_bytes();
    // A small frame goes to the QUIC stack in one write, so it leaves in one packet rather
    // than a header packet and a payload packet (most protocol rounds are small).
    if payload.len() <= COALESCE_BYTES {
        let mut frame = Vec::with_capacity(HEADER + payload.len());
        frame.extend_from_slice(&header);
        frame.extend_from_slice(payload);
        return send.write_all(&frame).await.map_err(broken);
    }
    send.write_all(&header).await.map_err(broken)?;
    send.write_all(payload).await.map_err(broken)
}

/// Frames up to this size are copied into one buffer before they are written.
const COALESCE_BYTES: usize = 64 << 10;

async fn read_frame(recv: &mut ReceiveStreamBytes) -> Result<Vec<u8>, LinkError> {
    let mut header = [0u8; HEADER];
    recv.read_exact(&mut header).await.map_err(broken)?;
    let len = u64::from_le_bytes(header);
    if len > MAX_FRAME_BYTES {
        return Err(LinkError::FrameTooLarge(len));
    }
    let mut payload = vec![0u8; len as usize];
    recv.read_exact(&mut payload).await.map_err(broken)?;
    Ok(payload)
}
