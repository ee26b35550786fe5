//! One party's half of each kind of correlated randomness, in the layout the offline generator
//! produces and the online protocols consume. Everything is structure-of-arrays over the
//! elements of a batch; "share" means this party's additive share unless a field says XOR.

use ndarray::{Array1, Array2};

use super::RecordError;
use crate::{Fp, ShareSeed, Z64};

/// The number of bits of a ring element, and of mask bits per comparison.
pub const BITS: usize = 64;

/// A matrix Beaver triple: shares of `U`, `V` and `Z = U·V`. The shares of `U` and `V` are
/// the expansion of the party's [`ShareSeed`], which its record holds in their place; the
/// fields are private so that they stay that expansion.
#[derive(Debug, Clone)]
pub struct MatrixTriple {
    seed: ShareSeed,
    u: Array2<Z64>,
    v: Array2<Z64>,
    z: Array2<Z64>,
}

/// Elementwise Beaver triples: `z = u * v` per element.
#[derive(Debug, Clone)]
pub struct ElementwiseTriples {
    /// Shares of `u`.
    pub u: Array1<Z64>,
    /// Shares of `v`.
    pub v: Array1<Z64>,
    /// Shares of `z = u * v`.
    pub z: Array1<Z64>,
}

/// Comparison masks (PROTOCOLS.md, kind 2), one row per compared element.
#[derive(Debug, Clone)]
pub struct ComparisonMasks {
    /// Ring share of the mask `r`.
    pub r: Array1<Z64>,
    /// Mod-p shares of the bits of `r`: column `j` holds `<r_j>^p`.
    pub r_bits: Array2<Fp>,
    /// Mod-p shares of `beta · r_j`: column `j` holds `<beta · r_j>^p`.
    pub beta_r_bits: Array2<Fp>,
    /// The flip bit `beta` (0 or 1), known to P1 only: P0's batch holds zeros here.
    pub beta: Array1<u8>,
    /// XOR share of `alpha = wrap(r0, r1, L)`.
    pub alpha: Array1<u8>,
}

/// The merges of [`ComparisonBits`]' AND tree per element: its 32 two-bit digits are merged
/// pairwise in five levels (16 + 8 + 4 + 2 + 1).
pub const MERGES: usize = 31;

/// Comparison masks for the bitwise comparison (`CheckZeroVariant::Bits` of the online protocols),
/// one item per compared element: the mask `r`, its bits XOR-shared, the product of each
/// two-bit digit's bits, `alpha`, and the AND triples of the prefix tree that finds
/// `eta = [r > x]` (see `protocols::bitwise`). Nothing here depends on a prime.
///
/// Merge `t` of the tree needs two products with a common left input, `u·v_lt` and `u·v_eq`,
/// so each of the [`MERGES`] slots holds one "double" AND triple; bit `t` of each word below
/// is slot `t`'s share (bits 0-15 the first level, 16-23 the second, then 24-27, 28-29, 30).
#[derive(Debug, Clone)]
pub struct ComparisonBits {
    /// Ring share of the mask `r`.
    pub r: Array1<Z64>,
    /// XOR share of the bits of `r` (bit `j` of the word is `r_j`'s share).
    pub r_xor: Array1<u64>,
    /// XOR share of `r_{2d+1} AND r_{2d}` at bit `d`: with `r_xor`, every function of a
    /// two-bit digit of `r` and a public digit is linear in the shares.
    pub digit_and: Array1<u32>,
    /// XOR share of `alpha = wrap(r0, r1, L)`.
    pub alpha: Array1<u8>,
    /// XOR share of each slot's common input `u`.
    pub u: Array1<u32>,
    /// XOR share of each slot's `v_lt`.
    pub v_lt: Array1<u32>,
    /// XOR share of each slot's `v_eq`.
    pub v_eq: Array1<u32>,
    /// XOR share of `u AND v_lt`.
    pub w_lt: Array1<u32>,
    /// XOR share of `u AND v_eq`.
    pub w_eq: Array1<u32>,
}

impl ComparisonBits {
    /// `n` all-zero masks, to be filled in.
    pub fn zeros(n: usize) -> ComparisonBits {
        ComparisonBits {
            r: Array1::default(n),
            r_xor: Array1::default(n),
            digit_and: Array1::default(n),
            alpha: Array1::default(n),
            u: Array1::default(n),
            v_lt: Array1::default(n),
            v_eq: Array1::default(n),
            w_lt: Array1::default(n),
            w_eq: Array1::default(n),
        }
    }
}

