//! The in-process randomness fixture as a [`RandomnessSource`], for the in-process tests of the
//! jobs (test-only: no binary and no end-to-end test uses it).

use dyad_link::{Channel, PartyId};
use dyad_randomness::RandomnessError;
use dyad_server::RandomnessSource;
use dyad_testing::fixture::{self, Fixture};

/// Both parties' sessions draw the two halves of the fixture seeded with this value.
pub struct FixtureSource(pub u64);

impl RandomnessSource for FixtureSource {
    type Randomness = Fixture;

    async fn open(&self, party: PartyId, _: Channel) -> Result<Fixture, RandomnessError> {
        let [f0, f1] = fixture::pair(self.0);
        Ok(match party {
            PartyId::P0 => f0,
            PartyId::P1 => f1,
        })
    }
}
