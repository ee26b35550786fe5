//! Offline plans: how many items of each stream to keep in stock.
//!
//! A plan file has one `stream target` pair per line (`#` starts a comment), for example
//!
//! ```text
//! comparison-mask              270336
//! matrix-triple/128x784x128    4
//! ```
//!
//! Both workers of a pair must run the same plan; they compare plans when they connect.

use std::collections::BTreeMap;

use crate::{Demand, Kind, UnknownKind};

/// A plan that cannot be read or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A line of a plan file is malformed.
    #[error("plan line {line}: {what}")]
    Line {
        /// The line's number, from 1.
        line: usize,
        /// What is wrong with it.
        what: String,
    },
    /// The file names no stream.
    #[error("the plan names no stream")]
    Empty,
    /// Neither training nor serving was asked for.
    #[error("a plan needs some training or inference to stock for")]
    Nothing,
}

/// Target stock per stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan(pub BTreeMap<Kind, u64>);

impl Plan {
    /// Reads the text format.
    pub fn parse(text: &str) -> Result<Plan, PlanError> {
        let mut targets = BTreeMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |what: String| PlanError::Line {
                line: number + 1,
                what,
            };
            let mut words = line.split_whitespace();
            let (Some(stream), Some(target), None) = (words.next(), words.next(), words.next())
            else {
                return Err(bad(format!("expected `stream target`, got {line:?}")));
            };
            let kind: Kind = stream
                .parse()
                .map_err(|e: UnknownKind| bad(e.to_string()))?;
            let target: u64 = target
                .parse()
                .ok()
                .filter(|&t| t > 0)
                .ok_or_else(|| bad(format!("{target:?} is not a positive count")))?;
            if targets.insert(kind, target).is_some() {
                return Err(bad(format!("{stream} appears twice")));
            }
        }
        if targets.is_empty() {
            return Err(PlanError::Empty);
        }
        Ok(Plan(targets))
    }

    /// Stock for what `demand` names.
    pub fn from_demand(demand: Demand) -> Result<Plan, PlanError> {
        match demand.0.is_empty() {
            true => Err(PlanError::Nothing),
            false => Ok(Plan(demand.0)),
        }
    }

    /// Bytes of records one party stores when the plan is met.
    pub fn bytes(&self) -> u64 {
        Demand(self.0.clone()).bytes()
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "# dyad offline plan: items of each stream to keep in stock"
        )?;
        for (kind, target) in &self.0 {
            writeln!(f, "{:<32} {target}", kind.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Prime;

    /// A plan naming every kind, with shapes and primes as a training job's would.
    fn every_kind() -> Plan {
        let p = Prime::P67;
        Plan(BTreeMap::from([
            (
                Kind::MatrixTriple {
                    m: 128,
                    n: 784,
                    k: 128,
                },
                4,
            ),
            (
                Kind::MatrixTriple {
                    m: 128,
                    n: 128,
                    k: 10,
                },
                2,
            ),
            (Kind::ElementwiseTriple, 270_336),
            (Kind::ComparisonMask { p }, 135_168),
            (Kind::ComparisonBits, 1_000),
            (Kind::DaBit, 99_999),
            (Kind::BitTriple, 12),
            (Kind::ModpTriple { p }, 3),
            (Kind::ScaledModpTriple { p: Prime::P40961 }, 7),
        ]))
    }

    #[test]
    fn plans_of_any_bytes_are_read_or_refused() {
        let plan = every_kind();
        dyad_fuzz::bounded(
            "plan",
            &[plan.to_string().into_bytes()],
            dyad_fuzz::TEST_ITERATIONS,
            |bytes| {
                let _ = Plan::parse(&String::from_utf8_lossy(bytes));
            },
        );
    }

    #[test]
    fn plans_round_trip_and_bad_ones_are_explained() {
        let plan = every_kind();
        assert_eq!(Plan::parse(&plan.to_string()), Ok(plan));
        for (text, words) in [
            ("", "no stream"),
            ("dabit", "expected `stream target`"),
            ("dabit 0", "positive count"),
            ("dabit 5\ndabit 6", "appears twice"),
            ("sprockets 5", "unknown kind"),
        ] {
            let err = Plan::parse(text).expect_err(text).to_string();
            assert!(err.contains(words), "{text:?}: {err}");
        }
    }
}
