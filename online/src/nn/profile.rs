//! Where a party's time goes, per kind of operation: the wall time, the part spent inside the
//! link's calls (waiting for the peer, and the link's own work: serialisation, TLS/QUIC, task
//! wake-ups), the rest (computing, and taking randomness from its source), and the rounds and
//! bytes. [`super::Secure`] keeps one, so that every change to the online phase can be judged
//! by where the microseconds went.

use std::collections::BTreeMap;
use std::ops::AddAssign;
use std::time::{Duration, Instant};

use dyad_link::LinkCounters;

/// One kind of operation's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCost {
    /// Calls.
    pub calls: u64,
    /// Wall time.
    pub time: Duration,
    /// Time inside the link's calls.
    pub waiting: Duration,
    /// Message rounds.
    pub rounds: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
}

impl OpCost {
    /// The time outside the link's calls: computing, and taking randomness.
    pub fn computing(&self) -> Duration {
        self.time.saturating_sub(self.waiting)
    }
}

impl AddAssign for OpCost {
    fn add_assign(&mut self, other: OpCost) {
        self.calls += other.calls;
        self.time += other.time;
        self.waiting += other.waiting;
        self.rounds += other.rounds;
        self.bytes_sent += other.bytes_sent;
    }
}

/// The moment an operation started, and the link's counters then.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    at: Instant,
    link: LinkCounters,
}

impl Mark {
    /// Now, with the link's current counters.
    pub fn now(link: LinkCounters) -> Mark {
        Mark {
            at: Instant::now(),
            link,
        }
    }
}

/// Totals per kind of operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile(pub BTreeMap<&'static str, OpCost>);

impl Profile {
    /// Adds one call of `op`, begun at `mark`, now that the link's counters are `link`.
    pub fn record(&mut self, op: &'static str, mark: Mark, link: LinkCounters) {
        let used = link - mark.link;
        *self.0.entry(op).or_default() += OpCost {
            calls: 1,
            time: mark.at.elapsed(),
            waiting: used.waiting,
            rounds: used.rounds,
            bytes_sent: used.bytes_sent,
        };
    }

    /// Every operation together.
    pub fn total(&self) -> OpCost {
        let mut total = OpCost::default();
        for &cost in self.0.values() {
            total += cost;
        }
        total
    }
}
