//! Where a job's correlated randomness comes from. A serving or training session opens a fresh
//! source each time the servers connect (both restart their streams in step after a
//! reconnect), so the jobs take a factory rather than a source: in production this server's
//! stockpile, in tests the online runtime's in-process fixture.

use std::future::Future;
use std::time::Duration;

use dyad_link::{Channel, PartyId};
use dyad_online::Randomness;
use dyad_online::randomness::RandomnessError;
use dyad_store::StoreClient;
use dyad_vocabulary::Pool;

use crate::StockpileRandomness;

/// Opens a party's source of correlated randomness for one session with the other server.
pub trait RandomnessSource: Send + Sync {
    /// What a session draws from.
    type Randomness: Randomness + 'static;

    /// A source for `party`; `coordination` is a channel of the party link reserved for the
    /// two sources to agree on what they take.
    fn open(
        &self,
        party: PartyId,
        coordination: Channel,
    ) -> impl Future<Output = Result<Self::Randomness, RandomnessError>> + Send;
}

/// This server's stockpile, reached over gRPC.
#[derive(Debug, Clone)]
pub struct Stockpile {
    /// The stockpile's address (`host:port` or a URL).
    pub address: String,
    /// Its access token.
    pub token: String,
    /// How long a take waits for a dry stream before the job sees it as exhausted.
    pub wait: Duration,
    /// Requests' worth taken at a time (see [`StockpileRandomness::with_prefetch`]).
    pub prefetch: u64,
    /// The pool of streams the job takes from (see [`dyad_vocabulary::stream`]).
    pub pool: Pool,
}

impl Stockpile {
    /// A fresh connection to the stockpile.
    pub async fn connect(&self) -> Result<StoreClient, RandomnessError> {
        StoreClient::connect(&self.address, &self.token)
            .await
            .map_err(RandomnessError::Source)
    }
}

impl RandomnessSource for Stockpile {
    type Randomness = StockpileRandomness;

    async fn open(
        &self,
        party: PartyId,
        coordination: Channel,
    ) -> Result<StockpileRandomness, RandomnessError> {
        let client = self.connect().await?;
        Ok(
            StockpileRandomness::new(party, client, coordination, self.wait)
                .await
                .map_err(RandomnessError::Source)?
                .with_prefetch(self.prefetch)
                .in_pool(self.pool.clone()),
        )
    }
}
