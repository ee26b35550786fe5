//! B2A: an XOR-shared bit to ring shares of the same bit, with a daBit.

use ndarray::{Array, Dimension};

use super::shaped;
use crate::randomness::{DaBits, Randomness};
use crate::{Party, ProtocolError, Z64};

/// Ring shares of XOR-shared bits `b`: open `e = b XOR rho` for a daBit `rho`, then
/// `<b> = e + <rho> - 2·e·<rho>`. One round.
pub async fn b2a<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    b: &Array<u8, D>,
) -> Result<Array<Z64, D>, ProtocolError> {
    let dabits = p.take::<DaBits>((), b.len()).await?;
    let mine: Vec<u8> = b
        .iter()
        .zip(&dabits.xor)
        .map(|(&b, &rho)| b ^ rho)
        .collect();
    let e = p.open_bits(&mine).await?;
    let out = e
        .iter()
        .zip(&dabits.ring)
        .map(|(&e, &rho)| match e {
            0 => rho,
            _ => p.constant(Z64::ONE) - rho,
        })
        .collect();
    Ok(shaped(b.raw_dim(), out))
}
