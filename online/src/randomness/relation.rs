//! Checking correlated randomness in the clear: reconstruct both halves of each item and test
//! the relation its kind promises. Reconstructing reveals the secrets, so this is for tests
//! and for audits of stockpiles one operator holds both of (a local demo), never for a real
//! deployment, where the halves belong to different parties.

use ndarray::Array1;

use super::items::{BITS, digit_products};
use super::*;
use crate::{Z64, ring};

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
}

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
                let (u, v) = (&t0.u + &t1.u, &t0.v + &t1.v);
                if ring::matmul(&u, &v) != &t0.z + &t1.z {
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
            first_bad(
                (0..c0.r.len()).map(|e| {
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
            )
        }
        Kind::ComparisonBits => {
            let [c0, c1] = decode_both::<ComparisonBits>(kind, halves)?;
            first_bad(
                (0..c0.r.len()).map(|e| {
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
            )
        }
        Kind::DaBit => {
            let [d0, d1] = decode_both::<DaBits>(kind, halves)?;
            first_bad(
                (0..d0.xor.len())
                    .map(|e| Z64::from_bit(d0.xor[e] ^ d1.xor[e]) == d0.ring[e] + d1.ring[e]),
                kind,
                "XOR and ring bits differ",
            )
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
            )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Prime;

    #[tokio::test]
    async fn fixture_items_pass_and_tampered_ones_fail() {
        let [mut f0, mut f1] = fixture::pair(8);
        for p in [Prime::P67, Prime::P40961] {
            let (a, b) = (
                f0.comparison_masks(p, 50).await.expect("ok"),
                f1.comparison_masks(p, 50).await.expect("ok"),
            );
            let kind = Kind::ComparisonMask { p };
            let (mut x, y) = (a.items.encode(), b.items.encode());
            check(kind, [&x, &y]).expect("consistent");
            let alpha = kind.item_bytes() - 1;
            x[alpha] ^= 1; // flip P0's alpha share of the first mask
            assert!(
                check(kind, [&x, &y])
                    .expect_err("tampered")
                    .to_string()
                    .contains("item 0")
            );
            let (a, b) = (
                f0.modp_triples(p, 20).await.expect("ok"),
                f1.modp_triples(p, 20).await.expect("ok"),
            );
            let kind = Kind::ModpTriple { p };
            let (mut x, y) = (a.items.encode(), b.items.encode());
            check(kind, [&x, &y]).expect("consistent");
            x[0] ^= 1; // P0's share of a (or of c, whichever the flip leaves in range)
            x[2 * p.bytes()] ^= 1;
            assert!(check(kind, [&x, &y]).is_err(), "{kind} tampered");
        }
        let (a, b) = (
            f0.comparison_bits(40).await.expect("ok"),
            f1.comparison_bits(40).await.expect("ok"),
        );
        let kind = Kind::ComparisonBits;
        let (x, y) = (a.items.encode(), b.items.encode());
        check(kind, [&x, &y]).expect("consistent");
        // A flipped bit of P0's share in each field (ring share, bits, digit product, alpha,
        // then each AND-triple word) of every item is caught: a flipped `u` or `v` shows when
        // the other factor is 1, so some item of the 40 shows it.
        for at in [0, 8, 16, 20, 21, 25, 29, 33, 37] {
            let mut bad = x.clone();
            for record in bad.chunks_mut(kind.item_bytes()) {
                record[at] ^= 1;
            }
            assert!(check(kind, [&bad, &y]).is_err(), "byte {at} tampered");
        }
        let (a, b) = (
            f0.matrix_triple(3, 4, 5).await.expect("ok"),
            f1.matrix_triple(3, 4, 5).await.expect("ok"),
        );
        let kind = Kind::MatrixTriple { m: 3, n: 4, k: 5 };
        check(kind, [&a.items.encode(), &b.items.encode()]).expect("consistent");
        let mut z = a.items.encode();
        z[8] ^= 1;
        assert!(check(kind, [&z, &b.items.encode()]).is_err());
    }
}
