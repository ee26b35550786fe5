//! Per-example accuracy and loss on shares, for a job to sum and reveal.

use ndarray::{Array1, Array2, Axis};

use super::{Piecewise, drelu_ring, max_rows, mul_fixed, piecewise, same_shape};
use crate::randomness::Randomness;
use crate::{Party, ProtocolError, Z64};

/// Ring shares of 1 where the true class (shared one-hot, fixed point) has the largest logit
/// (ties count as correct), else 0: the row maximum, the logit at the label by a product with
/// the one-hot row, and one comparison.
pub async fn correct<R: Randomness>(
    p: &mut Party<R>,
    logits: &Array2<Z64>,
    onehot: &Array2<Z64>,
) -> Result<Array1<Z64>, ProtocolError> {
    same_shape(logits.shape(), onehot.shape(), "correct")?;
    let max = max_rows(p, logits).await?;
    let at_label = mul_fixed(p, logits, onehot).await?.sum_axis(Axis(1));
    drelu_ring(p, &(at_label - max)).await
}

/// Shares of the cross-entropy loss `-ln p_label` of each example, from shared class
/// probabilities and one-hot labels (`-ln` piecewise linear, see [`Piecewise::neg_ln`]).
pub async fn cross_entropy<R: Randomness>(
    p: &mut Party<R>,
    probs: &Array2<Z64>,
    onehot: &Array2<Z64>,
) -> Result<Array1<Z64>, ProtocolError> {
    same_shape(probs.shape(), onehot.shape(), "cross_entropy")?;
    let at_label = mul_fixed(p, probs, onehot).await?.sum_axis(Axis(1));
    let table = Piecewise::neg_ln(p.fixed());
    piecewise(p, &table, &at_label).await
}
