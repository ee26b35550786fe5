//! CheckZero: given shares of `c[0..64]` per element (at most one of which is 0), P0 learns
//! whether one is 0, and nothing else. Two variants, chosen at run time; a third setting,
//! [`CheckZeroVariant::Bits`], finds the comparison's `eta` without any CheckZero.

mod paper;
mod product;

use ndarray::{Array1, Array2, ArrayView1};

use crate::randomness::{Kind, ModpTriples, Randomness};
use crate::{Fp, Party, Prime, ProtocolError, UnknownChoice};

/// How the comparison finds `eta = [r > x]` (step 3 of PROTOCOLS.md's MSB): by one of two
/// CheckZeros over the `c[j]` in `Z_p`, or from the mask's XOR-shared bits directly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CheckZeroVariant {
    /// Falcon-style product tree: P0 learns only `M · prod_j c[j]` for a fresh random nonzero
    /// `M`, i.e. the bit and nothing else. 6 rounds of mod-p products plus the reveal.
    Product = 0,
    /// Algorithm 4 of the paper as published: 3 rounds, but it leaks (see the `paper` module).
    Paper = 1,
    /// The default: no CheckZero and no prime. `eta` comes XOR-shared out of a tree of AND
    /// gates over the mask's bits (`protocols::bitwise`): 5 rounds, about 12 bytes each way per
    /// element, and nothing opened but Beaver-masked bits, so neither party learns anything
    /// (the CheckZeros give P0 `eta XOR beta`). Its randomness, [`crate::randomness::ComparisonBits`],
    /// is made by oblivious transfer and the wrap circuit alone.
    #[default]
    Bits = 2,
}

/// The comparison's settings both parties share: which CheckZero, and the prime its mask bits
/// are shared in. They decide which kinds of randomness a comparison consumes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Comparison {
    /// Which CheckZero, or none (`bits`).
    pub checkzero: CheckZeroVariant,
    /// The prime of the mask-bit shares and the CheckZero products (unused by `bits`).
    pub prime: Prime,
}

impl std::fmt::Display for CheckZeroVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CheckZeroVariant::Product => "product",
            CheckZeroVariant::Paper => "paper",
            CheckZeroVariant::Bits => "bits",
        })
    }
}

impl Comparison {
    /// The kind of mask each compared element takes.
    pub fn mask_kind(&self) -> Kind {
        match self.checkzero {
            CheckZeroVariant::Bits => Kind::ComparisonBits,
            CheckZeroVariant::Product | CheckZeroVariant::Paper => {
                Kind::ComparisonMask { p: self.prime }
            }
        }
    }
}

impl std::str::FromStr for CheckZeroVariant {
    type Err = UnknownChoice;
    fn from_str(s: &str) -> Result<Self, UnknownChoice> {
        match s {
            "product" => Ok(CheckZeroVariant::Product),
            "paper" => Ok(CheckZeroVariant::Paper),
            "bits" => Ok(CheckZeroVariant::Bits),
            other => Err(UnknownChoice {
                option: "CheckZero variant",
                name: other.to_owned(),
                choices: "bits, product or paper",
            }),
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
        CheckZeroVariant::Bits => Err(ProtocolError::Shape(
            "the bitwise comparison runs no CheckZero".into(),
        )),
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
    let t = p.take::<ModpTriples>(p.config().prime, n).await?;
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
