//! The plaintext fixed-point reference: each protocol's function computed in the clear with
//! exactly the same fixed-point steps (the same tables, the same Newton schedule, floor
//! truncation). A protocol's reconstructed output must equal this exactly, or within one unit
//! per truncation it performs. Training in plaintext fixed point uses the same functions.
//!
//! The functions that truncate inside (`exp`, the reciprocal, softmax, ...) note every value
//! they truncate in a [`Headroom`]: the secure truncation is valid only inside the window
//! (PROTOCOLS.md, "Accepted departures"), and a plaintext run shows how close it came.

use ndarray::{Array1, Array2, Axis};

use crate::fixed::Headroom;
use crate::protocols::{
    Exp, NewtonReciprocal, Piecewise, SquaringScales, check_route, spread_level, tree_levels,
};
use crate::{FixedPoint, ProtocolError, Z64, ring};

/// `x >> f` as an arithmetic shift: floor division by `2^f`.
pub fn truncate(x: Z64, f: u32) -> Z64 {
    Z64::from_signed(x.signed() >> f)
}

/// [`truncate`], noting `x` in `headroom`.
fn watched(headroom: &mut Headroom, x: Z64, f: u32) -> Z64 {
    headroom.see(x);
    truncate(x, f)
}

/// Fixed-point product.
pub fn mul_fixed(a: Z64, b: Z64, f: u32) -> Z64 {
    truncate(a * b, f)
}

/// Fixed-point matrix product.
pub fn matmul_fixed(a: &Array2<Z64>, b: &Array2<Z64>, f: u32) -> Array2<Z64> {
    ring::matmul(a, b).mapv(|v| truncate(v, f))
}

/// `DReLU(a) = 1 - MSB(a)` as a ring element.
pub fn drelu(a: Z64) -> Z64 {
    Z64::from_bit(1 - a.msb())
}

/// `ReLU(a)`.
pub fn relu(a: Z64) -> Z64 {
    a * drelu(a)
}

/// `[a >= b]` exactly as the protocol computes it: `DReLU(a - b)`.
pub fn ge(a: Z64, b: Z64) -> Z64 {
    drelu(a - b)
}

/// `max(a, b)`, the earlier operand on ties.
fn max(a: Z64, b: Z64) -> Z64 {
    b + ge(a, b) * (a - b)
}

/// The maximum of each row.
pub fn max_rows(x: &Array2<Z64>) -> Array1<Z64> {
    x.map_axis(Axis(1), |row| {
        row.iter().copied().reduce(max).expect("rows are not empty")
    })
}

/// The column of each row's maximum (the first on ties), as an integer.
pub fn argmax_rows(x: &Array2<Z64>) -> Array1<Z64> {
    x.map_axis(Axis(1), |row| {
        let mut best = 0;
        for (j, &v) in row.iter().enumerate() {
            if v.signed() > row[best].signed() {
                best = j;
            }
        }
        Z64(best as u64)
    })
}

/// Each row's maximum and the tournament's decisions, as the protocol's tree makes them
/// ([`crate::protocols::max_rows_with_decisions`]): columns `2i` and `2i + 1` meet, the earlier
/// winning ties (decision 1), an unpaired last column waiting a level.
pub fn max_rows_with_decisions(x: &Array2<Z64>) -> (Array1<Z64>, Array2<Z64>) {
    max_rows_with_decisions_by(x, |a, b| ge(a, b) == Z64::ONE, Z64::ONE)
}

/// [`max_rows_with_decisions`] for any element type, given its comparison `a >= b` and its 1.
pub fn max_rows_with_decisions_by<E: Copy + Default>(
    x: &Array2<E>,
    ge: impl Fn(E, E) -> bool,
    one: E,
) -> (Array1<E>, Array2<E>) {
    let (rows, cols) = x.dim();
    let mut decisions = Array2::from_elem((rows, cols.saturating_sub(1)), E::default());
    let max = Array1::from_iter(x.rows().into_iter().enumerate().map(|(r, row)| {
        let mut level: Vec<E> = row.to_vec();
        for (_, offset) in tree_levels(cols) {
            level = level
                .chunks(2)
                .enumerate()
                .map(|(i, pair)| match *pair {
                    [a, b] if ge(a, b) => {
                        decisions[[r, offset + i]] = one;
                        a
                    }
                    [_, b] => b,
                    _ => pair[0],
                })
                .collect();
        }
        level[0]
    }));
    (max, decisions)
}

