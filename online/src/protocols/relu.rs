//! ReLU and its backward pass.

use ndarray::{Array, Dimension};

use super::{drelu_ring, mul};
use crate::randomness::Randomness;
use crate::{Party, ProtocolError, Z64};

/// The output of [`relu`]: the activations and the DReLU bits the backward pass needs.
#[derive(Debug, Clone)]
pub struct Relu<D: Dimension> {
    /// Shares of `ReLU(a)`.
    pub y: Array<Z64, D>,
    /// Ring shares (0 or 1) of `DReLU(a) = [a >= 0]`.
    pub drelu: Array<Z64, D>,
}

/// `ReLU(a) = a · DReLU(a)`: a Beaver product with the 0/1 ring share, so no truncation.
pub async fn relu<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    a: &Array<Z64, D>,
) -> Result<Relu<D>, ProtocolError> {
    let drelu = drelu_ring(p, a).await?;
    let y = mul(p, a, &drelu).await?;
    Ok(Relu { y, drelu })
}

/// The gradient through ReLU: `dy · DReLU(a)`. One round.
pub async fn relu_backward<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    dy: &Array<Z64, D>,
    drelu: &Array<Z64, D>,
) -> Result<Array<Z64, D>, ProtocolError> {
    mul(p, dy, drelu).await
}
