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
    Ok(tournament(p, x, false).await?.0)
}

/// Shares of the column index (an integer, not fixed point) of each row's maximum, the
/// earlier column on ties: [`max_rows`] with each candidate's index selected alongside its
/// value, in the same rounds.
pub async fn argmax_rows<R: Randomness>(
    p: &mut Party<R>,
    x: &Array2<Z64>,
) -> Result<Array1<Z64>, ProtocolError> {
    let (_, index) = tournament(p, x, true).await?;
    Ok(index.expect("asked for the index"))
}

/// The row maxima and, if `with_index`, their column indices.
async fn tournament<R: Randomness>(
    p: &mut Party<R>,
    x: &Array2<Z64>,
    with_index: bool,
) -> Result<(Array1<Z64>, Option<Array1<Z64>>), ProtocolError> {
    if x.ncols() == 0 {
        return Err(ProtocolError::Shape("max_rows: rows are empty".into()));
    }
    let mut level = x.to_owned();
    // The candidates' column indices: public at the start, so constant shares.
    let mut index =
        with_index.then(|| Array2::from_shape_fn(x.dim(), |(_, j)| p.constant(Z64(j as u64))));
    while level.ncols() > 1 {
        let pairs = level.ncols() / 2;
        let rows = level.nrows();
        let n = rows * pairs;
        // Columns 2i and 2i + 1 form pair i; flatten all pairs of all rows into one batch.
        let split = |m: &Array2<Z64>| {
            let a = m.slice(s![.., 0..2 * pairs;2]).to_owned();
            let b = m.slice(s![.., 1..2 * pairs;2]).to_owned();
            (
                a.into_shape_with_order(n).expect("rows * pairs"),
                b.into_shape_with_order(n).expect("rows * pairs"),
            )
        };
        // The winners of each pair, with the unpaired last column carried over.
        let keep = |chosen: Array1<Z64>, m: &Array2<Z64>| {
            let chosen = chosen
                .into_shape_with_order((rows, pairs))
                .expect("rows * pairs");
            match m.ncols() % 2 {
                0 => chosen,
                _ => concatenate![Axis(1), chosen, m.slice(s![.., 2 * pairs..])],
            }
        };
        let (a, b) = split(&level);
        let s = ge(p, &a, &b).await?;
        // Select values (and indices) with one product of the selector and the differences.
        let (selector, difference, ends) = match &index {
            Some(index) => {
                let (ia, ib) = split(index);
                (
                    concatenate![Axis(0), s, s],
                    concatenate![Axis(0), &a - &b, &ia - &ib],
                    concatenate![Axis(0), b, ib],
                )
            }
            None => (s, &a - &b, b),
        };
        let chosen = ends + mul(p, &selector, &difference).await?;
        if let Some(index) = &mut index {
            *index = keep(chosen.slice(s![n..]).to_owned(), index);
        }
        level = keep(chosen.slice(s![..n]).to_owned(), &level);
    }
    Ok((
        level.column(0).to_owned(),
        index.map(|i| i.column(0).to_owned()),
    ))
}
