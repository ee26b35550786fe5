//! `1/s` for shared `s` in a known range `[1, max]` by Newton's iteration from a fixed
//! initial guess: no exponent or other function of `s` is revealed (unlike the paper's Pow,
//! Algorithm 7, which opens `ceil(log2 s)`).

use ndarray::{Array, Dimension};

use super::{mul_fixed, truncate};
use crate::randomness::Randomness;
use crate::{FixedPoint, Party, ProtocolError, Z64};

/// The Newton schedule for `1/s`, `s` in `[1, max]`, shared with the plaintext reference.
///
/// `w_{i+1} = w_i·(2 - s·w_i)`, so the relative error `e = 1 - s·w` squares each step. The
/// fixed guess `w_0 = 2/(1 + max)` makes `|e_0| <= (max - 1)/(max + 1)` over the whole range;
/// the schedule runs until that bound, squared repeatedly, is below half a unit.
#[derive(Debug, Clone, Copy)]
pub struct NewtonReciprocal {
    /// The encoded initial guess `w_0`.
    pub initial: Z64,
    /// Newton steps.
    pub iterations: u32,
    /// The encoded constant 2.
    pub two: Z64,
}

impl NewtonReciprocal {
    /// The schedule for inputs in `[1, max]` (`max >= 1`).
    pub fn for_range(max: f64, fixed: FixedPoint) -> NewtonReciprocal {
        let max = max.max(1.0);
        let contraction = (max - 1.0) / (max + 1.0);
        let target = fixed.ulp() / 2.0;
        let mut error = contraction;
        let mut iterations = 0;
        while error > target && iterations < 10 {
            error *= error;
            iterations += 1;
        }
        NewtonReciprocal {
            initial: fixed.encode(2.0 / (1.0 + max)).expect("in range"),
            iterations,
            two: fixed.encode(2.0).expect("in range"),
        }
    }
}

/// `1/s` for shared `s` in `[1, max]`. The first step multiplies by the public guess, so it
/// needs only truncations (2 rounds); each further step costs two fixed-point products
/// (4 rounds).
pub async fn reciprocal<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    s: &Array<Z64, D>,
    max: f64,
) -> Result<Array<Z64, D>, ProtocolError> {
    let newton = NewtonReciprocal::for_range(max, p.fixed());
    let two = p.constant(newton.two);
    let s = s.to_owned();
    let mut w = s.mapv(|_| p.constant(newton.initial));
    for step in 0..newton.iterations {
        if step == 0 {
            // w is the public w_0 here: scaling is local, only truncations need rounds.
            let sw = truncate(p, &(&s * newton.initial)).await?;
            let correction = sw.mapv(|v| two - v);
            w = truncate(p, &(&correction * newton.initial)).await?;
        } else {
            let sw = mul_fixed(p, &s, &w).await?;
            let correction = sw.mapv(|v| two - v);
            w = mul_fixed(p, &w, &correction).await?;
        }
    }
    Ok(w)
}
