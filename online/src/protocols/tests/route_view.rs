//! A party's view of max pooling's backward pass (`route_to_max`, `docs/departures.md`, 6) is
//! independent of the gradient and of where the maximum was. Each level of the route opens
//! the gradients `g - u` and the decisions `s XOR v` with a fresh bit triple: for a gradient of
//! +5 routed to a window's first position and one of -5 routed to its last, every byte of every
//! opened gradient and the opened decisions are uniform and distributed alike. Opening the
//! gradients without the triples' masks separates the two at once, so the statistic has the
//! power to see the leak it guards against.

use ndarray::{Array1, Array2};

use super::*;
use crate::protocols::route_to_max;
use crate::testing::pair;
use crate::wire;
use dyad_testing::stats;

/// Windows per secret.
const RUNS: usize = 4000;
/// Positions per window (2x2 max pooling): two levels, 1 and 2 products per window.
const COLS: usize = 4;

/// Histograms of one party's view: per level, each byte of the opened gradients (256 bins)
/// and the opened decisions (2 bins); and the unmasked gradients' top byte (the control).
struct View {
    opened: Vec<(String, Vec<u64>)>,
    unmasked: Vec<u64>,
}

/// The views of `RUNS` routes of `dy` through decisions all `decision`, the fixture's
/// randomness from `fixture_seed` and the sharing from `share_seed`.
async fn views(dy: f64, decision: u64, fixture_seed: u64, share_seed: u64) -> View {
    let mut rng = rng(share_seed);
    let mut pair = pair(Config::default(), fixture_seed)
        .await
        .expect("loopback parties");
    let dy = Array1::from_elem(RUNS, FixedPoint::default().encode(dy).expect("ok"));
    let decisions = Array2::from_elem((RUNS, COLS - 1), Z64(decision));
    let sd = share(&dy, &mut rng);
    // XOR shares: P0 a uniform bit, P1 the decision XOR it.
    let xor0 = Array2::from_shape_fn(decisions.dim(), |_| Z64(rng.random_range(0..2)));
    let xor = [
        xor0.clone(),
        Array2::from_shape_fn(xor0.dim(), |ij| Z64(xor0[ij].0 ^ decision)),
    ];
    for p in &mut pair.parties {
        p.record_view();
    }
    let _ = both!(pair, |p, i| route_to_max(p, &sd[i], &xor[i]));
    let frames: Vec<Vec<Vec<u8>>> = pair.parties.iter_mut().map(|p| p.take_view()).collect();
    assert_eq!(frames[0].len(), 2, "one flight per level");
    let mut opened = Vec::new();
    for (level, n) in [RUNS, 2 * RUNS].into_iter().enumerate() {
        // A flight: the sender's 8-byte tag digest, n ring values, then n bits. What each
        // party received is what the other sent; together they are the opened values.
        let parts = |frame: &[u8]| {
            assert_eq!(frame.len(), 8 + 8 * n + n.div_ceil(8), "flight length");
            let ring = wire::ring_from_bytes(&frame[8..8 + 8 * n], n).expect("ring");
            let bits = wire::bits_from_bytes(&frame[8 + 8 * n..], n).expect("bits");
            (ring, bits)
        };
        let ((e0, f0), (e1, f1)) = (parts(&frames[0][level]), parts(&frames[1][level]));
        let e: Vec<u64> = e0.iter().zip(&e1).map(|(&a, &b)| (a + b).0).collect();
        for byte in 0..8 {
            let values = e.iter().map(|v| ((v >> (8 * byte)) & 0xff) as usize);
            opened.push((
                format!("level {level}, byte {byte}"),
                stats::histogram(values, 256),
            ));
        }
        let f = f0.iter().zip(&f1).map(|(a, b)| usize::from(a ^ b));
        opened.push((format!("level {level}, decisions"), stats::histogram(f, 2)));
    }
    let g = dy.iter().map(|v| (v.0 >> 56) as usize);
    View {
        opened,
        unmasked: stats::histogram(g, 256),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_each_party_sees_of_a_route_does_not_depend_on_the_gradient_or_the_argmax() {
    let first = views(5.0, 1, 70, 72).await;
    let last = views(-5.0, 0, 71, 73).await;
    for ((what, a), (_, b)) in first.opened.iter().zip(&last.opened) {
        stats::assert_uniform(&format!("{what}, first position"), a);
        stats::assert_uniform(&format!("{what}, last position"), b);
        stats::assert_same_distribution(what, a, b);
    }
    let (stat, df) = stats::chi_square_homogeneity(&first.unmasked, &last.unmasked);
    assert!(
        stat > 10.0 * stats::critical(df),
        "unmasked gradients should separate the two: chi-square {stat:.1}"
    );
}
