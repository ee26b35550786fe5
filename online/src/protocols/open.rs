//! Revealing results: only what a job is meant to learn.

use crate::randomness::Randomness;
use crate::{Party, ProtocolError, Z64};

/// Reveals the sum of shared values to both parties, and nothing else about them. One round.
pub async fn open_sum<R: Randomness>(p: &mut Party<R>, x: &[Z64]) -> Result<Z64, ProtocolError> {
    let mine: Z64 = x.iter().copied().sum();
    let total = p.open_ring(&[mine]).await?;
    Ok(total[0])
}
