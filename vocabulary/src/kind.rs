//! The kinds of correlated randomness and their stream names.

use std::fmt;

use crate::fp::Prime;

/// Bits of a comparison mask: one per bit of a `Z_{2^64}` element.
const MASK_BITS: usize = 64;

/// What a batch of correlated randomness is. The kind with its shape names a stream; the
/// offline worker pair numbers the items of each stream `0, 1, 2, ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A matrix triple of shape `(m, n, k)`; one item per triple.
    MatrixTriple {
        /// Rows of `U` and `Z`.
        m: usize,
        /// Columns of `U`, rows of `V`.
        n: usize,
        /// Columns of `V` and `Z`.
        k: usize,
    },
    /// Elementwise triples; one item per element.
    ElementwiseTriple,
    /// Comparison masks with bit shares in `Z_p`; one item per compared element.
    ComparisonMask {
        /// The comparison's prime.
        p: Prime,
    },
    /// Masks of the bitwise comparison (no prime); one item per compared element.
    ComparisonBits,
    /// Shared random bits in both XOR and ring form; one item per bit.
    DaBit,
    /// Products of a ring value with a bit shared both ways; one item per product.
    BitTriple,
    /// Beaver triples over `Z_p`; one item per triple.
    ModpTriple {
        /// The comparison's prime.
        p: Prime,
    },
    /// Scaled Beaver triples over `Z_p`; one item per triple.
    ScaledModpTriple {
        /// The comparison's prime.
        p: Prime,
    },
}

/// A name that is no kind of correlated randomness.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind of correlated randomness {0:?}")]
pub struct UnknownKind(pub String);

impl std::str::FromStr for Kind {
    type Err = UnknownKind;

    /// Parses the stream names [`Kind`]'s `Display` writes.
    fn from_str(s: &str) -> Result<Kind, UnknownKind> {
        let unknown = || UnknownKind(s.to_owned());
        let (name, shape) = match s.split_once('/') {
            Some((name, shape)) => (name, Some(shape)),
            None => (s, None),
        };
        let kind = match (name, shape) {
            ("matrix-triple", Some(shape)) => {
                let dims: Vec<usize> = shape
                    .split('x')
                    .map(|d| d.parse().map_err(|_| unknown()))
                    .collect::<Result<_, _>>()?;
                match dims[..] {
                    [m, n, k] if m > 0 && n > 0 && k > 0 => Kind::MatrixTriple { m, n, k },
                    _ => return Err(unknown()),
                }
            }
            ("elementwise-triple", None) => Kind::ElementwiseTriple,
            ("dabit", None) => Kind::DaBit,
            ("bit-triple", None) => Kind::BitTriple,
            ("comparison-bits", None) => Kind::ComparisonBits,
            ("comparison-mask" | "modp-triple" | "scaled-modp-triple", shape) => {
                // p = 67 has the names of before the prime was a parameter.
                let p = match shape {
                    None => Prime::P67,
                    Some(shape) => shape
                        .strip_prefix('p')
                        .and_then(|p| p.parse().ok())
                        .ok_or_else(unknown)?,
                };
                match name {
                    "comparison-mask" => Kind::ComparisonMask { p },
                    "modp-triple" => Kind::ModpTriple { p },
                    _ => Kind::ScaledModpTriple { p },
                }
            }
            _ => return Err(unknown()),
        };
        // Only canonical spellings: "matrix-triple/01x2x3" names no stream.
        match kind.to_string() == s {
            true => Ok(kind),
            false => Err(unknown()),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::MatrixTriple { m, n, k } => write!(f, "matrix-triple/{m}x{n}x{k}"),
            Kind::ElementwiseTriple => write!(f, "elementwise-triple"),
            Kind::DaBit => write!(f, "dabit"),
            Kind::BitTriple => write!(f, "bit-triple"),
            Kind::ComparisonBits => write!(f, "comparison-bits"),
            Kind::ComparisonMask { p } => write!(f, "comparison-mask{}", prime_suffix(*p)),
            Kind::ModpTriple { p } => write!(f, "modp-triple{}", prime_suffix(*p)),
            Kind::ScaledModpTriple { p } => {
                write!(f, "scaled-modp-triple{}", prime_suffix(*p))
            }
        }
    }
}

