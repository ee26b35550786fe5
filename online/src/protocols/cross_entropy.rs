//! The gradient of softmax cross-entropy with respect to the logits.

use ndarray::Array2;

use super::{same_shape, softmax};
use crate::randomness::Randomness;
use crate::{Party, ProtocolError, Z64};

/// `softmax(logits) - onehot` for shared logits and shared one-hot labels (fixed point):
/// the gradient of the mean-free cross-entropy loss per example, as §7.4 trains with.
pub async fn cross_entropy_grad<R: Randomness>(
    p: &mut Party<R>,
    logits: &Array2<Z64>,
    onehot: &Array2<Z64>,
) -> Result<Array2<Z64>, ProtocolError> {
    same_shape(logits.shape(), onehot.shape(), "cross_entropy_grad")?;
    Ok(softmax(p, logits).await? - onehot)
}