/// `w_{2d+1} AND w_{2d}` at bit `d`: the products of a word's two-bit digits, as
/// [`ComparisonBits::digit_and`] shares them for `r` (and each party computes its local term).
pub fn digit_products(w: u64) -> u32 {
    (0..BITS / 2)
        .map(|d| u32::from(w >> (2 * d + 1) & w >> (2 * d) & 1 == 1) << d)
        .sum()
}

/// daBits: the same random bit shared both ways.
#[derive(Debug, Clone)]
pub struct DaBits {
    /// XOR share of the bit (0 or 1).
    pub xor: Array1<u8>,
    /// Ring share of the same bit.
    pub ring: Array1<Z64>,
}

/// Bit triples: `z = u·v` for a ring value `u` and a bit `v` that is shared both ways (XOR
/// and ring). A product of a shared ring value with an XOR-shared bit (ReLU and its gradient)
/// takes one of these and one round, with no conversion of the bit to the ring: open
/// `e = a - u` and `f = b XOR v`, then `a·b = e·f + e·(1-2f)·v + f·u + (1-2f)·z`.
#[derive(Debug, Clone)]
pub struct BitTriples {
    /// Shares of `u`.
    pub u: Array1<Z64>,
    /// XOR share of the bit `v` (0 or 1).
    pub v_xor: Array1<u8>,
    /// Ring share of the same bit.
    pub v: Array1<Z64>,
    /// Shares of `z = u·v`.
    pub z: Array1<Z64>,
}

/// Beaver triples over `Z_p`: `c = a * b`.
#[derive(Debug, Clone)]
pub struct ModpTriples {
    /// Shares of `a`.
    pub a: Array1<Fp>,
    /// Shares of `b`.
    pub b: Array1<Fp>,
    /// Shares of `c = a * b`.
    pub c: Array1<Fp>,
}

/// Beaver triples over `Z_p` scaled by a uniformly random nonzero `M`, which CheckZero's last
/// product uses to reveal `M · x · y` in the same round as the plain product: after opening
/// `e = x - a` and `f = y - b`, `M·x·y = e·f·M + e·(M·b) + f·(M·a) + M·a·b` is linear in the
/// shares below.
#[derive(Debug, Clone)]
pub struct ScaledModpTriples {
    /// Shares of `a`.
    pub a: Array1<Fp>,
    /// Shares of `b`.
    pub b: Array1<Fp>,
    /// Shares of `M` (uniform in `1..p`).
    pub m: Array1<Fp>,
    /// Shares of `M · a`.
    pub ma: Array1<Fp>,
    /// Shares of `M · b`.
    pub mb: Array1<Fp>,
    /// Shares of `M · a · b`.
    pub mab: Array1<Fp>,
}

/// What every elementwise batch layout can say about itself, so a party can reject a
/// malformed batch before using it; reached through [`crate::Item::check`].
pub(crate) trait Layout {
    /// Checks that the batch holds exactly `n` well-formed elements.
    fn check(&self, n: usize) -> Result<(), RecordError>;
}

