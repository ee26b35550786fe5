//! The generators: each produces this party's half of a batch of one kind of correlated
//! randomness, jointly with the peer, in the layout the online runtime consumes
//! (`dyad_online::randomness::items`). Both parties call the same generator with the same
//! arguments at the same time.

mod bits;
mod comparison;
mod dabits;
mod modp;
mod triples;
mod truncation;

use dyad_link::{PartyId, PartyLink};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::OfflineError;
use crate::cot::Cots;

/// One party's generator: its COT channels in both directions and its private coins.
pub struct Generator {
    party: PartyId,
    cots: Cots,
    rng: ChaCha20Rng,
}

impl Generator {
    /// Sets up the OT machinery with the peer over `link` (base OTs run on first use).
    pub async fn new(link: &mut PartyLink) -> Result<Generator, OfflineError> {
        Ok(Generator {
            party: link.party(),
            cots: Cots::new(link).await?,
            rng: ChaCha20Rng::from_rng(&mut rand::rng()),
        })
    }

    /// Which party this is.
    pub fn party(&self) -> PartyId {
        self.party
    }
}
