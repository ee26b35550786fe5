//! Cheetah's coefficient encoding of a block product (Huang et al. 2022, §3.1).
//!
//! For `A` (`d0 x d1`) and `B` (`d1 x d2`) with `d0·d1·d2 <= N`, put `A[r][c]` at the power
//! `r·d1·d2 - c` and `B[r][c]` at `c·d1 + r`. A pair of terms lands at
//! `r·d1·d2 + c'·d1 + (r' - c)`: the pairs with `c = r'` (the inner products) land at
//! `r·d1·d2 + c'·d1`, and every other pair at an offset `0 < |r' - c| < d1` from a multiple of
//! `d1`, so never on a result. In the negacyclic ring `X^-c = -X^(N-c)`: the entries of `A`'s
//! first row other than `A[0][0]` are stored negated at `N - c`. Powers run from `-(d1 - 1)`
//! to `d0·d1·d2 - 1`, so nothing else wraps.

use ndarray::ArrayView2;

use super::N;
use super::shape::{BlockShape, Dims};

/// The message polynomial of a block of `A` (at most `d0 x d1`), as its coefficients
/// `(power, value)` (every other coefficient is zero).
pub fn lhs(shape: &BlockShape, block: ArrayView2<u64>) -> Vec<(usize, u64)> {
    let step = shape.d1 * shape.d2;
    block
        .indexed_iter()
        .map(|((r, c), &a)| match (r, c) {
            (0, 0) => (0, a),
            (0, c) => (N - c, a.wrapping_neg()),
            (r, c) => (r * step - c, a),
        })
        .collect()
}

/// The plaintext polynomial of a block of `B` (at most `d1 x d2`), as its coefficients
/// `(power, value)`.
pub fn rhs(shape: &BlockShape, block: ArrayView2<u64>) -> Vec<(usize, u64)> {
    block
        .indexed_iter()
        .map(|((r, c), &b)| (c * shape.d1 + r, b))
        .collect()
}

/// Where the product holds the result entry `(r, c)` of the block.
pub fn result(shape: &BlockShape, r: usize, c: usize) -> usize {
    r * shape.d1 * shape.d2 + c * shape.d1
}

/// The result coefficients of the block `(row_block, col_block)` of a `dims` product,
/// row-major (edge blocks are smaller).
pub fn block_results(
    shape: &BlockShape,
    dims: Dims,
    row_block: usize,
    col_block: usize,
) -> Vec<usize> {
    let rows = shape.d0.min(dims.rows - row_block * shape.d0);
    let cols = shape.d2.min(dims.cols - col_block * shape.d2);
    (0..rows)
        .flat_map(|r| (0..cols).map(move |c| result(shape, r, c)))
        .collect()
}