fn lengths(n: usize, named: &[(&'static str, usize)]) -> Result<(), RecordError> {
    match named.iter().find(|(_, len)| *len != n) {
        Some(&(array, len)) => Err(RecordError::Count {
            array,
            len,
            expected: n,
        }),
        None => Ok(()),
    }
}

fn bits(array: &'static str, v: &Array1<u8>) -> Result<(), RecordError> {
    match v.iter().any(|&b| b > 1) {
        true => Err(RecordError::Value {
            array,
            what: "a value that is not a bit",
        }),
        false => Ok(()),
    }
}

impl MatrixTriple {
    /// The triple of `seed`'s `U_i` (`m x n`) and `V_i` (`n x k`) with the share `z` of `Z`;
    /// fails unless `z` is `m x k`.
    pub fn new(
        seed: ShareSeed,
        (m, n, k): (usize, usize, usize),
        z: Array2<Z64>,
    ) -> Result<MatrixTriple, RecordError> {
        let (u, v) = seed.expand(m, n, k)?;
        let triple = MatrixTriple { seed, u, v, z };
        triple.check_shape(m, n, k)?;
        Ok(triple)
    }

    /// Sets this party's share of `Z` (the generator's and the dealer's second step, once the
    /// products of the expanded `U_i, V_i` are known); fails unless `z` is `m x k`.
    pub fn set_z(&mut self, z: Array2<Z64>) -> Result<(), RecordError> {
        if z.dim() != self.z.dim() {
            return Err(RecordError::Shape {
                array: "Z",
                got: z.dim(),
                expected: self.z.dim(),
            });
        }
        self.z = z;
        Ok(())
    }

    /// The key of this party's `U_i` and `V_i`.
    pub fn seed(&self) -> ShareSeed {
        self.seed
    }

    /// This party's share of `U` (`m x n`).
    pub fn u(&self) -> &Array2<Z64> {
        &self.u
    }

    /// This party's share of `V` (`n x k`).
    pub fn v(&self) -> &Array2<Z64> {
        &self.v
    }

    /// This party's share of `Z = U·V` (`m x k`).
    pub fn z(&self) -> &Array2<Z64> {
        &self.z
    }

    /// The shares of `U`, `V` and `Z`, by value.
    pub fn into_parts(self) -> (Array2<Z64>, Array2<Z64>, Array2<Z64>) {
        (self.u, self.v, self.z)
    }

    /// Checks the triple has shape `(m, n, k)`.
    pub fn check_shape(&self, m: usize, n: usize, k: usize) -> Result<(), RecordError> {
        for (array, got, expected) in [
            ("U", self.u.dim(), (m, n)),
            ("V", self.v.dim(), (n, k)),
            ("Z", self.z.dim(), (m, k)),
        ] {
            if got != expected {
                return Err(RecordError::Shape {
                    array,
                    got,
                    expected,
                });
            }
        }
        Ok(())
    }
}

impl Layout for ElementwiseTriples {
    fn check(&self, n: usize) -> Result<(), RecordError> {
        lengths(
            n,
            &[
                ("u", self.u.len()),
                ("v", self.v.len()),
                ("z", self.z.len()),
            ],
        )
    }
}

impl Layout for ComparisonMasks {
    fn check(&self, n: usize) -> Result<(), RecordError> {
        lengths(
            n,
            &[
                ("r", self.r.len()),
                ("beta", self.beta.len()),
                ("alpha", self.alpha.len()),
            ],
        )?;
        for (array, m) in [("r_bits", &self.r_bits), ("beta_r_bits", &self.beta_r_bits)] {
            if m.dim() != (n, BITS) {
                return Err(RecordError::Shape {
                    array,
                    got: m.dim(),
                    expected: (n, BITS),
                });
            }
        }
        bits("beta", &self.beta)?;
        bits("alpha", &self.alpha)
    }
}

impl Layout for ComparisonBits {
    fn check(&self, n: usize) -> Result<(), RecordError> {
        lengths(
            n,
            &[
                ("r", self.r.len()),
                ("r_xor", self.r_xor.len()),
                ("digit_and", self.digit_and.len()),
                ("alpha", self.alpha.len()),
                ("u", self.u.len()),
                ("v_lt", self.v_lt.len()),
                ("v_eq", self.v_eq.len()),
                ("w_lt", self.w_lt.len()),
                ("w_eq", self.w_eq.len()),
            ],
        )?;
        let slots = |array: &'static str, v: &Array1<u32>| match v.iter().any(|&w| w >> MERGES != 0)
        {
            true => Err(RecordError::Value {
                array,
                what: "a bit beyond the merge slots",
            }),
            false => Ok(()),
        };
        for (array, v) in [
            ("u", &self.u),
            ("v_lt", &self.v_lt),
            ("v_eq", &self.v_eq),
            ("w_lt", &self.w_lt),
            ("w_eq", &self.w_eq),
        ] {
            slots(array, v)?;
        }
        bits("alpha", &self.alpha)
    }
}

impl Layout for DaBits {
    fn check(&self, n: usize) -> Result<(), RecordError> {
        lengths(n, &[("xor", self.xor.len()), ("ring", self.ring.len())])?;
        bits("xor", &self.xor)
    }
}

impl Layout for BitTriples {
    fn check(&self, n: usize) -> Result<(), RecordError> {
        lengths(
            n,
            &[
                ("u", self.u.len()),
                ("v_xor", self.v_xor.len()),
                ("v", self.v.len()),
                ("z", self.z.len()),
            ],
        )?;
        bits("v_xor", &self.v_xor)
    }
}

impl Layout for ModpTriples {
    fn check(&self, n: usize) -> Result<(), RecordError> {
        lengths(
            n,
            &[
                ("a", self.a.len()),
                ("b", self.b.len()),
                ("c", self.c.len()),
            ],
        )
    }
}

impl Layout for ScaledModpTriples {
    fn check(&self, n: usize) -> Result<(), RecordError> {
        lengths(
            n,
            &[
                ("a", self.a.len()),
                ("b", self.b.len()),
                ("m", self.m.len()),
                ("ma", self.ma.len()),
                ("mb", self.mb.len()),
                ("mab", self.mab.len()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::digit_products;

    #[test]
    fn the_products_of_a_word_s_two_bit_digits() {
        assert_eq!(digit_products(0), 0);
        assert_eq!(digit_products(u64::MAX), u32::MAX);
        assert_eq!(digit_products(0b11_01_10_11), 0b1001);
        assert_eq!(digit_products(3 << 62), 1 << 31);
    }
}
