//! Softmax over the rows of a matrix, entirely on arithmetic shares.

use ndarray::{Array2, Axis};

use super::{exp, max_rows, mul_fixed, reciprocal};
use crate::randomness::Randomness;
use crate::{Party, ProtocolError, Z64};

/// `softmax(x)` row by row: `e = exp(x - max(x))`, then `e · (1 / sum(e))`. Every `e` is in
/// `[0, 1]` and the row's maximum contributes `e^0 = 1`, so the sum lies in `[1, cols]` and
/// the Newton reciprocal for that range applies.
pub async fn softmax<R: Randomness>(
    p: &mut Party<R>,
    x: &Array2<Z64>,
) -> Result<Array2<Z64>, ProtocolError> {
    let max = max_rows(p, x).await?;
    let shifted = x - &max.insert_axis(Axis(1));
    let e = exp(p, &shifted).await?;
    let sums = e.sum_axis(Axis(1));
    let inverse = reciprocal(p, &sums, x.ncols() as f64).await?;
    let inverse = inverse
        .insert_axis(Axis(1))
        .broadcast(e.dim())
        .expect("one inverse per row")
        .to_owned();
    mul_fixed(p, &e, &inverse).await
}
