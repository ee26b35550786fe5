//! Which of the two servers a process is.

use std::fmt;

/// One of the two non-colluding servers. `P0` accepts the party link, `P1` dials it; in the
/// protocols `P0` is the party that adds public constants and learns CheckZero's bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartyId {
    /// Server 0.
    P0,
    /// Server 1.
    P1,
}

impl PartyId {
    /// Both parties, in index order.
    pub const BOTH: [PartyId; 2] = [PartyId::P0, PartyId::P1];

    /// The index `i` of `P_i`.
    pub fn index(self) -> usize {
        match self {
            PartyId::P0 => 0,
            PartyId::P1 => 1,
        }
    }

    /// The party with index `i`, if `i` is 0 or 1.
    pub fn from_index(i: usize) -> Option<PartyId> {
        match i {
            0 => Some(PartyId::P0),
            1 => Some(PartyId::P1),
            _ => None,
        }
    }

    /// The other server.
    pub fn peer(self) -> PartyId {
        match self {
            PartyId::P0 => PartyId::P1,
            PartyId::P1 => PartyId::P0,
        }
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{}", self.index())
    }
}
