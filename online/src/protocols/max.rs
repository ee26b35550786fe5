//! Comparison of two shared values and the row-wise maximum built from it.

use ndarray::{Array1, Array2, Axis, concatenate, s};

use super::{drelu_ring, mul, same_shape};
use crate::randomness::Randomness;
use crate::{Party, ProtocolError, Z64};

/// Ring shares (0 or 1) of `[a >= b]`, as `DReLU(a - b)`: exact while `|a - b| < 2^63`.
pub async fn ge<R: Randomness>(
    p: &mut Party<R>,
    a: &Array1<Z64>,
    b: &Array1<Z64>,
) -> Result<Array1<Z64>, ProtocolError> {
    same_shape(a.shape(), b.shape(), "ge")?;
    drelu_ring(p, &(a - b)).await
}

/// The maximum of each row, by pairwise compare-and-select in a tree: `ceil(log2(cols))`
/// levels of one comparison, one B2A and one product each, all rows at once. On ties the
/// earlier column wins.
pub async fn max_rows<R: Randomness>(
    p: &mut Party<R>,
    x: &Array2<Z64>,
) -> Result<Array1<Z64>, ProtocolError> {
    if x.ncols() == 0 {
        return Err(ProtocolError::Shape("max_rows: rows are empty".into()));
    }
    let mut level = x.to_owned();
    while level.ncols() > 1 {
        let pairs = level.ncols() / 2;
        let rows = level.nrows();
        // Columns 2i and 2i + 1 form pair i; flatten all pairs of all rows into one batch.
        let a = level.slice(s![.., 0..2 * pairs;2]).to_owned();
        let b = level.slice(s![.., 1..2 * pairs;2]).to_owned();
        let a = a.into_shape_with_order(rows * pairs).expect("rows * pairs");
        let b = b.into_shape_with_order(rows * pairs).expect("rows * pairs");
        let s = ge(p, &a, &b).await?;
        let chosen = &b + &mul(p, &s, &(&a - &b)).await?;
        let chosen = chosen
            .into_shape_with_order((rows, pairs))
            .expect("rows * pairs");
        level = match level.ncols() % 2 {
            0 => chosen,
            _ => concatenate![Axis(1), chosen, level.slice(s![.., 2 * pairs..])],
        };
    }
    Ok(level.column(0).to_owned())
}
