//! The online protocols of PROTOCOLS.md. Every function runs both parties' side (each party
//! calls it with its own shares), handles a whole tensor in a constant number of rounds, and
//! returns this party's shares of the result.
//!
//! Rounds per call (flights each party waits for):
//!
//! | protocol | rounds |
//! |---|---|
//! | [`mul`], [`mul_bits`], [`matmul`], [`WeightMasks::product`], [`b2a`], [`truncate`] | 1 |
//! | [`mul_fixed`], [`matmul_fixed`] | 2 |
//! | [`msb`], [`drelu`] (`bits` / CheckZero `product` / `paper`) | 6 / 8 / 4 |
//! | [`drelu_ring`], [`relu`] | 7 / 9 / 5 |
//! | [`max_rows_with_decisions`] of 4 columns (2x2 max pooling) | 14 / 18 / 10 |
//! | [`route_to_max`] of 4 columns (its backward) | 2 |
//! | [`exp`] by squaring | 19 / 21 / 17 |
//! | [`exp`] by segments | 9 / 11 / 7 |
//! | [`argmax_rows`] of 10 columns | 11 / 13 / 9 |

mod b2a;
mod beaver;
mod bit_product;
mod bitwise;
mod checkzero;
mod cross_entropy;
mod exp;
mod max;
mod metrics;
pub(crate) mod msb;
mod open;
mod piecewise;
mod reciprocal;
mod relu;
mod softmax;
mod truncate;
mod weight_bound;

#[cfg(test)]
mod tests;

pub use b2a::b2a;
pub use beaver::{matmul, matmul_blocks, matmul_fixed, mul, mul_fixed};
pub use bit_product::mul_bits;
pub use checkzero::{CheckZeroVariant, Comparison};
pub use cross_entropy::cross_entropy_grad;
pub use exp::{Exp, SQUARINGS, SquaringScales, exp};
pub use max::{argmax_rows, ge, max_rows, max_rows_with_decisions, route_to_max};
pub(crate) use max::{check_route, spread_level, tree_levels};
pub use metrics::{correct, cross_entropy};
pub use msb::{drelu, drelu_ring, msb};
pub use open::open_sum;
pub use piecewise::{Piecewise, piecewise};
pub use reciprocal::{NewtonReciprocal, reciprocal};
pub use relu::{Relu, relu, relu_backward};
pub use softmax::softmax;
pub use truncate::{truncate, truncate_by};
pub use weight_bound::{REQUESTS_PER_TRIPLE, WeightMasks};

use ndarray::{Array, Dimension};

use crate::ProtocolError;

/// The elements of `a` in logical (row-major) order.
fn flat<T: Copy, D: Dimension>(a: &Array<T, D>) -> Vec<T> {
    a.iter().copied().collect()
}

/// Puts a protocol's flat output back into the caller's shape.
fn shaped<T, D: Dimension>(dim: D, v: Vec<T>) -> Array<T, D> {
    Array::from_shape_vec(dim, v).expect("a protocol returns one value per input element")
}

pub(crate) fn same_shape(a: &[usize], b: &[usize], what: &str) -> Result<(), ProtocolError> {
    match a == b {
        true => Ok(()),
        false => Err(ProtocolError::Shape(format!(
            "{what}: operands have shapes {a:?} and {b:?}"
        ))),
    }
}
