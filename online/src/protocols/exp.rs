//! `e^x` for shared `x <= 0` (softmax's `x - max(x)`), by one of two methods both parties
//! agree on in [`crate::Config`]: the paper's 16 chords (§7.3), which cost one comparison per
//! chord, or a limit with range clipping that costs one comparison in all.
//!
//! **Squaring.** `e^x = lim (1 + x/n)^n`; with `n = 2^6`, `y_0 = 1 + x/64` is raised to the
//! 64th power by six squarings. Below `x = -64`, `y_0` turns negative and its even power would
//! grow, so `y_0` goes through a ReLU first (`e^-64` is 0 in any fixed-point format we use).
//! The squarings run at a finer scale `2^g`, `g = f + 6`: `y_0 = x + 2^g` is then exact (`x`
//! at scale `2^f` is `x/64` at scale `2^g`), each square is truncated by `g`, and the last by
//! `2g - f`, back to the format's scale. (For `f > 24`, `g` stops at 30 so that squares stay
//! below `2^61`, and `x` loses `f + 6 - g` bits first.)
//!
//! Error, for `f = 16`: the limit is off by `e^x·x²/128` at most (largest at `x = -2`: 0.0043).
//! Each truncation adds at most a unit of `2^-g` and each squaring of a value in `[0, 1]` at
//! most doubles the error so far: `62·2^-g` after the last squaring, less than one unit of
//! `2^-f`, plus the last truncation's unit: within 2 units of the reference, below 0.0045 of
//! `e^x` on the whole half-line, against 0.049 for the paper's chords (near `x = 0`).
//!
//! Cost per element: one comparison, one bit triple, six elementwise triples, six truncation
//! pairs; 8 + 1 + 6·2 = 21 rounds (the chords: 16 comparisons, 12 rounds).

use ndarray::{Array, Dimension};

use super::{Piecewise, mul, piecewise, relu, truncate_by};
use crate::randomness::Randomness;
use crate::{Party, ProtocolError, UnknownChoice, Z64};

/// How `e^x` is computed; part of the configuration both parties agree on, since it decides
/// what a softmax consumes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Exp {
    /// `(1 + x/64)^64` by six squarings, clipped to 0 below `-64`: one comparison per
    /// element, absolute error below 0.0045 (default).
    #[default]
    Squaring = 0,
    /// The paper's 16 chords on `[-10, 0]`, 0 below: 16 comparisons per element, absolute
    /// error up to 0.049.
    Segments = 1,
}

/// Squarings of the squaring method: `e^x ≈ (1 + x/2^SQUARINGS)^(2^SQUARINGS)`.
pub const SQUARINGS: u32 = 6;

/// The scales of the squaring method for a format with `f` fractional bits; shared by the
/// protocol, the reference and the cost model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SquaringScales {
    /// Bits `x` loses before `y_0` is formed (0 unless `f > 24`).
    pub pre_shift: u32,
    /// `g`: the fractional bits of `y_0` and of the squares between truncations.
    pub g: u32,
    /// The truncation after squaring `i` (`0..SQUARINGS`): `g`, and `2g - f` for the last.
    pub shifts: [u32; SQUARINGS as usize],
}

impl SquaringScales {
    /// Squares stay below `2^(2g) <= 2^60`, inside the truncation's `2^(K-1)`.
    const MAX_G: u32 = 30;

    /// The scales for `f` fractional bits.
    pub fn new(f: u32) -> SquaringScales {
        let pre_shift = (f + SQUARINGS).saturating_sub(Self::MAX_G);
        let g = f + SQUARINGS - pre_shift;
        let mut shifts = [g; SQUARINGS as usize];
        shifts[SQUARINGS as usize - 1] = 2 * g - f;
        SquaringScales {
            pre_shift,
            g,
            shifts,
        }
    }
}

impl std::str::FromStr for Exp {
    type Err = UnknownChoice;
    fn from_str(s: &str) -> Result<Self, UnknownChoice> {
        match s {
            "squaring" => Ok(Exp::Squaring),
            "segments" => Ok(Exp::Segments),
            other => Err(UnknownChoice {
                option: "exp method",
                name: other.to_owned(),
                choices: "squaring or segments",
            }),
        }
    }
}

impl std::fmt::Display for Exp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Exp::Squaring => "squaring",
            Exp::Segments => "segments",
        })
    }
}

/// `e^x` for shared `x <= 0` by the agreed method.
pub async fn exp<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    x: &Array<Z64, D>,
) -> Result<Array<Z64, D>, ProtocolError> {
    match p.config().exp {
        Exp::Squaring => exp_by_squaring(p, x).await,
        Exp::Segments => {
            let table = Piecewise::exp(p.fixed());
            piecewise(p, &table, x).await
        }
    }
}

/// `ReLU(1 + x/64)^64`: see the module documentation.
async fn exp_by_squaring<R: Randomness, D: Dimension>(
    p: &mut Party<R>,
    x: &Array<Z64, D>,
) -> Result<Array<Z64, D>, ProtocolError> {
    let scales = SquaringScales::new(p.fixed().f);
    let x = match scales.pre_shift {
        0 => x.clone(),
        bits => truncate_by(p, x, bits).await?,
    };
    let one = p.constant(Z64(1 << scales.g));
    let mut y = relu(p, &x.mapv(|v| v + one)).await?.y;
    for bits in scales.shifts {
        let square = mul(p, &y, &y).await?;
        y = truncate_by(p, &square, bits).await?;
    }
    Ok(y)
}
