//! CheckZero: given shares of `c[0..64]` per element (at most one of which is 0), P0 learns
//! whether one is 0, and nothing else. Two variants, chosen at run time.

mod paper;
mod product;

use ndarray::{Array1, Array2, ArrayView1};

use crate::randomness::Randomness;
use crate::{Fp, Party, Prime, ProtocolError};

/// Which CheckZero the comparison uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CheckZeroVariant {
    /// Falcon-style product tree (default): P0 learns only `M · prod_j c[j]` for a fresh random
    /// nonzero `M`, i.e. the bit and nothing else. 6 rounds of mod-67 products plus the reveal.
    #[default]
    Product = 0,
    /// Algorithm 4 of the paper as published: 3 rounds, but it leaks (see the `paper` module).
    Paper = 1,
}

/// The comparison's settings both parties share: which CheckZero, and the prime its mask bits
/// are shared in. They decide which kinds of randomness a comparison consumes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Comparison {
    /// Which CheckZero.
    pub checkzero: CheckZeroVariant,
    /// The prime of the mask-bit shares and the CheckZero products.
    pub prime: Prime,
}

impl std::str::FromStr for CheckZeroVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "product" => Ok(CheckZeroVariant::Product),
            "paper" => Ok(CheckZeroVariant::Paper),
            other => Err(format!(
                "unknown CheckZero variant {other:?} (product or paper)"
            )),
        }
    }
}

/// Runs the configured CheckZero on `c` (`n x 64` shares). P0 gets `Some(z)` with
/// `z[e] = 1` iff some `c[e][j]` is 0; P1 gets `None`.
pub(crate) async fn check_zero<R: Randomness>(
    p: &mut Party<R>,
    c: Array2<Fp>,
) -> Result<Option<Vec<u8>>, ProtocolError> {
    match p.config().checkzero {
        CheckZeroVariant::Product => product::check_zero(p, c).await,
        CheckZeroVariant::Paper => paper::check_zero(p, c).await,
    }
}

/// Elementwise Beaver product over `Z_p`. One round.
pub(crate) async fn mul_fp<R: Randomness>(
    p: &mut Party<R>,
    x: ArrayView1<'_, Fp>,
    y: ArrayView1<'_, Fp>,
) -> Result<Array1<Fp>, ProtocolError> {
    let n = x.len();
    let prime = p.config().prime;
    let t = p.modp_triples(n).await?;
    let mut mine: Vec<Fp> = x.iter().zip(&t.a).map(|(&x, &a)| x - a).collect();
    mine.extend(y.iter().zip(&t.b).map(|(&y, &b)| y - b));
    let opened = p.open_fp(&mine).await?;
    let (e, f) = opened.split_at(n);
    // i·e·f + e·b_i + f·a_i + c_i, accumulated as integers (below 4p^2 < 2^34) and reduced
    // once.
    let p0 = u64::from(p.id() == dyad_link::PartyId::P0);
    Ok((0..n)
        .map(|j| {
            let (e, f) = (e[j].wide(), f[j].wide());
            prime.element(p0 * e * f + e * t.b[j].wide() + f * t.a[j].wide() + t.c[j].wide())
        })
        .collect())
}
