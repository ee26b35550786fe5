//! **Test support only** (`cfg(test)` or the `test-fixture` feature): two parties in one
//! process over a real loopback QUIC link, fed by the in-process randomness fixture.

use dyad_link::{PartyLink, loopback_pair};

use crate::randomness::fixture::{self, Fixture};
use crate::{Config, Party, ProtocolError, Randomness};

/// Both parties, connected. Keep the value alive while the parties talk: it owns the links.
pub struct Pair<R = Fixture> {
    /// `[P0, P1]`.
    pub parties: [Party<R>; 2],
    _links: [PartyLink; 2],
}

/// Connects two parties on loopback with fixture randomness from `seed`.
pub async fn pair(config: Config, seed: u64) -> Result<Pair, ProtocolError> {
    pair_with([config, config], fixture::pair(seed)).await
}

/// Connects two parties on loopback with the given configurations and sources.
pub async fn pair_with<R: Randomness>(
    configs: [Config; 2],
    sources: [R; 2],
) -> Result<Pair<R>, ProtocolError> {
    let (mut l0, mut l1) = loopback_pair().await?;
    let [r0, r1] = sources;
    let (p0, p1) = tokio::try_join!(
        Party::new(&mut l0, r0, configs[0]),
        Party::new(&mut l1, r1, configs[1])
    )?;
    Ok(Pair {
        parties: [p0, p1],
        _links: [l0, l1],
    })
}