/// Max pooling's backward pass as [`crate::protocols::route_to_max`] computes it: each row's
/// gradient down the tree of its `decisions`, to its argmax, with `times` the product of a
/// gradient and a decision (0 or 1). Refuses as many gradients as windows only.
pub fn route_to_max_by<E: Copy + Default + std::ops::Sub<Output = E>>(
    dy: &Array1<E>,
    decisions: &Array2<E>,
    times: impl Fn(E, E) -> E,
) -> Result<Array2<E>, ProtocolError> {
    let rows = dy.len();
    check_route(rows, decisions.nrows())?;
    let mut g = Array2::from_shape_fn((rows, 1), |(r, _)| dy[r]);
    for (width, offset) in tree_levels(decisions.ncols() + 1).into_iter().rev() {
        let to_earlier = Array2::from_shape_fn((rows, width / 2), |(r, i)| {
            times(g[[r, i]], decisions[[r, offset + i]])
        });
        g = spread_level(&g, &to_earlier, width);
    }
    Ok(g)
}

/// A piecewise-linear function as the `piecewise` protocol computes it.
pub fn piecewise(table: &Piecewise, x: Z64, f: u32, headroom: &mut Headroom) -> Z64 {
    let bits: Vec<Z64> = table.breakpoints.iter().map(|&t| drelu(x - t)).collect();
    let weighted = |steps: &[Z64]| -> Z64 { bits.iter().zip(steps).map(|(&b, &s)| b * s).sum() };
    let sloped = match table.is_constant() {
        true => Z64::ZERO,
        false => watched(headroom, x * weighted(&table.slope_steps), f),
    };
    sloped + weighted(&table.intercept_steps) + table.below
}

/// `e^x` as the `exp` protocol computes it by `method`.
pub fn exp(x: Z64, fixed: FixedPoint, method: Exp, headroom: &mut Headroom) -> Z64 {
    let f = fixed.f;
    match method {
        Exp::Segments => piecewise(&Piecewise::exp(fixed), x, f, headroom),
        Exp::Squaring => {
            let scales = SquaringScales::new(f);
            let x = match scales.pre_shift {
                0 => x,
                bits => watched(headroom, x, bits),
            };
            let mut y = relu(x + Z64(1 << scales.g));
            for bits in scales.shifts {
                y = watched(headroom, y * y, bits);
            }
            y
        }
    }
}

/// The Newton reciprocal of the `reciprocal` protocol, for `s` in `[1, max]`.
pub fn reciprocal(s: Z64, max: f64, fixed: FixedPoint, headroom: &mut Headroom) -> Z64 {
    let newton = NewtonReciprocal::for_range(max, fixed);
    let mut w = newton.initial;
    for _ in 0..newton.iterations {
        let sw = watched(headroom, s * w, fixed.f);
        w = watched(headroom, w * (newton.two - sw), fixed.f);
    }
    w
}

/// Softmax of each row, as the `softmax` protocol computes it.
pub fn softmax(
    x: &Array2<Z64>,
    fixed: FixedPoint,
    method: Exp,
    headroom: &mut Headroom,
) -> Array2<Z64> {
    let max = max_rows(x);
    let mut out = x.clone();
    for (mut row, &m) in out.rows_mut().into_iter().zip(&max) {
        row.mapv_inplace(|v| exp(v - m, fixed, method, headroom));
        let inverse = reciprocal(row.sum(), row.len() as f64, fixed, headroom);
        row.mapv_inplace(|e| watched(headroom, e * inverse, fixed.f));
    }
    out
}

/// `softmax(logits) - onehot`.
pub fn cross_entropy_grad(
    logits: &Array2<Z64>,
    onehot: &Array2<Z64>,
    fixed: FixedPoint,
    method: Exp,
    headroom: &mut Headroom,
) -> Array2<Z64> {
    softmax(logits, fixed, method, headroom) - onehot
}

/// Per-example correctness as the `correct` protocol computes it.
pub fn correct(
    logits: &Array2<Z64>,
    onehot: &Array2<Z64>,
    f: u32,
    headroom: &mut Headroom,
) -> Array1<Z64> {
    let max = max_rows(logits);
    logits
        .rows()
        .into_iter()
        .zip(onehot.rows())
        .zip(&max)
        .map(|((l, o), &m)| {
            let at_label: Z64 = l
                .iter()
                .zip(o)
                .map(|(&a, &b)| watched(headroom, a * b, f))
                .sum();
            drelu(at_label - m)
        })
        .collect()
}

/// Per-example `-ln p_label` as the `cross_entropy` protocol computes it.
pub fn cross_entropy(
    probs: &Array2<Z64>,
    onehot: &Array2<Z64>,
    fixed: FixedPoint,
    headroom: &mut Headroom,
) -> Array1<Z64> {
    let table = Piecewise::neg_ln(fixed);
    probs
        .rows()
        .into_iter()
        .zip(onehot.rows())
        .map(|(p, o)| {
            let at_label: Z64 = p
                .iter()
                .zip(o)
                .map(|(&a, &b)| watched(headroom, a * b, fixed.f))
                .sum();
            piecewise(&table, at_label, fixed.f, headroom)
        })
        .collect()
}
