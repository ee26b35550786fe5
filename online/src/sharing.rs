//! Splitting secrets into two shares and putting them back together: what a data owner or an
//! inference client does, and what tests do to check a protocol's output.

use ndarray::{Array, Dimension, Zip};
use rand::{Rng, RngExt};

use crate::Z64;

/// Splits `x` into two uniformly random additive shares `[x0, x1]`, `x0 + x1 = x`.
pub fn split<D: Dimension, G: Rng>(x: &Array<Z64, D>, rng: &mut G) -> [Array<Z64, D>; 2] {
    let x0 = x.mapv(|_| Z64(rng.random()));
    let x1 = x - &x0;
    [x0, x1]
}

/// `x0 + x1`.
pub fn reconstruct<D: Dimension>(x0: &Array<Z64, D>, x1: &Array<Z64, D>) -> Array<Z64, D> {
    x0 + x1
}

/// `b0 XOR b1` for XOR-shared bits.
pub fn reconstruct_bits<D: Dimension>(b0: &Array<u8, D>, b1: &Array<u8, D>) -> Array<u8, D> {
    Zip::from(b0).and(b1).map_collect(|&a, &b| a ^ b)
}
