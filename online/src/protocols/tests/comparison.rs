//! MSB / DReLU (the bitwise comparison and both CheckZero variants), B2A and ReLU.

use ndarray::Array1;
use rand::RngExt;

use super::*;
use crate::protocols::{CheckZeroVariant, b2a, drelu, drelu_ring, msb, relu, relu_backward};
use crate::sharing::reconstruct_bits;
use crate::{Prime, reference};

/// Both CheckZero variants over `Z_67`, the product variant over `Z_40961`, and the bitwise
/// comparison.
fn configs() -> [Config; 4] {
    [
        (CheckZeroVariant::Product, Prime::P67),
        (CheckZeroVariant::Paper, Prime::P67),
        (CheckZeroVariant::Product, Prime::P40961),
        (CheckZeroVariant::Bits, Prime::default()),
    ]
    .map(|(checkzero, prime)| Config {
        checkzero,
        prime,
        ..Config::default()
    })
}

/// Ring values where MSB is delicate: the signed extremes, the MSB boundary, all-ones.
fn ring_edges() -> Vec<Z64> {
    let mut v = edge_values();
    v.extend([
        Z64(1 << 63),
        Z64((1 << 63) - 1),
        Z64(u64::MAX),
        Z64(1 << 62),
        Z64(3 << 62),
    ]);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msb_matches_bit_63_on_random_and_edge_values() {
    for config in configs() {
        let mut rng = rng(10);
        let mut pair = parties(config).await;
        let (mut a, [mut s0, mut s1]) = edge_sharings(&ring_edges(), &mut rng);
        let random: Array1<Z64> = (0..3000).map(|_| Z64(rng.random())).collect();
        let [r0, r1] = share(&random, &mut rng);
        a.append(ndarray::Axis(0), random.view()).expect("1-d");
        s0.append(ndarray::Axis(0), r0.view()).expect("1-d");
        s1.append(ndarray::Axis(0), r1.view()).expect("1-d");
        let sh = [s0, s1];
        let (b0, b1) = both!(pair, |p, i| msb(p, &sh[i]));
        let got = reconstruct_bits(&b0, &b1);
        let want = a.mapv(|v| v.msb());
        assert_eq!(got, want, "{:?}", config.checkzero);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_opened_x_of_all_ones_is_handled() {
    // x = 2a + r = 2^64 - 1 makes x + 1 wrap; eta = 0 is then public (PROTOCOLS.md).
    for config in configs() {
        let mut rng = rng(11);
        let mut pair = parties(config).await;
        let a: Array1<Z64> = [5i64, -5, 0, 1 << 40]
            .iter()
            .map(|&v| Z64::from_signed(v))
            .collect();
        let forced: Vec<Z64> = a.iter().map(|&a| Z64(u64::MAX) - a - a).collect();
        for party in &mut pair.parties {
            party.randomness_mut().force_masks(forced.clone());
        }
        let sh = share(&a, &mut rng);
        let (b0, b1) = both!(pair, |p, i| msb(p, &sh[i]));
        assert_eq!(
            reconstruct_bits(&b0, &b1),
            a.mapv(|v| v.msb()),
            "{:?}",
            config.checkzero
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drelu_b2a_and_relu_match_the_reference() {
    for config in configs() {
        let mut rng = rng(12);
        let mut pair = parties(config).await;
        let (a, sh) = edge_sharings(&edge_values(), &mut rng);
        let (d0, d1) = both!(pair, |p, i| drelu(p, &sh[i]));
        assert_eq!(reconstruct_bits(&d0, &d1), a.mapv(|v| 1 - v.msb()));

        let dr = open(&both!(pair, |p, i| drelu_ring(p, &sh[i])));
        assert_eq!(dr, a.mapv(reference::drelu));

        let out = both!(pair, |p, i| relu(p, &sh[i]));
        assert_eq!(
            open(&(out.0.y.clone(), out.1.y.clone())),
            a.mapv(reference::relu)
        );
        assert_eq!(
            reconstruct_bits(&out.0.drelu, &out.1.drelu).mapv(Z64::from_bit),
            a.mapv(reference::drelu)
        );
        // ReLU(0) = 0 and DReLU(0) = 1.
        assert_eq!(a[0], Z64::ZERO);
        assert_eq!(
            (dr[0], open(&(out.0.y.clone(), out.1.y.clone()))[0]),
            (Z64::ONE, Z64::ZERO)
        );

        let dy = uniform(a.len(), 5.0, &mut rng);
        let dy_sh = share(&dy, &mut rng);
        let (g0, g1) = both!(pair, |p, i| {
            let drelu = if i == 0 { &out.0.drelu } else { &out.1.drelu };
            relu_backward(p, &dy_sh[i], drelu)
        });
        assert_eq!(open(&(g0, g1)), &dy * &a.mapv(reference::drelu));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b2a_converts_every_bit_pattern() {
    let mut pair = parties(Config::default()).await;
    // All four (b0, b1) combinations, many times.
    let b0: Array1<u8> = (0..400).map(|j| (j % 2) as u8).collect();
    let b1: Array1<u8> = (0..400).map(|j| ((j / 2) % 2) as u8).collect();
    let bits = [b0.clone(), b1.clone()];
    let out = open(&both!(pair, |p, i| b2a(p, &bits[i])));
    assert_eq!(out, (&b0 ^ &b1).mapv(Z64::from_bit));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comparison_rounds_are_constant() {
    for (config, want) in configs().into_iter().zip([9, 5, 9, 7]) {
        let mut rng = rng(14);
        let mut pair = parties(config).await;
        for n in [1, 2000] {
            let a = uniform(n, 10.0, &mut rng);
            let sh = share(&a, &mut rng);
            let before = pair.parties[0].counters();
            both!(pair, |p, i| relu(p, &sh[i]));
            let rounds = (pair.parties[0].counters() - before).rounds;
            assert_eq!(rounds, want, "{:?}, n = {n}", config.checkzero);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_round_table_of_the_protocols_module_holds() {
    // online/src/protocols/mod.rs: MaxPool 14 / 18 / 10, exp by squaring 19 / 21 / 17 and by
    // segments 9 / 11 / 7 for bits / product / paper.
    let variants = [
        CheckZeroVariant::Bits,
        CheckZeroVariant::Product,
        CheckZeroVariant::Paper,
    ];
    let want = [[14, 19, 9], [18, 21, 11], [10, 17, 7]];
    for (checkzero, want) in variants.into_iter().zip(want) {
        let mut rng = rng(15);
        let x = uniform(2 * 2 * 2 * 2 * 4, 3.0, &mut rng)
            .into_shape_with_order((16, 4))
            .expect("2x2 windows");
        let xs = share(&x, &mut rng);
        let neg = uniform(20, 3.0, &mut rng).mapv(|v| -Z64::from_signed(v.signed().abs()));
        let ns = share(&neg, &mut rng);
        let mut got = Vec::new();
        let config = |exp| Config {
            checkzero,
            exp,
            ..Config::default()
        };
        let mut pair = parties(config(crate::protocols::Exp::Squaring)).await;
        let before = pair.parties[0].counters();
        both!(pair, |p, i| crate::protocols::max_rows_with_decisions(
            p, &xs[i]
        ));
        got.push((pair.parties[0].counters() - before).rounds);
        for exp in [
            crate::protocols::Exp::Squaring,
            crate::protocols::Exp::Segments,
        ] {
            let mut pair = parties(config(exp)).await;
            let before = pair.parties[0].counters();
            both!(pair, |p, i| crate::protocols::exp(p, &ns[i]));
            got.push((pair.parties[0].counters() - before).rounds);
        }
        assert_eq!(got, want, "{checkzero}");
    }
}
