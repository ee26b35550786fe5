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
    Ok(tournament(p, x).await?.0)
}

/// [`max_rows`] with the tournament's decisions, what max pooling keeps for its backward pass
/// ([`route_to_max`]): for each level of the tree in turn, each pair's bit `[a >= b]` (the
/// earlier candidate won), this party's XOR share of it as 0 or 1, `cols - 1` per row in all
/// ([`tree_levels`] gives the layout). PROTOCOLS.md keeps a one-hot argmax instead; the
/// decisions are that one-hot before its products are taken, and keeping them saves the
/// forward pass a bit-triple product per one-hot entry (`docs/departures.md`, 6).
pub async fn max_rows_with_decisions<R: Randomness>(
    p: &mut Party<R>,
    x: &Array2<Z64>,
) -> Result<(Array1<Z64>, Array2<Z64>), ProtocolError> {
    let (max, levels) = tournament(p, x).await?;
    let views: Vec<_> = levels.iter().map(|s| s.view()).collect();
    let decisions = match views.is_empty() {
        true => Array2::zeros((x.nrows(), 0)),
        false => concatenate(Axis(1), &views).expect("one column per pair"),
    };
    Ok((max, decisions.mapv(|b| Z64(u64::from(b)))))
}

/// Max pooling's backward pass: each window's gradient `dy` routed to the window's argmax
/// down the tree that [`max_rows_with_decisions`] decided, `rows x cols` with `cols - 1` the
/// decisions' width. From the top, a pair's gradient `g` goes to its earlier candidate as
/// `s·g` and to the later as `g - s·g`, so a level is one bit-triple product per pair
/// ([`mul_bits`], as ReLU's backward) and one round; a window of `c` positions costs `c - 1`
/// products and `ceil(log2 c)` rounds (the one-hot argmax's route: `c` products, one round).
/// What is opened is the gradient masked by the triples' ring values and the decisions masked
/// by their bits, both uniform.
pub async fn route_to_max<R: Randomness>(
    p: &mut Party<R>,
    dy: &Array1<Z64>,
    decisions: &Array2<Z64>,
) -> Result<Array2<Z64>, ProtocolError> {
    let rows = dy.len();
    check_route(rows, decisions.nrows())?;
    let cols = decisions.ncols() + 1;
    let mut g = dy
        .clone()
        .into_shape_with_order((rows, 1))
        .expect("a column");
    for (width, offset) in tree_levels(cols).into_iter().rev() {
        let pairs = width / 2;
        let bits = decisions
            .slice(s![.., offset..offset + pairs])
            .mapv(|d| (d.0 & 1) as u8);
        let to_earlier = mul_bits(p, &g.slice(s![.., ..pairs]).to_owned(), &bits).await?;
        g = spread_level(&g, &to_earlier, width);
    }
    Ok(g)
}

/// Refuses a route of `gradients` through the decisions of `windows` windows unless they are
/// as many.
pub(crate) fn check_route(gradients: usize, windows: usize) -> Result<(), ProtocolError> {
    match gradients == windows {
        true => Ok(()),
        false => Err(ProtocolError::Shape(format!(
            "route_to_max: {gradients} gradients for {windows} windows"
        ))),
    }
}

/// The levels of the tournament over `cols` columns, from the first: how many candidates
/// enter each, and where its decisions start in a row of [`max_rows_with_decisions`]. Columns
/// `2i` and `2i + 1` meet; an unpaired last candidate waits a level.
pub(crate) fn tree_levels(cols: usize) -> Vec<(usize, usize)> {
    let (mut width, mut offset, mut levels) = (cols, 0, Vec::new());
    while width > 1 {
        levels.push((width, offset));
        offset += width / 2;
        width = width.div_ceil(2);
    }
    levels
}

/// One level of a route back down the tree: the gradients `g` of the level's winners (and of
/// an unpaired last candidate) spread over the `width` candidates that entered it, given each
/// pair's share for its earlier candidate.
pub(crate) fn spread_level<E: Copy + Default + std::ops::Sub<Output = E>>(
    g: &Array2<E>,
    to_earlier: &Array2<E>,
    width: usize,
) -> Array2<E> {
    let pairs = width / 2;
    Array2::from_shape_fn((g.nrows(), width), |(r, c)| match (c / 2, c % 2) {
        (i, 0) if i < pairs => to_earlier[[r, i]],
        (i, _) if i < pairs => g[[r, i]] - to_earlier[[r, i]],
        _ => g[[r, pairs]],
    })
}

/// The tree of [`max_rows`]: per level, one comparison round (each pair's bit `s = [a >= b]`
/// left XOR-shared) and one round of a bit-triple product `s·(a - b)` per pair; the winner is
/// `b + s·(a - b)`. Returns the maxima and each level's bits (`rows x pairs`).
async fn tournament<R: Randomness>(
    p: &mut Party<R>,
    x: &Array2<Z64>,
) -> Result<(Array1<Z64>, Vec<Array2<u8>>), ProtocolError> {
    if x.ncols() == 0 {
        return Err(ProtocolError::Shape("max_rows: rows are empty".into()));
    }
    let mut level = x.to_owned();
    let mut decisions = Vec::new();
    while level.ncols() > 1 {
        let pairs = level.ncols() / 2;
        // Columns 2i and 2i + 1 form pair i; all pairs of all rows in one batch.
        let a = level.slice(s![.., 0..2 * pairs;2]).to_owned();
        let b = level.slice(s![.., 1..2 * pairs;2]).to_owned();
        let difference = &a - &b;
        let s = drelu(p, &difference).await?;
        let chosen = &b + &mul_bits(p, &difference, &s).await?;
        decisions.push(s);
        level = match level.ncols() % 2 {
            0 => chosen,
            _ => concatenate![Axis(1), chosen, level.slice(s![.., 2 * pairs..])],
        };
    }
    Ok((level.column(0).to_owned(), decisions))
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
