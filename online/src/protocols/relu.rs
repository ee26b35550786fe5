//! ReLU and its backward pass.

use ndarray::{Array, Dimension};

use super::{drelu, mul_bits};
use crate::randomness::Randomness;
use crate::{Party, ProtocolError, Z64};

/// The output of [`relu`]: the activations and the DReLU bits the backward pass needs.
#[derive(Debug, Clone)]
pub struct Relu<D: Dimension> {
    /// Shares of `ReLU(a)`.
    pub y: Array<Z64, D>,
    /// XOR shares of `DReLU(a) = [a >= 0]`.
    pub drelu: Array<u8, D>,
}

/// `ReLU(a) = a · DReLU(a)`: the XOR-shared DReLU bit times `a` with a bit triple, so no
/// truncation and no conversion of the bit.
pub async fn relu<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    a: &Array<Z64, D>,
) -> Result<Relu<D>, ProtocolError> {
    let drelu = drelu(p, a).await?;
    let y = mul_bits(p, a, &drelu).await?;
    Ok(Relu { y, drelu })
}

/// The gradient through ReLU: `dy · DReLU(a)`. One round.
pub async fn relu_backward<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    dy: &Array<Z64, D>,
    drelu: &Array<u8, D>,
) -> Result<Array<Z64, D>, ProtocolError> {
    mul_bits(p, dy, drelu).await
}
