//! Where a job's correlated randomness comes from. A serving or training session opens a fresh
//! source each time the servers connect (both restart their streams in step after a
//! reconnect), so the jobs take a factory rather than a source: in production this server's
//! stockpile, in tests the online runtime's in-process fixture.

use std::future::Future;
use std::time::Duration;

use dyad_link::{Channel, PartyId};
use dyad_randomness::Randomness;
use dyad_randomness::RandomnessError;
use dyad_store_client::StoreClient;
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

/// This server's stockpile, reached over gRPC: one or several shards
/// ([`dyad_store_client::shard`]).
#[derive(Debug, Clone)]
pub struct Stockpile {
    /// The shards' addresses (`host:port` or a URL), shard 0 first.
    pub addresses: Vec<String>,
    /// Their access token (one for all shards).
    pub token: String,
    /// How long a take waits for a dry stream before the job sees it as exhausted.
    pub wait: Duration,
    /// Requests' worth taken at a time (see [`StockpileRandomness::with_prefetch`]).
    pub prefetch: u64,
    /// The pool of streams the job takes from (see [`dyad_vocabulary::stream`]).
    pub pool: Pool,
}

impl Stockpile {
    /// A fresh connection to each shard, shard 0 first.
    pub async fn connect(&self) -> Result<Vec<StoreClient>, RandomnessError> {
        let mut shards = Vec::with_capacity(self.addresses.len());
        for address in &self.addresses {
            let client = StoreClient::connect(address, &self.token)
                .await
                .map_err(|e| RandomnessError::Source(e.to_string()))?;
            shards.push(client);
        }
        Ok(shards)
    }
}

impl RandomnessSource for Stockpile {
    type Randomness = StockpileRandomness;

    async fn open(
        &self,
        party: PartyId,
        coordination: Channel,
    ) -> Result<StockpileRandomness, RandomnessError> {
        let shards = self.connect().await?;
        Ok(
            StockpileRandomness::new(party, shards, coordination, self.wait)
                .await?
                .with_prefetch(self.prefetch)
                .in_pool(self.pool.clone()),
        )
    }
}
