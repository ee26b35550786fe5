//! Checking correlated randomness in the clear: reconstruct both halves of each item and test
//! the relation its kind promises. Reconstructing reveals the secrets, so this is for tests
//! and for audits of stockpiles one operator holds both of (a local demo), never for a real
//! deployment, where the halves belong to different parties.
//!
//! A relation of bits holds trivially for a bit that never changes (`u·v = w` says nothing
//! about `u = 0` if `u` is always 1), and such a bit is no randomness. So, as PROTOCOLS.md asks
//! of a relation check of bits, every secret bit an item's relation takes as input (the mask's
//! bits, the flip bit, a daBit's bit, the AND triples' factors) must also take both values
//! across the batch, given [`BOTH_VALUES_FROM`] items or more.

use ndarray::Array1;

use super::items::{BITS, MERGES, digit_products};
use super::*;
use crate::{Z64, matmul};

/// Why two halves of correlated randomness do not make valid items.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelationError {
    /// The halves differ in size.
    #[error("the halves hold {0} and {1} bytes")]
    Sizes(usize, usize),
    /// A half does not decode.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// An item's halves reconstruct to values that break its kind's relation.
    #[error("{kind} item {item}: {what}")]
    Broken {
        /// The kind.
        kind: Kind,
        /// The item's index in the halves.
        item: usize,
        /// The relation that fails.
        what: &'static str,
    },
    /// A secret bit the relation takes as input has the same value in every item of a batch
    /// large enough to show both.
    #[error("{kind}: bit {bit} of {what} is {value} in all {items} items")]
    Stuck {
        /// The kind.
        kind: Kind,
        /// The secret the bit belongs to.
        what: &'static str,
        /// Its position.
        bit: u32,
        /// The only value it took.
        value: u8,
        /// The items in the batch.
        items: usize,
    },
}

/// The batch size from which [`check`] requires both values of every secret input bit: an
/// honest uniform bit is constant over 64 items with probability `2^-63`, and a kind has at
/// most 157 such bits (comparison bits: `r`, `u`, `v_lt`, `v_eq`), so an honest batch fails
/// with probability below `2^-55`. Smaller batches are checked for their relation only.
pub const BOTH_VALUES_FROM: usize = 64;

