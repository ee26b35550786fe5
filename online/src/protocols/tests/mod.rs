//! Two-party tests of every protocol over real loopback QUIC, against the plaintext
//! fixed-point reference, on random inputs and edge values.

mod arithmetic;
mod comparison;
mod costs;
mod nonlinear;
mod pooling;
mod randomness_use;
mod route_view;
mod truncation_view;
mod view;

use ndarray::{Array, Array1, Dimension};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::fixed::MAX_MAGNITUDE;
use crate::testing::{Pair, pair};
use crate::{Config, FixedPoint, Z64, sharing};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

async fn parties(config: Config) -> Pair {
    pair(config, 7).await.expect("loopback parties")
}

fn share<D: Dimension>(x: &Array<Z64, D>, rng: &mut ChaCha20Rng) -> [Array<Z64, D>; 2] {
    sharing::split(x, rng)
}

fn open<D: Dimension>(shares: &(Array<Z64, D>, Array<Z64, D>)) -> Array<Z64, D> {
    sharing::reconstruct(&shares.0, &shares.1)
}

/// Fixed-point values uniform in `[-bound, bound]` (as reals).
fn uniform(n: usize, bound: f64, rng: &mut ChaCha20Rng) -> Array1<Z64> {
    let fixed = FixedPoint::default();
    (0..n)
        .map(|_| {
            fixed
                .encode(rng.random_range(-bound..=bound))
                .expect("in range")
        })
        .collect()
}

/// The edge values PROTOCOLS.md lists: 0, ±1 ulp, the largest allowed magnitude, and small
/// and mid-sized values of both signs.
fn edge_values() -> Vec<Z64> {
    let one = FixedPoint::default().one();
    [
        0,
        1,
        -1,
        2,
        -2,
        one,
        -one,
        MAX_MAGNITUDE,
        -MAX_MAGNITUDE,
        MAX_MAGNITUDE / 3,
        -(1 << 40),
    ]
    .into_iter()
    .map(Z64::from_signed)
    .collect()
}

/// Each secret shared four ways: `(0, x)`, `(x, 0)`, shares that wrap around `2^64`
/// (`x0 = 2^64 - 1`), and uniformly random shares.
fn edge_sharings(secrets: &[Z64], rng: &mut ChaCha20Rng) -> (Array1<Z64>, [Array1<Z64>; 2]) {
    let mut values = Vec::new();
    let mut s0 = Vec::new();
    for &x in secrets {
        for x0 in [Z64::ZERO, x, Z64(u64::MAX), Z64(rng.random())] {
            values.push(x);
            s0.push(x0);
        }
    }
    let values = Array1::from(values);
    let s0 = Array1::from(s0);
    let s1 = &values - &s0;
    (values, [s0, s1])
}

/// Both parties run `$call` with their own arguments, concurrently; evaluates to
/// `(P0's result, P1's result)`, panicking with the error if either fails.
macro_rules! both {
    ($pair:expr, |$p:ident, $i:ident| $call:expr) => {{
        let [p0, p1] = &mut $pair.parties;
        let run =
            async |$p: &mut crate::Party<dyad_testing::fixture::Fixture>, $i: usize| $call.await;
        let (a, b) = tokio::join!(run(p0, 0), run(p1, 1));
        (a.expect("P0"), b.expect("P1"))
    }};
}
pub(crate) use both;
