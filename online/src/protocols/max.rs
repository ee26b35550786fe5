//! Comparison of two shared values and the row-wise maximum built from it.

use ndarray::{Array1, Array2, Axis, concatenate, s};

use super::{drelu, drelu_ring, mul, mul_bits, same_shape};
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
/// levels of one comparison (its bit left XOR-shared) and one bit-triple product each, all rows
/// at once. On ties the earlier column wins.
pub async fn max_rows<R: Randomness>(
    p: &mut Party<R>,
    x: &Array2<Z64>,
) -> Result<Array1<Z64>, ProtocolError> {
    Ok(tournament(p, x, false).await?.0)
}

/// [`max_rows`] with the one-hot argmax of each row (ring shares, 1 at the winning column):
/// what max pooling keeps for its backward pass (PROTOCOLS.md, "MaxPool": compare-and-select
/// in a tree, one-hot argmax), for windows of any size, one per row. The one-hots ride in the
/// tree's product rounds, so the rounds are those of [`max_rows`].
pub async fn max_rows_with_argmax<R: Randomness>(
    p: &mut Party<R>,
    x: &Array2<Z64>,
) -> Result<(Array1<Z64>, Array2<Z64>), ProtocolError> {
    let (max, hot) = tournament(p, x, true).await?;
    let hot = hot.expect("tracked");
    let hot = ndarray::concatenate(Axis(1), &hot.iter().map(|h| h.view()).collect::<Vec<_>>())
        .expect("one column per position");
    Ok((max, hot))
}

/// Max pooling's backward product: each window position's gradient `dy` times its entry of
/// the one-hot argmax `hot` (ring shares of 0 or 1, as [`max_rows_with_argmax`] returns them).
///
/// Ring shares of a bit are XOR shares of it in their lowest bits (`y0 + y1` and `y0 XOR y1`
/// agree in bit 0), so each party takes its share's lowest bit, with no communication, and each
/// entry is one bit-triple product ([`mul_bits`], as ReLU's backward) instead of a product of
/// two ring values (an elementwise triple, which costs the offline phase 128 correlated OTs).
/// One round, as before; what is opened is the gradient masked by the triple's ring value and
/// the bit masked by its bit, both uniform.
pub async fn route_to_argmax<R: Randomness>(
    p: &mut Party<R>,
    dy: &Array2<Z64>,
    hot: &Array2<Z64>,
) -> Result<Array2<Z64>, ProtocolError> {
    same_shape(dy.shape(), hot.shape(), "route_to_argmax")?;
    let bits = hot.mapv(|h| (h.0 & 1) as u8);
    mul_bits(p, dy, &bits).await
}

