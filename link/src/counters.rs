//! Communication counters shared by every channel of one link.

use std::ops::Sub;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A snapshot of what a link has moved. Subtract two snapshots to get the cost of whatever ran
/// between them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCounters {
    /// Bytes this party sent, frame headers included.
    pub bytes_sent: u64,
    /// Bytes this party received, frame headers included.
    pub bytes_received: u64,
    /// Message rounds: each [`crate::Channel::exchange`], `send` or `recv` is one flight the
    /// protocol has to wait for, so rounds count the latency-bound steps.
    pub rounds: u64,
    /// Time spent inside those calls: waiting for the peer, and the link's own work
    /// (serialisation, TLS/QUIC, task wake-ups). Summed over the link's channels, so it is a
    /// party's waiting time when one channel is in use at a time, as online.
    pub waiting: Duration,
}

impl Sub for LinkCounters {
    type Output = LinkCounters;

    fn sub(self, earlier: LinkCounters) -> LinkCounters {
        LinkCounters {
            bytes_sent: self.bytes_sent - earlier.bytes_sent,
            bytes_received: self.bytes_received - earlier.bytes_received,
            rounds: self.rounds - earlier.rounds,
            waiting: self.waiting.saturating_sub(earlier.waiting),
        }
    }
}

/// The live counters behind [`LinkCounters`].
#[derive(Debug, Default)]
pub(crate) struct SharedCounters {
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    rounds: AtomicU64,
    waiting_nanos: AtomicU64,
}

impl SharedCounters {
    pub(crate) fn sent(&self, bytes: usize) {
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn received(&self, bytes: usize) {
        self.bytes_received
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn round(&self) {
        self.rounds.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn waited(&self, time: Duration) {
        let nanos = u64::try_from(time.as_nanos()).unwrap_or(u64::MAX);
        self.waiting_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> LinkCounters {
        LinkCounters {
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            rounds: self.rounds.load(Ordering::Relaxed),
            waiting: Duration::from_nanos(self.waiting_nanos.load(Ordering::Relaxed)),
        }
    }
}

/// A handle on a link's live counters that outlives borrows of the link: for a metrics
/// endpoint that reports traffic while a worker holds the link.
#[derive(Debug, Clone)]
pub struct LinkMeter(pub(crate) std::sync::Arc<SharedCounters>);

impl LinkMeter {
    /// What the link has moved so far.
    pub fn counters(&self) -> LinkCounters {
        self.0.snapshot()
    }
}
