//! What each protocol consumes: correlated randomness per kind, as a function of its inputs'
//! sizes. Offline plans are built from these, so every function here is checked against the
//! protocol it describes (tests run both and compare).

use crate::FixedPoint;
use crate::protocols::{
    CheckZeroVariant, Comparison, Exp, NewtonReciprocal, Piecewise, SquaringScales,
};
use dyad_randomness::{Demand, Kind};

/// [`crate::protocols::mul`] on `n` elements.
pub fn mul(n: usize) -> Demand {
    Demand::of(Kind::ElementwiseTriple, n as u64)
}

/// [`crate::protocols::truncate`] (and `truncate_by`) of `n` elements, by any number of bits.
pub fn truncate(n: usize) -> Demand {
    b2a(n)
}

/// [`crate::protocols::mul_fixed`].
pub fn mul_fixed(n: usize) -> Demand {
    mul(n) + truncate(n)
}

/// [`crate::protocols::matmul`] of `m x n` by `n x k`.
pub fn matmul(m: usize, n: usize, k: usize) -> Demand {
    Demand::of(Kind::MatrixTriple { m, n, k }, 1)
}

/// [`crate::protocols::matmul_fixed`].
pub fn matmul_fixed(m: usize, n: usize, k: usize) -> Demand {
    matmul(m, n, k) + truncate(m * k)
}

/// [`crate::protocols::msb`] (and [`crate::protocols::drelu`]) of `n` elements.
pub fn msb(n: usize, cmp: Comparison) -> Demand {
    let n = n as u64;
    let p = cmp.prime;
    let mask = Demand::of(cmp.mask_kind(), n);
    match cmp.checkzero {
        // The mask carries its AND triples.
        CheckZeroVariant::Bits => mask,
        // 32 + 16 + 8 + 4 + 2 plain products, then the scaled root.
        CheckZeroVariant::Product => {
            mask + Demand::of(Kind::ModpTriple { p }, 62 * n)
                + Demand::of(Kind::ScaledModpTriple { p }, n)
        }
        CheckZeroVariant::Paper => mask + Demand::of(Kind::ModpTriple { p }, 32 * n),
    }
}

/// [`crate::protocols::b2a`] of `n` bits.
pub fn b2a(n: usize) -> Demand {
    Demand::of(Kind::DaBit, n as u64)
}

/// [`crate::protocols::drelu_ring`] (and [`crate::protocols::ge`]) of `n` elements.
pub fn drelu_ring(n: usize, cmp: Comparison) -> Demand {
    msb(n, cmp) + b2a(n)
}

/// [`crate::protocols::mul_bits`] of `n` elements.
pub fn mul_bits(n: usize) -> Demand {
    Demand::of(Kind::BitTriple, n as u64)
}

/// [`crate::protocols::relu`] of `n` elements.
pub fn relu(n: usize, cmp: Comparison) -> Demand {
    msb(n, cmp) + mul_bits(n)
}

/// [`crate::protocols::relu_backward`] of `n` elements.
pub fn relu_backward(n: usize) -> Demand {
    mul_bits(n)
}

/// [`crate::protocols::route_to_max`] of `rows` windows of `cols` positions: a bit-triple
/// product per decision of the tree.
pub fn route_to_max(rows: usize, cols: usize) -> Demand {
    mul_bits(rows * cols.saturating_sub(1))
}

/// [`crate::protocols::max_rows`] of a `rows x cols` matrix, and
/// [`crate::protocols::max_rows_with_decisions`] (max pooling over `rows` windows of `cols`
/// positions): per pair of each level a comparison (left XOR-shared) and a bit-triple product.
pub fn max_rows(rows: usize, cols: usize, cmp: Comparison) -> Demand {
    let pairs = rows * cols.saturating_sub(1);
    msb(pairs, cmp) + mul_bits(pairs)
}

/// [`crate::protocols::argmax_rows`] of a `rows x cols` matrix: every pair compared, then
/// each column's `cols - 1` bits multiplied together.
pub fn argmax_rows(rows: usize, cols: usize, cmp: Comparison) -> Demand {
    let mut demand = drelu_ring(rows * cols * cols.saturating_sub(1) / 2, cmp);
    let mut width = cols.saturating_sub(1);
    while width > 1 {
        demand += mul(rows * cols * (width / 2));
        width = width / 2 + width % 2;
    }
    demand
}

/// [`crate::protocols::piecewise`] with `table` on `n` elements.
pub fn piecewise(table: &Piecewise, n: usize, cmp: Comparison) -> Demand {
    let comparisons = drelu_ring(table.segments() * n, cmp);
    match table.is_constant() {
        true => comparisons,
        false => comparisons + mul_fixed(n),
    }
}

/// [`crate::protocols::exp`] of `n` elements by `method`.
pub fn exp(n: usize, fixed: FixedPoint, cmp: Comparison, method: Exp) -> Demand {
    match method {
        Exp::Segments => piecewise(&Piecewise::exp(fixed), n, cmp),
        Exp::Squaring => {
            let scales = SquaringScales::new(fixed.f);
            let mut demand = relu(n, cmp);
            if scales.pre_shift > 0 {
                demand += truncate(n);
            }
            demand += (mul(n) + truncate(n)) * scales.shifts.len() as u64;
            demand
        }
    }
}

/// [`crate::protocols::reciprocal`] of `n` elements in `[1, max]`.
pub fn reciprocal(n: usize, max: f64, fixed: FixedPoint) -> Demand {
    let steps = NewtonReciprocal::for_range(max, fixed).iterations as usize;
    match steps {
        0 => Demand::default(),
        // The first step scales by the public guess: truncations only.
        _ => truncate(2 * n) + mul_fixed(2 * n) * (steps as u64 - 1),
    }
}

/// [`crate::protocols::softmax`] (and the cross-entropy gradient) of `rows x cols`.
pub fn softmax(
    rows: usize,
    cols: usize,
    fixed: FixedPoint,
    cmp: Comparison,
    method: Exp,
) -> Demand {
    max_rows(rows, cols, cmp)
        + exp(rows * cols, fixed, cmp, method)
        + reciprocal(rows, cols as f64, fixed)
        + mul_fixed(rows * cols)
}

/// [`crate::protocols::correct`] on `rows x cols` logits.
pub fn correct(rows: usize, cols: usize, cmp: Comparison) -> Demand {
    max_rows(rows, cols, cmp) + mul_fixed(rows * cols) + drelu_ring(rows, cmp)
}

/// [`crate::protocols::cross_entropy`] on `rows x cols` probabilities.
pub fn cross_entropy(rows: usize, cols: usize, fixed: FixedPoint, cmp: Comparison) -> Demand {
    mul_fixed(rows * cols) + piecewise(&Piecewise::neg_ln(fixed), rows, cmp)
}
