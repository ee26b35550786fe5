//! Piecewise-linear functions on shares: the paper's `e^x` (16 equal segments on `(-10, 0]`,
//! §7.3; see [`super::exp`]) and `-ln p` for the training loss, both built the same way.
//!
//! A table is a list of chords through points `(t_0, y_0) < (t_1, y_1) < ...` plus a constant
//! `below` for `x < t_0`. With `b_s = [x >= t_s]`, the function is
//! `below + sum_s b_s·((k_s - k_{s-1})·x + (m_s - m_{s-1}))` where `k_s, m_s` are slope and
//! intercept of chord `s` (and `k_{-1} = 0, m_{-1} = below`): only the segment containing `x`
//! survives the telescoping (MiniONN's construction). One batched comparison of every input
//! with every breakpoint, one B2A, then one product and one truncation (none for a step
//! function, whose slopes are all 0: Adam's starting guess, `crate::nn::adam`).

use ndarray::{Array, Array1, Dimension};

use super::{drelu_ring, flat, mul, shaped, truncate};
use crate::randomness::Randomness;
use crate::{FixedPoint, Party, ProtocolError, Z64};

/// A piecewise-linear function in fixed point, shared by the protocol and the reference.
#[derive(Debug, Clone)]
pub struct Piecewise {
    /// Encoded breakpoints `t_s`, ascending.
    pub breakpoints: Vec<Z64>,
    /// Encoded slope differences `k_s - k_{s-1}`.
    pub slope_steps: Vec<Z64>,
    /// Encoded intercept differences `m_s - m_{s-1}`.
    pub intercept_steps: Vec<Z64>,
    /// The encoded value below the first breakpoint.
    pub below: Z64,
}

impl Piecewise {
    /// Chords through `points` (ascending in `x`), the last one extended to the right, and
    /// the constant `below` left of the first point.
    pub fn chords(points: &[(f64, f64)], below: f64, fixed: FixedPoint) -> Piecewise {
        let encode = |v: f64| fixed.encode(v).expect("table values are small");
        let segments = points.len() - 1;
        let slope = |s: usize| (points[s + 1].1 - points[s].1) / (points[s + 1].0 - points[s].0);
        let slopes: Vec<Z64> = (0..segments).map(|s| encode(slope(s))).collect();
        let intercepts: Vec<Z64> = (0..segments)
            .map(|s| encode(points[s].1 - slope(s) * points[s].0))
            .collect();
        let below = encode(below);
        let steps = |v: &[Z64], first: Z64| -> Vec<Z64> {
            (0..segments)
                .map(|s| v[s] - if s == 0 { first } else { v[s - 1] })
                .collect()
        };
        Piecewise {
            breakpoints: points[..segments].iter().map(|p| encode(p.0)).collect(),
            slope_steps: steps(&slopes, Z64::ZERO),
            intercept_steps: steps(&intercepts, below),
            below,
        }
    }

    /// A step function: `values[s]` from `breakpoints[s]` (ascending) up to the next one, and
    /// `below` left of the first. Its slopes are 0, so [`piecewise`] needs only the
    /// comparisons (no product).
    pub fn steps(breakpoints: &[f64], values: &[f64], below: f64, fixed: FixedPoint) -> Piecewise {
        let encode = |v: f64| fixed.encode(v).expect("table values are small");
        let mut previous = encode(below);
        let intercept_steps = values
            .iter()
            .map(|&v| {
                let step = encode(v) - previous;
                previous = encode(v);
                step
            })
            .collect();
        Piecewise {
            breakpoints: breakpoints.iter().map(|&t| encode(t)).collect(),
            slope_steps: vec![Z64::ZERO; values.len()],
            intercept_steps,
            below: encode(below),
        }
    }

    /// Whether every segment is constant (a [`Piecewise::steps`] table).
    pub fn is_constant(&self) -> bool {
        self.slope_steps.iter().all(|&k| k == Z64::ZERO)
    }

    /// `e^x` for `x <= 0`: 16 equal segments on `[-10, 0]`, 0 below `-10`.
    pub fn exp(fixed: FixedPoint) -> Piecewise {
        let points: Vec<(f64, f64)> = (0..=16)
            .map(|s| {
                let t = -10.0 + s as f64 * 10.0 / 16.0;
                (t, t.exp())
            })
            .collect();
        Piecewise::chords(&points, 0.0, fixed)
    }

    /// `-ln p` for probabilities: chords at `p = 2^-12, 2^-11, ..., 1`, and `12·ln 2` (the
    /// value at `2^-12`) below. Chords of `ln` over an octave are off by at most 0.06: enough to
    /// watch a loss fall, which is all it is for.
    pub fn neg_ln(fixed: FixedPoint) -> Piecewise {
        let points: Vec<(f64, f64)> = (0..=12)
            .rev()
            .map(|k| {
                let p = 2f64.powi(-k);
                (p, -p.ln())
            })
            .collect();
        Piecewise::chords(&points, 12.0 * 2f64.ln(), fixed)
    }

    /// Segments (= comparisons per input).
    pub fn segments(&self) -> usize {
        self.breakpoints.len()
    }
}

/// Evaluates `table` on shared `x`. The result is the reference's within one unit.
pub async fn piecewise<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    table: &Piecewise,
    x: &Array<Z64, D>,
) -> Result<Array<Z64, D>, ProtocolError> {
    let xs = flat(x);
    let n = xs.len();
    // Element e's comparison with breakpoint s sits at s·n + e.
    let shifted: Array1<Z64> = table
        .breakpoints
        .iter()
        .flat_map(|&t| {
            let t = p.constant(t);
            xs.iter().map(move |&x| x - t)
        })
        .collect();
    let b = drelu_ring(p, &shifted).await?;
    let weighted = |steps: &[Z64]| -> Array1<Z64> {
        (0..n)
            .map(|e| (0..table.segments()).map(|s| b[s * n + e] * steps[s]).sum())
            .collect()
    };
    let below = p.constant(table.below);
    let intercept = weighted(&table.intercept_steps).mapv(|v| v + below);
    let y = match table.is_constant() {
        true => intercept,
        false => {
            let slope = weighted(&table.slope_steps);
            let xg = mul(p, &Array1::from(xs), &slope).await?;
            truncate(p, &xg).await? + intercept
        }
    };
    Ok(shaped(x.raw_dim(), y.to_vec()))
}
