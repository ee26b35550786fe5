//! The coefficient encoding of a block product: Cheetah's (Huang et al. 2022, §3.1) with the
//! roles of the two strides exchanged, so that the multiplying party's plaintext is a
//! polynomial in `X^s` and, when `s` is a power of two, costs a transform of `N/s` values
//! ([`crate::rlwe::strided`]).
//!
//! For `A` (`d0 x d1`) and `B` (`d1 x d2`) with `d0·d1·d2 <= N`, take a stride `s` with
//! `d0 <= s` and `s·d1·d2 <= N` ([`stride`]). Put `A[i][r]` at the power `i - s·r` and
//! `B[r][c]` at `s·(c·d1 + r)`. A pair of terms lands at `i + s·(c·d1 + r' - r)`: the pairs
//! with `r = r'` (the inner products) land at `i + s·c·d1`, the result `(i, c)`; every other
//! pair lands at an offset `0 < |r' - r| < d1` multiples of `s` away from one, so never on a
//! result (`i < s` keeps the rows apart). In the negacyclic ring `X^-e = -X^(N-e)`: the
//! entries of `A` with `r > 0` are stored negated at `N + i - s·r`. No product passes `N`
//! (`s·d1·d2 <= N`); products below zero wrap to `N + i - s·|r' - r| >= N - s·(d1 - 1)`,
//! beyond every result, the last of which is below `s·d1·d2 - s·(d1 - 1) <= N - s·(d1 - 1)`.
//!
//! Each result still collects exactly the `d1` terms of its inner product, and each plaintext
//! coefficient meets each ciphertext coefficient at one power, so the noise bound of
//! [`super::noise`] holds unchanged.

use ndarray::ArrayView2;

use super::N;
use super::shape::{BlockShape, Dims};

/// The stride `s`: `N/M` with `M` = `d1·d2` rounded up to a power of two when `d0` rows fit
/// in it (so the plaintext's transform is one of `M` values), else the largest `s` with
/// `s·d1·d2 <= N`, which [`BlockShape::fits`](super::shape::BlockShape) makes at least `d0`.
/// The shape search weighs both ([`super::shape`]): rounding `d1·d2` up can cost rows per
/// ciphertext, and so traffic.
pub fn stride(shape: &BlockShape) -> usize {
    let product = shape.d1 * shape.d2;
    match N / product.next_power_of_two() {
        s if shape.d0 <= s => s,
        _ => N / product,
    }
}

/// The stride of the plaintext's transform: `s` when it is a power of two (a transform of
/// `N/s` values), else 1 (a polynomial like any other, a transform of all `N`).
pub fn transform_stride(shape: &BlockShape) -> usize {
    match stride(shape) {
        s if s.is_power_of_two() => s,
        _ => 1,
    }
}

/// The message polynomial of a block of `A` (at most `d0 x d1`), as its coefficients
/// `(power, value)` (every other coefficient is zero).
pub fn lhs(shape: &BlockShape, block: ArrayView2<u64>) -> Vec<(usize, u64)> {
    let s = stride(shape);
    block
        .indexed_iter()
        .map(|((i, r), &a)| match r {
            0 => (i, a),
            r => (N + i - s * r, a.wrapping_neg()),
        })
        .collect()
}

/// The plaintext polynomial of a block of `B` (at most `d1 x d2`), as its coefficients
/// `(power, value)`: every power a multiple of [`stride`].
pub fn rhs(shape: &BlockShape, block: ArrayView2<u64>) -> Vec<(usize, u64)> {
    let s = stride(shape);
    block
        .indexed_iter()
        .map(|((r, c), &b)| (s * (c * shape.d1 + r), b))
        .collect()
}

/// Where the product holds the result entry `(i, c)` of the block.
pub fn result(shape: &BlockShape, i: usize, c: usize) -> usize {
    i + stride(shape) * c * shape.d1
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