impl Kind {
    /// The size of one item's record in the stockpile; the record layouts are in the online
    /// runtime's `randomness::codec`, whose tests pin each size to its encoding. A shape from
    /// outside (a stream name in a request) may be absurd: the size saturates at `usize::MAX`
    /// instead of overflowing, and every reader refuses records that large.
    pub fn item_bytes(&self) -> usize {
        match *self {
            // The key of `U_i, V_i` (`dyad_randomness::ShareSeed`) and `Z_i`.
            Kind::MatrixTriple { m, k, .. } => {
                m.saturating_mul(k).saturating_mul(8).saturating_add(16)
            }
            Kind::ElementwiseTriple => 24,
            Kind::ComparisonMask { p } => 8 + 2 * MASK_BITS * p.bytes() + 2,
            Kind::ComparisonBits => 41,
            Kind::DaBit => 9,
            Kind::BitTriple => 25,
            Kind::ModpTriple { p } => 3 * p.bytes(),
            Kind::ScaledModpTriple { p } => 6 * p.bytes(),
        }
    }
}

impl Kind {
    /// The revision of this kind's record layout, raised whenever the layout changes: a
    /// stockpile keeps it beside each stream and sets aside (does not read) a stream whose
    /// records are of an earlier revision, even where the record size happens to be the same.
    /// Matrix triples are at 2 since their records hold a key in place of `U_i, V_i`.
    pub fn layout_revision(&self) -> u32 {
        match self {
            Kind::MatrixTriple { .. } => 2,
            _ => 1,
        }
    }
}

/// `/p<p>` in a stream name, nothing for 67 (the names of before the prime was a parameter).
fn prime_suffix(p: Prime) -> String {
    match p {
        Prime::P67 => String::new(),
        p => format!("/p{p}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A matrix triple's record is its key and `Z_i`; a shape too large for any record gives
    /// the largest size, not an overflow.
    #[test]
    fn record_sizes_saturate_for_absurd_shapes() {
        let kind = |s: &str| s.parse::<Kind>().expect("a kind");
        assert_eq!(kind("matrix-triple/3x5x2").item_bytes(), 16 + 8 * 6);
        let huge = kind(&format!("matrix-triple/{}x1x{}", 1u64 << 40, 1u64 << 40));
        assert_eq!(huge.item_bytes(), usize::MAX);
        assert_eq!(
            kind(&format!("matrix-triple/1x1x{}", usize::MAX)).item_bytes(),
            usize::MAX
        );
    }

    #[test]
    fn stream_names_round_trip_and_reject_unknown_kinds() {
        for kind in [
            Kind::MatrixTriple {
                m: 128,
                n: 784,
                k: 128,
            },
            Kind::ElementwiseTriple,
            Kind::DaBit,
            Kind::BitTriple,
            Kind::ComparisonBits,
        ]
        .into_iter()
        .chain([Prime::P67, Prime::P40961].into_iter().flat_map(|p| {
            [
                Kind::ComparisonMask { p },
                Kind::ModpTriple { p },
                Kind::ScaledModpTriple { p },
            ]
        })) {
            assert_eq!(kind.to_string().parse::<Kind>(), Ok(kind));
        }
        assert_eq!(
            Kind::ModpTriple { p: Prime::P67 }.to_string(),
            "modp-triple"
        );
        assert_eq!(
            Kind::ModpTriple { p: Prime::P40961 }.to_string(),
            "modp-triple/p40961"
        );
        for bad in [
            "",
            "bogus",
            "matrix-triple",
            "matrix-triple/1x2",
            "matrix-triple/0x2x3",
            "matrix-triple/01x2x3",
            "truncation-pair/f16",
            "dabit/3",
            "comparison-mask/",
            "comparison-mask/p67",
            "modp-triple/p64",
            "modp-triple/40961",
        ] {
            assert!(bad.parse::<Kind>().is_err(), "{bad:?}");
        }
    }
}
