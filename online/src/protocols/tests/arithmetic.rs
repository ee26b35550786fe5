//! Beaver products, matrix products and truncation.

use ndarray::{Array1, Array2};
use rand::RngExt;

use super::*;
use crate::protocols::{matmul, matmul_blocks, matmul_fixed, mul, mul_fixed, truncate};
use crate::reference;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mul_is_exact_on_random_and_edge_values() {
    let mut rng = rng(1);
    let mut pair = parties(Config::default()).await;
    let (a, a_sh) = edge_sharings(&edge_values(), &mut rng);
    let b: Array1<Z64> = (0..a.len()).map(|_| Z64(rng.random())).collect();
    let b_sh = share(&b, &mut rng);
    let out = both!(pair, |p, i| mul(p, &a_sh[i], &b_sh[i]));
    assert_eq!(open(&out), &a * &b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mul_fixed_is_within_one_unit_of_the_reference() {
    let mut rng = rng(2);
    let mut pair = parties(Config::default()).await;
    let f = FixedPoint::default().f;
    let mut a = uniform(5000, 1000.0, &mut rng).to_vec();
    let mut b = uniform(5000, 1000.0, &mut rng).to_vec();
    // Edge operands: zero, ±1 ulp, ±1.0, and a product near the magnitude limit.
    for (x, y) in [
        (0, 5),
        (1, 1),
        (-1, 1),
        (-1, -1),
        (1 << 16, -(1 << 16)),
        (1 << 40, 1 << 20),
    ] {
        a.push(Z64::from_signed(x));
        b.push(Z64::from_signed(y));
    }
    let (a, b) = (Array1::from(a), Array1::from(b));
    let (a_sh, b_sh) = (share(&a, &mut rng), share(&b, &mut rng));
    let out = open(&both!(pair, |p, i| mul_fixed(p, &a_sh[i], &b_sh[i])));
    for j in 0..a.len() {
        let expect = reference::mul_fixed(a[j], b[j], f);
        let diff = (out[j] - expect).signed();
        assert!(
            (0..=1).contains(&diff),
            "{:?}*{:?}: got {:?}, want {expect:?}",
            a[j],
            b[j],
            out[j]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matmul_is_exact_and_matmul_fixed_within_one_unit() {
    let mut rng = rng(3);
    let mut pair = parties(Config::default()).await;
    let f = FixedPoint::default().f;
    for (m, n, k) in [(1, 1, 1), (3, 7, 2), (17, 33, 9), (64, 100, 10)] {
        let a = uniform(m * n, 8.0, &mut rng)
            .into_shape_with_order((m, n))
            .expect("shape");
        let b = uniform(n * k, 8.0, &mut rng)
            .into_shape_with_order((n, k))
            .expect("shape");
        let (a_sh, b_sh) = (share(&a, &mut rng), share(&b, &mut rng));
        let exact = open(&both!(pair, |p, i| matmul(p, &a_sh[i], &b_sh[i])));
        assert_eq!(exact, crate::ring::matmul(&a, &b));
        let fixed = open(&both!(pair, |p, i| matmul_fixed(p, &a_sh[i], &b_sh[i])));
        let expect = reference::matmul_fixed(&a, &b, f);
        let diff = (&fixed - &expect).mapv(|d| d.signed());
        assert!(
            diff.iter().all(|d| (0..=1).contains(d)),
            "{m}x{n}x{k}: {diff:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matmul_in_row_blocks_is_exact_in_one_round() {
    let mut rng = rng(31);
    let mut pair = parties(Config::default()).await;
    for (blocks, h, n, k) in [(1, 3, 5, 2), (4, 1, 7, 3), (3, 6, 4, 5)] {
        let a = uniform(blocks * h * n, 8.0, &mut rng)
            .into_shape_with_order((blocks * h, n))
            .expect("shape");
        let b = uniform(n * k, 8.0, &mut rng)
            .into_shape_with_order((n, k))
            .expect("shape");
        let (a_sh, b_sh) = (share(&a, &mut rng), share(&b, &mut rng));
        let before = pair.parties[0].counters();
        let got = open(&both!(pair, |p, i| matmul_blocks(
            p, &a_sh[i], &b_sh[i], blocks
        )));
        assert_eq!(
            got,
            crate::ring::matmul(&a, &b),
            "{blocks} blocks of {h}x{n}x{k}"
        );
        assert_eq!((pair.parties[0].counters() - before).rounds, 1);
    }
    let [p0, _] = &mut pair.parties;
    let a = Array2::from_elem((5, 3), Z64::ZERO);
    let b = Array2::from_elem((3, 2), Z64::ZERO);
    let err = matmul_blocks(p0, &a, &b, 2)
        .await
        .expect_err("5 rows in 2 blocks");
    assert!(err.to_string().contains("equal blocks"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matmul_rejects_mismatched_shapes() {
    let mut pair = parties(Config::default()).await;
    let [p0, _] = &mut pair.parties;
    let a = Array2::from_elem((2, 3), Z64::ZERO);
    let b = Array2::from_elem((4, 2), Z64::ZERO);
    let err = matmul(p0, &a, &b).await.expect_err("2x3 times 4x2");
    assert!(err.to_string().contains("inner dimensions"), "{err}");
}

/// PROTOCOLS.md: at least 10^6 truncations with fresh masks, none off by more than one unit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_truncations_are_never_off_by_more_than_one_unit() {
    let mut rng = rng(4);
    let mut pair = parties(Config::default()).await;
    let f = FixedPoint::default().f;
    let n = 1_000_000;
    let limit = crate::fixed::MAX_MAGNITUDE;
    let mut x: Vec<Z64> = (0..n)
        .map(|_| Z64::from_signed(rng.random_range(-limit..=limit)))
        .collect();
    let (edges, _) = edge_sharings(&edge_values(), &mut rng);
    x.extend(edges.iter());
    let x = Array1::from(x);
    let x_sh = share(&x, &mut rng);
    let out = open(&both!(pair, |p, i| truncate(p, &x_sh[i])));
    let off = x
        .iter()
        .zip(&out)
        .filter(|&(&x, &y)| !(0..=1).contains(&(y - reference::truncate(x, f)).signed()))
        .count();
    assert_eq!(
        off,
        0,
        "{off} of {} truncations off by more than one unit",
        x.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_honours_a_configured_f() {
    let mut rng = rng(5);
    let fixed = FixedPoint::new(20).expect("valid");
    let config = Config {
        fixed,
        ..Config::default()
    };
    let mut pair = parties(config).await;
    let x: Array1<Z64> = (0..1000)
        .map(|_| Z64::from_signed(rng.random_range(-(1i64 << 50)..(1 << 50))))
        .collect();
    let x_sh = share(&x, &mut rng);
    let out = open(&both!(pair, |p, i| truncate(p, &x_sh[i])));
    for (&x, &y) in x.iter().zip(&out) {
        assert!((0..=1).contains(&(y - reference::truncate(x, 20)).signed()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_by_other_amounts_scales_by_powers_of_two() {
    use crate::protocols::truncate_by;
    let mut rng = rng(7);
    let mut pair = parties(Config::default()).await;
    let x: Array1<Z64> = (0..2000)
        .map(|_| Z64::from_signed(rng.random_range(-(1i64 << 60)..(1 << 60))))
        .collect();
    let x_sh = share(&x, &mut rng);
    for bits in [1, 14, 30, 60] {
        let out = open(&both!(pair, |p, i| truncate_by(p, &x_sh[i], bits)));
        for (&x, &y) in x.iter().zip(&out) {
            assert!(
                (0..=1).contains(&(y - reference::truncate(x, bits)).signed()),
                "{bits} bits"
            );
        }
    }
    let [p0, _] = &mut pair.parties;
    assert!(
        truncate_by(p0, &x_sh[0], 61).await.is_err(),
        "beyond k - 1 bits"
    );
}

/// Multiples of `2^f` truncate exactly, under every edge sharing; other values round up with
/// probability their dropped fraction (an unbiased stochastic rounding): 40,000 truncations
/// of a value a quarter above a multiple come out one more about a quarter of the time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_is_exact_on_multiples_and_rounds_up_by_the_dropped_fraction() {
    use crate::protocols::truncate_by;
    let mut rng = rng(8);
    let mut pair = parties(Config::default()).await;
    for bits in [1, 16, 30, 60] {
        // Every `q·2^bits` with `|q·2^bits| < 2^(k-1)`, the truncation's range.
        let q_max = (1i64 << (61 - bits)) - 1;
        let multiples: Vec<Z64> = [0, 1, -1, 5, -7, q_max, -q_max]
            .into_iter()
            .filter(|q: &i64| q.abs() <= q_max)
            .map(|q| Z64::from_signed(q) * Z64(1 << bits))
            .collect();
        let (x, x_sh) = edge_sharings(&multiples, &mut rng);
        let out = open(&both!(pair, |p, i| truncate_by(p, &x_sh[i], bits)));
        for (&x, &y) in x.iter().zip(&out) {
            assert_eq!(y, reference::truncate(x, bits), "{x:?} by {bits} bits");
        }
    }
    let (bits, n) = (16, 40_000);
    let x = Array1::from_elem(n, Z64::from_signed(5 << bits) + Z64(1 << (bits - 2)));
    let x_sh = share(&x, &mut rng);
    let out = open(&both!(pair, |p, i| truncate_by(p, &x_sh[i], bits)));
    let floor = reference::truncate(x[0], bits);
    assert!(out.iter().all(|&y| y == floor || y == floor + Z64::ONE));
    let ups = out.iter().filter(|&&y| y != floor).count() as f64 / n as f64;
    // Four standard errors of a binomial(40,000, 1/4) fraction are 0.009.
    assert!(
        (ups - 0.25).abs() < 0.009,
        "rounded up {ups:.4} of the time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rounds_do_not_grow_with_the_tensor() {
    let mut rng = rng(6);
    let mut pair = parties(Config::default()).await;
    for n in [1, 1000] {
        let a = uniform(n, 10.0, &mut rng);
        let a_sh = share(&a, &mut rng);
        let before = pair.parties[0].counters();
        both!(pair, |p, i| mul_fixed(p, &a_sh[i], &a_sh[i]));
        assert_eq!((pair.parties[0].counters() - before).rounds, 2, "n = {n}");
    }
}

/// Weight-bound products are exact, one round each, across batches that cross from one triple
/// to the next; other weights are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weight_bound_products_are_exact_in_one_round_across_triples() {
    use crate::protocols::{REQUESTS_PER_TRIPLE, WeightMasks};
    let mut rng = rng(32);
    let mut pair = parties(Config::default()).await;
    let (h, n, k) = (2, 5, 3);
    let w = uniform(n * k, 8.0, &mut rng)
        .into_shape_with_order((n, k))
        .expect("shape");
    let w_sh = share(&w, &mut rng);
    let mut masks = w_sh.clone().map(|w| WeightMasks::new(vec![w]));
    for blocks in [3, 1, REQUESTS_PER_TRIPLE - 2, 2, 5] {
        let a = uniform(blocks * h * n, 8.0, &mut rng)
            .into_shape_with_order((blocks * h, n))
            .expect("shape");
        let a_sh = share(&a, &mut rng);
        let [p0, p1] = &mut pair.parties;
        let [m0, m1] = &mut masks;
        let before = p0.counters();
        let (c0, c1) = tokio::join!(
            m0.product(p0, 0, &a_sh[0], &w_sh[0], blocks),
            m1.product(p1, 0, &a_sh[1], &w_sh[1], blocks)
        );
        let got = open(&(c0.expect("P0"), c1.expect("P1")));
        assert_eq!(got, crate::ring::matmul(&a, &w), "{blocks} blocks");
        assert_eq!((p0.counters() - before).rounds, 1);
    }
    let [p0, _] = &mut pair.parties;
    let mut other = w_sh[0].clone();
    other[[0, 0]] += Z64(1);
    let a = Array2::from_elem((h, n), Z64::ZERO);
    let err = masks[0]
        .product(p0, 0, &a, &other, 1)
        .await
        .expect_err("other weights");
    assert!(err.to_string().contains("bound to"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bit_products_match_the_reference_on_every_bit_pattern() {
    let mut rng = rng(31);
    let mut pair = parties(Config::default()).await;
    // All four (b0, b1) share patterns against edge and random ring values.
    let mut values = edge_values();
    values.extend(uniform(200, 1e6, &mut rng));
    let a = Array1::from_iter(values.iter().cycle().take(4 * values.len()).copied());
    let b0: Array1<u8> = (0..a.len()).map(|j| (j % 2) as u8).collect();
    let b1: Array1<u8> = (0..a.len()).map(|j| ((j / 2) % 2) as u8).collect();
    let sh = share(&a, &mut rng);
    let (y0, y1) = both!(pair, |p, i| crate::protocols::mul_bits(
        p,
        &sh[i],
        if i == 0 { &b0 } else { &b1 }
    ));
    let want: Array1<Z64> = (0..a.len())
        .map(|j| a[j] * Z64::from_bit(b0[j] ^ b1[j]))
        .collect();
    assert_eq!(open(&(y0, y1)), want);
}