/// Checks every item of `kind` in the two parties' records (same tags, same order).
pub fn check(kind: Kind, halves: [&[u8]; 2]) -> Result<(), RelationError> {
    if halves[0].len() != halves[1].len() {
        return Err(RelationError::Sizes(halves[0].len(), halves[1].len()));
    }
    let item = kind.item_bytes();
    match kind {
        Kind::MatrixTriple { .. } => {
            for (i, (a, b)) in halves[0]
                .chunks(item)
                .zip(halves[1].chunks(item))
                .enumerate()
            {
                let [t0, t1] = [
                    MatrixTriple::decode(kind, a)?,
                    MatrixTriple::decode(kind, b)?,
                ];
                let (u, v) = (t0.u() + t1.u(), t0.v() + t1.v());
                if matmul(&u, &v) != t0.z() + t1.z() {
                    return Err(RelationError::Broken {
                        kind,
                        item: i,
                        what: "Z != U·V",
                    });
                }
            }
            Ok(())
        }
        Kind::ElementwiseTriple => {
            let [t0, t1] = decode_both::<ElementwiseTriples>(kind, halves)?;
            first_bad(
                (0..t0.u.len())
                    .map(|e| (t0.u[e] + t1.u[e]) * (t0.v[e] + t1.v[e]) == t0.z[e] + t1.z[e]),
                kind,
                "z != u·v",
            )
        }
        Kind::ComparisonMask { p } => {
            let [c0, c1] = decode_both::<ComparisonMasks>(kind, halves)?;
            let items = 0..c0.r.len();
            first_bad(
                items.clone().map(|e| {
                    let r = c0.r[e] + c1.r[e];
                    let beta = c0.beta[e] ^ c1.beta[e];
                    c0.beta[e] == 0
                        && Z64::wrap(c0.r[e], c1.r[e]) == c0.alpha[e] ^ c1.alpha[e]
                        && (0..BITS).all(|j| {
                            let r_j = r.bit(j as u32);
                            c0.r_bits[[e, j]] + c1.r_bits[[e, j]] == p.element(u64::from(r_j))
                                && c0.beta_r_bits[[e, j]] + c1.beta_r_bits[[e, j]]
                                    == p.element(u64::from(r_j & beta))
                        })
                }),
                kind,
                "bits, flip bit or alpha inconsistent with r",
            )?;
            both_values(kind, "r", 64, items.clone().map(|e| (c0.r[e] + c1.r[e]).0))?;
            both_values(
                kind,
                "beta",
                1,
                items.map(|e| u64::from(c0.beta[e] ^ c1.beta[e])),
            )
        }
        Kind::ComparisonBits => {
            let [c0, c1] = decode_both::<ComparisonBits>(kind, halves)?;
            let items = 0..c0.r.len();
            first_bad(
                items.clone().map(|e| {
                    let r = (c0.r[e] + c1.r[e]).0;
                    let open = |a: &Array1<u32>, b: &Array1<u32>| a[e] ^ b[e];
                    let digit_and = digit_products(r);
                    c0.r_xor[e] ^ c1.r_xor[e] == r
                        && open(&c0.digit_and, &c1.digit_and) == digit_and
                        && Z64::wrap(c0.r[e], c1.r[e]) == c0.alpha[e] ^ c1.alpha[e]
                        && open(&c0.u, &c1.u) & open(&c0.v_lt, &c1.v_lt) == open(&c0.w_lt, &c1.w_lt)
                        && open(&c0.u, &c1.u) & open(&c0.v_eq, &c1.v_eq) == open(&c0.w_eq, &c1.w_eq)
                }),
                kind,
                "bits, digit products, alpha or AND triples inconsistent with r",
            )?;
            both_values(kind, "r", 64, items.clone().map(|e| (c0.r[e] + c1.r[e]).0))?;
            for (what, a, b) in [
                ("u", &c0.u, &c1.u),
                ("v_lt", &c0.v_lt, &c1.v_lt),
                ("v_eq", &c0.v_eq, &c1.v_eq),
            ] {
                let open = items.clone().map(|e| u64::from(a[e] ^ b[e]));
                both_values(kind, what, MERGES as u32, open)?;
            }
            Ok(())
        }
        Kind::DaBit => {
            let [d0, d1] = decode_both::<DaBits>(kind, halves)?;
            first_bad(
                (0..d0.xor.len())
                    .map(|e| Z64::from_bit(d0.xor[e] ^ d1.xor[e]) == d0.ring[e] + d1.ring[e]),
                kind,
                "XOR and ring bits differ",
            )?;
            let bits = (0..d0.xor.len()).map(|e| u64::from(d0.xor[e] ^ d1.xor[e]));
            both_values(kind, "the bit", 1, bits)
        }
        Kind::BitTriple => {
            let [t0, t1] = decode_both::<BitTriples>(kind, halves)?;
            first_bad(
                (0..t0.u.len()).map(|e| {
                    let v = Z64::from_bit(t0.v_xor[e] ^ t1.v_xor[e]);
                    t0.v[e] + t1.v[e] == v && (t0.u[e] + t1.u[e]) * v == t0.z[e] + t1.z[e]
                }),
                kind,
                "ring and XOR bits differ, or z != u·v",
            )?;
            let bits = (0..t0.u.len()).map(|e| u64::from(t0.v_xor[e] ^ t1.v_xor[e]));
            both_values(kind, "v", 1, bits)
        }
        Kind::ModpTriple { .. } => {
            let [t0, t1] = decode_both::<ModpTriples>(kind, halves)?;
            first_bad(
                (0..t0.a.len())
                    .map(|e| (t0.a[e] + t1.a[e]) * (t0.b[e] + t1.b[e]) == t0.c[e] + t1.c[e]),
                kind,
                "c != a·b",
            )
        }
        Kind::ScaledModpTriple { p } => {
            let [q0, q1] = decode_both::<ScaledModpTriples>(kind, halves)?;
            first_bad(
                (0..q0.a.len()).map(|e| {
                    let (a, b, m) = (q0.a[e] + q1.a[e], q0.b[e] + q1.b[e], q0.m[e] + q1.m[e]);
                    m != p.zero()
                        && q0.ma[e] + q1.ma[e] == m * a
                        && q0.mb[e] + q1.mb[e] == m * b
                        && q0.mab[e] + q1.mab[e] == m * a * b
                }),
                kind,
                "M is zero or M·a, M·b, M·a·b inconsistent",
            )
        }
    }
}

/// Unless the batch is too small to tell, fails if one of the low `width` bits of the items'
/// secret `what` (one word per item) has the same value in every item.
fn both_values(
    kind: Kind,
    what: &'static str,
    width: u32,
    words: impl Iterator<Item = u64>,
) -> Result<(), RelationError> {
    let (mut any, mut all, mut items) = (0u64, u64::MAX, 0);
    for w in words {
        any |= w;
        all &= w;
        items += 1;
    }
    if items < BOTH_VALUES_FROM {
        return Ok(());
    }
    let used = u64::MAX >> (64 - width);
    let (ones, zeros) = (all & used, !any & used);
    match (ones | zeros).trailing_zeros() {
        64 => Ok(()),
        bit => Err(RelationError::Stuck {
            kind,
            what,
            bit,
            value: ((ones >> bit) & 1) as u8,
            items,
        }),
    }
}

fn decode_both<T: Codec>(kind: Kind, halves: [&[u8]; 2]) -> Result<[T; 2], RecordError> {
    Ok([T::decode(kind, halves[0])?, T::decode(kind, halves[1])?])
}

fn first_bad(
    ok: impl Iterator<Item = bool>,
    kind: Kind,
    what: &'static str,
) -> Result<(), RelationError> {
    match ok.enumerate().find(|(_, ok)| !ok) {
        Some((item, _)) => Err(RelationError::Broken { kind, item, what }),
        None => Ok(()),
    }
}
