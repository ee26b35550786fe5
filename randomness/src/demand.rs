//! Demand: how many items of each kind a computation consumes. The online crate computes it
//! by running the protocols' own tally (`dyad_online::cost`); plans and the offline workers
//! read it as data.

use std::collections::BTreeMap;
use std::ops::{Add, AddAssign, Mul};

use crate::Kind;

/// Items needed, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demand(pub BTreeMap<Kind, u64>);

impl Demand {
    /// `count` items of `kind`.
    pub fn of(kind: Kind, count: u64) -> Demand {
        let mut d = Demand::default();
        if count > 0 {
            d.0.insert(kind, count);
        }
        d
    }

    /// Bytes of the records, per party.
    pub fn bytes(&self) -> u64 {
        self.0.iter().fold(0u64, |sum, (k, n)| {
            sum.saturating_add((k.item_bytes() as u64).saturating_mul(*n))
        })
    }
}

impl AddAssign for Demand {
    fn add_assign(&mut self, other: Demand) {
        for (kind, n) in other.0 {
            *self.0.entry(kind).or_insert(0) += n;
        }
    }
}

impl Add for Demand {
    type Output = Demand;
    fn add(mut self, other: Demand) -> Demand {
        self += other;
        self
    }
}

impl Mul<u64> for Demand {
    type Output = Demand;
    fn mul(mut self, times: u64) -> Demand {
        for n in self.0.values_mut() {
            *n *= times;
        }
        self
    }
}