/// The tree of [`max_rows`]. With `track`, every candidate carries the one-hot of its position
/// among the columns it stands for (`rows x width` ring shares). The winner of `a` and `b` by
/// the XOR-shared bit `s = [a >= b]` is `b + s·(a - b)`, its one-hot `(s·hot_a, hot_b -
/// s·hot_b)`: every product has a bit for a factor, so each is one bit-triple product
/// ([`mul_bits`], as ReLU's) and the bit is never converted to the ring. A pair costs
/// `1 + width_a + width_b` of them with the argmax, 1 without; a level one comparison round
/// and one product round.
async fn tournament<R: Randomness>(
    p: &mut Party<R>,
    x: &Array2<Z64>,
    track: bool,
) -> Result<(Array1<Z64>, Option<Vec<Array2<Z64>>>), ProtocolError> {
    let (rows, cols) = x.dim();
    if cols == 0 {
        return Err(ProtocolError::Shape("max_rows: rows are empty".into()));
    }
    let one = p.constant(Z64::ONE);
    let mut level = x.to_owned();
    let mut hot: Vec<Array2<Z64>> = match track {
        true => vec![Array2::from_elem((rows, 1), one); cols],
        false => Vec::new(),
    };
    while level.ncols() > 1 {
        let pairs = level.ncols() / 2;
        let n = rows * pairs;
        // Columns 2i and 2i + 1 form pair i; flatten all pairs of all rows into one batch.
        let a = level.slice(s![.., 0..2 * pairs;2]).to_owned();
        let b = level.slice(s![.., 1..2 * pairs;2]).to_owned();
        let difference = &a - &b;
        let s = drelu(p, &difference).await?;
        // One product round: s·(a - b) for every pair, then s times every one-hot entry of
        // both candidates.
        let mut values: Vec<Z64> = difference.iter().copied().collect();
        let mut bits: Vec<u8> = s.iter().copied().collect();
        for (i, pair) in hot.chunks(2).take(pairs).enumerate() {
            for h in pair {
                for r in 0..rows {
                    values.extend(h.row(r).iter().copied());
                    bits.extend(std::iter::repeat_n(s[[r, i]], h.ncols()));
                }
            }
        }
        let products = mul_bits(p, &Array1::from(values), &Array1::from(bits)).await?;
        let (chosen, mut rest) = products.view().split_at(Axis(0), n);
        let chosen = &b
            + &chosen
                .into_shape_with_order((rows, pairs))
                .expect("rows * pairs");
        let mut next = Vec::with_capacity(hot.len().div_ceil(2));
        for pair in hot.chunks(2) {
            let [ha, hb] = pair else {
                next.push(pair[0].clone());
                continue;
            };
            let mut times_s = |h: &Array2<Z64>| {
                let (taken, left) = rest.split_at(Axis(0), rows * h.ncols());
                rest = left;
                taken
                    .into_shape_with_order((rows, h.ncols()))
                    .expect("rows * width")
                    .to_owned()
            };
            let sa = times_s(ha);
            let sb = times_s(hb);
            next.push(concatenate![Axis(1), sa, hb - &sb]);
        }
        hot = next;
        level = match level.ncols() % 2 {
            0 => chosen,
            _ => concatenate![Axis(1), chosen, level.slice(s![.., 2 * pairs..])],
        };
    }
    Ok((level.column(0).to_owned(), track.then_some(hot)))
}

/// Shares of the column index (an integer, not fixed point) of each row's maximum, the
/// earliest column on ties.
///
/// A served class-only request waits on round trips, not bytes, so every pair of columns is
/// compared at once: column `j` wins if it beats each other column `i`, i.e. `[x_j >= x_i]` for
/// a later `i` and `1 - [x_i >= x_j]` for an earlier one. Exactly one column has all `c - 1`
/// bits set; their product takes `ceil(log2(c - 1))` levels, and the index is
/// `sum_j j·win[j]`. For 10 classes: 9 + 4 rounds and 45 comparisons, where a tournament
/// takes 4 · (9 + 1) rounds and 9 comparisons.
pub async fn argmax_rows<R: Randomness>(
    p: &mut Party<R>,
    x: &Array2<Z64>,
) -> Result<Array1<Z64>, ProtocolError> {
    let (rows, cols) = x.dim();
    match cols {
        0 => return Err(ProtocolError::Shape("argmax_rows: rows are empty".into())),
        1 => return Ok(Array1::from_elem(rows, Z64::ZERO)),
        _ => {}
    }
    let pairs: Vec<(usize, usize)> = (0..cols)
        .flat_map(|a| (a + 1..cols).map(move |b| (a, b)))
        .collect();
    let differences: Array1<Z64> = (0..rows)
        .flat_map(|r| pairs.iter().map(move |&(a, b)| x[[r, a]] - x[[r, b]]))
        .collect();
    let ge = drelu_ring(p, &differences).await?;
    // Row r·cols + j holds column j's bits against the other columns, in column order.
    let one = p.constant(Z64(1));
    let mut bits = Array2::from_elem((rows * cols, cols - 1), Z64::ZERO);
    for r in 0..rows {
        for (q, &(a, b)) in pairs.iter().enumerate() {
            let g = ge[r * pairs.len() + q];
            bits[[r * cols + a, b - 1]] = g;
            bits[[r * cols + b, a]] = one - g;
        }
    }
    // AND of each row's bits: multiply column halves until one column is left.
    while bits.ncols() > 1 {
        let half = bits.ncols() / 2;
        let a = bits.slice(s![.., ..half]).to_owned();
        let b = bits.slice(s![.., half..2 * half]).to_owned();
        let product = mul(p, &a, &b).await?;
        bits = concatenate![Axis(1), product, bits.slice(s![.., 2 * half..])];
    }
    let win = bits.column(0);
    Ok((0..rows)
        .map(|r| (0..cols).map(|j| Z64(j as u64) * win[r * cols + j]).sum())
        .collect())
}
