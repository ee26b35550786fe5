//! The relation checks accept the fixture's items and refuse tampered ones.

use dyad_randomness::relation::{BOTH_VALUES_FROM, RelationError, check};
use dyad_randomness::*;
use dyad_testing::fixture;

#[tokio::test]
async fn fixture_items_pass_and_tampered_ones_fail() {
    let [mut f0, mut f1] = fixture::pair(8);
    for p in [Prime::P67, Prime::P40961] {
        let (a, b) = (
            f0.take::<ComparisonMasks>(p, 50).await.expect("ok"),
            f1.take::<ComparisonMasks>(p, 50).await.expect("ok"),
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
            f0.take::<ModpTriples>(p, 20).await.expect("ok"),
            f1.take::<ModpTriples>(p, 20).await.expect("ok"),
        );
        let kind = Kind::ModpTriple { p };
        let (mut x, y) = (a.items.encode(), b.items.encode());
        check(kind, [&x, &y]).expect("consistent");
        x[0] ^= 1; // P0's share of a (or of c, whichever the flip leaves in range)
        x[2 * p.bytes()] ^= 1;
        assert!(check(kind, [&x, &y]).is_err(), "{kind} tampered");
    }
    let (a, b) = (
        f0.take::<ComparisonBits>((), 40).await.expect("ok"),
        f1.take::<ComparisonBits>((), 40).await.expect("ok"),
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
        f0.take::<MatrixTriple>((3, 4, 5), 1).await.expect("ok"),
        f1.take::<MatrixTriple>((3, 4, 5), 1).await.expect("ok"),
    );
    let kind = Kind::MatrixTriple { m: 3, n: 4, k: 5 };
    check(kind, [&a.items.encode(), &b.items.encode()]).expect("consistent");
    // A bit of the key of U_i, V_i (bytes 0-15) or of Z_i (from byte 16) flipped.
    let record = a.items.encode();
    for at in [0, 15, 16, record.len() - 1] {
        let mut bad = record.clone();
        bad[at] ^= 1;
        assert!(check(kind, [&bad, &b.items.encode()]).is_err(), "byte {at}");
    }
}

#[tokio::test]
async fn a_stuck_bit_fails_though_the_relation_holds() {
    let [mut f0, mut f1] = fixture::pair(9);
    let n = BOTH_VALUES_FROM;
    let kind = Kind::ComparisonBits;
    let (a, b) = (
        f0.take::<ComparisonBits>((), n).await.expect("ok"),
        f1.take::<ComparisonBits>((), n).await.expect("ok"),
    );
    let (honest, c1) = (a.items, b.items);
    check(kind, [&honest.encode(), &c1.encode()]).expect("consistent");
    // Bit 3 of the triples' u stuck at 1, then bit 5 at 0, with w = u·v still true: P0's
    // shares of u and w absorb the change.
    for (bit, value) in [(3, 1), (5, 0)] {
        let mut c0 = honest.clone();
        for e in 0..n {
            let (v_lt, v_eq) = (c0.v_lt[e] ^ c1.v_lt[e], c0.v_eq[e] ^ c1.v_eq[e]);
            let u = ((c0.u[e] ^ c1.u[e]) & !(1 << bit)) | (value << bit);
            c0.u[e] = u ^ c1.u[e];
            c0.w_lt[e] = (u & v_lt) ^ c1.w_lt[e];
            c0.w_eq[e] = (u & v_eq) ^ c1.w_eq[e];
        }
        let stuck = RelationError::Stuck {
            kind,
            what: "u",
            bit,
            value: value as u8,
            items: n,
        };
        assert_eq!(check(kind, [&c0.encode(), &c1.encode()]), Err(stuck));
    }
    // daBits whose bit is always 1, in both sharings.
    let kind = Kind::DaBit;
    let (a, b) = (
        f0.take::<DaBits>((), n).await.expect("ok"),
        f1.take::<DaBits>((), n).await.expect("ok"),
    );
    let (mut d0, d1) = (a.items, b.items);
    for e in 0..n {
        d0.xor[e] = 1 ^ d1.xor[e];
        d0.ring[e] = Z64(1) - d1.ring[e];
    }
    let err = check(kind, [&d0.encode(), &d1.encode()]).expect_err("stuck");
    assert!(
        matches!(err, RelationError::Stuck { value: 1, .. }),
        "{err}"
    );
}
