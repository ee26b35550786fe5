//! `e^x` for `x <= 0`: 16 equal linear segments on `(-10, 0]`, 0 below `-10` (paper §4.3,
//! §7.3), combined by telescoping as in MiniONN's sigmoid.

use ndarray::{Array, Array1, Dimension};

use super::{drelu_ring, flat, mul, shaped, truncate};
use crate::randomness::Randomness;
use crate::{FixedPoint, Party, ProtocolError, Z64};

/// The segment table in fixed point, shared by the protocol and the plaintext reference.
///
/// Segment `s` covers `[t_s, t_{s+1})` with `t_s = -10 + s·10/16` (the last one includes 0)
/// and is the chord `y = k_s·x + m_s` through `(t_s, e^t_s)` and `(t_{s+1}, e^t_{s+1})`.
/// With `b_s = [x >= t_s]`, `y = sum_s b_s·((k_s - k_{s-1})·x + (m_s - m_{s-1}))`: only the
/// segment containing `x` survives the telescoping, and below `t_0` every `b_s` is 0.
#[derive(Debug, Clone)]
pub struct ExpSegments {
    /// Encoded breakpoints `t_0 .. t_15`.
    pub breakpoints: Vec<Z64>,
    /// Encoded slope differences `k_s - k_{s-1}` (with `k_{-1} = 0`).
    pub slope_steps: Vec<Z64>,
    /// Encoded intercept differences `m_s - m_{s-1}` (with `m_{-1} = 0`).
    pub intercept_steps: Vec<Z64>,
}

/// Number of segments.
pub const SEGMENTS: usize = 16;
/// Left end of the approximated domain.
pub const LOWER: f64 = -10.0;

impl ExpSegments {
    /// The table for fixed-point format `fixed`.
    pub fn new(fixed: FixedPoint) -> ExpSegments {
        let width = -LOWER / SEGMENTS as f64;
        let t = |s: usize| LOWER + s as f64 * width;
        let encode = |v: f64| fixed.encode(v).expect("table values are small");
        let slopes: Vec<Z64> = (0..SEGMENTS)
            .map(|s| encode((t(s + 1).exp() - t(s).exp()) / width))
            .collect();
        let intercepts: Vec<Z64> = (0..SEGMENTS)
            .map(|s| {
                let k = (t(s + 1).exp() - t(s).exp()) / width;
                encode(t(s).exp() - k * t(s))
            })
            .collect();
        let steps = |v: &[Z64]| -> Vec<Z64> {
            (0..SEGMENTS)
                .map(|s| v[s] - if s == 0 { Z64::ZERO } else { v[s - 1] })
                .collect()
        };
        ExpSegments {
            breakpoints: (0..SEGMENTS).map(|s| encode(t(s))).collect(),
            slope_steps: steps(&slopes),
            intercept_steps: steps(&intercepts),
        }
    }
}

/// Approximate `e^x` for shared `x <= 0` (as in softmax, `x - max(x)`). One batched comparison
/// of every `x` against all 16 breakpoints, one B2A, then `y = x·G + H` with
/// `G = sum_s b_s·slope_step_s` and `H = sum_s b_s·intercept_step_s` (both local): one product
/// and one truncation. The result is the reference's within one unit.
pub async fn exp<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    x: &Array<Z64, D>,
) -> Result<Array<Z64, D>, ProtocolError> {
    let table = ExpSegments::new(p.fixed());
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
            .map(|e| (0..SEGMENTS).map(|s| b[s * n + e] * steps[s]).sum())
            .collect()
    };
    let slope = weighted(&table.slope_steps);
    let intercept = weighted(&table.intercept_steps);
    let xg = mul(p, &Array1::from(xs), &slope).await?;
    let y = truncate(p, &xg).await? + intercept;
    Ok(shaped(x.raw_dim(), y.to_vec()))
}
